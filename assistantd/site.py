"""The site link: this room's own long-lived MQTT connection, for its state and its controls.

One connection per site (client id ``<client_id>-<site_id>-site``), with a last will: if the daemon dies
or loses the broker without saying goodbye, the broker publishes ``offline`` on the retained state topic.
While connected it keeps ``assistantd/<site>/state`` (retained, one word: site_controls.STATES) equal to
what the app last reported, and it acts on the control topics (site_controls.py) through an injected
``SiteControls``: mute, say, reload. A stop publishes ``offline`` itself before disconnecting.

Everything is bounded: state changes wait in a deque of STATE_CHANGES (while disconnected only the newest
is kept), other outgoing
messages (sayFinished) wait in a deque of OUTBOX, received messages in aiomqtt's queue of INBOX, and at
most SAYS say requests wait or speak; beyond that a request is refused with a log line. Bad control
messages are logged one line each, at most BAD_LINES per BAD_WINDOW_S; they never end the connection.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Callable
from typing import Any, Protocol

import aiomqtt

from assistantd.config.mqtt import MqttConfig
from assistantd.errors import HandlerError
from assistantd.ha_discovery import discovery_messages
from assistantd.log_budget import LineBudget
from assistantd.mqtt_client import ClientFactory, stay_connected
from assistantd.site_controls import (
    SAY_FINISHED,
    Ignored,
    Mute,
    Reload,
    Say,
    State,
    control_topics,
    parse_control,
    say_finished,
    state_topic,
)
from assistantd.tasks import cancel_and_reap

log = logging.getLogger(__name__)

OUTBOX = 32
STATE_CHANGES = 16
INBOX = 64
SAYS = 4
BAD_LINES = 10
BAD_WINDOW_S = 60.0
OFFLINE_WAIT_S = 2.0
"""At a stop, how long the goodbye (``offline``) may take to reach the broker."""


def site_client_id(client_id: str, site_id: str) -> str:
    """The site link's client id: not the handlers' (``client_id``) nor the events' (config/mqtt.py)."""
    return f"{client_id}-{site_id}-site"


class SiteControls(Protocol):
    """What the controls act on (the daemon's, kept across reloads: site_runtime.py)."""

    def mute(self, muted: bool, why: str) -> None: ...

    async def say(self, text: str) -> None:
        """Speak ``text`` with the configured voice. Raises HandlerError when it fails."""

    def reload(self) -> None: ...


