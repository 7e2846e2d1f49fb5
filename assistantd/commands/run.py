"""``assistantd run``: the daemon (under systemd, or in a terminal, or over a recording with --input)."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sys
from pathlib import Path

from assistantd import exit_deadline
from assistantd.app import build_app
from assistantd.audio.device_calls import DEVICE_CALLS
from assistantd.audio.microphone import STOP_CLOSE_S
from assistantd.config import Config
from assistantd.metrics import Metrics
from assistantd.recognizer.decoder_thread import DECODER_THREADS
from assistantd.service import EXIT_STOP_DEADLINE, App, Service
from assistantd.shared_models import SharedModels
from assistantd.site_runtime import SiteRuntime
from assistantd.systemd import ProgressWatchdog
from assistantd.timers import TimerBoard

log = logging.getLogger(__name__)


def collect_start_up() -> None:
    """Ready: the cyclic collector, which cli.py held off while the daemon loaded (issue 13), is back, and
    one pass frees what the start left in cycles (hassil's parse trees: about 1 MB offline)."""
    gc.enable()
    gc.collect()


def run(config_path: Path | None, input_path: str | None, pace: bool, verbose: bool = False) -> int:
    """``verbose`` (``-v``) wins over the config's ``service.log_level``."""
    # One set of models for the daemon's life: a reload rebuilds only what its config changed.
    models = SharedModels()
    # Timers too: a reload replaces the app, never the timers it started (timers.py).
    timers = TimerBoard()

    def build(config: Config, metrics: Metrics, watchdog: ProgressWatchdog) -> App:
        return build_app(
            config,
            metrics,
            watchdog,
            input_path=input_path,
            pace=pace,
            models=models,
            timers=timers,
            site=site,
        )

    def arm_exit(seconds: float) -> None:
        exit_deadline.arm(seconds, EXIT_STOP_DEADLINE)

    service = Service(
        config_path, build, follow_log_level=not verbose, arm_exit=arm_exit, on_ready=collect_start_up
    )
    # The site (privacy switch, voice, MQTT site link) is the daemon's too: a reload keeps its connection.
    site = SiteRuntime(service.request_reload)

    async def serve() -> int:
        try:
            return await service.run()
        finally:
            await site.aclose()  # the house hears "offline" once the apps are closed
            # Off the loop and bounded: a decoder still busy with a long utterance is abandoned.
            await models.aclose(STOP_CLOSE_S)

    code = asyncio.run(serve())
    stuck = DEVICE_CALLS.abandoned + DECODER_THREADS.abandoned
    if stuck:
        # Everything was closed in order; what is left are threads blocked in PortAudio or pocketsphinx
        # that still hold their objects. Interpreter teardown would free those under them: skip it.
        log.info("exiting with %d abandoned device call(s) or decoder(s) still running", stuck)
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    return code
