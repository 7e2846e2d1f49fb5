"""Blocking library calls on threads the daemon owns, each waited for until a deadline, then abandoned.

Some calls can block in C for ever and Python cannot interrupt them: closing a capture stream whose
reader is stuck in ALSA's ``read()``, a host name lookup with the resolver gone, a pocketsphinx
decode of a long utterance at shutdown. None of them may run on the event loop, and none may run in
asyncio's default executor: ``asyncio.run`` joins its workers at exit, and one hung call holds a worker
that every other ``to_thread`` user shares (six stuck HTTP reads filled it and the microphone could not
reopen). So each call gets a daemon thread of its own, in a *family* (``OwnedThreads``) per kind of call:

- **Deadline.** The caller waits until ``deadline_s`` (or until it is cancelled), not longer.
- **Abandoned** means: the caller stopped waiting while the thread was still running. ``abort`` (if
  given) is called at that moment to make the call end sooner (an HTTP request's socket is shut down);
  if the call ever returns a resource, ``late(result)`` disposes of it on that same thread. An abandoned
  thread is counted (``abandoned``) until it returns; ``abandoned_total`` counts every abandonment.
- **The cap** (``limit``) bounds the abandoned threads of a family alive at once. Each holds a thread
  (and often more: a capture stream's reader), so a family that keeps hanging would grow threads
  without bound. At the cap ``full()`` is True and ``start``/``call`` refuse new calls with
  ThreadsExhaustedError until one returns (``freed()``). Calls that return in time are bounded by their
  callers (one capture loop, the handler runner's concurrency), not here.
- Threads are daemon threads: one stuck in C never keeps the process from exiting.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import threading
import weakref
from collections.abc import Callable
from typing import Generic, TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")


class CallHungError(Exception):
    """The call did not return within its deadline; its thread was abandoned."""


class ThreadsExhaustedError(Exception):
    """The family's cap of abandoned threads is reached: no new call is started."""


class Job(Generic[T]):
    """One call on its own thread. ``finished`` resolves (to None) when the call has returned."""

    def __init__(self, fn: Callable[[], T], what: str) -> None:
        self.fn = fn
        self.what = what
        self.done = False
        self.abandoned = False
        self.result: T | None = None
        self.error: BaseException | None = None
        self.late: Callable[[T], None] | None = None
        self.finished: concurrent.futures.Future[None] = concurrent.futures.Future()

    def outcome(self) -> T:
        if self.error is not None:
            raise self.error
        return self.result  # type: ignore[return-value]  # set by the thread unless fn raised


_FAMILIES: weakref.WeakSet[OwnedThreads] = weakref.WeakSet()


def abandoned_total() -> int:
    """Calls abandoned since the process started, over every family (the abandoned_calls metric)."""
    return sum(family.abandoned_total for family in list(_FAMILIES))


