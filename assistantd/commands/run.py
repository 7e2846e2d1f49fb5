"""``assistantd run``: the daemon (under systemd, or in a terminal, or over a recording with --input)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from assistantd.app import build_app
from assistantd.config import Config
from assistantd.metrics import Metrics
from assistantd.service import App, Service
from assistantd.systemd import ProgressWatchdog


def run(config_path: Path | None, input_path: str | None, pace: bool, verbose: bool = False) -> int:
    """``verbose`` (``-v``) wins over the config's ``service.log_level``."""

    def build(config: Config, metrics: Metrics, watchdog: ProgressWatchdog) -> App:
        return build_app(config, metrics, watchdog, input_path=input_path, pace=pace)

    service = Service(config_path, build, follow_log_level=not verbose)
    return asyncio.run(service.run())
