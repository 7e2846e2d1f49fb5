"""The daemon's MQTT connections that apps share: the event publisher, the handlers' publisher and the
arbitration link (the site link is the site runtime's own, site_runtime.py).

An app takes its connections here when it is built and holds them from its start to its close. At a
reload the new app starts while the old one still finishes its utterances: when the new config keeps a
connection's settings, both apps get the very same connection, which stays up, so the broker never sees
two clients with one id (MQTT 3.1.1 §3.1.4: it would close the older one to admit the newer) and nothing
queued is lost or sent twice. A connection is closed when the last app holding it closes; a publisher
first gets the grace to deliver what is queued.

A connection whose settings changed is a new one. When it has the client id of one still held (the old
app is finishing), it connects once that one has closed; meanwhile what the new app queues waits (bounded
queues, handler timeouts). Settings are compared as the config gives them: a secret by its reference.

This module imports no aiomqtt: the connections are made by the caller's factories (lazy imports, issue 6).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from assistantd.config.mqtt import arbitration_client_id, events_client_id
from assistantd.tasks import cancel_and_reap

if TYPE_CHECKING:
    from assistantd.arbitration_link import ArbitrationLink
    from assistantd.config.handlers import MqttConnection
    from assistantd.config.mqtt import MqttConfig
    from assistantd.handlers.mqtt import MqttPublisher
    from assistantd.metrics import Metrics

log = logging.getLogger(__name__)


class Connection(Protocol):
    """A long-lived connection: ``run`` until cancelled (reconnecting on its own)."""

    def run(self) -> Coroutine[Any, Any, None]: ...


C = TypeVar("C", bound=Connection)


@dataclass(eq=False)
class _Entry:
    settings: object
    """What the connection was made from (its kind, config and client id): equal settings, same one."""
    broker_id: tuple[str, int, str]
    """Host, port and client id: two live connections must never share it."""
    connection: Connection
    holders: int = 0
    task: asyncio.Task[None] | None = None
    closed: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(eq=False)
class Lease:
    """What one app holds (``MqttConnections.hold``), given back by ``release``."""

    entries: tuple[_Entry, ...]
    released: bool = False


class MqttConnections:
    def __init__(self) -> None:
        self._open: list[_Entry] = []
        """Connections apps may still get: held ones, and ones made for an app not started yet."""
        self._closing: set[_Entry] = set()

    def get(self, settings: object, broker_id: tuple[str, int, str], make: Callable[[], C]) -> C:
        """The connection for ``settings``: the one already made for equal settings, else ``make()``."""
        for entry in self._open:
            if entry.settings == settings:
                return entry.connection  # type: ignore[return-value]  # made by make() for these settings
        made = make()
        self._open.append(_Entry(settings, broker_id, made))
        return made

    def publisher(self, connection: MqttConnection, what: str) -> MqttPublisher:
        """The publisher for ``connection`` (the handlers', or the events' under its own client id)."""
        from assistantd.handlers.mqtt import MqttPublisher  # noqa: PLC0415 - aiomqtt only with MQTT (issue 6)

        return self.get(
            ("publisher", what, connection),
            (connection.host, connection.port, connection.client_id),
            lambda: MqttPublisher(connection, what=what),
        )

    def events_publisher(self, config: MqttConfig, site_id: str) -> MqttPublisher:
        """The event sink's publisher: the ``mqtt:`` connection under the events' client id."""
        c = config.connection
        return self.publisher(replace(c, client_id=events_client_id(c.client_id, site_id)), "events")

    def arbitration(self, config: MqttConfig, site_id: str, metrics: Metrics) -> ArbitrationLink:
        """The arbitration link of ``site_id`` (its own connection, arbitration_link.py)."""
        from assistantd.arbitration_link import ArbitrationLink  # noqa: PLC0415 - aiomqtt, as above

        c = config.connection
        return self.get(
            ("arbitration", c, site_id, config.arbitration),
            (c.host, c.port, arbitration_client_id(c.client_id, site_id)),
            lambda: ArbitrationLink(config, site_id, metrics),
        )

    def hold(self, connections: tuple[Connection, ...]) -> Lease:
        """An app starts with ``connections`` (from ``get``): start the ones nobody runs yet."""
        entries = tuple(e for e in self._open if any(e.connection is c for c in connections))
        assert len(entries) == len(connections), "hold() takes connections made by get()"
        for entry in entries:
            entry.holders += 1
            if entry.task is None:
                entry.task = asyncio.get_running_loop().create_task(
                    self._run(entry, self._same_id(entry)), name=f"mqtt:{entry.broker_id[2]}"
                )
        # Made for an app that never started (a reload rejected after its build): nobody can hold them.
        self._open = [e for e in self._open if e.task is not None]
        return Lease(entries)

    def _same_id(self, entry: _Entry) -> list[asyncio.Event]:
        others = [e for e in (*self._open, *self._closing) if e is not entry and e.task is not None]
        return [e.closed for e in others if e.broker_id == entry.broker_id]

    @staticmethod
    async def _run(entry: _Entry, after: list[asyncio.Event]) -> None:
        for closed in after:
            await closed.wait()
        await entry.connection.run()

    async def release(self, lease: Lease, grace_s: float) -> None:
        """An app closes: close the connections it was the last to hold, a publisher after up to
        ``grace_s`` for what it has queued. Idempotent."""
        if lease.released:
            return
        lease.released = True
        last = [e for e in lease.entries if _let_go(e)]
        for entry in last:
            self._open.remove(entry)
            self._closing.add(entry)
        await asyncio.gather(*(self._close(entry, grace_s) for entry in last))

    async def _close(self, entry: _Entry, grace_s: float) -> None:
        try:
            drain = getattr(entry.connection, "drain", None)
            if drain is not None and not await drain(grace_s):
                log.info("MQTT %s: closing with messages the broker has not taken", entry.broker_id[2])
            if entry.task is not None:
                await cancel_and_reap(entry.task)
        finally:
            entry.closed.set()
            self._closing.discard(entry)

    async def aclose(self) -> None:
        """The daemon stops: close whatever is still open (every app has released its lease by now)."""
        entries = [e for e in self._open if e.task is not None] + list(self._closing)
        self._open.clear()
        for entry in entries:
            if entry.task is not None:
                await cancel_and_reap(entry.task)
            entry.closed.set()


def _let_go(entry: _Entry) -> bool:
    entry.holders -= 1
    return entry.holders == 0
