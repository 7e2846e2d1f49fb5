"""mqtt handlers: publish through one long-lived, reconnecting broker connection.

``MqttPublisher.run`` owns the connection: it connects, publishes queued messages in order, and on any
broker error reconnects after a delay from assistantd.backoff. Handlers enqueue and wait for the broker
to take the message. The queue is bounded: when full, the new publish fails at once (newest dropped).
A publish that waits past its timeout is withdrawn, so "turn on the light" never fires minutes late
after the broker comes back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiomqtt

from assistantd.config.handler_specs import MqttSpec
from assistantd.config.handlers import MqttConnection
from assistantd.errors import HandlerError
from assistantd.handlers.base import Invocation
from assistantd.mqtt_client import ClientFactory, stay_connected

log = logging.getLogger(__name__)


@dataclass
class _Message:
    topic: str
    payload: bytes
    qos: int
    retain: bool
    done: asyncio.Future[None] = field(repr=False)


class MqttPublisher:
    def __init__(
        self,
        connection: MqttConnection,
        *,
        client_factory: ClientFactory = aiomqtt.Client,
        rand: Callable[[], float] = random.random,
        what: str = "handlers",
    ) -> None:
        """``what`` names the connection's user in its log lines (handlers, events)."""
        self.connection = connection
        self.what = what
        self._client_factory = client_factory
        self._rand = rand
        self._queue: asyncio.Queue[_Message] = asyncio.Queue(maxsize=connection.queue_size)
        self._in_hand: _Message | None = None
        self._last_offered: asyncio.Future[None] | None = None
        self.connected = asyncio.Event()
        """Set while a broker connection is up (tests and status reports read it)."""

    async def run(self) -> None:
        """Connect, publish, reconnect; runs until cancelled. Logs an outage once (mqtt_client.Outage)."""
        c = self.connection
        await stay_connected(
            c,
            self._publish_queued,
            what=self.what,
            identifier=c.client_id,
            factory=self._client_factory,
            logger=log,
            connected=self.connected,
            rand=self._rand,
        )

    async def _publish_queued(self, client: Any) -> None:
        while True:
            if self._in_hand is None:
                self._in_hand = await self._queue.get()
            message = self._in_hand
            if not message.done.done():  # else withdrawn by a timed-out handler
                # On a broker error this raises and the message stays in hand for the next connection.
                await client.publish(message.topic, message.payload, qos=message.qos, retain=message.retain)
                if not message.done.done():
                    message.done.set_result(None)
            self._in_hand = None

    def offer(self, topic: str, payload: bytes, *, qos: int = 0, retain: bool = False) -> bool:
        """Queue a message without waiting for the broker (event sinks); False when the queue is full
        (the message is dropped, the queued ones kept). Call inside the loop."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait(_Message(topic, payload, qos, retain, done))
        except asyncio.QueueFull:
            return False
        self._last_offered = done
        return True

    async def drain(self, timeout_s: float) -> bool:
        """Wait up to ``timeout_s`` for what ``offer`` queued to reach the broker; True if it did. Returns
        at once while no broker is connected (a stopping daemon does not wait for one to come back)."""
        last = self._last_offered
        if last is None or last.done():
            return True
        if not self.connected.is_set():
            return False
        try:
            async with asyncio.timeout(timeout_s):
                await asyncio.shield(last)
        except TimeoutError:
            return False
        return True

    async def publish(self, topic: str, payload: bytes, *, qos: int, retain: bool, timeout_s: float) -> None:
        """Wait until the broker has the message (QoS 1/2 acknowledged). Raises HandlerError."""
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        try:
            self._queue.put_nowait(_Message(topic, payload, qos, retain, done))
        except asyncio.QueueFull:
            raise HandlerError(
                f"MQTT queue full ({self._queue.maxsize} waiting); publish to {topic} dropped"
            ) from None
        try:
            async with asyncio.timeout(timeout_s):
                await done
        except TimeoutError:
            raise HandlerError(
                f"MQTT broker did not take the publish to {topic} within {timeout_s:g} s "
                f"({'connected' if self.connected.is_set() else 'not connected'}); withdrawn"
            ) from None


class MqttHandler:
    def __init__(self, spec: MqttSpec, publisher: MqttPublisher, *, name: str) -> None:
        self.spec = spec
        self._publisher = publisher
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    async def run(self, invocation: Invocation) -> str:
        values = invocation.values()
        topic = self.spec.topic.render(values, escape=_topic_level)
        rendered = self.spec.payload.render(values)
        if not topic or len(topic.encode()) > 65535:
            raise HandlerError(f"refusing topic {topic[:80]!r}: empty or too long")
        payload = rendered if isinstance(rendered, str) else json.dumps(rendered, ensure_ascii=False)
        data = payload.encode("utf-8")
        await self._publisher.publish(
            topic, data, qos=self.spec.qos, retain=self.spec.retain, timeout_s=self.spec.timeout_s
        )
        return f"published {len(data)} bytes to {topic} (qos {self.spec.qos}, retain {self.spec.retain})"


def _topic_level(value: str) -> str:
    # A slot value fills one topic level: it must not become a wildcard or reach another level.
    if any(ch in value for ch in "/+#\0"):
        raise HandlerError(f"refusing slot value {value[:80]!r} in an MQTT topic (contains / + # or NUL)")
    return value
