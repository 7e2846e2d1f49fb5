"""MQTT events end to end: ``assistantd run --input`` (the real pipeline in a subprocess, the offline
recognizer, continuous listening) on flite commands and conversation in room noise, a real Mosquitto and a
subscriber collecting what the daemon publishes in the Hermes layout."""

from __future__ import annotations

import asyncio
import contextlib
import json
import shutil
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from tests.run_input import Run, run_input
from tests.talk_speech import SCRIPT

from .conftest import Broker

ROOT = Path(__file__).resolve().parents[2]
INTENTS = ROOT / "config" / "intents" / "en.yaml"
SITE = "kitchen-pi"
WAIT_S = 60.0
"""Bounds waits on the broker and the daemon: only a hang reaches it."""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("flite") is None, reason="needs flite (Debian package)"),
]


def _config(tmp: Path, cache: Path, broker: Broker, mqtt_extra: str = "") -> Path:
    path = tmp / "assistant.yaml"
    path.write_text(
        f"""
wake: {{model: null}}
recognizer:
  default: local
  fallback: null
  local: {{cache_dir: "{cache}"}}
intents: {{files: ["{INTENTS}"]}}
mqtt: {{host: 127.0.0.1, port: {broker.port}, site_id: {SITE}, retry_initial_s: 0.05{mqtt_extra}}}
handlers:
  bindings:
    - {{intent: LightOn, exec: {{argv: ["true"], timeout_s: 5}}}}
    - {{intent: TimeGet, exec: {{argv: ["true"], timeout_s: 5}}}}
""",
        encoding="utf-8",
    )
    return path


class Subscriber:
    """Collects every message on hermes/# and assistantd/# until ``utterances`` reports have come."""

    def __init__(self, broker: Broker) -> None:
        self.broker = broker
        self.messages: list[tuple[str, dict[str, Any]]] = []
        self.states: list[str] = []
        """The site's state topic (site.py), in order."""
        self.first_report = asyncio.Event()

    async def collect(self, ready: asyncio.Event, utterances: int) -> None:
        async with aiomqtt.Client("127.0.0.1", self.broker.port, identifier="events-test") as client:
            await client.subscribe("hermes/#")
            await client.subscribe("assistantd/#")
            ready.set()
            async for message in client.messages:
                if str(message.topic) == f"assistantd/{SITE}/state":  # one plain word, not JSON
                    self.states.append(bytes(message.payload).decode())
                    continue
                self.messages.append((str(message.topic), json.loads(bytes(message.payload))))
                if str(message.topic) == f"assistantd/{SITE}/utterance":
                    self.first_report.set()
                    if len(self.for_topic(f"assistantd/{SITE}/utterance")) == utterances:
                        return

    def for_topic(self, topic: str) -> list[dict[str, Any]]:
        return [payload for t, payload in self.messages if t == topic]


async def _run_with_subscriber(
    config: Path, wav: Path, subscriber: Subscriber, *, pace: bool = False, stop: Broker | None = None
) -> Run:
    ready = asyncio.Event()
    collecting = asyncio.create_task(subscriber.collect(ready, len(SCRIPT)))
    async with asyncio.timeout(WAIT_S):
        await ready.wait()
    running = asyncio.create_task(run_input(config, wav, pace=pace))
    if stop is not None:  # the broker goes away once the first utterance's events are out
        async with asyncio.timeout(WAIT_S):
            await subscriber.first_report.wait()
        stop.stop()
        run = await running
        with contextlib.suppress(aiomqtt.MqttError):  # the subscriber lost its broker too
            async with asyncio.timeout(WAIT_S):
                await collecting
    else:
        run = await running
        async with asyncio.timeout(WAIT_S):
            await collecting
    return run


async def test_each_utterance_is_published_in_the_hermes_layout(
    talk: tuple[Path, Path], tmp_path: Path, broker: Broker
) -> None:
    wav, cache = talk
    subscriber = Subscriber(broker)
    run = await _run_with_subscriber(_config(tmp_path, cache, broker), wav, subscriber)
    assert run.returncode == 0, run.log
    assert len(run.lines) == len(SCRIPT), run.lines
    reports = {r["id"]: r for r in subscriber.for_topic(f"assistantd/{SITE}/utterance")}
    for line, (_, intent, slots) in zip(run.lines, SCRIPT, strict=True):
        assert reports[line["id"]] == line  # the JSON line itself, as printed
        session = [(t, p) for t, p in subscriber.messages if p.get("sessionId") == line["id"]]
        assert all(p["siteId"] == SITE for _, p in session), session
        if intent is None:
            assert line["outcome"] == "rejected", line
            assert [t for t, _ in session] == ["hermes/nlu/intentNotRecognized"], session
            assert session[0][1]["input"] == line["text"]
            continue
        assert line["outcome"] == "recognized" and line["intent"] == intent, line
        assert [t for t, _ in session] == ["hermes/asr/textCaptured", f"hermes/intent/{intent}"], session
        captured, published = session[0][1], session[1][1]
        assert captured["text"] == line["text"] and captured["seconds"] > 0.5, captured
        assert published["input"] == line["text"]
        assert published["intent"]["intentName"] == intent
        assert 0 < published["intent"]["confidenceScore"] <= 1
        assert {s["slotName"]: s["value"]["value"] for s in published["slots"]} == slots
        assert all(s["rawValue"] == str(s["value"]["value"]) for s in published["slots"])
    assert not subscriber.for_topic("hermes/hotword/okay_nabu/detected")  # continuous mode: no wake word


async def test_a_broker_stopped_mid_run_loses_no_report_line(
    talk: tuple[Path, Path], tmp_path: Path, broker: Broker
) -> None:
    wav, cache = talk
    subscriber = Subscriber(broker)
    # A queue of 4 (one utterance's events fit): the later utterances' overflow it while the broker is away.
    config = _config(tmp_path, cache, broker, ", queue_size: 4")
    run = await _run_with_subscriber(config, wav, subscriber, pace=True, stop=broker)
    assert run.returncode == 0, run.log
    assert [line["intent"] for line in run.lines] == [intent for _, intent, _ in SCRIPT], run.lines
    assert len(subscriber.for_topic(f"assistantd/{SITE}/utterance")) >= 1
    assert run.log.count("MQTT events: queue full") == 1, run.log  # once per outage, not per message
    assert "never retrieved" not in run.log, run.log
