"""Owned threads: calls that never return are abandoned at their deadline, counted, capped, disposed of late.

The blocking call is a real thread blocked on an event or a socket the test controls: it returns only
when the test says so, so every verdict is about what the caller does meanwhile, never about speed.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import threading

import pytest

from assistantd import owned_threads
from assistantd.owned_threads import CallHungError, OwnedThreads, ThreadsExhaustedError

BOUND_S = 30.0
"""Bounds a hang only."""


class Blocked:
    """A call that blocks until ``release()``, then returns a resource that must be disposed of."""

    def __init__(self) -> None:
        self.entered = threading.Event()
        self._release = threading.Event()
        self.disposed = threading.Event()

    def __call__(self) -> Blocked:
        self.entered.set()
        self._release.wait(BOUND_S)
        return self

    def release(self) -> None:
        self._release.set()

    def dispose(self) -> None:
        self.disposed.set()


async def test_a_call_that_returns_gives_its_result() -> None:
    threads = OwnedThreads("test", limit=2)
    assert await threads.call(lambda: 42, deadline_s=BOUND_S, what="answer") == 42
    with pytest.raises(ValueError, match="bad"):
        await threads.call(lambda: int("bad"), deadline_s=BOUND_S, what="parse")
    assert (threads.abandoned, threads.abandoned_total, threads.alive) == (0, 0, 0)


async def test_a_hung_call_is_abandoned_counted_and_disposed_of_when_it_returns() -> None:
    threads = OwnedThreads("test", limit=2)
    everywhere = owned_threads.abandoned_total()  # the abandoned_calls metric
    hung = Blocked()
    with pytest.raises(CallHungError, match=r"stream close did not return in 0\.05 s"):
        await threads.call(hung, deadline_s=0.05, what="stream close", late=Blocked.dispose)
    assert (threads.abandoned, threads.alive) == (1, 1)
    assert owned_threads.abandoned_total() == everywhere + 1
    assert not hung.disposed.is_set()
    hung.release()
    assert await asyncio.to_thread(hung.disposed.wait, BOUND_S)
    assert (threads.abandoned, threads.abandoned_total) == (0, 1)


async def test_cancelling_the_caller_abandons_the_call() -> None:
    threads = OwnedThreads("test", limit=2)
    hung = Blocked()
    task = asyncio.create_task(threads.call(hung, deadline_s=BOUND_S, what="open", late=Blocked.dispose))
    assert await asyncio.to_thread(hung.entered.wait, BOUND_S)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert threads.abandoned == 1
    hung.release()
    assert await asyncio.to_thread(hung.disposed.wait, BOUND_S)


async def test_abort_ends_a_call_blocked_on_a_socket_at_its_deadline() -> None:
    # A peer that never sends: recv() would block for ever. abort shuts the socket down, which wakes it.
    threads = OwnedThreads("test", limit=2)
    ours, peer = socket.socketpair()
    with ours, peer:
        job = threads.start(lambda: ours.recv(1), what="read")
        with pytest.raises(CallHungError):
            await threads.wait(job, deadline_s=0.05, abort=lambda: ours.shutdown(socket.SHUT_RDWR))
        assert threads.abandoned_total == 1
        # The aborted read returns (b"" after the shutdown) although the peer never sent anything.
        async with asyncio.timeout(BOUND_S):
            await asyncio.wrap_future(job.finished)
        assert job.result == b""
        assert (threads.abandoned, threads.alive) == (0, 0)


async def test_at_the_cap_new_calls_are_refused_until_an_abandoned_one_returns() -> None:
    threads = OwnedThreads("test", limit=2)
    hung = [Blocked(), Blocked()]
    for h in hung:
        with pytest.raises(CallHungError):
            await threads.call(h, deadline_s=0.01, what="open")
    assert threads.full()
    with pytest.raises(ThreadsExhaustedError, match=r"open not started: 2 abandoned test call\(s\)"):
        await threads.call(lambda: 1, deadline_s=BOUND_S, what="open")
    assert threads.alive == 2  # the refused call made no thread
    waiting = asyncio.create_task(threads.freed())
    await asyncio.sleep(0)
    assert not waiting.done()
    hung[1].release()
    async with asyncio.timeout(BOUND_S):
        await waiting
    assert not threads.full()
    assert await threads.call(lambda: 1, deadline_s=BOUND_S, what="open") == 1
    hung[0].release()


async def test_a_running_call_is_not_counted_against_the_cap() -> None:
    threads = OwnedThreads("test", limit=1)
    hung = Blocked()
    job = threads.start(hung, what="long")
    assert await threads.call(lambda: "other", deadline_s=BOUND_S, what="short") == "other"
    hung.release()
    assert await threads.wait(job, deadline_s=BOUND_S) is hung


def test_a_thread_stuck_for_ever_does_not_keep_the_process_alive() -> None:
    # The interpreter exits although the abandoned call never returns (a non-daemon thread, or
    # asyncio's default executor, would keep it waiting at exit for ever).
    script = (
        "import asyncio, threading\n"
        "from assistantd.owned_threads import CallHungError, OwnedThreads\n"
        "async def main():\n"
        "    try:\n"
        "        await OwnedThreads('t', 1).call(threading.Event().wait, deadline_s=0.05, what='close')\n"
        "    except CallHungError as err:\n"
        "        print(err)\n"
        "asyncio.run(main())\n"
    )
    assert exit_and_output(script) == (0, "close did not return in 0.05 s\n")


def exit_and_output(script: str) -> tuple[int, str]:
    """Run ``script`` in a fresh interpreter; ``BOUND_S`` only bounds a process that would not exit."""
    proc = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=BOUND_S
    )
    return proc.returncode, proc.stdout
