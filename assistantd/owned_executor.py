"""asyncio's default executor for the daemon's loop: every call on an owned thread, none joined at exit.

Libraries the daemon does not control still use ``loop.run_in_executor(None, ...)``: aiomqtt runs paho's
``connect()`` (host name lookup and TCP connect) there, and asyncio's own ``getaddrinfo`` (websockets
connecting to a cloud recognizer by name) too. The stock executor is a shared pool of
``min(32, cores + 4)`` workers: calls against a broker that never accepts (each holds a worker until
paho's connect timeout) or a resolver that never answers (no timeout at all) fill it, every later
lookup or connect waits behind them, and ``asyncio.run`` joins the workers at exit.

``OwnedExecutor`` replaces it (``install``): each call runs on its own daemon thread of the
``BLOCKING_CALLS`` family (owned_threads.py), so no call waits for another and exit waits for none. A
caller that stops waiting (its task cancelled, e.g. by a timeout) abandons the call: counted until it
returns. At the family's cap of abandoned calls a new call fails at once with OSError (EAGAIN), which
every caller of a connect or lookup already handles as a network failure.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import errno
from collections.abc import Callable
from typing import Any, TypeVar

from assistantd.owned_threads import Job, OwnedThreads, ThreadsExhaustedError

T = TypeVar("T")

ABANDONED_LIMIT = 8
"""Abandoned library calls (lookups, connects) still running before new ones fail at once."""

BLOCKING_CALLS = OwnedThreads("blocking", limit=ABANDONED_LIMIT)


class _CallFuture(concurrent.futures.Future[Any]):
    """The future asyncio waits on; cancelling it (the caller gave up) abandons the running call."""

    def __init__(self, threads: OwnedThreads) -> None:
        super().__init__()
        self._threads = threads
        self.job: Job[Any] | None = None

    def cancel(self) -> bool:
        if self.job is not None:
            self._threads.abandon(self.job)
        return super().cancel()


class OwnedExecutor(concurrent.futures.ThreadPoolExecutor):
    """A ThreadPoolExecutor only in name (asyncio insists on one): no pool, one owned thread per call."""

    def __init__(self, threads: OwnedThreads = BLOCKING_CALLS) -> None:
        super().__init__(max_workers=1)  # never used: submit() starts no worker
        self._owned = threads

    def submit(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[T]:
        future = _CallFuture(self._owned)
        try:
            job = self._owned.start(lambda: fn(*args, **kwargs), what=getattr(fn, "__name__", "call"))
        except ThreadsExhaustedError as err:
            future.set_exception(OSError(errno.EAGAIN, str(err)))
            return future
        future.job = job
        job.finished.add_done_callback(lambda _: _settle(future, job))
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Nothing to join: abandoned calls are daemon threads, counted in the family."""


def _settle(future: _CallFuture, job: Job[Any]) -> None:
    try:
        if job.error is not None:
            future.set_exception(job.error)
        else:
            future.set_result(job.result)
    except concurrent.futures.InvalidStateError:  # cancelled: the caller went away
        pass


def install(loop: asyncio.AbstractEventLoop) -> None:
    """Make ``loop``'s default executor an OwnedExecutor (the daemon does this first thing)."""
    loop.set_default_executor(OwnedExecutor())
