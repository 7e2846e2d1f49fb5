"""The MQTT event sink in-process: a broker that is down never blocks a report; drops are bounded,
counted and logged once; ``build_app`` adds the sink only when ``mqtt.events`` is true."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from pathlib import Path

import aiomqtt
import pytest

from assistantd.app import build_app
from assistantd.config import Config
from assistantd.events import MqttEvents
from assistantd.metrics import Metrics
from assistantd.report import Outcome, UtteranceReport
from assistantd.systemd import ProgressWatchdog
from assistantd.timers import Timer

from .conftest import Broker, free_port

ROOT = Path(__file__).resolve().parents[2]


def _config(mqtt: dict[str, object]) -> Config:
    return Config.from_dict(
        {"mqtt": mqtt, "intents": {"files": [str(ROOT / "config" / "intents" / "en.yaml")]}},
        source="test.yaml",
    )


async def test_a_full_queue_drops_new_events_counts_them_and_logs_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # Nothing listens on the port and the publisher is not even started: every message stays queued.
    config = _config({"host": "127.0.0.1", "port": free_port(), "queue_size": 4, "site_id": "hall"})
    assert config.mqtt is not None
    metrics = Metrics()
    sink = MqttEvents(config.mqtt, "hall", metrics)
    caplog.set_level(logging.INFO, logger="assistantd.events")
    for i in range(5):  # 3 messages each (text, not recognized, report): 4 fit, 11 do not
        sink.emit(
            UtteranceReport(id=str(i), start_s=float(i), text="hello there", outcome=Outcome.RECOGNIZED)
        )
    assert metrics.counters["mqtt_events_dropped"] == 11
    warnings = [r for r in caplog.records if "queue full" in r.getMessage()]
    assert len(warnings) == 1 and "not connected" in warnings[0].getMessage()
    await sink.aclose(1.0)  # no broker: it does not wait for one
    assert any("has not taken" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("events", [True, False])
def test_build_app_adds_the_sink_only_when_events_are_on(events: bool) -> None:
    config = _config({"host": "127.0.0.1", "site_id": "hall", "events": events})
    app = build_app(config, Metrics(), ProgressWatchdog(5.0), input_path="-")
    assert (app.events is not None) is events
    assert any(isinstance(s, MqttEvents) for s in app.pipeline.sinks) is events
    if app.events is not None:
        assert app.events.site_id == "hall"
        assert app.events.publisher.connection.client_id == "assistantd-hall-events"


def test_the_site_id_defaults_to_the_host_name() -> None:
    app = build_app(_config({"host": "127.0.0.1"}), Metrics(), ProgressWatchdog(5.0), input_path="-")
    assert app.events is not None and app.events.site_id == socket.gethostname()


async def test_a_timer_that_rang_is_published_on_the_sites_timer_topic(broker: Broker) -> None:
    config = _config({"host": "127.0.0.1", "port": broker.port, "site_id": "hall"})
    assert config.mqtt is not None
    sink = MqttEvents(config.mqtt, "hall", Metrics())
    async with aiomqtt.Client("127.0.0.1", broker.port, identifier="timer-watcher") as watcher:
        await watcher.subscribe("assistantd/hall/timer")
        sink.start()
        await asyncio.wait_for(sink.publisher.connected.wait(), 30)
        sink.timer_rung(Timer(3, 300.0, 0.0, "The pasta timer is done", "pasta", "pasta timer"), 1.25)
        async with asyncio.timeout(30):  # only bounds a hang
            message = await anext(aiter(watcher.messages))
    await sink.aclose(1.0)
    assert str(message.topic) == "assistantd/hall/timer"
    assert isinstance(message.payload, bytes)
    assert json.loads(message.payload) == {
        "siteId": "hall",
        "id": 3,
        "name": "pasta",
        "label": "pasta timer",
        "durationS": 300.0,
        "lateS": 1.25,
        "alarm": "The pasta timer is done",
    }
