"""The MQTT event sink: each finished report, published in the Hermes topic layout (hermes.py), and the
wake word's ``hermes/hotword/<model>/detected`` the moment it is heard (``wake_heard``: flows duck the
music then, not once the command is answered), once per detection.

The sink only reads reports. It hands messages to an ``MqttPublisher`` of its own (its own reconnecting
connection and bounded queue) without waiting: a broker that is down or slow never holds up a report, its
JSON line or the next utterance. When the queue is full the new messages are dropped, counted
(``mqtt_events_dropped``) and logged once per outage; the queued ones go out when the broker is back.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
from collections import OrderedDict

import aiomqtt

from assistantd.config.mqtt import MqttConfig, events_client_id
from assistantd.endpoint.wake import Detection
from assistantd.handlers.mqtt import MqttPublisher
from assistantd.hermes import Message, hotword, messages, topic_level
from assistantd.metrics import Metrics
from assistantd.mqtt_client import ClientFactory
from assistantd.report import UtteranceReport
from assistantd.tasks import cancel_and_reap
from assistantd.timers import Timer

log = logging.getLogger(__name__)

WOKE_KEPT = 64
"""Utterances whose hotword was sent and whose report has not come yet, at most (far more than run at
once)."""


class MqttEvents:
    """A report sink (``emit``) with a long-lived publisher (``run``, owned by the app)."""

    def __init__(
        self,
        config: MqttConfig,
        site_id: str,
        metrics: Metrics,
        *,
        client_factory: ClientFactory = aiomqtt.Client,
        publisher: MqttPublisher | None = None,
    ) -> None:
        """``publisher``: a shared one whose connection its owner runs (mqtt_connections.py; ``start``
        and ``aclose`` then leave it alone); None: one of its own, under the events' client id."""
        self.owns_publisher = publisher is None
        if publisher is None:
            connection = dataclasses.replace(
                config.connection, client_id=events_client_id(config.connection.client_id, site_id)
            )
            publisher = MqttPublisher(connection, client_factory=client_factory, what="events")
        self.publisher = publisher
        self.site_id = site_id
        self.metrics = metrics
        self._dropping = 0
        """Messages dropped since the queue last had room (0: not dropping)."""
        self._task: asyncio.Task[None] | None = None
        self._woke: OrderedDict[str, None] = OrderedDict()
        """Utterances whose hotword event went out at the detection (their reports leave it out)."""

    def wake_heard(self, session_id: str, wake: Detection) -> None:
        """The wake word opening utterance ``session_id`` was just heard: its hotword event, now."""
        self._offer(hotword(wake, session_id, self.site_id))
        self._woke[session_id] = None
        while len(self._woke) > WOKE_KEPT:  # every utterance gets its report; this only bounds a bug
            self._woke.popitem(last=False)

    def emit(self, report: UtteranceReport) -> None:
        sent = report.id in self._woke
        self._woke.pop(report.id, None)
        for message in messages(report, self.site_id, with_hotword=not sent):
            self._offer(message)

    def _offer(self, message: Message) -> None:
        if self.publisher.offer(message.topic, message.payload):
            if self._dropping:
                log.info("MQTT events: sending again (%d dropped while the queue was full)", self._dropping)
                self._dropping = 0
            return
        self.metrics.inc("mqtt_events_dropped")
        if not self._dropping:
            c = self.publisher.connection
            log.warning(
                "MQTT events: queue full (%d waiting, broker %s:%d %s); dropping new events until "
                "there is room",
                c.queue_size,
                c.host,
                c.port,
                "connected" if self.publisher.connected.is_set() else "not connected",
            )
        self._dropping += 1

    def timer_rung(self, timer: Timer, late_s: float) -> None:
        """A timer rang: ``assistantd/<site_id>/timer`` (README: MQTT events), dropped like any event
        when the queue is full."""
        payload = {
            "siteId": self.site_id,
            "id": timer.id,
            "name": timer.name,
            "label": timer.label,
            "durationS": timer.duration_s,
            "lateS": round(late_s, 3),
            "alarm": timer.alarm,
        }
        topic = f"assistantd/{topic_level(self.site_id)}/timer"
        if not self.publisher.offer(topic, json.dumps(payload, ensure_ascii=False).encode()):
            self.metrics.inc("mqtt_events_dropped")

    def start(self) -> None:
        """Start the publisher's connection task (inside the loop); the app's aclose stops it."""
        if self._task is None and self.owns_publisher:
            self._task = asyncio.create_task(self.publisher.run(), name="mqtt-events")

    async def aclose(self, grace_s: float) -> None:
        """Give queued events up to ``grace_s`` to reach a connected broker, then close the connection."""
        if not self.owns_publisher:
            return
        if not await self.publisher.drain(grace_s):
            log.info("MQTT events: stopping with events the broker has not taken")
        if self._task is not None:
            await cancel_and_reap(self._task)
            self._task = None
