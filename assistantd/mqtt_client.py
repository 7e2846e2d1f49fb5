"""One way to open an aiomqtt client from an ``MqttConnection``: every MQTT user in the daemon (handler
publisher, event sink, site link, arbitration) builds its client here, so credentials, keepalive, TLS and
the last-will are applied the same way everywhere, and a connect cancelled mid-way leaves nothing open.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

import aiomqtt

from assistantd.config.handlers import MqttConnection

CANCEL_WAIT_S = 1.0
"""How long a cancelled connect may take to end before it is abandoned."""

CONNECT_TIMEOUT_S = 10.0

ClientFactory = Callable[..., aiomqtt.Client]
"""Builds an aiomqtt.Client (or, in tests that need to, one that behaves like it)."""


def new_client(
    connection: MqttConnection,
    *,
    identifier: str,
    factory: ClientFactory,
    will: aiomqtt.Will | None = None,
) -> aiomqtt.Client:
    """An unconnected client for ``connection`` under ``identifier`` (``will``: an aiomqtt.Will or None)."""
    c = connection
    return factory(
        c.host,
        c.port,
        username=c.username,
        password=c.password.reveal() if c.password is not None else None,
        identifier=identifier,
        keepalive=c.keepalive_s,
        will=will,
        logger=logging.getLogger(f"{__name__}.{identifier}"),
        timeout=CONNECT_TIMEOUT_S,
    )


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
