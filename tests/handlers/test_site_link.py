"""The site link in-process against a real Mosquitto: retained controls at connect, a broker restart,
the goodbye, and the bounds on say requests and on bad-message log lines."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Iterator

import aiomqtt
import pytest

from assistantd.config import Config
from assistantd.config.mqtt import MqttConfig
from assistantd.site import BAD_LINES, SAYS, SiteLink

from .conftest import Broker

WAIT_S = 30.0
SITE = "den"
STATE = f"assistantd/{SITE}/state"


class Controls:
    """What the link acts on, recorded; ``say`` waits until ``release`` is set."""

    def __init__(self) -> None:
        self.mutes: list[bool] = []
        self.reloads = 0
        self.said: list[str] = []
        self.release = asyncio.Event()
        self.muted = asyncio.Event()

    def mute(self, muted: bool, why: str) -> None:
        self.mutes.append(muted)
        self.muted.set()

    async def say(self, text: str) -> None:
        await self.release.wait()
        self.said.append(text)

    def reload(self) -> None:
        self.reloads += 1


def _config(broker: Broker) -> MqttConfig:
    mqtt = Config.from_dict(
        {
            "mqtt": {
                "host": "127.0.0.1",
                "port": broker.port,
                "site_id": SITE,
                "retry_initial_s": 0.05,
                "retry_max_s": 0.2,
            }
        },
        source="t.yaml",
        env={},
    ).mqtt
    assert mqtt is not None
    return mqtt


class LogWatch(logging.Handler):
    """Wakes a waiter when a log line containing some text arrives (the link logs from the loop)."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []
        self.changed = asyncio.Event()
        logging.getLogger("assistantd").addHandler(self)

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())
        self.changed.set()

    async def wait_for(self, text: str, since: int = 0) -> None:
        async with asyncio.timeout(WAIT_S):
            while not any(text in line for line in self.lines[since:]):
                self.changed.clear()
                await self.changed.wait()

    def close(self) -> None:
        logging.getLogger("assistantd").removeHandler(self)
        super().close()


@pytest.fixture
def logs() -> Iterator[LogWatch]:
    watch = LogWatch()
    yield watch
    watch.close()


async def _messages(client: aiomqtt.Client) -> AsyncIterator[tuple[str, str]]:
    async for message in client.messages:
        assert isinstance(message.payload, bytes)
        yield str(message.topic), message.payload.decode()


async def _next_state(client: aiomqtt.Client) -> str:
    async with asyncio.timeout(WAIT_S):
        async for topic, text in _messages(client):
            if topic == STATE:
                return text
    raise AssertionError("no state")


async def test_retained_controls_at_connect_a_broker_restart_and_the_goodbye(
    broker: Broker, logs: LogWatch
) -> None:
    async with aiomqtt.Client("127.0.0.1", broker.port, identifier="setup") as setup:
        await setup.publish(f"assistantd/{SITE}/mute", b"on", qos=1, retain=True)
        await setup.publish("hermes/hotword/toggleOff", json.dumps({"siteId": SITE}), qos=1, retain=True)
        await setup.publish(f"assistantd/{SITE}/reload", b"now", qos=1, retain=True)
    controls = Controls()
    link = SiteLink(_config(broker), SITE, controls)
    link.start()
    async with asyncio.timeout(WAIT_S):
        await link.connected.wait()
    async with aiomqtt.Client("127.0.0.1", broker.port, identifier="watch") as watch:
        await watch.subscribe(STATE, qos=1)
        assert await _next_state(watch) == "listening"
        await logs.wait_for("a retained reload request")
        assert controls.reloads == 0  # a retained reload would reload at every connect
        # A retained mute would be applied again at every reconnect, undoing a later unmute.
        await logs.wait_for(f"ignoring the message on assistantd/{SITE}/mute: a retained mute")
        await logs.wait_for("ignoring the message on hermes/hotword/toggleOff: a retained mute")
        await watch.publish(f"assistantd/{SITE}/mute", b"on", qos=1)
        async with asyncio.timeout(WAIT_S):
            await controls.muted.wait()
        assert controls.mutes == [True]  # the live one only
        link.publish_state("muted")
        assert await _next_state(watch) == "muted"
    # The broker goes away and comes back: the link reconnects and says its state again.
    mark = len(logs.lines)
    broker.stop()
    await logs.wait_for(f"site {SITE}: MQTT broker 127.0.0.1:{broker.port}", mark)
    link.publish_state("hearing")
    broker.start()  # persistence off: the restarted broker holds nothing retained
    async with aiomqtt.Client("127.0.0.1", broker.port, identifier="watch2") as watch:
        await watch.subscribe(STATE, qos=1)
        assert await _next_state(watch) == "hearing"
        # The broker hands a retained mute over again at each connect: refused, and not logged again.
        mark = len(logs.lines)
        link.handle(f"assistantd/{SITE}/mute", b"on", retained=True)
        assert controls.mutes == [True]
        assert logs.lines[mark:] == []
        await link.aclose()
        assert await _next_state(watch) == "offline"