class OwnedThreads:
    """A family of owned daemon threads with deadlines; counts (and caps) the abandoned ones."""

    def __init__(self, family: str, limit: int) -> None:
        self.family = family
        self.limit = limit
        self._lock = threading.Lock()
        self._alive = 0
        self._abandoned = 0
        self.abandoned_total = 0
        """Calls abandoned since the process started (whether or not they returned later)."""
        self._waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        _FAMILIES.add(self)

    @property
    def alive(self) -> int:
        """Threads of this family running now (waited for or abandoned)."""
        with self._lock:
            return self._alive

    @property
    def abandoned(self) -> int:
        """Abandoned threads that have not returned yet."""
        with self._lock:
            return self._abandoned

    def full(self) -> bool:
        return self.abandoned >= self.limit

    async def freed(self) -> None:
        """Return once fewer than ``limit`` abandoned threads are alive."""
        loop = asyncio.get_running_loop()
        while True:
            event = asyncio.Event()
            with self._lock:
                if self._abandoned < self.limit:
                    return
                self._waiters.append((loop, event))
            await event.wait()

    def start(self, fn: Callable[[], T], *, what: str, late: Callable[[T], None] | None = None) -> Job[T]:
        """``fn()`` on a new daemon thread, now. Raises ThreadsExhaustedError at the cap."""
        job = Job(fn, what)
        job.late = late
        with self._lock:
            if self._abandoned >= self.limit:
                raise ThreadsExhaustedError(
                    f"{what} not started: {self._abandoned} abandoned {self.family} call(s) are still "
                    f"running (limit {self.limit})"
                )
            self._alive += 1
        try:
            threading.Thread(target=self._run, args=(job,), name=f"{self.family} {what}", daemon=True).start()
        except BaseException:
            with self._lock:
                self._alive -= 1
            raise
        return job

    async def wait(self, job: Job[T], *, deadline_s: float, abort: Callable[[], None] | None = None) -> T:
        """The job's result, or CallHungError once ``deadline_s`` has passed; cancelling the caller
        abandons the job the same way. ``abort`` runs when the job is abandoned."""
        try:
            async with asyncio.timeout(deadline_s):
                await asyncio.shield(asyncio.wrap_future(job.finished))
        except TimeoutError:
            if self._abandon(job, abort):
                raise CallHungError(f"{job.what} did not return in {deadline_s:g} s") from None
        except asyncio.CancelledError:
            if not self._abandon(job, abort):
                # Finished just as the caller gave up: nobody takes the result, so dispose of it.
                self._dispose_in_thread(job)
            raise
        return job.outcome()

    async def call(
        self,
        fn: Callable[[], T],
        *,
        deadline_s: float,
        what: str,
        late: Callable[[T], None] | None = None,
        abort: Callable[[], None] | None = None,
    ) -> T:
        """``start`` then ``wait``: ``fn()`` on an owned thread, waited for until ``deadline_s``."""
        return await self.wait(self.start(fn, what=what, late=late), deadline_s=deadline_s, abort=abort)

    # -- the thread ---------------------------------------------------------------------------------
    def _run(self, job: Job[T]) -> None:
        try:
            job.result = job.fn()
        except BaseException as err:  # handed to the caller, or logged if nobody waits any more
            job.error = err
        waiters: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []
        with self._lock:
            job.done = True
            self._alive -= 1
            if job.abandoned:
                self._abandoned -= 1
                waiters, self._waiters = self._waiters, []
        if job.abandoned:
            log.info("%s: a %s abandoned earlier returned after all", self.family, job.what)
            self._dispose(job)
        job.finished.set_result(None)
        for loop, event in waiters:
            with contextlib.suppress(RuntimeError):  # that loop closed meanwhile
                loop.call_soon_threadsafe(event.set)

    def abandon(self, job: Job[T]) -> bool:
        """Give up on ``job`` without waiting (its caller went away); True unless it was done."""
        return self._abandon(job, None)

    def _abandon(self, job: Job[T], abort: Callable[[], None] | None) -> bool:
        """Give up on ``job`` unless it is done; True when it was abandoned."""
        with self._lock:
            if not job.done and not job.abandoned:  # waited for again after an abandonment: count once
                job.abandoned = True
                self._abandoned += 1
                self.abandoned_total += 1
        if job.abandoned and abort is not None:
            try:
                abort()
            except Exception as err:  # the job stays abandoned either way
                log.debug("%s: aborting the %s: %r", self.family, job.what, err)
        return job.abandoned

    def _dispose_in_thread(self, job: Job[T]) -> None:
        if job.late is not None and job.error is None:
            threading.Thread(target=self._dispose, args=(job,), daemon=True).start()

    def _dispose(self, job: Job[T]) -> None:
        if job.error is not None:
            log.debug("%s: the abandoned %s failed late: %r", self.family, job.what, job.error)
            return
        if job.late is not None:
            try:
                job.late(job.result)  # type: ignore[arg-type]
            except Exception as err:  # nobody is left to tell but the log
                log.debug("%s: disposing of the abandoned %s: %r", self.family, job.what, err)
