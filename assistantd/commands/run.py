"""``assistantd run``: the daemon (under systemd, or in a terminal, or over a recording with --input)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from assistantd.app import build_app
from assistantd.config import Config
from assistantd.metrics import Metrics
from assistantd.service import App, Service
from assistantd.shared_models import SharedModels
from assistantd.systemd import ProgressWatchdog


def run(config_path: Path | None, input_path: str | None, pace: bool) -> int:
    # One set of models for the daemon's life: a reload rebuilds only what its config changed.
    models = SharedModels()

    def build(config: Config, metrics: Metrics, watchdog: ProgressWatchdog) -> App:
        return build_app(config, metrics, watchdog, input_path=input_path, pace=pace, models=models)

    service = Service(config_path, build)
    try:
        return asyncio.run(service.run())
    finally:
        models.close()
