"""The gate that keeps the assistant from hearing itself.

While a reply is spoken, and for a short tail after it (room echo, audio still in the output buffer), the
listener discards captured audio. The gate is a counter and a deadline on one clock; ``is_muted`` is a
cheap read the listener can make per frame. The clock is injected so tests control time; the listener
must pass ``now`` from the same clock (time.monotonic by default).
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager


class SpeakingGate:
    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._active = 0
        self._muted_until = -math.inf

    @asynccontextmanager
    async def speaking(self, tail_s: float) -> AsyncIterator[None]:
        """Mute for the body of the ``async with`` and ``tail_s`` seconds after it ends (even on error)."""
        self._active += 1
        try:
            yield
        finally:
            self._active -= 1
            self._muted_until = max(self._muted_until, self._clock() + tail_s)

    def is_muted(self, now: float | None = None) -> bool:
        """True while anything is being spoken or within the tail after it."""
        if self._active:
            return True
        return (self._clock() if now is None else now) < self._muted_until
