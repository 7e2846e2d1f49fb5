"""The wake word's Hermes event goes out when the phrase is heard, not with the report: ``assistantd run
--input`` over the shared wake recording (flite "okay nabu" + commands in room noise), a real Mosquitto,
and handlers that cannot finish before the subscriber has seen their utterance's hotword event."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from tests.run_input import run_input
from tests.wake_speech import BARE, SCRIPT, recording, write_wav

from .conftest import Broker

ROOT = Path(__file__).resolve().parents[2]
INTENTS = ROOT / "config" / "intents" / "en.yaml"
SITE = "hall"
HOTWORD = "hermes/hotword/okay_nabu/detected"
WAIT_S = 60.0
"""Bounds waits on the broker and the daemon: only a hang reaches it."""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("flite") is None, reason="needs flite (Debian package)"),
]


def _config(tmp: Path, cache: Path, broker: Broker, flags: Path) -> Path:
    # Each command's handler waits until the subscriber has seen its utterance's hotword event (it makes
    # a file named after the sessionId): sent only with the report, after the handlers, it never would.
    wait = f'while [ ! -e "{flags}/$ASSISTANTD_UTTERANCE_ID" ]; do sleep 0.02; done'
    handler = json.dumps({"exec": {"argv": ["sh", "-c", wait], "timeout_s": 8}})
    path = tmp / "assistant.yaml"
    path.write_text(
        f"""
wake: {{model: okay_nabu, command_timeout_s: 4}}
recognizer:
  default: local
  fallback: null
  local: {{cache_dir: "{cache}"}}
intents: {{files: ["{INTENTS}"]}}
mqtt: {{host: 127.0.0.1, port: {broker.port}, site_id: {SITE}, retry_initial_s: 0.05}}
handlers:
  bindings:
"""
        + "".join(f"    - {{intent: {i}, {handler[1:-1]}}}\n" for i in ("LightOn", "TimerStart", "TimeGet")),
        encoding="utf-8",
    )
    return path


async def _collect(
    broker: Broker, ready: asyncio.Event, flags: Path, out: list[tuple[str, Any]], arrived: asyncio.Event
) -> None:
    async with aiomqtt.Client("127.0.0.1", broker.port, identifier="hotword-test") as client:
        await client.subscribe("hermes/#")
        await client.subscribe(f"assistantd/{SITE}/utterance")
        ready.set()
        async for message in client.messages:
            payload = json.loads(bytes(message.payload))
            out.append((str(message.topic), payload))
            arrived.set()
            if str(message.topic) == HOTWORD:
                (flags / payload["sessionId"]).touch()


async def test_the_hotword_event_comes_when_the_phrase_is_heard_and_once(
    tmp_path: Path, broker: Broker, tmp_path_factory: pytest.TempPathFactory
) -> None:
    cache = tmp_path_factory.mktemp("hotword-speech")
    pcm, _ = recording(cache)
    flags = tmp_path / "flags"
    flags.mkdir()
    seen: list[tuple[str, Any]] = []
    ready, arrived = asyncio.Event(), asyncio.Event()
    collecting = asyncio.create_task(_collect(broker, ready, flags, seen, arrived))
    try:
        async with asyncio.timeout(WAIT_S):
            await ready.wait()
        run = await run_input(_config(tmp_path, cache, broker, flags), write_wav(tmp_path / "w.wav", pcm))
        assert run.returncode == 0, run.log
        woken = [i for i, (line, _, _) in enumerate(SCRIPT) if line.gap_s is not None]
        assert len(run.lines) == len(woken), run.lines
        async with asyncio.timeout(WAIT_S):
            while len([t for t, _ in seen if t.endswith("/utterance")]) < len(run.lines):
                arrived.clear()
                await arrived.wait()
    finally:
        collecting.cancel()
        await asyncio.gather(collecting, return_exceptions=True)

    for line, i in zip(run.lines, woken, strict=True):
        session = [t for t, p in seen if p.get("sessionId", p.get("id")) == line["id"]]
        hotword = next(p for t, p in seen if t == HOTWORD and p["sessionId"] == line["id"])
        assert hotword["siteId"] == SITE and hotword["currentSensitivity"] == line["wake"]["probability"]
        if i == BARE:  # the phrase alone: its hotword, then the report's line
            assert line["outcome"] == "no command", line
            assert session == [HOTWORD, f"assistantd/{SITE}/utterance"], session
            continue
        # The handler finished, so its hotword event reached the subscriber before the report ended.
        assert [h["ok"] for h in line["handlers"]] == [True], line
        assert session == [
            HOTWORD,
            "hermes/asr/textCaptured",
            f"hermes/intent/{line['intent']}",
            f"assistantd/{SITE}/utterance",
        ], session
    # One hotword event per detection, never a second one with the report.
    assert len([t for t, _ in seen if t == HOTWORD]) == len(woken)
