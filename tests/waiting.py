"""Waiting for something to happen in a test: the wait only bounds a hang, it never decides the verdict."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

HANG_S = 30.0
"""How long a test waits for something that must happen before it fails: only a hang gets there."""


async def eventually(predicate: Callable[[], object], what: str, *, limit_s: float = HANG_S) -> None:
    """Poll ``predicate`` every 10 ms until it is true; fail after ``limit_s`` (at least) if it never is."""
    step = 0.01
    for _ in range(int(limit_s / step)):
        if predicate():
            return
        await asyncio.sleep(step)
    raise AssertionError(f"{what}: not within {limit_s} s")


class Heartbeat:
    """A task beating on the running loop; ``observed()`` returns once it has beaten again. A test that
    observes a beat while some operation is still pending shows the operation did not block the loop."""

    def __init__(self) -> None:
        self._beat = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="heartbeat")

    async def _run(self) -> None:
        while True:
            self._beat.set()
            await asyncio.sleep(0.01)

    async def observed(self) -> None:
        self._beat.clear()
        async with asyncio.timeout(HANG_S):
            await self._beat.wait()

    def stop(self) -> None:
        self._task.cancel()