async def test_say_requests_and_bad_messages_are_bounded(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    controls = Controls()
    link = SiteLink(_config(broker), SITE, controls)
    link.start()
    async with asyncio.timeout(WAIT_S):
        await link.connected.wait()
    caplog.set_level(logging.WARNING, logger="assistantd.site")
    async with aiomqtt.Client("127.0.0.1", broker.port, identifier="ctl") as ctl:
        await ctl.subscribe("hermes/tts/sayFinished", qos=1)
        for i in range(SAYS + 2):
            await ctl.publish(
                "hermes/tts/say", json.dumps({"siteId": SITE, "text": f"n{i}", "id": str(i)}), qos=1
            )
        for _ in range(BAD_LINES + 5):
            await ctl.publish("hermes/hotword/toggleOn", b"{", qos=1)
        await ctl.publish("hermes/hotword/toggleOn", json.dumps({"siteId": SITE}), qos=1)
        async with asyncio.timeout(WAIT_S):
            await controls.muted.wait()  # handled in order: every message before it has been read
        controls.release.set()
        finished = []
        async with asyncio.timeout(WAIT_S):
            async for _, text in _messages(ctl):
                finished.append(json.loads(text)["id"])
                if len(finished) == SAYS:
                    break
    assert sorted(finished) == [str(i) for i in range(SAYS)]
    assert controls.said == [f"n{i}" for i in range(SAYS)]
    refused = [r for r in caplog.records if "refused" in r.getMessage()]
    assert len(refused) == 2
    bad = [r for r in caplog.records if "ignoring the message on hermes/hotword/toggleOn" in r.getMessage()]
    assert len(bad) == BAD_LINES
    assert sum("not logging more" in r.getMessage() for r in caplog.records) == 1
    await link.aclose()


async def test_an_unexpected_error_in_the_session_is_logged_and_the_link_connects_again(
    broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    # An injected fault (no message makes the site link fail this way: its controls catch their own
    # errors): a real client whose first subscribe fails with an error that is not the broker's. Before,
    # the task ended silently and the site stayed off the broker until the stop.
    caplog.set_level(logging.INFO, "assistantd.site")
    failures = [RuntimeError("a bug in the session")]

    class FailsOnce(aiomqtt.Client):
        async def subscribe(self, *args: object, **kwargs: object) -> object:
            if failures:
                raise failures.pop()
            return await super().subscribe(*args, **kwargs)  # type: ignore[arg-type]

    link = SiteLink(_config(broker), SITE, Controls(), client_factory=FailsOnce)
    link.start()
    try:
        async with asyncio.timeout(WAIT_S):
            await link.connected.wait()
        async with aiomqtt.Client("127.0.0.1", broker.port, identifier="watch") as watch:
            await watch.subscribe(STATE, qos=1)
            assert await _next_state(watch) == "listening"
    finally:
        await link.aclose()
    (error,) = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert f"site {SITE}: unexpected error" in error.getMessage()
    assert error.exc_info is not None and str(error.exc_info[1]) == "a bug in the session"
