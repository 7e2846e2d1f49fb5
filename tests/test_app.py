"""``AssistantApp`` in process, with real parts: ``build_app`` over a WAV file of flite commands in room
noise, the real VAD and listener, pocketsphinx, the matcher of config/intents/en.yaml and exec handlers.

The app is driven the way the service drives it (start, utterances, handle, aclose), without the service
around it, so what is checked is the app's own wiring: one JSON line per utterance, the metrics read from
the reports, the source's own state, and a reload's successor carrying on where the old app stopped.
"""

from __future__ import annotations

import asyncio
import io
import json
import shutil
import wave
from pathlib import Path
from typing import Any

import pytest

from assistantd.app import AssistantApp, build_app
from assistantd.config import Config
from assistantd.metrics import Metrics
from assistantd.pipeline import UtteranceLike
from assistantd.systemd import ProgressWatchdog
from tests.daemon.harness import Audio, base_config

COMMAND = "turn on the kitchen lights"
COMMANDS = 4
DEADLINE_S = 120.0
"""Bounds a hang only."""

pytestmark = pytest.mark.skipif(shutil.which("flite") is None, reason="needs flite (Debian package)")


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("app")


@pytest.fixture(scope="module")
def recording(cache: Path) -> Path:
    audio = Audio(cache)
    path = cache / "commands.wav"
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes((audio.room(0.5) + audio.command(COMMAND) + audio.room(1.5)) * COMMANDS)
    return path


def _app(cache: Path, recording: Path, metrics: Metrics, out: io.StringIO) -> AssistantApp:
    data = base_config(cache)
    data["service"]["state_dir"] = str(recording.parent / "state")
    config = Config.from_dict(data)
    return build_app(config, metrics, ProgressWatchdog(stall_s=5.0), input_path=str(recording), report_to=out)


async def _run(app: AssistantApp, *, stop_after: int | None = None) -> list[UtteranceLike]:
    """What the service does, one utterance at a time; ``stop_after``: ask for a stop at the next pause
    after that many utterances (a reload over a file)."""
    taken: list[UtteranceLike] = []
    async with asyncio.timeout(DEADLINE_S):
        async for utterance in app.utterances():
            taken.append(utterance)
            await app.handle(utterance)
            if stop_after is not None and len(taken) == stop_after:
                assert app.stop_at_pause()
    return taken


def _lines(out: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.getvalue().splitlines()]


async def test_each_command_of_a_file_is_one_report_and_counted_from_it(cache: Path, recording: Path) -> None:
    metrics, out = Metrics(), io.StringIO()
    app = _app(cache, recording, metrics, out)
    await app.start()
    try:
        await _run(app)
        assert app.input_ended()
    finally:
        await app.aclose(5.0)  # the handlers' last reports are finished here
    lines = _lines(out)
    assert [(line["id"], line["outcome"], line["text"], line["intent"]) for line in lines] == [
        (str(i), "recognized", COMMAND, "LightOn") for i in range(1, COMMANDS + 1)
    ]
    ran = [[(h["handler"], h["ok"]) for h in line["handlers"]] for line in lines]
    assert ran == [[("LightOn[0] exec true", True)]] * COMMANDS
    counted = {name: n for name, n in metrics.counters.items() if n}
    assert counted == {
        "utterances": COMMANDS,
        "recognized": COMMANDS,
        "matched": COMMANDS,
        "handler_runs": COMMANDS,
    }
    # A file says nothing of itself: no problem, no capture counters, nothing to retry.
    assert app.state() == "listening"
    assert not app.capture_waiting(0.0)
    assert app.totals() == {
        "capture_restarts": 0,
        "dropped_frames": 0,
        "input_overflows": 0,
        "rejected_onsets": 0,
    }


async def test_an_app_replacing_another_carries_on_in_the_same_file(cache: Path, recording: Path) -> None:
    """A reload over a file: the old app stops at a pause; the new one reads on from there (the source's
    resume_after), with the ids and the clock carried on: every command is reported once."""
    metrics, out = Metrics(), io.StringIO()
    old = _app(cache, recording, metrics, out)
    await old.start()
    try:
        first = await _run(old, stop_after=1)
        assert not old.input_ended()
    finally:
        await old.aclose(5.0)
    new = _app(cache, recording, metrics, out)
    new.continue_from(old)
    await new.start()
    try:
        rest = await _run(new)
    finally:
        await new.aclose(5.0)
    assert len(first) + len(rest) == COMMANDS
    lines = sorted(_lines(out), key=lambda line: line["start"])
    assert [line["id"] for line in lines] == [str(i) for i in range(1, COMMANDS + 1)]
    assert all((line["outcome"], line["intent"]) == ("recognized", "LightOn") for line in lines)
    block_s = lines[1]["start"] - lines[0]["start"]
    for i, line in enumerate(lines):  # one timeline: each command one block later, none heard twice
        assert line["start"] - lines[0]["start"] == pytest.approx(i * block_s, abs=0.03)
