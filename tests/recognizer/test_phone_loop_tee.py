"""The Tee that feeds the phone loop the grammar decoder's chunks: every chunk, bounded, never stuck."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from assistantd.recognizer.phone_loop import Tee


async def _source(n: int) -> AsyncIterator[bytes]:
    for i in range(n):
        yield bytes([i])


async def test_both_consumers_get_every_chunk_in_order() -> None:
    tee = Tee(_source(50), max_chunks=4)

    async def read_second() -> list[bytes]:
        return [chunk async for chunk in tee.second()]

    second = asyncio.create_task(read_second())
    first = [chunk async for chunk in tee.first()]
    assert first == [bytes([i]) for i in range(50)]
    assert await second == first


async def test_a_dead_second_consumer_never_blocks_the_first() -> None:
    """With the reader gone and the queue full, detach() lets the grammar decode read to the end."""
    tee = Tee(_source(50), max_chunks=2)

    async def read_one_then_fail() -> None:
        async for _ in tee.second():
            raise RuntimeError("phone loop failed")

    second = asyncio.create_task(read_one_then_fail())
    second.add_done_callback(lambda _: tee.detach())
    async with asyncio.timeout(60):  # bounds the hang this test is about; the reading itself is instant
        first = [chunk async for chunk in tee.first()]
    assert len(first) == 50
    assert isinstance(second.exception(), RuntimeError)
