"""One dedicated thread per pocketsphinx decoder; the event loop only ever queues work for it.

pocketsphinx calls hold the GIL-free C decoder for tens of milliseconds (open LM) and a Decoder is
not thread-safe, so every call runs on the one thread that created it. Audio reaches the thread
through a bounded queue while the person is still talking; when the decoder falls behind (the open
LM on a slow Pi) the producer waits (backpressure) instead of the queue growing: the endpointer's
own bounded queue upstream then applies its drop policy. Loading the model happens on this thread
too, so start-up never blocks the loop.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import queue
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from assistantd.errors import RecognizerError

log = logging.getLogger(__name__)

T = TypeVar("T")
Job = tuple[Callable[[Any], Any], "concurrent.futures.Future[Any]"]

_FULL_WAIT_S = 0.01
"""How long a producer waits before retrying a full queue (only while the decoder is behind)."""


class DecoderThread:
    """Owns one decoder made by ``make_decoder`` on its own thread; runs ``fn(decoder)`` jobs in order."""

    def __init__(self, make_decoder: Callable[[], Any], *, max_pending: int = 64, name: str = "pocketsphinx"):
        self._make_decoder = make_decoder
        self._jobs: queue.Queue[Job | None] = queue.Queue(maxsize=max_pending)
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._turn = asyncio.Lock()
        self._closed = False
        self.stalls = 0
        """Times a producer found the queue full and had to wait."""
        self.cpu_s = 0.0
        """CPU seconds the decoder thread has used (thread CPU clock), for benchmarks and logs."""
        self.jobs_run = 0
        """Jobs the thread has run: each one is a handoff (a future, a queue, a wake-up)."""

    def start(self) -> None:
        if not self._thread.is_alive() and not self._ready.done():
            self._thread.start()

    async def ready(self) -> None:
        """Wait until the decoder is loaded; raises what loading raised."""
        self.start()
        # Shielded: a cancelled waiter must not cancel the shared future the thread will resolve.
        await asyncio.shield(asyncio.wrap_future(self._ready))

    @contextlib.asynccontextmanager
    async def turn(self) -> AsyncIterator[None]:
        """One utterance at a time on this decoder."""
        async with self._turn:
            yield

    def _run(self) -> None:
        try:
            decoder = self._make_decoder()
        except BaseException as err:  # handed to whoever awaits ready()
            self._ready.set_exception(err)
            return
        self._ready.set_result(None)
        while (job := self._jobs.get()) is not None:
            fn, future = job
            if not future.set_running_or_notify_cancel():
                continue
            start = time.thread_time()
            self.jobs_run += 1
            try:
                future.set_result(fn(decoder))
            except BaseException as err:  # the awaiting coroutine re-raises it
                future.set_exception(err)
            finally:
                self.cpu_s += time.thread_time() - start

    async def submit(self, fn: Callable[[Any], T]) -> concurrent.futures.Future[T]:
        """Queue ``fn(decoder)`` and return its future without waiting for the result."""
        await self.ready()
        if self._closed:
            # Past close() nothing would ever run the job: an utterance still decoding on a recognizer
            # closed under it (a reload's old app after the grace) fails at once instead of hanging.
            raise RecognizerError("the offline decoder was closed")
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        while True:
            try:
                self._jobs.put_nowait((fn, future))
                return future
            except queue.Full:
                self.stalls += 1
                await asyncio.sleep(_FULL_WAIT_S)

    def submit_nowait(self, fn: Callable[[Any], Any]) -> bool:
        """Queue ``fn(decoder)`` if there is room (for clean-up where awaiting is not possible)."""
        try:
            self._jobs.put_nowait((fn, concurrent.futures.Future()))
        except queue.Full:
            return False
        return True

    async def call(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn(decoder)`` on the decoder thread and return its result."""
        return await asyncio.wrap_future(await self.submit(fn))

    def close(self, timeout: float = 5.0) -> None:
        """Finish queued jobs, then stop the thread (idempotent)."""
        self._closed = True
        if self._thread.is_alive():
            try:
                self._jobs.put(None, timeout=timeout)
            except queue.Full:
                log.warning("decoder thread did not drain its queue in %.0f s; leaving it (daemon)", timeout)
                return
            self._thread.join(timeout)
