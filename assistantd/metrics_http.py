"""An optional Prometheus endpoint on localhost: GET /metrics returns the text format. Off by default."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

log = logging.getLogger(__name__)

_MAX_REQUEST_BYTES = 8192
MAX_CONNECTIONS = 8
"""Connections served at once. A scraper needs one; the cap keeps a misbehaving local client from piling up
tasks and buffers in the daemon (each may hold a slot for up to the request deadline)."""
REQUEST_TIMEOUT_S = 5.0
"""How long a client may take to send its request before the connection is closed."""


async def serve_metrics(
    render: Callable[[], str],
    port: int,
    host: str = "127.0.0.1",
    *,
    max_connections: int = MAX_CONNECTIONS,
    request_timeout_s: float = REQUEST_TIMEOUT_S,
) -> asyncio.Server:
    """Start the server; the caller owns it (close() + wait_closed() on shutdown).

    Beyond ``max_connections`` open at once, a new connection is closed at once without a reply.
    """
    slots = asyncio.Semaphore(max_connections)

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if slots.locked():
            log.debug("metrics: %d connections already open; closing a new one", max_connections)
            writer.close()
            return
        async with slots:
            await _serve(render, reader, writer, request_timeout_s)

    server = await asyncio.start_server(handle, host, port, limit=_MAX_REQUEST_BYTES)
    log.info("metrics on http://%s:%d/metrics", host, port)
    return server


async def _serve(
    render: Callable[[], str],
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    request_timeout_s: float,
) -> None:
    """One request, one response, then close."""
    try:
        async with asyncio.timeout(request_timeout_s):
            head = await reader.readuntil(b"\r\n\r\n")
        request_line = head[:_MAX_REQUEST_BYTES].split(b"\r\n", 1)[0].decode("latin-1")
        parts = request_line.split(" ")
        if len(parts) >= 2 and parts[0] == "GET" and parts[1].split("?")[0] == "/metrics":
            body = render().encode()
            status, ctype = "200 OK", "text/plain; version=0.0.4; charset=utf-8"
        else:
            body, status, ctype = b"not found\n", "404 Not Found", "text/plain"
        writer.write(
            f"HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
            "Connection: close\r\n\r\n".encode()
            + body
        )
        await writer.drain()
    except (TimeoutError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
        pass
    finally:
        writer.close()
