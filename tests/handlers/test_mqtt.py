"""mqtt handlers against a real Mosquitto broker on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json
import logging

import aiomqtt
import pytest

from assistantd.config.handlers import HandlersConfig
from assistantd.errors import HandlerError
from assistantd.handlers import Invocation, SpeakingGate, build_runner
from assistantd.handlers.mqtt import MqttPublisher

from .conftest import Broker, handlers_config

WAIT_S = 30.0
"""Bounds waits on the broker: only a hang reaches it."""


async def _next_message(client: aiomqtt.Client, timeout_s: float = WAIT_S) -> aiomqtt.Message:
    async with asyncio.timeout(timeout_s):
        async for message in client.messages:
            return message
    raise AssertionError("no message")


def _config(broker: Broker, **mqtt_extra: object) -> HandlersConfig:
    return handlers_config(
        {
            "mqtt": {"host": "127.0.0.1", "port": broker.port, "retry_initial_s": 0.05, **mqtt_extra},
            "bindings": [
                {
                    "intent": "SetLight",
                    "mqtt": {
                        "topic": "home/{room}/light",
                        "payload": {"state": "on", "brightness": "{level}", "said": "{text}"},
                        "qos": 1,
                        "retain": True,
                    },
                },
                {
                    "intent": "Ping",
                    "mqtt": {"topic": "home/ping", "payload": "ping {text}", "timeout_s": WAIT_S},
                },
                {
                    # Only for a broker that stays down for the whole wait: it always runs out.
                    "intent": "PingWhileDown",
                    "mqtt": {"topic": "home/ping", "payload": "ping {text}", "timeout_s": 0.5},
                },
            ],
        }
    )


async def test_publish_reaches_a_subscriber_with_topic_payload_qos_and_retain(broker: Broker) -> None:
    runner = build_runner(_config(broker), SpeakingGate())
    await runner.start()
    async with aiomqtt.Client("127.0.0.1", broker.port, identifier="live-sub") as sub:
        await sub.subscribe("home/#", qos=2)
        text = 'turn the kitchen light to 40 "percent"'
        task = runner.dispatch(Invocation("u1", text, "SetLight", {"room": "kitchen", "level": 40}))
        assert task is not None
        (outcome,) = await task
        assert outcome.ok, outcome.detail
        message = await _next_message(sub)
        assert message.topic.value == "home/kitchen/light"
        assert isinstance(message.payload, bytes)
        assert json.loads(message.payload) == {"state": "on", "brightness": 40, "said": text}
        assert message.qos == 1
    # The broker kept it: a subscriber arriving later gets it flagged as retained.
    async with aiomqtt.Client("127.0.0.1", broker.port, identifier="late-sub") as late:
        await late.subscribe("home/kitchen/light", qos=1)
        retained = await _next_message(late)
        assert retained.retain
        assert json.loads(retained.payload)["brightness"] == 40
    await runner.aclose(1.0)


async def test_a_slot_cannot_change_topic_level_or_add_a_wildcard(broker: Broker) -> None:
    runner = build_runner(_config(broker), SpeakingGate())
    await runner.start()
    for room in ("kitchen/../garage", "#", "+"):
        task = runner.dispatch(Invocation("u2", "x", "SetLight", {"room": room, "level": 1}))
        assert task is not None
        (outcome,) = await task
        assert not outcome.ok and "refusing slot value" in outcome.detail
    await runner.aclose(1.0)


async def test_reconnects_after_the_broker_restarts(broker: Broker) -> None:
    runner = build_runner(_config(broker), SpeakingGate())
    await runner.start()
    first = runner.dispatch(Invocation("u3", "one", "Ping"))
    assert first is not None
    assert (await first)[0].ok
    broker.stop()
    # While the broker is down a publish waits, then is withdrawn (never delivered late).
    down = runner.dispatch(Invocation("u4", "stale", "PingWhileDown"))
    assert down is not None
    (outcome,) = await down
    assert not outcome.ok and "withdrawn" in outcome.detail
    broker.start()
    async with aiomqtt.Client("127.0.0.1", broker.port, identifier="after-restart") as sub:
        await sub.subscribe("home/ping", qos=1)
        # The publish waits while the publisher reconnects on its own backoff schedule.
        task = runner.dispatch(Invocation("u5", "fresh", "Ping"))
        assert task is not None
        (outcome,) = await task
        assert outcome.ok, outcome.detail
        message = await _next_message(sub)
        assert message.payload == b"ping fresh"  # not the withdrawn "stale" one
    await runner.aclose(1.0)


async def test_full_queue_refuses_the_newest_publish(broker: Broker) -> None:
    broker.stop()  # nothing drains the queue
    cfg = _config(broker, queue_size=1)
    assert cfg.mqtt is not None
    publisher = MqttPublisher(cfg.mqtt)
    waiting = asyncio.create_task(publisher.publish("home/a", b"1", qos=0, retain=False, timeout_s=5))
    await asyncio.sleep(0)
    with pytest.raises(HandlerError, match="queue full"):
        await publisher.publish("home/b", b"2", qos=0, retain=False, timeout_s=5)
    waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting


async def test_mqtt_password_never_reaches_the_logs(broker: Broker, caplog: pytest.LogCaptureFixture) -> None:
    sentinel = "sk-SENTINEL-mqtt-5b7c"
    caplog.set_level(logging.DEBUG)
    cfg = handlers_config(
        {
            "mqtt": {
                "host": "127.0.0.1",
                "port": broker.port,
                "username": "assistant",
                "password": "${MQTT_PW}",
            },
            "bindings": [{"intent": "Ping", "mqtt": {"topic": "home/ping", "payload": "x"}}],
        },
        env={"MQTT_PW": sentinel},
    )
    runner = build_runner(cfg, SpeakingGate())
    await runner.start()
    task = runner.dispatch(Invocation("u6", "x", "Ping"))
    assert task is not None
    (outcome,) = await task
    assert outcome.ok, outcome.detail  # connected with the password (the test broker allows anyone)
    await runner.aclose(1.0)
    assert "Sending CONNECT" in caplog.text  # the client's debug log was captured
    assert sentinel not in caplog.text + repr(cfg) + repr(outcome)
