"""The microphone is muted while a feedback sound plays: a command said during the error tone is not heard;
and the error tone plays for a command the recognizer lost.

In process, with real parts: the app ``build_app`` makes (VAD, listener, the offline recognizer, intents,
the handler runner, the feedback player) over a live source the test feeds with flite speech in room
noise. The player is a real process that holds "playing" until the test lets it finish, so the verdict
depends on the order of events, never on speed: a command fails (exec ``false``), the error sound starts;
a second command spoken while it plays is held back frame by frame (``muted_frames``) and never becomes
an utterance; once the player exits, the same command is heard and acted on.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from assistantd.app import build_app
from assistantd.audio.frames import AudioSource, Frame, SourceState, frame_bytes
from assistantd.config import Config
from assistantd.metrics import Metrics
from assistantd.report import UtteranceReport
from assistantd.systemd import ProgressWatchdog
from tests.daemon.harness import REPO, Audio, free_port

DEADLINE_S = float(os.environ.get("ASSISTANTD_TEST_DEADLINE_S", "60"))
FRAME_MS = 30

pytestmark = pytest.mark.skipif(shutil.which("flite") is None, reason="needs flite (Debian package)")


class FedSource:
    """A live source (it stands for a microphone) that yields what the test feeds, frame by frame."""

    frame_ms = FRAME_MS
    live = True

    def __init__(self) -> None:
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self.fed = 0
        self.consumed = 0
        self._read = asyncio.Event()

    def feed(self, pcm: bytes) -> int:
        size = frame_bytes(FRAME_MS)
        frames = [pcm[i : i + size] for i in range(0, len(pcm) - size + 1, size)]
        for frame in frames:
            self._queue.put_nowait(frame)
        self.fed += len(frames)
        return len(frames)

    async def all_read(self) -> None:
        while self.consumed < self.fed:
            self._read.clear()
            await self._read.wait()

    async def preflight(self) -> None:
        pass

    def state_at(self, now: float) -> SourceState:
        return SourceState()

    def resume_after(self, previous: AudioSource, at_s: float) -> None:
        pass

    async def frames(self) -> AsyncIterator[Frame]:
        t = 0.0
        while True:
            pcm = await self._queue.get()
            yield Frame(pcm, t)
            t += FRAME_MS / 1000
            self.consumed += 1
            self._read.set()


class Reports:
    def __init__(self) -> None:
        self.seen: list[UtteranceReport] = []
        self._arrived = asyncio.Event()

    def emit(self, report: UtteranceReport) -> None:
        self.seen.append(report)
        self._arrived.set()

    async def wait(self, count: int) -> list[UtteranceReport]:
        while len(self.seen) < count:
            self._arrived.clear()
            await self._arrived.wait()
        return self.seen


async def _until(predicate: Callable[[], bool]) -> None:
    """Poll a file or a counter another process or task moves; the deadline only bounds a hang."""
    async with asyncio.timeout(DEADLINE_S):
        while not predicate():  # noqa: ASYNC110 - a file another process writes: nothing to await
            await asyncio.sleep(0.01)


async def test_a_command_said_while_the_error_sound_plays_is_not_heard(tmp_path: Path) -> None:
    audio = Audio(tmp_path / "speech")
    played, release = tmp_path / "played.raw", tmp_path / "release.fifo"
    os.mkfifo(release)
    config = Config.from_dict(
        {
            "recognizer": {"default": "local", "fallback": None, "local": {"cache_dir": str(tmp_path)}},
            "intents": {"files": [str(REPO / "config" / "intents" / "en.yaml")]},
            "handlers": {
                "bindings": [
                    {"intent": "LightOff", "exec": {"argv": ["false"]}},
                    {"intent": "LightOn", "exec": {"argv": ["true"]}},
                ]
            },
            "feedback": {
                # Plays (copies the WAV), then holds until the test writes a line to the FIFO.
                "player": ["sh", "-c", f'cat "$1" >> {played}; read line < {release}', "sh"],
                "error": str(REPO / "config" / "sounds" / "error.wav"),
                "tail_ms": 0,
            },
        },
        base_dir=tmp_path,
    )
    source = FedSource()
    metrics = Metrics()
    app = build_app(config, metrics, ProgressWatchdog(stall_s=5.0), source=source)
    reports = Reports()
    app.pipeline.sinks.append(reports)
    await app.start()

    async def serve() -> None:
        async with asyncio.TaskGroup() as tg:
            async for utterance in app.utterances():
                tg.create_task(app.handle(utterance))

    def spoken(text: str) -> bytes:
        return audio.room(0.5) + audio.command(text) + audio.room(1.2)

    serving = asyncio.create_task(serve())
    try:
        source.feed(spoken("turn off the lights"))
        (failed,) = await reports.wait(1)
        assert failed.intent == "LightOff" and [h.ok for h in failed.handlers] == [False]
        # The error sound is playing (its bytes went out) and the player holds on.
        error_wav = (REPO / "config" / "sounds" / "error.wav").read_bytes()
        await _until(lambda: played.exists() and played.read_bytes() == error_wav)
        await source.all_read()
        assert app.sounds is not None and app.sounds.gate.is_muted()
        muted_before = metrics.counters["muted_frames"]

        during = source.feed(spoken("turn on the kitchen lights"))
        async with asyncio.timeout(DEADLINE_S):
            await source.all_read()
        assert metrics.counters["muted_frames"] - muted_before == during

        await asyncio.to_thread(release.write_text, "done\n")
        await _until(lambda: app.sounds is not None and app.sounds.played == 1)
        assert not app.sounds.gate.is_muted()
        muted_after = metrics.counters["muted_frames"]
        source.feed(spoken("turn on the kitchen lights"))
        async with asyncio.timeout(DEADLINE_S):
            seen = await reports.wait(2)
        assert [(r.intent, [h.ok for h in r.handlers]) for r in seen] == [
            ("LightOff", [False]),
            ("LightOn", [True]),
        ]
        assert metrics.counters["muted_frames"] == muted_after
        assert metrics.counters["utterances"] == 2  # the command said during the sound never was one
        assert metrics.counters["sounds_played"] == 1
    finally:
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)
        await app.aclose(1.0)


async def test_a_command_the_recognizer_lost_plays_the_error_sound(tmp_path: Path) -> None:
    # The cloud recognizer's server is not there and nothing falls back: the utterance is lost.
    audio = Audio(tmp_path / "speech")
    played = tmp_path / "played.raw"
    config = Config.from_dict(
        {
            "recognizer": {
                "default": "volcengine",
                "fallback": None,
                "transport": {"connect_timeout_s": 1, "retries": 0},
                "volcengine": {
                    "url": f"ws://127.0.0.1:{free_port()}/sauc",
                    "app_key": "${VOLC_APP_KEY}",
                    "access_key": "${VOLC_ACCESS_KEY}",
                },
            },
            "intents": {"files": [str(REPO / "config" / "intents" / "en.yaml")]},
            "feedback": {
                "player": ["sh", "-c", f'cat "$1" >> {played}', "sh"],
                "error": str(REPO / "config" / "sounds" / "error.wav"),
            },
        },
        base_dir=tmp_path,
        env={"VOLC_APP_KEY": "app-key", "VOLC_ACCESS_KEY": "access-key"},
    )
    source = FedSource()
    metrics = Metrics()
    app = build_app(config, metrics, ProgressWatchdog(stall_s=5.0), source=source)
    reports = Reports()
    app.pipeline.sinks.append(reports)
    await app.start()

    async def serve() -> None:
        async with asyncio.TaskGroup() as tg:
            async for utterance in app.utterances():
                tg.create_task(app.handle(utterance))

    serving = asyncio.create_task(serve())
    try:
        source.feed(audio.room(0.5) + audio.command("turn on the kitchen lights") + audio.room(1.2))
        async with asyncio.timeout(DEADLINE_S):
            (lost,) = await reports.wait(1)
        assert lost.outcome == "lost", lost
        await _until(lambda: app.sounds is not None and app.sounds.played == 1)
        assert played.read_bytes() == (REPO / "config" / "sounds" / "error.wav").read_bytes()
        assert metrics.counters["sounds_played"] == 1
    finally:
        serving.cancel()
        await asyncio.gather(serving, return_exceptions=True)
        await app.aclose(1.0)
