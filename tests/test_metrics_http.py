"""The metrics endpoint serves a bounded number of connections at once; extra ones are closed at once."""

from __future__ import annotations

import asyncio

from assistantd.metrics import Metrics
from assistantd.metrics_http import MAX_CONNECTIONS, serve_metrics

REQUEST = b"GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n"


async def _reply(reader: asyncio.StreamReader) -> bytes:
    try:
        return await reader.read()
    except ConnectionResetError:  # closed with our request unread: as much a refusal as an empty reply
        return b""


async def test_connections_beyond_the_cap_are_closed_without_a_reply() -> None:
    metrics = Metrics()
    metrics.inc("utterances", 3)
    # Holders keep their slots for as long as the test needs: only a hang reaches either deadline.
    server = await serve_metrics(metrics.prometheus, port=0, request_timeout_s=60)
    port = server.sockets[0].getsockname()[1]
    holders: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    others: list[asyncio.StreamWriter] = []
    try:
        async with asyncio.timeout(30):  # under the server's request deadline: no slot frees by itself
            for _ in range(MAX_CONNECTIONS):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                writer.write(REQUEST[:20])  # a request still arriving holds its slot
                holders.append((reader, writer))
            # The kernel hands connections to accept() in arrival order, so the holders are served first.
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            others.append(writer)
            writer.write(REQUEST)
            assert await _reply(reader) == b""

            # The connections already admitted are still answered in full.
            for _, writer in holders:
                writer.write(REQUEST[20:])
            replies = [await _reply(reader) for reader, _ in holders]
            assert all(r.startswith(b"HTTP/1.1 200 OK") for r in replies)
            assert all(b"assistantd_utterances_total 3\n" in r for r in replies)

            # Their slots are free again.
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            others.append(writer)
            writer.write(REQUEST)
            assert (await _reply(reader)).startswith(b"HTTP/1.1 200 OK")
    finally:
        for writer in [w for _, w in holders] + others:
            writer.close()
        server.close()
        await server.wait_closed()
