"""Closing a pocketsphinx decoder that is busy never blocks the event loop (issue 10: never stuck).

The decoder is real (pocketsphinx with its bundled model); "busy" is a job on its thread blocked on an
event the test controls, as a long utterance decoding at shutdown would be. Every verdict is about what
the loop does meanwhile (another task's heartbeat is observed while the close is pending), never about
how long anything takes; ``BOUND_S`` only bounds a hang.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from pathlib import Path
from typing import Any

import pytest

from assistantd.app import build_app
from assistantd.config import Config
from assistantd.config.local import LocalRecognizerConfig
from assistantd.metrics import Metrics
from assistantd.recognizer.decoder_thread import DECODER_THREADS
from assistantd.recognizer.local import LocalRecognizer
from assistantd.shared_models import BorrowedLocal, SharedModels
from assistantd.systemd import ProgressWatchdog
from tests.waiting import Heartbeat, eventually

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[2]
INTENTS = REPO / "config" / "intents" / "en.yaml"
BOUND_S = 60.0
"""Bounds a hang only."""


class Busy:
    """A decoder job that holds the decoder thread until ``release()``."""

    def __init__(self) -> None:
        self.running = threading.Event()
        self._gate = threading.Event()

    def __call__(self, decoder: Any) -> None:
        self.running.set()
        self._gate.wait(BOUND_S)

    def release(self) -> None:
        self._gate.set()


async def test_shutdown_with_a_decoder_mid_decode_keeps_the_loop_running(tmp_path: Path) -> None:
    config = Config.from_dict(
        {
            "recognizer": {"default": "local", "local": {"cache_dir": str(tmp_path)}},
            "intents": {"files": [str(INTENTS)]},
            "handlers": {"bindings": [{"intent": "LightOn", "exec": {"argv": ["true"]}}]},
        }
    )
    models = SharedModels()
    app = build_app(config, Metrics(), ProgressWatchdog(5.0), input_path="-", models=models)
    await app.start()
    assert isinstance(app.recognizer, BorrowedLocal)
    busy = Busy()
    thread = app.recognizer.recognizer.thread
    await thread.submit(busy)
    assert await asyncio.to_thread(busy.running.wait, BOUND_S)
    heartbeat = Heartbeat()
    before = DECODER_THREADS.abandoned
    # The daemon's shutdown path (commands/run.py): close the app, then the models, bounded.
    closing = asyncio.create_task(_shutdown(app, models))
    try:
        # The close has reached the decoder (a blocking join on the loop would sit here, and none of
        # this would run until the busy job gave up) ...
        await eventually(lambda: thread.closed, "the close reaching the decoder")
        await heartbeat.observed()
        # The loop ran the heartbeat while the close waited for the busy decoder: nothing blocked it.
        assert not closing.done()
    finally:
        busy.release()
        heartbeat.stop()
    async with asyncio.timeout(BOUND_S):
        await closing
    assert DECODER_THREADS.abandoned == before


async def _shutdown(app: Any, models: SharedModels) -> None:
    await app.aclose(0.0)
    await models.aclose(BOUND_S)


async def test_a_decoder_busy_past_the_deadline_is_abandoned_counted_and_stops_later(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    rec = LocalRecognizer(LocalRecognizerConfig(cache_dir=str(tmp_path)), [INTENTS])
    await rec.start()
    busy = Busy()
    await rec.thread.submit(busy)
    assert await asyncio.to_thread(busy.running.wait, BOUND_S)
    before = DECODER_THREADS.abandoned
    with caplog.at_level(logging.WARNING):
        await rec.aclose(0.05)
    assert DECODER_THREADS.abandoned == before + 1
    assert "pocketsphinx decoder still busy 0.05 s after close; abandoned it" in caplog.text
    busy.release()
    async with asyncio.timeout(BOUND_S):
        await rec.thread.aclose(BOUND_S)  # waits for the abandoned thread, without counting it twice
    assert DECODER_THREADS.abandoned == before
