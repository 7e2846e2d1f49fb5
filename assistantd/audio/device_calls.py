"""Blocking PortAudio calls on threads capture owns, each with a deadline, abandoned when it passes.

A device in trouble can hold a PortAudio call in C for ever: ALSA's file plugin blocked in ``read()`` on
a FIFO nobody writes keeps the stream's callback thread from returning, so ``Pa_StopStream`` waits for it;
opening a FIFO with no writer blocks in ``open()`` while PortAudio initialises. Python cannot interrupt
such a call. So each one runs on a thread of its own, and the caller waits only until a deadline:

- The thread is a daemon thread: one stuck in C never keeps the process from exiting. (asyncio's default
  executor would: ``asyncio.run`` joins its workers at exit, and one hung call also holds a worker that
  every other ``to_thread`` user shares.)
- After the deadline (or when the caller is cancelled) the call is *abandoned*: nobody waits for it, and if
  it ever returns a resource, ``late`` disposes of it on that same thread.
- Abandoned calls still running are counted. Each holds a thread (and usually PortAudio's callback thread
  too), so a caller that keeps reopening a wedged device would grow threads without bound: at ``limit``
  ``full()`` is True and the caller must stop making calls until ``freed()`` says one came back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")

ABANDONED_LIMIT = 3
"""Abandoned calls that may be stuck at once, process-wide, before capture stops reopening."""


class CallHungError(Exception):
    """The call did not return within its deadline; its thread was abandoned."""


class _Call(Generic[T]):
    def __init__(self) -> None:
        self.done = False
        self.abandoned = False
        self.result: T | None = None
        self.error: BaseException | None = None


class DeviceCalls:
    """Runs blocking device calls on owned daemon threads with deadlines; counts the abandoned ones."""

    def __init__(self, limit: int = ABANDONED_LIMIT) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._stuck = 0
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    @property
    def stuck(self) -> int:
        """Abandoned calls that have not returned yet."""
        with self._lock:
            return self._stuck

    def full(self) -> bool:
        return self.stuck >= self.limit

    async def freed(self) -> None:
        """Return once fewer than ``limit`` abandoned calls are stuck."""
        loop = asyncio.get_running_loop()
        while True:
            event = asyncio.Event()
            with self._lock:
                if self._stuck < self.limit:
                    return
                self._waiters.append((loop, event))
            await event.wait()

    async def call(
        self,
        fn: Callable[[], T],
        *,
        deadline_s: float,
        what: str,
        late: Callable[[T], None] | None = None,
    ) -> T:
        """``fn()`` on a new daemon thread. Raises CallHungError after ``deadline_s``; ``late(result)``
        then runs on that thread if the call ever returns. Cancellation abandons the call the same way."""
        loop = asyncio.get_running_loop()
        settled: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(_settle, settled)

        call = self._start(fn, what, late, wake)
        try:
            async with asyncio.timeout(deadline_s):
                await asyncio.shield(settled)
        except TimeoutError:
            if self._abandon(call):
                raise CallHungError(f"{what} did not return in {deadline_s:g} s") from None
        except asyncio.CancelledError:
            if not self._abandon(call):
                # Finished just as the caller gave up: nobody takes the result, so dispose of it.
                self._dispose_in_thread(call, late, what)
            raise
        return self._outcome(call)

    def call_blocking(self, fn: Callable[[], T], *, deadline_s: float, what: str) -> T:
        """``call`` for synchronous code (start-up checks): blocks the caller for at most ``deadline_s``."""
        finished = threading.Event()
        call = self._start(fn, what, None, finished.set)
        if not finished.wait(deadline_s) and self._abandon(call):
            raise CallHungError(f"{what} did not return in {deadline_s:g} s")
        return self._outcome(call)

    def _start(
        self, fn: Callable[[], T], what: str, late: Callable[[T], None] | None, wake: Callable[[], None]
    ) -> _Call[T]:
        call: _Call[T] = _Call()

        def run() -> None:
            try:
                call.result = fn()
            except BaseException as err:  # handed to the caller, or logged if nobody waits any more
                call.error = err
            with self._lock:
                call.done = True
                abandoned = call.abandoned
                if abandoned:
                    self._stuck -= 1
                    waiters, self._waiters = self._waiters, []
            if not abandoned:
                wake()
                return
            log.info("audio: a %s abandoned earlier returned after all", what)
            self._dispose(call, late, what)
            for waiter_loop, event in waiters:
                with contextlib.suppress(RuntimeError):
                    waiter_loop.call_soon_threadsafe(event.set)

        threading.Thread(target=run, name=f"audio {what}", daemon=True).start()
        return call

    def _abandon(self, call: _Call[T]) -> bool:
        """Give up on ``call`` unless it is done; True when it was abandoned."""
        with self._lock:
            if not call.done:
                call.abandoned = True
                self._stuck += 1
            return call.abandoned

    @staticmethod
    def _outcome(call: _Call[T]) -> T:
        if call.error is not None:
            raise call.error
        return call.result  # type: ignore[return-value]  # set by run() unless it raised

    def _dispose_in_thread(self, call: _Call[T], late: Callable[[T], None] | None, what: str) -> None:
        if late is not None and call.error is None:
            threading.Thread(target=self._dispose, args=(call, late, what), daemon=True).start()

    @staticmethod
    def _dispose(call: _Call[T], late: Callable[[T], None] | None, what: str) -> None:
        if call.error is not None:
            log.debug("audio: the abandoned %s failed late: %r", what, call.error)
            return
        if late is not None:
            try:
                late(call.result)  # type: ignore[arg-type]
            except Exception as err:  # nobody is left to tell but the log
                log.debug("audio: disposing of the abandoned %s: %r", what, err)


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


DEVICE_CALLS = DeviceCalls()
"""Shared by every microphone source in the process: the cap counts threads, which are process-wide."""
