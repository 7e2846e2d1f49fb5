"""Small task helpers shared by the daemon's owners of long-lived tasks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any


async def aclose_iterator(iterator: AsyncIterator[object]) -> None:
    """Close an async generator now, releasing what it holds (a device stream, a file) at once rather
    than whenever the garbage collector gets to it. Protocols promise only AsyncIterator, which may lack
    ``aclose``."""
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()


async def cancel_and_reap(*tasks: asyncio.Future[Any]) -> None:
    """Cancel ``tasks`` (helpers of one operation) and wait until every one has finished.

    How each ended is discarded: the failure that mattered was already raised or logged by the code
    that owns them. An exception a helper raised while being cancelled (a close failing in a
    ``finally``) is retrieved here, so asyncio does not log it as never retrieved. A cancellation of the
    caller while it waits is not swallowed.
    """
    for task in tasks:
        task.cancel()
    if not tasks:
        return
    await asyncio.wait(tasks)
    for task in tasks:
        if not task.cancelled():
            task.exception()


async def cancel_and_wait(task: asyncio.Future[Any]) -> None:
    """Cancel ``task`` and wait until it has finished.

    The task's own cancellation is expected and swallowed; a cancellation of the caller that arrives
    while it waits (a forced exit on a second SIGINT) is not: ``contextlib.suppress(CancelledError)``
    around the await would swallow both, and the caller would carry on as if nothing had happened.
    Any other exception the task ends with is raised.
    """
    task.cancel()
    try:
        await task
    except asyncio.CancelledError:
        current = asyncio.current_task()
        if current is not None and current.cancelling():
            raise
