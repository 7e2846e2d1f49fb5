"""``assistantd run``: the daemon (under systemd, or in a terminal, or over a recording with --input)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from assistantd import exit_deadline
from assistantd.app import build_app
from assistantd.config import Config
from assistantd.metrics import Metrics
from assistantd.service import EXIT_STOP_DEADLINE, App, Service
from assistantd.systemd import ProgressWatchdog


def run(config_path: Path | None, input_path: str | None, pace: bool) -> int:
    def build(config: Config, metrics: Metrics, watchdog: ProgressWatchdog) -> App:
        return build_app(config, metrics, watchdog, input_path=input_path, pace=pace)

    def arm_exit(seconds: float) -> None:
        exit_deadline.arm(seconds, EXIT_STOP_DEADLINE)

    service = Service(config_path, build, arm_exit=arm_exit)
    return asyncio.run(service.run())
