"""A live source that outruns the pipeline: every utterance dropped is reported, never only logged.

In process, with real parts: a WAV recording of flite commands played by ``WavFileSource`` paced on an
injected clock (so it is live, a stand-in for a microphone, yet runs as fast as the loop allows), the real
VAD, listener and service loop, the volcengine transport against the fake sauc server on 127.0.0.1, the
real handler runner and a real notify socket. The fake holds the final answers of the first two utterances
until the test lets them go, so both recognition slots stay busy while the rest of the recording is heard:
the service holds the third utterance waiting for a slot, the listener queues four more, and each one after
that pushes the oldest waiting one out. A dropped utterance must come out as a report line, a metric and a
STATUS counter; audio an utterance lost while it waited must show in its line.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import shutil
import socket
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from assistantd.app import AssistantApp, build_app
from assistantd.audio.filesource import WavFileSource
from assistantd.config import Config
from assistantd.metrics import Metrics
from assistantd.service import Service
from assistantd.systemd import Notifier, ProgressWatchdog
from bench.backpressure import recording, script, write_wav
from tests.fakes.sauc import FakeSauc, Fault

ROOT = Path(__file__).resolve().parents[1]
COMMANDS = 10
IN_FLIGHT = 2
"""The service's recognition slots (its default)."""
WAITING = 4
"""Utterances the listener queues for the service (its default)."""
DROPPED = COMMANDS - IN_FLIGHT - 1 - WAITING
"""One more utterance is in the service's hand, waiting for a slot."""
QUEUE_CHUNKS = 10
"""A small chunk buffer per utterance, so the ones kept waiting lose audio too (and must say so)."""

pytestmark = pytest.mark.skipif(shutil.which("flite") is None, reason="needs flite (Debian package)")


class FakeTime:
    """The pacer's clock and sleep: a sleep moves the clock on at once (and lets the loop run)."""

    def __init__(self) -> None:
        self.now_s = 0.0

    def clock(self) -> float:
        return self.now_s

    async def sleep(self, seconds: float) -> None:
        self.now_s += seconds
        await asyncio.sleep(0)


@pytest.fixture(scope="module")
def wav(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("live-drops")
    return write_wav(tmp / "commands.wav", recording(script(COMMANDS), tmp))


class Statuses:
    """The STATUS= values received, in order."""

    def __init__(self) -> None:
        self.seen: list[str] = []
        self._arrived = asyncio.Event()

    def add(self, status: str) -> None:
        self.seen.append(status)
        self._arrived.set()

    async def wait_for(self, text: str) -> str:
        while True:
            found = next((status for status in self.seen if text in status), None)
            if found is not None:
                return found
            self._arrived.clear()
            await self._arrived.wait()


@contextlib.asynccontextmanager
async def notify_socket(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Statuses]:
    """A datagram socket where sd_notify sends, as systemd binds it; yields the STATUS= values received."""
    where = Path(tempfile.mkdtemp(prefix="assistantd-notify-"))  # AF_UNIX paths are short
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(where / "notify"))
    sock.setblocking(False)
    monkeypatch.setenv("NOTIFY_SOCKET", str(where / "notify"))
    statuses = Statuses()

    async def receive() -> None:
        loop = asyncio.get_running_loop()
        while True:
            data = (await loop.sock_recv(sock, 4096)).decode()
            for line in data.splitlines():
                if line.startswith("STATUS="):
                    statuses.add(line.removeprefix("STATUS="))

    task = asyncio.create_task(receive())
    try:
        yield statuses
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        sock.close()
        shutil.rmtree(where, ignore_errors=True)


async def test_a_pipeline_that_falls_behind_a_live_source_reports_each_drop(
    wav: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    release = asyncio.Event()
    out = io.StringIO()
    apps: list[AssistantApp] = []
    time = FakeTime()
    held = Fault(hold_final=release)
    async with FakeSauc("turn on the kitchen lights", faults=[held] * IN_FLIGHT) as fake:
        config = Config.from_dict(
            {
                "recognizer": {
                    "default": "volcengine",
                    "fallback": None,
                    # Bounds on a hang only: the held answers come when the test releases them.
                    "transport": {"connect_timeout_s": 30, "final_timeout_s": 120, "retries": 0},
                    "volcengine": {"url": fake.url, "app_key": "${APP}", "access_key": "${ACCESS}"},
                },
                "intents": {"files": [str(ROOT / "config" / "intents" / "en.yaml")]},
                "handlers": {
                    "bindings": [{"intent": "LightOn", "exec": {"argv": ["true"], "timeout_s": 10}}]
                },
            },
            env={"APP": "test-app-key", "ACCESS": "test-access-key"},
        )

        def build(config: Config, metrics: Metrics, watchdog: ProgressWatchdog) -> AssistantApp:
            source = WavFileSource(wav, config.audio.frame_ms, pace=True, clock=time.clock, sleep=time.sleep)
            app = build_app(config, metrics, watchdog, report_to=out, source=source)
            app.listener.queue_chunks = QUEUE_CHUNKS
            apps.append(app)
            return app

        async with notify_socket(monkeypatch) as statuses:
            notifier = Notifier(env={"NOTIFY_SOCKET": "set"})
            service = Service(None, build, load=lambda _: config, notifier=notifier, max_in_flight=IN_FLIGHT)
            running = asyncio.create_task(service.run())
            try:
                # The STATUS line counts the drops while the slow answers are still outstanding.
                counted = asyncio.create_task(statuses.wait_for(f", {DROPPED} dropped, "))
                await asyncio.wait({counted, running}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
                if not counted.done():
                    counted.cancel()
                    running.cancel()
                    (failure,) = await asyncio.gather(running, return_exceptions=True)
                    pytest.fail(f"no STATUS counting {DROPPED} dropped: {statuses.seen[-1:]} {failure!r}")
                status = counted.result()
            finally:
                release.set()  # the fake's close waits for the answers it holds
            # Drops count as utterances: two are in recognition, the rest of those so far were dropped.
            assert f"; {IN_FLIGHT + DROPPED} utterances, " in status, status
            async with asyncio.timeout(120):
                assert await running == 0

    (app,) = apps
    lines = sorted((json.loads(line) for line in out.getvalue().splitlines()), key=lambda line: line["start"])
    assert len(lines) == COMMANDS
    assert app.listener.dropped_utterances == DROPPED
    dropped = [line for line in lines if line["outcome"] == "dropped"]
    # The oldest waiting ones were pushed out: utterances 4, 5 and 6 of 10.
    assert [lines.index(line) + 1 for line in dropped] == list(range(IN_FLIGHT + 2, IN_FLIGHT + 2 + DROPPED))
    for line in dropped:
        assert line["text"] is None and line["handlers"] == [] and line["end"] > line["start"]
        assert "fell behind" in line["error"]
    heard = [line for line in lines if line not in dropped]
    assert all(line["outcome"] == "recognized" and line["intent"] == "LightOn" for line in heard)
    assert all(h["ok"] for line in heard for h in line["handlers"])
    # The utterance held for a slot and those queued behind it lost audio while they waited: each says so.
    waited = heard[IN_FLIGHT:]
    assert all(line["dropped_audio_s"] > 0 for line in waited)
    lossy = sum(1 for line in heard if "dropped_audio_s" in line)

    assert service.metrics.counters["dropped"] == DROPPED
    assert service.metrics.counters["utterances"] == COMMANDS
    assert service.metrics.counters["dropped_audio"] == lossy
    assert f"assistantd_dropped_total {DROPPED}\n" in service.metrics.prometheus()
