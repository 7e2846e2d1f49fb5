"""A plain TCP stream shaped like the WebSocket connection the transport drives (transport.py).

Wyoming (recognizer/wyoming.py) is a byte stream, not a message protocol. Giving the stream the four
things WebSocketRecognizer uses of a connection (``response``, ``send``, async iteration, ``close``) lets
one transport keep the deadlines, retries, bounded recording and fallback for both kinds of server; the
codec turns the stream's reads, in whatever pieces TCP delivers them, into events.

Failures arrive as the transport already understands them: OSError from connecting, reading or writing
(refused, reset), and the end of iteration when the server closes the connection.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from assistantd.config.wyoming import tcp_address

READ_BYTES = 64 * 1024
"""Most bytes taken from the socket per read; the codec bounds what it buffers (wyoming.py MAX_BODY)."""


class TcpStream:
    """One TCP connection to a server, as the transport sees a connection."""

    response = None
    """A WebSocket connection's upgrade response; a TCP stream has none (the codec is told ``{}``)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    async def send(self, message: bytes | str) -> None:
        self._writer.write(message.encode() if isinstance(message, str) else message)
        await self._writer.drain()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        while data := await self._reader.read(READ_BYTES):
            yield data

    async def close(self) -> None:
        self._writer.close()
        with contextlib.suppress(OSError):  # already reset by the server: closed either way
            await self._writer.wait_closed()


async def connect_tcp(url: str, **_websocket_options: object) -> TcpStream:
    """Open ``tcp://HOST:PORT``. The transport passes the options of ``websockets.connect`` (headers,
    compression, proxy, ...): none applies to a plain stream. Its deadline is the caller's timeout."""
    host, port = tcp_address(url)
    reader, writer = await asyncio.open_connection(host, port)
    return TcpStream(reader, writer)
