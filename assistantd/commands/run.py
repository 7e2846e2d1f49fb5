"""``assistantd run``: the daemon (under systemd, or in a terminal, or over a recording with --input)."""

from __future__ import annotations

import asyncio
import logging
import os
import sys
from pathlib import Path

from assistantd import exit_deadline
from assistantd.app import build_app
from assistantd.audio.device_calls import DEVICE_CALLS
from assistantd.config import Config
from assistantd.metrics import Metrics
from assistantd.service import EXIT_STOP_DEADLINE, App, Service
from assistantd.shared_models import SharedModels
from assistantd.systemd import ProgressWatchdog

log = logging.getLogger(__name__)


def run(config_path: Path | None, input_path: str | None, pace: bool, verbose: bool = False) -> int:
    """``verbose`` (``-v``) wins over the config's ``service.log_level``."""
    # One set of models for the daemon's life: a reload rebuilds only what its config changed.
    models = SharedModels()

    def build(config: Config, metrics: Metrics, watchdog: ProgressWatchdog) -> App:
        return build_app(config, metrics, watchdog, input_path=input_path, pace=pace, models=models)

    def arm_exit(seconds: float) -> None:
        exit_deadline.arm(seconds, EXIT_STOP_DEADLINE)

    service = Service(config_path, build, follow_log_level=not verbose, arm_exit=arm_exit)
    try:
        code = asyncio.run(service.run())
    finally:
        models.close()
    stuck = DEVICE_CALLS.stuck
    if stuck:
        # Everything was closed in order; what is left are threads blocked in PortAudio that still hold
        # its objects. Interpreter teardown would free those objects under them (and complain): skip it.
        log.info("exiting with %d abandoned device call(s) still stuck in PortAudio", stuck)
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