class SiteLink:
    def __init__(
        self,
        config: MqttConfig,
        site_id: str,
        controls: SiteControls,
        *,
        state: State = "listening",
        client_factory: ClientFactory = aiomqtt.Client,
        rand: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.site_id = site_id
        self.client_id = site_client_id(config.connection.client_id, site_id)
        self.controls = controls
        self.state: State = state
        self._client_factory = client_factory
        self._rand = rand
        self._clock = clock
        self._published: State | None = None
        """What the broker holds on the state topic from this connection (None: nothing yet)."""
        self._wake = asyncio.Event()
        self._outbox: deque[tuple[str, bytes]] = deque()
        self._changes: deque[State] = deque(maxlen=STATE_CHANGES)
        """States to publish in order (bounded: the oldest go first when the broker is slow)."""
        self._retained: dict[str, bytes] = {}
        """Retained topics besides the state (discovery configs, last transcript), newest value each."""
        self._unsent: set[str] = set()
        """Topics of ``_retained`` the broker does not have yet from this connection."""
        self._says: set[asyncio.Task[None]] = set()
        self._bad_lines = LineBudget(BAD_LINES, BAD_WINDOW_S, clock)
        self._refused_retained: set[str] = set()
        """Topics whose retained control was refused and logged (once: the broker repeats it)."""
        self._task: asyncio.Task[None] | None = None
        self.connected = asyncio.Event()
        self.offline_sent = asyncio.Event()

    # -- fed by the daemon -------------------------------------------------------------------------
    def publish_state(self, state: State) -> None:
        """The site's state is now ``state``: published (retained) as soon as the connection can. While
        connected every change is published in order (a history reader sees ``recognizing`` however
        short); while not, only the newest is kept for when it is back."""
        if state != self.state:
            self.state = state
            if self.connected.is_set():
                self._changes.append(state)
            self._wake.set()

    def publish_retained(self, topic: str, payload: bytes) -> None:
        """Keep ``topic`` at ``payload`` on the broker (retained), now and after every reconnect."""
        if self._retained.get(topic) != payload:
            self._retained[topic] = payload
            self._unsent.add(topic)
            self._wake.set()

    def start(self, after: asyncio.Future[Any] | None = None) -> None:
        """Start the connection task (inside the loop); ``after``: wait for it first (a link this one
        replaces, saying goodbye on the same client id)."""
        if self._task is None:
            self._task = asyncio.create_task(self._run(after), name=f"site-{self.site_id}")

    async def aclose(self) -> None:
        """Say ``offline`` (bounded by OFFLINE_WAIT_S), stop speaking, disconnect."""
        if self._task is None:
            return
        if self.connected.is_set():
            self.state = "offline"
            self._wake.set()
            try:
                async with asyncio.timeout(OFFLINE_WAIT_S):
                    await self.offline_sent.wait()
            except TimeoutError:
                log.info(
                    "site %s: the broker did not take 'offline' in time (its will says it)", self.site_id
                )
        await cancel_and_reap(self._task, *self._says)
        self._task = None

    # -- the connection ------------------------------------------------------------------------------
    async def _run(self, after: asyncio.Future[Any] | None) -> None:
        if after is not None:
            await asyncio.wait({after})
        await stay_connected(
            self.config.connection,
            self._session,
            what=f"site {self.site_id}",
            identifier=self.client_id,
            factory=self._client_factory,
            logger=log,
            will=aiomqtt.Will(state_topic(self.site_id), b"offline", qos=1, retain=True),
            max_incoming=INBOX,
            rand=self._rand,
        )

    async def _session(self, client: Any) -> None:
        for topic in control_topics(self.site_id):
            await client.subscribe(topic, qos=1)
        self._published = None  # a new connection: say the state again (the will may have replaced it)
        self._changes.clear()
        self._unsent = set(self._retained)  # and the rest (a broker without persistence forgot them)
        if self.config.discovery:
            for message in discovery_messages(self.site_id, self.config.discovery_prefix):
                self.publish_retained(message.topic, message.payload)
        self._wake.set()
        self.connected.set()
        reader = asyncio.create_task(self._read(client), name="site-read")
        writer = asyncio.create_task(self._write(client), name="site-write")
        try:
            done, _ = await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.connected.clear()
            await cancel_and_reap(reader, writer)
        for task in done:
            task.result()  # the broker error that ended the session

    async def _write(self, client: Any) -> None:
        topic = state_topic(self.site_id)
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._changes or self.state != self._published:
                state = self._changes.popleft() if self._changes else self.state
                if state == self._published:
                    continue
                await client.publish(topic, state.encode(), qos=1, retain=True)
                self._published = state
                log.debug("site %s: state %s", self.site_id, state)
                if state == "offline":
                    self.offline_sent.set()
            while self._unsent:
                retained = self._unsent.pop()
                await client.publish(retained, self._retained[retained], qos=1, retain=True)
            while self._outbox:
                out_topic, payload = self._outbox[0]
                await client.publish(out_topic, payload, qos=1)
                self._outbox.popleft()

    async def _read(self, client: Any) -> None:
        async for message in client.messages:
            payload = message.payload if isinstance(message.payload, bytes) else b""
            self.handle(str(message.topic), payload, retained=bool(message.retain))

    # -- controls ------------------------------------------------------------------------------------
    def handle(self, topic: str, payload: bytes, *, retained: bool = False) -> None:
        """Act on one received message; never raises (a control is not worth the connection)."""
        try:
            control = parse_control(self.site_id, topic, payload, retained=retained)
            match control:
                case Ignored(why=None):
                    return
                case Ignored(why=str(why)) if retained:
                    # Handed over again at every reconnect: said once per topic for the link's life.
                    if topic not in self._refused_retained:
                        self._refused_retained.add(topic)
                        self._bad(topic, why)
                case Ignored(why=str(why)):
                    self._bad(topic, why)
                case Mute(muted=muted, via=via):
                    self.controls.mute(muted, f"{via} over MQTT")
                case Reload():
                    log.info("site %s: reload requested over MQTT", self.site_id)
                    self.controls.reload()
                case Say():
                    self._say(control)
        except Exception:  # a bug in a control must not end the connection or the daemon
            log.exception("site %s: control on %s failed", self.site_id, topic)

    def _bad(self, topic: str, why: str) -> None:
        logged, last = self._bad_lines.take()
        if logged:
            log.warning("site %s: ignoring the message on %s: %s", self.site_id, topic, _printable(why))
        if last:
            log.warning(
                "site %s: %d bad control messages within %.0f s; not logging more of them for now",
                self.site_id,
                BAD_LINES,
                BAD_WINDOW_S,
            )

    def _say(self, say: Say) -> None:
        if len(self._says) >= SAYS:
            log.warning(
                "site %s: say request %r refused: %d already waiting or speaking",
                self.site_id,
                say.request_id,
                SAYS,
            )
            return
        task = asyncio.get_running_loop().create_task(self._speak(say), name="site-say")
        self._says.add(task)
        task.add_done_callback(self._says.discard)

    async def _speak(self, say: Say) -> None:
        started = self._clock()
        try:
            await self.controls.say(say.text)
            log.info(
                "site %s: said %d characters over MQTT in %.2f s",
                self.site_id,
                len(say.text),
                self._clock() - started,
            )
        except HandlerError as err:
            log.warning("site %s: say over MQTT failed: %s", self.site_id, err)
        # Also after a failure: whoever waits for sayFinished (a dialogue manager) must not wait for ever.
        self._send(SAY_FINISHED, say_finished(self.site_id, say.request_id))

    def _send(self, topic: str, payload: bytes) -> None:
        if len(self._outbox) >= OUTBOX:
            log.warning(
                "site %s: %s dropped: %d messages already wait for the broker", self.site_id, topic, OUTBOX
            )
            return
        self._outbox.append((topic, payload))
        self._wake.set()


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in text)
