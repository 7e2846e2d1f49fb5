"""One way to open an aiomqtt client from an ``MqttConnection``: every MQTT user in the daemon (handler
publisher, event sink, site link, arbitration) builds its client here, so credentials, keepalive, TLS and
the last-will are applied the same way everywhere, and a connect cancelled mid-way leaves nothing open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import socket
import ssl
from collections.abc import Awaitable, Callable

import aiomqtt
from aiomqtt.exceptions import MqttConnectError

from assistantd.backoff import backoff
from assistantd.config.handlers import MqttConnection
from assistantd.config.mqtt_tls import MqttTls

CANCEL_WAIT_S = 1.0
"""How long a cancelled connect may take to end before it is abandoned."""

CONNECT_TIMEOUT_S = 10.0

ClientFactory = Callable[..., aiomqtt.Client]
"""Builds an aiomqtt.Client (or, in tests that need to, one that behaves like it)."""


QUEUE_FULL_EVERY = 1000
"""aiomqtt logs "Message queue is full" once per discarded incoming message: a flood would write a log
line per message to journald. The first is kept, then one in this many."""


class _QueueFullLines(logging.Filter):
    def __init__(self) -> None:
        super().__init__()
        self.seen = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if "queue is full" not in record.getMessage():
            return True
        self.seen += 1
        return self.seen % QUEUE_FULL_EVERY == 1


def _client_logger(identifier: str) -> logging.Logger:
    logger = logging.getLogger(f"{__name__}.{identifier}")
    if not any(isinstance(f, _QueueFullLines) for f in logger.filters):
        logger.addFilter(_QueueFullLines())
    return logger


def new_client(
    connection: MqttConnection,
    *,
    identifier: str,
    factory: ClientFactory,
    will: aiomqtt.Will | None = None,
    max_incoming: int | None = None,
) -> aiomqtt.Client:
    """An unconnected client for ``connection`` under ``identifier`` (``will``: an aiomqtt.Will or None).
    ``max_incoming``: received messages waiting to be read; beyond it aiomqtt discards new ones."""
    c = connection
    return factory(
        c.host,
        c.port,
        username=c.username,
        password=c.password.reveal() if c.password is not None else None,
        identifier=identifier,
        keepalive=c.keepalive_s,
        will=will,
        max_queued_incoming_messages=max_incoming,
        logger=_client_logger(identifier),
        timeout=CONNECT_TIMEOUT_S,
        # A control's acknowledgement and the state it causes are two small writes in a row: with Nagle's
        # algorithm the second waits for the broker's delayed ACK (~40 ms each way, bench/site.py).
        socket_options=((socket.IPPROTO_TCP, socket.TCP_NODELAY, 1),),
        tls_context=tls_context(c.tls) if c.tls is not None else None,
        # paho checks the host name itself unless told not to (its own check, not the context's).
        tls_insecure=c.tls.insecure if c.tls is not None else None,
    )


class _ClosingSSLSocket(ssl.SSLSocket):
    """Closes itself when the handshake fails: paho's ``_ssl_wrap_socket`` raises without closing the
    socket it wrapped, which then stays open until the garbage collector finds it (one per attempt
    against a broker whose certificate we refuse)."""

    def do_handshake(self, block: bool = False) -> None:
        try:
            super().do_handshake(block)
        except BaseException:
            self.close()
            raise


def _no_pass_phrase() -> str:
    raise OSError("the private key is encrypted (the daemon has no pass phrase to give)")


def tls_context(tls: MqttTls) -> ssl.SSLContext:
    """The client side of ``tls``: the broker's certificate verified against ``ca_file`` (or the system's
    CAs), its host name checked unless ``insecure``, and our certificate offered when one is set. Raises
    ssl.SSLError / OSError for files that are not what they should be (the caller logs it as an outage)."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=tls.ca_file)
    if tls.insecure:
        context.check_hostname = False
    if tls.cert_file is not None:
        # With no password argument OpenSSL asks for an encrypted key's pass phrase on the terminal,
        # blocking the event loop; the callback makes such a key an error instead (config refuses
        # one when it is loaded, but the file can change before a reconnect reads it).
        context.load_cert_chain(tls.cert_file, tls.key_file, password=_no_pass_phrase)
    context.sslsocket_class = _ClosingSSLSocket
    return context


def describe_error(err: BaseException) -> str:
    """One phrase for why a connection failed: a refusal says which (not authorised, bad user name or
    password), anything else aiomqtt's own text. No secret is ever part of it."""
    if not isinstance(err, MqttConnectError):
        return str(err) or type(err).__name__  # other codes are paho's own (4: not connected, ...)
    rc = err.rc
    value = getattr(rc, "value", rc)
    # MQTT 3.1.1 CONNACK return codes 4 and 5; MQTT 5 reason codes 134 and 135.
    if value in (5, 135):
        return "not authorised (the broker refused these credentials: check username and password)"
    if value in (4, 134):
        return "not authorised (bad user name or password)"
    return str(err) or type(err).__name__


class BrokerOutages:
    """Which brokers are down for which connection, and why, shared by the daemon's connections: the
    events, the handlers and the site link lose a broker together, and one line says so, not three."""

    def __init__(self) -> None:
        self._failing: dict[tuple[str, int], dict[str, str]] = {}

    def failing(self, broker: tuple[str, int], who: str, reason: str) -> bool:
        """``who`` cannot reach ``broker`` for ``reason``; True when no other connection said so already."""
        failing = self._failing.setdefault(broker, {})
        new = reason not in [why for other, why in failing.items() if other != who]
        failing[who] = reason
        return new

    def recovered(self, broker: tuple[str, int], who: str) -> None:
        failing = self._failing.get(broker)
        if failing is not None:
            failing.pop(who, None)
            if not failing:
                del self._failing[broker]


