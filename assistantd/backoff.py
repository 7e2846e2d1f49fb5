"""A pure backoff generator for reconnects and device reopening (after websockets' ``client.backoff``)."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator


def backoff(
    initial_s: float = 0.5,
    maximum_s: float = 30.0,
    factor: float = 2.0,
    jitter: float = 0.1,
    rand: Callable[[], float] = random.random,
) -> Iterator[float]:
    """Yield delays: initial, initial*factor, ... capped at ``maximum_s``, each spread by +-``jitter``.

    ``rand`` is injected so tests get exact values. The generator never ends; callers reset it by making a
    new one after a success.
    """
    delay = initial_s
    while True:
        spread = 1.0 + jitter * (2.0 * rand() - 1.0)
        yield min(maximum_s, delay * spread)
        delay = min(maximum_s, delay * factor)
