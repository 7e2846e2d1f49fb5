"""The arbitration exchange (arbitration_link.py) against a real Mosquitto: several sites' links on one
broker agree on one winner; no broker, a stopped broker and malformed messages never hold a claim up."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import aiomqtt
import paho.mqtt.client as paho
import pytest

from assistantd import mqtt_client
from assistantd.app import build_app
from assistantd.arbitration import TOPIC
from assistantd.arbitration_link import INBOX, LATE_LINES, ArbitrationLink
from assistantd.config import Config
from assistantd.config.mqtt import MqttConfig
from assistantd.endpoint.listener import ARBITRATION_IDLE_HOLD_MS, IDLE_HOLD_MS
from assistantd.errors import ConfigError
from assistantd.metrics import Metrics
from assistantd.systemd import ProgressWatchdog

from .conftest import Broker, free_port

ROOT = Path(__file__).resolve().parents[2]
WINDOW_MS = 1000
"""Generous: the sites here share two busy cores, and the rule, not the speed, is what is tested."""
WAIT_S = 30.0
"""Bounds waits on the broker: only a hang reaches it."""


def _mqtt(port: int, window_ms: int = WINDOW_MS, client_id: str = "assistantd") -> MqttConfig:
    config = Config.from_dict(
        {
            "mqtt": {
                "host": "127.0.0.1",
                "port": port,
                "client_id": client_id,
                "retry_initial_s": 0.05,
                "retry_max_s": 0.2,
                "arbitration": {"enabled": True, "window_ms": window_ms},
            }
        },
        source="test.yaml",
        env={},
    )
    assert config.mqtt is not None
    return config.mqtt


@contextlib.asynccontextmanager
async def _links(port: int, *sites: str, connected: bool = True) -> AsyncIterator[list[ArbitrationLink]]:
    links = [ArbitrationLink(_mqtt(port), site, Metrics()) for site in sites]
    for link in links:
        link.start()
    try:
        if connected:
            async with asyncio.timeout(WAIT_S):
                for link in links:
                    await link.connected.wait()
        yield links
    finally:
        for link in links:
            await link.aclose()


async def test_three_sites_agree_on_the_loudest(broker: Broker) -> None:
    async with _links(broker.port, "kitchen", "hall", "office") as links:
        scores = {"kitchen": 10.0, "hall": 31.5, "office": 20.0}
        for round_ in range(3):
            decisions = await asyncio.gather(
                *(link.claim(f"{link.site_id}-{round_}", scores[link.site_id]) for link in links)
            )
            assert [d.own.site_id for d in decisions if d.won] == ["hall"], decisions
            assert {d.winner.site_id for d in decisions} == {"hall"}
            assert all(not d.alone for d in decisions)
            assert sorted(c.site_id for c in decisions[1].rivals) == ["kitchen", "office"]
        assert [link.metrics.counters["arbitration_won"] for link in links] == [0, 3, 0]
        assert [link.metrics.counters["arbitration_lost"] for link in links] == [3, 0, 3]


async def test_a_tie_has_exactly_one_winner(broker: Broker) -> None:
    async with _links(broker.port, "b-room", "a-room") as links:
        decisions = await asyncio.gather(*(link.claim("1", 12.0) for link in links))
        assert [d.own.site_id for d in decisions if d.won] == ["a-room"]


async def test_without_a_broker_a_site_acts_alone_at_once() -> None:
    async with _links(free_port(), "kitchen", connected=False) as (link,):
        decision = await link.claim("1", 5.0)
        assert decision.won and decision.rivals == ()
        assert "no broker connection" in decision.alone
        assert link.metrics.counters["arbitration_alone"] == 1


async def test_a_stopped_broker_never_holds_a_claim_up_and_arbitration_resumes(broker: Broker) -> None:
    async with _links(broker.port, "kitchen", "hall") as (kitchen, hall):
        broker.stop()
        # Both act (nobody hears the other), each within the window: alone at once or after the window.
        async with asyncio.timeout(WAIT_S):
            decisions = await asyncio.gather(kitchen.claim("1", 1.0), hall.claim("1", 2.0))
        assert all(d.won for d in decisions), decisions
        broker.start()
        async with asyncio.timeout(WAIT_S):
            # Polled: a reconnect has no event of its own (nothing in the daemon waits for one).
            while kitchen.connections < 2 or hall.connections < 2:  # noqa: ASYNC110
                await asyncio.sleep(0.05)
        decisions = await asyncio.gather(kitchen.claim("2", 1.0), hall.claim("2", 2.0))
        assert [d.own.site_id for d in decisions if d.won] == ["hall"]


async def test_two_daemons_with_one_site_id_are_logged_as_an_error(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    """Two Pis left at the host name "raspberrypi" share a site id: each ignores the other's candidates
    as its own, so both act. Each says so in an ERROR (its own echo is not mistaken for the other)."""
    links = [
        ArbitrationLink(_mqtt(broker.port, client_id=f"pi{n}"), "raspberrypi", Metrics()) for n in (1, 2)
    ]
    for link in links:
        link.start()
    try:
        async with asyncio.timeout(WAIT_S):
            for link in links:
                await link.connected.wait()
        with caplog.at_level(logging.ERROR, logger="assistantd.arbitration_link"):
            decisions = await asyncio.gather(links[0].claim("1", 5.0), links[1].claim("1", 6.0))
            # Another claim from one side only: the other side counts it, its sender hears its echo.
            await links[0].claim("2", 5.0)
        assert all(d.won for d in decisions)  # the fault being reported: both rooms act
        assert [link.arbiter.namesakes for link in links] == [1, 2]
        assert [link.arbiter.ignored for link in links] == [2, 1]
        errors = [r.getMessage() for r in caplog.records if r.levelno == logging.ERROR]
        assert len(errors) == 2 and all("another daemon uses the same site id" in e for e in errors), errors
        assert all("'raspberrypi'" in e for e in errors)
    finally:
        for link in links:
            await link.aclose()


async def test_malformed_announcements_are_logged_once_and_ignored(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "assistantd.arbitration_link")
    async with _links(broker.port, "kitchen") as (kitchen,):
        async with aiomqtt.Client("127.0.0.1", broker.port, identifier="garbage") as client:
            for payload in (b"{not json", b"[]", b'{"siteId": "x"}'):
                await client.publish(TOPIC, payload)
            # A well-formed rival after the garbage: once it is counted, the garbage was read before it.
            await client.publish(TOPIC, b'{"siteId": "hall", "sessionId": "9", "time": 1.0, "score": 1.0}')
        async with asyncio.timeout(WAIT_S):
            while kitchen.arbiter.received < 1:  # noqa: ASYNC110 - polled, as above
                await asyncio.sleep(0.02)
        assert (await kitchen.claim("1", 5.0)).won
    warnings = [r.getMessage() for r in caplog.records if "malformed" in r.getMessage()]
    assert len(warnings) == 1 and "not JSON" in warnings[0], warnings


def _app_config(mqtt: dict[str, object]) -> Config:
    return Config.from_dict(
        {"mqtt": mqtt, "intents": {"files": [str(ROOT / "config" / "intents" / "en.yaml")]}},
        source="test.yaml",
    )


@pytest.mark.parametrize("enabled", [True, False])
def test_build_app_asks_the_link_only_when_arbitration_is_on(enabled: bool) -> None:
    mqtt = {"host": "127.0.0.1", "site_id": "hall", "arbitration": {"enabled": enabled, "window_ms": 150}}
    app = build_app(_app_config(mqtt), Metrics(), ProgressWatchdog(5.0), input_path="-")
    assert (app.arbitration is not None) is enabled
    assert app.pipeline.claimer is app.arbitration
    # The listener's idle hold starts an utterance late by up to hold - 150 ms: with arbitration, short
    # enough that the rooms' candidates still meet inside the window (listener.py).
    assert app.listener.idle_hold_ms == (ARBITRATION_IDLE_HOLD_MS if enabled else IDLE_HOLD_MS)
    assert ARBITRATION_IDLE_HOLD_MS < IDLE_HOLD_MS
    if app.arbitration is not None:
        assert app.arbitration.site_id == "hall" and app.arbitration.window_s == 0.15
        assert app.arbitration.identifier == "assistantd-hall-arbiter"


def test_arbitration_is_off_by_default() -> None:
    config = _app_config({"host": "127.0.0.1"})
    assert config.mqtt is not None and not config.mqtt.arbitration.enabled


@pytest.mark.parametrize(
    ("arbitration", "key", "expected"),
    [
        ({"window_ms": 5}, "mqtt.arbitration.window_ms", "expected a value >= 20"),
        ({"window_ms": 5000}, "mqtt.arbitration.window_ms", "expected a value <= 2000"),
        ({"enabled": "yes please"}, "mqtt.arbitration.enabled", "expected"),
        ({"windows_ms": 200}, "mqtt.arbitration.windows_ms", "did you mean 'window_ms'"),
    ],
)
def test_bad_arbitration_keys_are_refused_by_key_path(
    arbitration: dict[str, object], key: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as err:
        _app_config({"host": "127.0.0.1", "arbitration": arbitration})
    assert key in str(err.value) and expected in str(err.value), str(err.value)


async def test_a_message_that_trips_an_unexpected_error_is_logged_and_the_link_keeps_going(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    # JSON nested deeper than the parser's recursion limit raises RecursionError, not a CandidateError:
    # before, it ended the link's task without a word until the stop reaped it, and the site went on
    # deciding alone.
    caplog.set_level(logging.WARNING, "assistantd.arbitration_link")
    async with _links(broker.port, "kitchen") as (kitchen,):
        async with aiomqtt.Client("127.0.0.1", broker.port, identifier="poison") as client:
            await client.publish(TOPIC, b"[" * 100_000)
            async with asyncio.timeout(WAIT_S):
                while kitchen.connections < 2:  # noqa: ASYNC110 - polled, as above
                    await asyncio.sleep(0.02)
                await kitchen.connected.wait()
            await client.publish(TOPIC, b'{"siteId": "hall", "sessionId": "9", "time": 1.0, "score": 1.0}')
        async with asyncio.timeout(WAIT_S):
            while kitchen.arbiter.received < 1:  # noqa: ASYNC110 - polled, as above
                await asyncio.sleep(0.02)
    (error,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert "arbitration: unexpected error" in error.getMessage()
    assert error.exc_info is not None and error.exc_info[0] is RecursionError


FLOOD = 3000


def _flood(port: int) -> None:
    """Publish FLOOD candidates from a blocking client, and return once a second subscriber has had them
    all (the broker has passed them on). Called on the test's loop, it holds the link's reader back
    meanwhile, as a busy loop on a Pi would."""
    got = threading.Event()
    seen = [0]

    def on_message(*_: object) -> None:
        seen[0] += 1
        if seen[0] == FLOOD:
            got.set()

    sub = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="flood-watch")
    sub.on_message = on_message
    sub.connect("127.0.0.1", port)
    sub.subscribe(TOPIC, qos=0)
    sub.loop_start()
    pub = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="flood")
    pub.connect("127.0.0.1", port)
    pub.loop_start()
    try:
        assert sub.subscribe(TOPIC, qos=0)[0] == paho.MQTT_ERR_SUCCESS
        for n in range(FLOOD):
            payload = {"siteId": f"site{n}", "sessionId": str(n), "time": float(n), "score": 1.0}
            pub.publish(TOPIC, json.dumps(payload), qos=0).wait_for_publish(WAIT_S)
        assert got.wait(WAIT_S), seen
    finally:
        for client in (pub, sub):
            client.disconnect()
            client.loop_stop()


async def test_a_flood_of_candidates_waits_in_a_bounded_queue(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "assistantd")
    async with _links(broker.port, "kitchen") as (kitchen,):
        _flood(broker.port)  # blocking: the link reads nothing meanwhile
        async with aiomqtt.Client("127.0.0.1", broker.port, identifier="last") as client:
            # A last one after the flood, under the link's own site id but not announced by it (counted as
            # ``namesakes``), sent again until one gets through the full queue: once it is read, all of the
            # flood was read or dropped.
            async with asyncio.timeout(WAIT_S):
                while not kitchen.arbiter.namesakes:
                    payload = {"siteId": "kitchen", "sessionId": "x", "time": 0.0, "score": 1.0}
                    await client.publish(TOPIC, json.dumps(payload))
                    await asyncio.sleep(0.05)
    # Unbounded, every one of the flood waited in memory to be read (3000 of 3000 here before).
    assert INBOX < kitchen.arbiter.received < FLOOD
    full_lines = sum("queue is full" in r.getMessage() for r in caplog.records)
    # aiomqtt says it once per discarded message; the client's logger keeps the first and 1 in 1000.
    assert 1 <= full_lines <= 1 + (FLOOD - INBOX) // mqtt_client.QUEUE_FULL_EVERY, full_lines


async def test_late_candidates_are_counted_all_and_logged_at_most_late_lines(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "assistantd.arbitration_link")
    late = 3 * LATE_LINES
    async with _links(broker.port, "kitchen") as (kitchen,):
        decision = await kitchen.claim("1", 5.0)
        async with aiomqtt.Client("127.0.0.1", broker.port, identifier="late") as client:
            for n in range(late):
                payload = {"siteId": f"hall{n}", "sessionId": "1", "time": decision.own.time, "score": 9.0}
                await client.publish(TOPIC, json.dumps(payload), qos=1)
        async with asyncio.timeout(WAIT_S):
            while kitchen.arbiter.late < late:  # noqa: ASYNC110 - polled, as above
                await asyncio.sleep(0.02)
    assert kitchen.metrics.counters["arbitration_late"] == late
    lines = [
        r.getMessage() for r in caplog.records if "late" in r.getMessage() or "came after" in r.getMessage()
    ]
    assert len(lines) == LATE_LINES + 1, lines
    assert "not logging more" in lines[-1]
