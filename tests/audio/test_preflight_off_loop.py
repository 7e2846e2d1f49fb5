"""The start-up device check never blocks the event loop, even when the device is wedged (issue 10).

The microphone is ALSA's ``file`` plugin reading a FIFO with no writer (tests/daemon/fifo_device.py):
PortAudio's device scan blocks in ``open()`` until a writer comes. The app starts in-process with real
parts; a heartbeat task must be seen beating while the check is still blocked, and once the test gives
the FIFO a writer the check completes without having been abandoned. ``HANG_S`` only bounds a hang.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistantd.app import build_app
from assistantd.audio.device_calls import DEVICE_CALLS
from assistantd.audio.microphone import MicrophoneSource
from assistantd.config import Config
from assistantd.metrics import Metrics
from assistantd.systemd import ProgressWatchdog
from tests.daemon.fifo_device import FifoDevice
from tests.waiting import HANG_S, Heartbeat, eventually

INTENTS = Path(__file__).resolve().parents[2] / "config" / "intents" / "en.yaml"


@pytest.fixture
def fifo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FifoDevice]:
    device = FifoDevice(tmp_path)
    for key, value in device.env.items():
        monkeypatch.setenv(key, value)
    yield device
    device.close()


async def test_a_device_check_blocked_in_portaudio_leaves_the_loop_running(
    fifo: FifoDevice, tmp_path: Path
) -> None:
    config = Config.from_dict(
        {
            "recognizer": {"default": "local", "local": {"cache_dir": str(tmp_path)}},
            "intents": {"files": [str(INTENTS)]},
            "handlers": {"bindings": [{"intent": "LightOn", "exec": {"argv": ["true"]}}]},
        }
    )
    app = build_app(config, Metrics(), ProgressWatchdog(5.0))
    assert isinstance(app.source, MicrophoneSource)
    abandoned = DEVICE_CALLS.abandoned_total
    scanning = DEVICE_CALLS.alive
    heartbeat = Heartbeat()
    starting = asyncio.create_task(app.start())
    try:
        # The scan runs on its owned thread (on the loop it would hold everything here until abandoned) ...
        await eventually(lambda: DEVICE_CALLS.alive > scanning, "the device scan starting")
        # ... and while it is blocked in open(), the loop goes on beating.
        await heartbeat.observed()
        assert not starting.done()
    finally:
        fifo.flow()  # a writer: the blocked open returns and the scan completes
        heartbeat.stop()
    async with asyncio.timeout(HANG_S):
        await starting
    assert DEVICE_CALLS.abandoned_total == abandoned, "the device check was abandoned"
    await app.aclose(0.0)
