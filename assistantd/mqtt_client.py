"""One way to open an aiomqtt client from an ``MqttConnection``: every MQTT user in the daemon (handler
publisher, event sink, site link, arbitration) builds its client here, so credentials, keepalive, TLS and
the last-will are applied the same way everywhere, and a connect cancelled mid-way leaves nothing open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import ssl
from collections.abc import Callable
from typing import Any

import aiomqtt
from aiomqtt.exceptions import MqttConnectError

from assistantd.config.handlers import MqttConnection
from assistantd.config.mqtt_tls import MqttTls

CANCEL_WAIT_S = 1.0
"""How long a cancelled connect may take to end before it is abandoned."""

CONNECT_TIMEOUT_S = 10.0

ClientFactory = Callable[..., Any]
"""Builds an aiomqtt.Client-compatible async context manager (injected by tests that need to)."""


def new_client(
    connection: MqttConnection,
    *,
    identifier: str,
    factory: ClientFactory,
    will: Any = None,
    max_incoming: int | None = None,
) -> Any:
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
        logger=logging.getLogger(f"{__name__}.{identifier}"),
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


def tls_context(tls: MqttTls) -> ssl.SSLContext:
    """The client side of ``tls``: the broker's certificate verified against ``ca_file`` (or the system's
    CAs), its host name checked unless ``insecure``, and our certificate offered when one is set. Raises
    ssl.SSLError / OSError for files that are not what they should be (the caller logs it as an outage)."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=tls.ca_file)
    if tls.insecure:
        context.check_hostname = False
    if tls.cert_file is not None:
        context.load_cert_chain(tls.cert_file, tls.key_file)
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


class Outage:
    """Logs a broker outage once: the first failed attempt (with its host:port and why), and the
    connection coming back. Attempts in between only at debug level, with their delay."""

    def __init__(self, what: str, connection: MqttConnection, logger: logging.Logger) -> None:
        self.what = what
        self.connection = connection
        self.log = logger
        self.failures = 0
        self._reason = ""

    def failed(self, err: BaseException, delay_s: float) -> None:
        c = self.connection
        reason = describe_error(err)
        self.failures += 1
        if self.failures == 1 or reason != self._reason:
            # A new outage, or the same one for a new reason (the broker came back refusing us): say so.
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
        self._reason = reason

    def connected(self, identifier: str) -> None:
        c = self.connection
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


async def connect(client: Any) -> Any:
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


async def disconnect(client: Any) -> None:
    """Leave ``client``'s context, ignoring a broker that is already gone."""
    with contextlib.suppress(aiomqtt.MqttError):
        await client.__aexit__(None, None, None)
    forget_disconnect_error(client)


def forget_disconnect_error(client: Any) -> None:
    """A broker that went away while we waited for work leaves aiomqtt's disconnect future holding the
    error, which its __aexit__ returns on without reading: asyncio would log "Future exception was never
    retrieved" at exit. Reading it here (the reconnect loop already logged the outage) keeps the log to
    what happened."""
    disconnected = getattr(client, "_disconnected", None)
    if isinstance(disconnected, asyncio.Future) and disconnected.done() and not disconnected.cancelled():
        disconnected.exception()
