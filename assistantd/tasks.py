"""Small task helpers shared by the daemon's owners of long-lived tasks."""

from __future__ import annotations

import asyncio
from typing import Any


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