OUTAGES = BrokerOutages()
"""The daemon's (one process, one set of connections)."""


class Outage:
    """Logs a broker outage once: the first failed attempt (with its host:port and why), unless another
    connection to the same broker already said the same; and the connection coming back. Attempts in
    between only at debug level, with their delay. ``close`` when the connection's task ends."""

    def __init__(
        self, what: str, connection: MqttConnection, logger: logging.Logger, outages: BrokerOutages = OUTAGES
    ) -> None:
        self.what = what
        self.connection = connection
        self.log = logger
        self.outages = outages
        self.failures = 0
        self._reason = ""

    @property
    def _broker(self) -> tuple[str, int]:
        return (self.connection.host, self.connection.port)

    def failed(self, err: BaseException, delay_s: float) -> None:
        c = self.connection
        reason = describe_error(err)
        self.failures += 1
        news = self.failures == 1 or reason != self._reason  # a new outage, or a new reason for it
        self._reason = reason
        if news and self.outages.failing(self._broker, self.what, reason):
            self.log.warning(
                "%s: MQTT broker %s:%d: %s; retrying with backoff (first in %.1f s, at most every %g s)",
                self.what,
                c.host,
                c.port,
                reason,
                delay_s,
                c.retry_max_s,
            )
        else:
            self.log.debug(
                "%s: MQTT broker %s:%d: %s; retrying in %.1f s", self.what, c.host, c.port, reason, delay_s
            )

    def connected(self, identifier: str) -> None:
        c = self.connection
        self.outages.recovered(self._broker, self.what)
        if self.failures:
            self.log.info(
                "%s: MQTT connected to %s:%d as %s after %d failed attempt(s)",
                self.what,
                c.host,
                c.port,
                identifier,
                self.failures,
            )
        else:
            self.log.info("%s: MQTT connected to %s:%d as %s", self.what, c.host, c.port, identifier)
        self.failures = 0
        self._reason = ""

    def close(self) -> None:
        self.outages.recovered(self._broker, self.what)


async def stay_connected(
    connection: MqttConnection,
    session: Callable[[aiomqtt.Client], Awaitable[None]],
    *,
    what: str,
    identifier: str,
    factory: ClientFactory,
    logger: logging.Logger,
    will: aiomqtt.Will | None = None,
    max_incoming: int | None = None,
    connected: asyncio.Event | None = None,
    rand: Callable[[], float] = random.random,
) -> None:
    """Connect, run ``session(client)`` until the broker goes, and after a delay from backoff.py connect
    again; until cancelled. ``connected`` is set while a connection is up. Outages are logged by Outage;
    any other error (a bug) at ERROR with its traceback, and the connection is made again too."""
    c = connection
    outage = Outage(what, c, logger)
    delays = None
    faults = backoff(c.retry_initial_s, c.retry_max_s, rand=rand)
    """Delays after an unexpected error (a bug): never reset, so one that recurs on every connection (a
    message that trips it, sent again and again) is logged and retried at most every ``retry_max_s``."""
    try:
        while True:
            try:
                client = await connect(
                    new_client(
                        c, identifier=identifier, factory=factory, will=will, max_incoming=max_incoming
                    )
                )
                outage.connected(identifier)
                delays = None
                if connected is not None:
                    connected.set()
                try:
                    await session(client)
                finally:
                    if connected is not None:
                        connected.clear()
                    await disconnect(client)
            except (aiomqtt.MqttError, OSError) as err:  # OSError: a TLS file that is not PEM
                delays = delays or backoff(c.retry_initial_s, c.retry_max_s, rand=rand)
                delay = next(delays)
                outage.failed(err, delay)
                await asyncio.sleep(delay)
            except Exception:
                # A bug in a session must not end the connection for good, silently: the task is only
                # reaped at the stop, and the daemon must keep listening (and acting) meanwhile.
                delay = next(faults)
                logger.exception(
                    "%s: unexpected error in the MQTT connection; reconnecting in %.1f s", what, delay
                )
                await asyncio.sleep(delay)
    finally:
        outage.close()


async def connect(client: aiomqtt.Client) -> aiomqtt.Client:
    """Enter ``client``'s context (connect). Cancelled mid-connect, aiomqtt would leave a half-open socket
    and a pending task behind: the attempt may end, then what it opened is closed. Not for ever: paho's
    connect runs on an owned thread (owned_executor.py) and a host name lookup there has no timeout; past
    CANCEL_WAIT_S the attempt is cancelled, which abandons that thread."""
    entering = asyncio.ensure_future(client.__aenter__())
    try:
        await asyncio.shield(entering)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(CANCEL_WAIT_S):
                await entering
                await client.__aexit__(None, None, None)
        raise
    return client


async def disconnect(client: aiomqtt.Client) -> None:
    """Leave ``client``'s context, ignoring a broker that is already gone."""
    with contextlib.suppress(aiomqtt.MqttError):
        await client.__aexit__(None, None, None)
    forget_disconnect_error(client)


def forget_disconnect_error(client: aiomqtt.Client) -> None:
    """A broker that went away while we waited for work leaves aiomqtt's disconnect future holding the
    error, which its __aexit__ returns on without reading: asyncio would log "Future exception was never
    retrieved" at exit. Reading it here (the reconnect loop already logged the outage) keeps the log to
    what happened."""
    disconnected = getattr(client, "_disconnected", None)
    if isinstance(disconnected, asyncio.Future) and disconnected.done() and not disconnected.cancelled():
        disconnected.exception()
