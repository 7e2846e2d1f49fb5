"""One dedicated thread per pocketsphinx decoder; the event loop only ever queues work for it.

A pocketsphinx call can take tens of milliseconds (open LM) and a Decoder is not thread-safe, so every
call runs on the one thread that created it. pocketsphinx's Python binding keeps the GIL while it
decodes (issue 13: one ``process_raw`` of 3 s of audio, 136 ms, stopped the main thread for all of it),
so the thread does not make the loop free while it works; it makes the loop wait in short pieces: audio
goes over in 100 ms batches (utterance.py), each a few milliseconds of decoding, and the grammar decoder
and the phone loop take turns rather than run at once. Audio reaches the thread
through a bounded queue while the person is still talking; when the decoder falls behind (the open
LM on a slow Pi) the producer waits (backpressure) instead of the queue growing: the endpointer's
own bounded queue upstream then applies its drop policy. Loading the model happens on this thread
too, so start-up never blocks the loop.

Closing never blocks the loop either: ``close()`` only tells the thread to stop once the queued jobs are
done, and ``aclose()`` waits for that off the loop until a deadline. A decode still running then (a long
utterance on a slow Pi at shutdown) is abandoned and counted in ``DECODER_THREADS`` (owned_threads.py);
the thread is a daemon thread and ends by itself when its decode does.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import queue
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from assistantd.errors import RecognizerError
from assistantd.owned_threads import CallHungError, Job, OwnedThreads, ThreadsExhaustedError

log = logging.getLogger(__name__)

T = TypeVar("T")
DecoderJob = tuple[Callable[[Any], Any], "concurrent.futures.Future[Any]"]

_FULL_WAIT_S = 0.01
"""How long a producer waits before retrying a full queue (only while the decoder is behind)."""
CLOSE_DEADLINE_S = 5.0
"""How long ``aclose`` waits for the queued jobs to finish before it abandons the thread."""
ABANDONED_LIMIT = 4
"""Abandoned decoder threads (each holds a decoder's native memory) before no new decoder may start."""

DECODER_THREADS = OwnedThreads("decoder", limit=ABANDONED_LIMIT)


class DecoderThread:
    """Owns one decoder made by ``make_decoder`` on its own thread; runs ``fn(decoder)`` jobs in order."""

    def __init__(self, make_decoder: Callable[[], Any], *, max_pending: int = 64, name: str = "pocketsphinx"):
        self._make_decoder = make_decoder
        self._jobs: queue.Queue[DecoderJob | None] = queue.Queue(maxsize=max_pending)
        self._name = name
        self._owned: Job[None] | None = None
        self._ready: concurrent.futures.Future[None] = concurrent.futures.Future()
        self._turn = asyncio.Lock()
        self._closed = False
        self.stalls = 0
        """Times a producer found the queue full and had to wait."""
        self.cpu_s = 0.0
        """CPU seconds the decoder thread has used (thread CPU clock), for benchmarks and logs."""
        self.jobs_run = 0
        """Jobs the thread has run: each one is a handoff (a future, a queue, a wake-up)."""

    @property
    def closed(self) -> bool:
        """``close()`` was called: no new job is taken."""
        return self._closed

    def start(self) -> None:
        """Start the thread (once). Raises RecognizerError when too many abandoned decoders still run."""
        if self._owned is None and not self._closed:
            try:
                self._owned = DECODER_THREADS.start(self._run, what=self._name)
            except ThreadsExhaustedError as err:
                raise RecognizerError(str(err)) from None

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
        while (job := self._next_job()) is not None:
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

    def _next_job(self) -> DecoderJob | None:
        if self._closed and self._jobs.empty():
            return None  # close() found the queue full and could not queue the stop
        return self._jobs.get()

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

    def close(self) -> None:
        """Let the thread finish the queued jobs, then stop (idempotent). Never blocks."""
        self._closed = True
        with contextlib.suppress(queue.Full):  # then the thread sees _closed once it has drained the queue
            self._jobs.put_nowait(None)
        if self._owned is None and not self._ready.done():  # never started: nothing will load
            self._ready.set_exception(RecognizerError("the offline decoder was closed"))

    async def aclose(self, deadline_s: float = CLOSE_DEADLINE_S) -> None:
        """``close()``, then wait off the loop until the thread has stopped, for at most ``deadline_s``;
        after that it is abandoned (logged, counted in DECODER_THREADS) and stops by itself later."""
        self.close()
        if self._owned is None:
            return
        try:
            await DECODER_THREADS.wait(self._owned, deadline_s=deadline_s)
        except CallHungError:
            log.warning(
                "%s decoder still busy %g s after close; abandoned it (%d decoder thread(s) abandoned)",
                self._name,
                deadline_s,
                DECODER_THREADS.abandoned,
            )
