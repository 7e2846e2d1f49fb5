"""The arbitration exchange over MQTT: announce this site's candidates, hear the other sites', decide.

A thin driver around the pure ``Arbiter`` (arbitration.py). It has a connection of its own (client id
``<client_id>-<site_id>-arbiter``), not the event publisher's, so an announcement never waits behind a
queue of events, and it is not queued at all: ``claim`` publishes at once or not at all. Announcements
are QoS 0 and not retained: one that arrives after the window is worthless, a retry or a stored copy only
confuses the next utterance.

A broker that is down or slow never holds a command up for longer than the window:

* not connected (down, or reconnecting): nothing was sent, nobody can count this site in; decide at once,
  alone (``Decision.alone`` says why);
* the publish fails or does not return within the window: decide at once, alone;
* otherwise wait until the window closes (measured from the announcement) and decide on what came in.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Callable
from typing import Any

import aiomqtt

from assistantd.arbitration import TOPIC, Arbiter, Candidate, CandidateError, Decision
from assistantd.config.mqtt import MqttConfig, arbitration_client_id
from assistantd.log_budget import LineBudget
from assistantd.metrics import Metrics
from assistantd.mqtt_client import ClientFactory, stay_connected
from assistantd.tasks import cancel_and_reap

log = logging.getLogger(__name__)

NAMESAKE_EVERY = 100
"""A namesake's candidates are logged (ERROR) on the first and then one in this many."""
INBOX = 64
"""Received announcements waiting to be read (aiomqtt's queue; beyond it new ones are discarded). Each is
read at once, so only a flood fills it, and a flood's announcements are worthless past the window."""
LATE_LINES = 10
LATE_WINDOW_S = 60.0
"""Late announcements are logged one line each, at most LATE_LINES per LATE_WINDOW_S (all are counted)."""


class ArbitrationLink:
    """``run`` (owned by the app) keeps the connection and feeds others' announcements to the arbiter;
    ``claim`` is called once per utterance by the pipeline."""

    def __init__(
        self,
        config: MqttConfig,
        site_id: str,
        metrics: Metrics,
        *,
        client_factory: ClientFactory = aiomqtt.Client,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.connection = config.connection
        self.identifier = arbitration_client_id(config.connection.client_id, site_id)
        self.window_s = config.arbitration.window_ms / 1000
        self.arbiter = Arbiter(site_id, self.window_s)
        self.metrics = metrics
        self._client_factory = client_factory
        self._clock = clock
        self._wall = wall
        self._rand = rand
        self._client: Any = None
        """The connected client (None while there is none)."""
        self.connected = asyncio.Event()
        self.connections = 0
        """Connections made so far (a reconnect after an outage counts)."""
        self._bad = 0
        """Malformed announcements on this connection (the first is logged, the rest only counted)."""
        self._task: asyncio.Task[None] | None = None
        self._late_lines = LineBudget(LATE_LINES, LATE_WINDOW_S, clock)

    @property
    def site_id(self) -> str:
        return self.arbiter.site_id

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self.run(), name="mqtt-arbitration")

    async def aclose(self) -> None:
        if self._task is not None:
            await cancel_and_reap(self._task)
            self._task = None

    async def run(self) -> None:
        """Connect, subscribe to the candidate topic, feed what arrives to the arbiter; reconnect with
        backoff on any broker error (an outage is logged once: mqtt_client.Outage; meanwhile every site
        acts alone). Runs until cancelled."""
        await stay_connected(
            self.connection,
            self._session,
            what="arbitration",
            identifier=self.identifier,
            factory=self._client_factory,
            logger=log,
            max_incoming=INBOX,
            rand=self._rand,
        )

    async def _session(self, client: Any) -> None:
        c = self.connection
        try:
            await client.subscribe(TOPIC, qos=0)
            log.info("MQTT arbitration: connected to %s:%d as %s", c.host, c.port, self.identifier)
            self._client = client
            self.connections += 1
            self._bad = 0
            self.connected.set()  # subscribed: a candidate published from now on reaches us
            async for message in client.messages:
                self._received(bytes(message.payload))
        finally:
            self._client = None
            self.connected.clear()

    def _received(self, payload: bytes) -> None:
        try:
            candidate = Candidate.from_payload(payload)
        except CandidateError as err:
            if not self._bad:
                log.warning("MQTT arbitration: ignoring a malformed message on %s: %s", TOPIC, err)
            self._bad += 1
            return
        late_before, namesakes_before = self.arbiter.late, self.arbiter.namesakes
        self.arbiter.receive(candidate)
        if self.arbiter.namesakes != namesakes_before and self.arbiter.namesakes % NAMESAKE_EVERY == 1:
            log.error(
                "MQTT arbitration: a candidate (session %s) carries this site's id %r but this site did not "
                "announce it: another daemon uses the same site id (a Pi left at the default host name?). "
                "Give each room its own mqtt.site_id: until then both act on what both hear (%d seen)",
                candidate.session_id,
                self.site_id,
                self.arbiter.namesakes,
            )
        if self.arbiter.late != late_before:
            self.metrics.inc("arbitration_late")
            self._late(candidate)

    def _late(self, candidate: Candidate) -> None:
        logged, last = self._late_lines.take()
        if logged:
            log.warning(
                "MQTT arbitration: %s's candidate %s came after this site decided (the broker is slow?); "
                "both may have acted",
                candidate.site_id,
                candidate.session_id,
            )
        if last:
            log.warning(
                "MQTT arbitration: %d late candidates within %.0f s; not logging more of them for now "
                "(assistantd_arbitration_late_total counts them all)",
                LATE_LINES,
                LATE_WINDOW_S,
            )

    async def claim(self, session_id: str, score: float) -> Decision:
        """Announce this site's candidate for ``session_id`` and return the decision, at most the window
        later (README, "Several rooms, one broker")."""
        own = self.arbiter.announce(session_id, score, wall=self._wall(), now=self._clock())
        try:
            decision = await self._exchange(own)
        except BaseException:
            self.arbiter.forget(session_id)
            raise
        self.metrics.inc("arbitration_won" if decision.won else "arbitration_lost")
        if decision.alone:
            self.metrics.inc("arbitration_alone")
        log.info(
            "utterance %s: %s (score %.1f): %s",
            session_id,
            "this site acts" if decision.won else "left to another site",
            own.score,
            decision.reason(),
        )
        return decision

    async def _exchange(self, own: Candidate) -> Decision:
        client = self._client
        if client is None:
            return self.arbiter.decide(
                own.session_id, alone="no broker connection, the announcement was not sent"
            )
        try:
            async with asyncio.timeout(self.window_s):
                await client.publish(TOPIC, own.to_payload(), qos=0, retain=False)
        except (aiomqtt.MqttError, TimeoutError) as err:
            why = str(err) or type(err).__name__
            return self.arbiter.decide(own.session_id, alone=f"the announcement could not be sent ({why})")
        remaining = self.arbiter.due(own.session_id) - self._clock()
        if remaining > 0:
            await asyncio.sleep(remaining)
        return self.arbiter.decide(own.session_id)
