"""The owned default executor: no shared pool to fill, cancelled waits abandon, the cap fails fast.

Blocking calls are real threads blocked on events the test controls (see test_owned_threads.py).
"""

from __future__ import annotations

import asyncio
import errno
import os

import pytest

from assistantd.owned_executor import OwnedExecutor
from assistantd.owned_threads import OwnedThreads
from tests.test_owned_threads import BOUND_S, Blocked, exit_and_output


async def test_calls_never_queue_behind_blocked_ones() -> None:
    loop = asyncio.get_running_loop()
    threads = OwnedThreads("test", limit=2)
    loop.set_default_executor(OwnedExecutor(threads))
    blocked = [Blocked() for _ in range((os.cpu_count() or 1) + 5)]  # more than the stock pool's workers
    waits = [loop.run_in_executor(None, b) for b in blocked]
    try:
        assert await loop.run_in_executor(None, lambda: "through") == "through"
        # ... while every blocked call still blocks (a pool would have run it only after some returned).
        assert not any(w.done() for w in waits)
        assert threads.abandoned == 0  # running, waited for, not abandoned
    finally:
        for b in blocked:
            b.release()
    assert await asyncio.gather(*waits) == blocked


async def test_a_cancelled_wait_abandons_the_call_and_the_cap_fails_fast() -> None:
    loop = asyncio.get_running_loop()
    threads = OwnedThreads("test", limit=1)
    loop.set_default_executor(OwnedExecutor(threads))
    hung = Blocked()
    with pytest.raises(TimeoutError):
        async with asyncio.timeout(0.05):
            await loop.run_in_executor(None, hung)
    assert threads.abandoned == 1
    with pytest.raises(OSError, match="not started") as info:
        await loop.getaddrinfo("localhost", 80)  # asyncio's own lookups use the default executor
    assert info.value.errno == errno.EAGAIN
    hung.release()
    async with asyncio.timeout(BOUND_S):
        await threads.freed()  # the abandoned call returned
    assert threads.abandoned == 0
    assert await loop.run_in_executor(None, lambda: "again") == "again"


def test_exit_does_not_wait_for_a_call_that_never_returns() -> None:
    # asyncio.run joins the stock executor's workers at exit: a hung call kept the process alive.
    script = (
        "import asyncio, threading\n"
        "from assistantd import owned_executor\n"
        "async def main():\n"
        "    loop = asyncio.get_running_loop()\n"
        "    owned_executor.install(loop)\n"
        "    try:\n"
        "        await asyncio.wait_for(loop.run_in_executor(None, threading.Event().wait), 0.05)\n"
        "    except TimeoutError:\n"
        "        print('gave up')\n"
        "asyncio.run(main())\n"
    )
    assert exit_and_output(script) == (0, "gave up\n")
