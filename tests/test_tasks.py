"""cancel_and_wait and cancel_and_reap: the tasks' own cancellation is swallowed, the caller's never."""

from __future__ import annotations

import asyncio
import gc

import pytest

from assistantd.tasks import cancel_and_reap, cancel_and_wait


async def _slow_to_stop(cleaning: asyncio.Event, done: asyncio.Event) -> None:
    try:
        await asyncio.Event().wait()
    finally:
        cleaning.set()
        await done.wait()  # clean-up that takes a while (closing a device, say)


async def test_the_tasks_own_cancellation_is_swallowed() -> None:
    cleaning, done = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(_slow_to_stop(cleaning, done))
    await asyncio.sleep(0)
    waiter = asyncio.create_task(cancel_and_wait(task))
    await cleaning.wait()
    done.set()
    await waiter  # returns normally
    assert task.cancelled()


async def test_a_cancellation_of_the_caller_while_it_waits_is_raised() -> None:
    """The second SIGINT case: the shutdown is itself cancelled while capture is still closing."""
    cleaning, done = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(_slow_to_stop(cleaning, done))
    await asyncio.sleep(0)
    carried_on = False

    async def shutdown() -> None:
        nonlocal carried_on
        await cancel_and_wait(task)
        carried_on = True

    caller = asyncio.create_task(shutdown())
    await cleaning.wait()
    caller.cancel()  # arrives while the task is still cleaning up
    done.set()
    with pytest.raises(asyncio.CancelledError):
        await caller
    assert not carried_on


async def test_another_failure_of_the_task_is_raised() -> None:
    async def fails() -> None:
        raise OSError("device gone")

    task = asyncio.create_task(fails())
    await asyncio.sleep(0)
    with pytest.raises(OSError, match="device gone"):
        await cancel_and_wait(task)


async def test_cancel_and_reap_waits_for_every_helper_to_finish() -> None:
    cleaning, done = asyncio.Event(), asyncio.Event()
    slow = asyncio.create_task(_slow_to_stop(cleaning, done))

    async def fails() -> None:
        raise OSError("socket gone")

    failed = asyncio.create_task(fails())
    await asyncio.sleep(0)
    reaper = asyncio.create_task(cancel_and_reap(slow, failed))
    await cleaning.wait()
    assert not reaper.done()  # still waiting for the slow helper's clean-up
    done.set()
    await reaper
    assert slow.cancelled() and failed.done()


async def test_cancel_and_reap_does_not_swallow_the_callers_cancellation() -> None:
    cleaning, done = asyncio.Event(), asyncio.Event()
    slow = asyncio.create_task(_slow_to_stop(cleaning, done))
    await asyncio.sleep(0)
    caller = asyncio.create_task(cancel_and_reap(slow))
    await cleaning.wait()
    caller.cancel()
    done.set()
    with pytest.raises(asyncio.CancelledError):
        await caller


async def test_cancel_and_reap_retrieves_a_failure_raised_while_cancelling() -> None:
    """A helper whose clean-up fails (a socket close in a ``finally``): reaped, not logged by asyncio as
    "Task exception was never retrieved"."""
    started = asyncio.Event()

    async def close_fails() -> None:
        try:
            started.set()
            await asyncio.Event().wait()
        finally:
            raise OSError("close failed")

    task = asyncio.create_task(close_fails())
    await started.wait()
    unretrieved: list[dict[str, object]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _, context: unretrieved.append(context))
    await cancel_and_reap(task)
    assert task.done() and not task.cancelled()  # it ended with its own error
    del task
    gc.collect()
    assert unretrieved == []
