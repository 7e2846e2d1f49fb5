"""Device calls that never return are abandoned at their deadline, counted, capped and disposed of late.

The "device" is a real thread blocked on an event the test controls: the call returns only when the
test says so, so every verdict is about what the caller does meanwhile, never about how fast it is.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading

import pytest

from assistantd.audio.device_calls import CallHungError, DeviceCalls

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
    calls = DeviceCalls(limit=2)
    assert await calls.call(lambda: 42, deadline_s=BOUND_S, what="answer") == 42
    with pytest.raises(ValueError, match="bad"):
        await calls.call(lambda: int("bad"), deadline_s=BOUND_S, what="parse")
    assert calls.stuck == 0


async def test_a_hung_call_is_abandoned_counted_and_disposed_of_when_it_returns() -> None:
    calls = DeviceCalls(limit=2)
    hung = Blocked()
    with pytest.raises(CallHungError, match=r"stream close did not return in 0\.05 s"):
        await calls.call(hung, deadline_s=0.05, what="stream close", late=Blocked.dispose)
    assert calls.stuck == 1
    assert not hung.disposed.is_set()
    hung.release()
    assert await asyncio.to_thread(hung.disposed.wait, BOUND_S)
    assert calls.stuck == 0


async def test_cancelling_the_caller_abandons_the_call() -> None:
    calls = DeviceCalls(limit=2)
    hung = Blocked()
    task = asyncio.create_task(calls.call(hung, deadline_s=BOUND_S, what="open", late=Blocked.dispose))
    assert await asyncio.to_thread(hung.entered.wait, BOUND_S)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert calls.stuck == 1
    hung.release()
    assert await asyncio.to_thread(hung.disposed.wait, BOUND_S)


async def test_at_the_limit_full_until_a_stuck_call_returns() -> None:
    calls = DeviceCalls(limit=2)
    hung = [Blocked(), Blocked()]
    for h in hung:
        with pytest.raises(CallHungError):
            await calls.call(h, deadline_s=0.01, what="open")
    assert calls.full()
    waiting = asyncio.create_task(calls.freed())
    await asyncio.sleep(0)
    assert not waiting.done()
    hung[1].release()
    async with asyncio.timeout(BOUND_S):
        await waiting
    assert not calls.full()
    hung[0].release()


def test_a_blocking_caller_is_bounded_too() -> None:
    calls = DeviceCalls(limit=2)
    hung = Blocked()
    with pytest.raises(CallHungError, match="device scan did not return"):
        calls.call_blocking(hung, deadline_s=0.01, what="device scan")
    assert calls.stuck == 1
    hung.release()
    assert calls.call_blocking(lambda: "ok", deadline_s=BOUND_S, what="device scan") == "ok"


def test_a_thread_stuck_for_ever_does_not_keep_the_process_alive() -> None:
    # The interpreter exits although the abandoned call never returns (a non-daemon thread, or
    # asyncio's default executor, would keep it waiting at exit for ever).
    script = (
        "import asyncio, threading\n"
        "from assistantd.audio.device_calls import CallHungError, DeviceCalls\n"
        "async def main():\n"
        "    try:\n"
        "        await DeviceCalls().call(threading.Event().wait, deadline_s=0.05, what='close')\n"
        "    except CallHungError as err:\n"
        "        print(err)\n"
        "asyncio.run(main())\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=BOUND_S
    )
    assert (proc.returncode, proc.stdout) == (0, "close did not return in 0.05 s\n")
