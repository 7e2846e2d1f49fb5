"""Sources that read recorded audio: a WAV file (any rate, channels, 8/16/24/32-bit) or raw s16le on stdin.

Both end at EOF. The final partial frame is zero-padded (see ``Framer.finish``). With ``pace=True`` a
source sleeps so that frame ``t`` is handed out ``t`` seconds after the first one, as a microphone would;
otherwise it runs as fast as the consumer reads.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import os
import queue
import sys
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import BinaryIO

from assistantd.audio.convert import Framer, ToMono16k
from assistantd.audio.frames import SAMPLE_RATE, SAMPLE_WIDTH, AudioSource, Frame, SourceState, frame_bytes
from assistantd.audio.wavheader import open_wav
from assistantd.errors import AudioError

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]

CHUNK_S = 0.25
"""Audio read per step: large enough to keep overhead low, small enough to keep memory flat."""


class _Pacer:
    """Sleeps until ``start + t`` on the injected clock, so frames leave at the audio clock's pace."""

    def __init__(self, enabled: bool, clock: Clock, sleep: Sleep) -> None:
        self._enabled = enabled
        self._clock = clock
        self._sleep = sleep
        self._start: float | None = None

    async def wait(self, frame: Frame) -> None:
        if not self._enabled:
            return
        if self._start is None:
            self._start = self._clock() - frame.t
        delay = self._start + frame.t - self._clock()
        if delay > 0:
            await self._sleep(delay)


async def _paced(
    chunks: AsyncIterator[bytes], converter: ToMono16k, frame_ms: int, pacer: _Pacer
) -> AsyncIterator[Frame]:
    framer = Framer(frame_ms)
    async for chunk in chunks:
        for frame in framer.push(converter.process(chunk)):
            await pacer.wait(frame)
            yield frame
    for frame in framer.push(converter.flush()):
        await pacer.wait(frame)
        yield frame
    last = framer.finish()
    if last is not None:
        await pacer.wait(last)
        yield last


class WavFileSource:
    """Frames from a WAV file, converted to 16 kHz mono (channels are averaged).

    The header is read and checked in the constructor, so a bad file fails with ``AudioError`` before the
    loop starts.
    """

    def __init__(
        self,
        path: str | Path,
        frame_ms: int = 30,
        *,
        pace: bool = False,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.path = Path(path)
        self.frame_ms = frame_ms
        self._pacer = _Pacer(pace, clock, sleep)
        self.live = pace
        """Paced, it stands in for a microphone; unpaced, its reader waits for the consumer."""
        reader = open_wav(self.path)
        with reader as wav:
            self.rate = wav.getframerate()
            self.channels = wav.getnchannels()
            self.sample_width = wav.getsampwidth()
        self.nframes = reader.nframes
        """Frames to play: fewer than the header says when the file was cut short (see open_wav)."""
        self.start_frame = 0
        """Where reading starts: 0, or where the source this one replaces at a reload stopped."""

    def resume_at(self, seconds: float) -> None:
        """Start reading ``seconds`` into the file (frame times still start at 0)."""
        self.start_frame = min(self.nframes, max(0, round(seconds * self.rate)))

    def resume_after(self, previous: AudioSource, at_s: float) -> None:
        """A reload over the same file carries on where the replaced source stopped reading it, instead
        of playing the file again from its start."""
        if isinstance(previous, WavFileSource) and previous.path == self.path:
            self.resume_at(at_s)

    async def preflight(self) -> None:
        """Nothing to check: the header was read when the source was made."""

    def state_at(self, now: float) -> SourceState:
        return SourceState()

    @property
    def duration_s(self) -> float:
        return self.nframes / self.rate

    async def _chunks(self) -> AsyncIterator[bytes]:
        # Local file reads of a quarter second are quick enough to do on the loop.
        step = max(1, int(self.rate * CHUNK_S))
        left = self.nframes - self.start_frame
        # Counted in frames, so a cut-short file's trailing partial frame is never handed to the converter.
        with open_wav(self.path, warn_truncated=False) as wav:
            if self.start_frame:
                wav.setpos(self.start_frame)
            while left > 0 and (data := wav.readframes(min(step, left))):
                left -= len(data) // (self.sample_width * self.channels)
                yield data

    def frames(self) -> AsyncIterator[Frame]:
        converter = ToMono16k(self.rate, self.channels, self.sample_width, channel=None)
        return _paced(self._chunks(), converter, self.frame_ms, self._pacer)


class _PendingRead:
    """A blocking read on a stream and the one asyncio future every reader awaits it through."""

    def __init__(
        self, read: concurrent.futures.Future[bytes], stream: BinaryIO, loop: asyncio.AbstractEventLoop
    ) -> None:
        self.read = read
        self.stream = stream
        self.waiter = asyncio.wrap_future(read, loop=loop)

    def dead(self) -> bool:
        """Nobody can want it: its stream is closed (a pipe's key, its inode, may then be reused by a new
        pipe), or it ended at EOF or in an error, which a fresh read reports again."""
        if self.stream.closed:
            return True
        if not self.read.done():
            return False
        return self.read.cancelled() or self.read.exception() is not None or not self.read.result()

    def waiter_on(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future[bytes]:
        if self.waiter.get_loop() is not loop:  # a new event loop (asyncio.run again) on the same stream
            self.waiter = asyncio.wrap_future(self.read, loop=loop)
        return self.waiter


_Job = tuple[concurrent.futures.Future[bytes], int | None, BinaryIO, int]
"""A read to make: (its future, file descriptor or None, stream, size)."""

READER_IDLE_S = 60.0
"""A reader thread with no read to make for this long ends (a stream nobody reads any more)."""


class _ReaderThread:
    """The one thread that makes a stream's blocking reads, one after another, as they are asked for.

    A thread per read cost more than the reading itself when input comes in small writes (30 ms of audio
    at a time: 33 thread starts a second, issue 13). Reads are still made only when a reader asks, never
    ahead: what has not been asked for stays in the pipe.
    """

    def __init__(self, key: object) -> None:
        self._key = key
        self._jobs: queue.SimpleQueue[_Job] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._running = False

    def submit(self, job: _Job) -> None:
        with self._lock:
            self._jobs.put(job)
            if not self._running:
                self._running = True
                threading.Thread(target=self._run, name="assistantd-stdin", daemon=True).start()

    def _run(self) -> None:
        while True:
            try:
                future, fd, stream, size = self._jobs.get(timeout=READER_IDLE_S)
            except queue.Empty:
                with self._lock:
                    if self._jobs.empty():
                        self._running = False
                        if _readers.get(self._key) is self:
                            del _readers[self._key]
                        return
                continue
            try:
                data = os.read(fd, size) if fd is not None else stream.read(size)
            except BaseException as exc:  # handed to the awaiting task, which re-raises it
                future.set_exception(exc)
            else:
                future.set_result(data or b"")
            del future, stream  # nothing of a finished read stays referenced while the thread waits


_pending_reads: dict[object, _PendingRead] = {}
"""At most one blocking read per stream, shared by every StdinSource on it (see ``StdinSource._read``)."""
_readers: dict[object, _ReaderThread] = {}
"""The reader thread of each stream."""


def _forget_dead_reads() -> None:
    """Drop the pending reads nobody can want (``_PendingRead.dead``): a cancelled reader leaves its read
    registered for the next source on the stream, and when none comes the entry would stay for good."""
    for key, pending in list(_pending_reads.items()):
        if pending.dead():
            del _pending_reads[key]


_unread: dict[object, bytes] = {}
"""Bytes a StdinSource read and never handed out (closed at a reload), for the next one on the stream."""


def _stream_key(stream: BinaryIO) -> tuple[object, int | None]:
    """(identity, file descriptor): a pipe or file by device and inode, anything else by the object."""
    try:
        fd = stream.fileno()
        st = os.fstat(fd)
    except (OSError, ValueError, AttributeError):
        return stream, None
    return (st.st_dev, st.st_ino), fd


class StdinSource:
    """Frames from raw 16 kHz mono s16le on a byte stream (stdin by default); ends at EOF.

    Reads happen in a daemon thread, one per stream for all its reads (``_ReaderThread``): a pipe or
    terminal may block for as long as its writer likes, and a read still blocked when the loop stops must
    not hold up interpreter exit (a default-executor thread would make ``asyncio.run`` wait for it). A
    stream with a file descriptor is read with ``os.read``, not through its BufferedReader: a thread
    blocked inside ``BufferedReader.read`` holds the reader's lock, and the interpreter aborts at exit
    ("could not acquire lock for <stdin> at interpreter shutdown") when the daemon stops while its writer
    is idle.
    """

    def __init__(
        self,
        stream: BinaryIO | None = None,
        frame_ms: int = 30,
        *,
        pace: bool = False,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._stream = stream if stream is not None else sys.stdin.buffer
        self._key, self._fd = _stream_key(self._stream)
        _forget_dead_reads()
        self.frame_ms = frame_ms
        self._pacer = _Pacer(pace, clock, sleep)
        self.live = pace
        """Paced, it stands in for a microphone; unpaced, its reader waits for the consumer."""

    async def preflight(self) -> None:
        """Nothing to check: a pipe's first read says whether audio comes."""

    def state_at(self, now: float) -> SourceState:
        return SourceState()

    def resume_after(self, previous: AudioSource, at_s: float) -> None:
        """Nothing to do: the next reader of the stream takes the replaced reader's pending read."""

    async def _chunks(self, carried: int) -> AsyncIterator[bytes]:
        step = int(SAMPLE_RATE * CHUNK_S) * SAMPLE_WIDTH
        total = carried
        while True:
            data = await self._read(step)
            if not data:
                break
            total += len(data)
            yield data
        if total == 0:
            raise AudioError("stdin: no audio (expected raw 16 kHz mono s16le)")
        if total % SAMPLE_WIDTH:
            log.warning("stdin: odd byte count %d; the last half sample is padded with zero", total)

    async def _read(self, size: int) -> bytes:
        # A read still blocked when its reader is cancelled (the service stops listening to rebuild on
        # SIGHUP) stays registered, and the next StdinSource on the same stream takes its data: nothing
        # written to the pipe is lost across a reload.
        # Every reader awaits the read through the same asyncio future: wrapping it again for each new
        # reader hung one more callback and future on a read that may wait for hours (a pipe whose writer
        # is quiet while SIGHUPs come), a few hundred bytes per reload (bench/reload_memory.py).
        loop = asyncio.get_running_loop()
        pending = _pending_reads.get(self._key)
        if pending is not None and pending.dead():
            del _pending_reads[self._key]
            pending = None
        if pending is None:
            read: concurrent.futures.Future[bytes] = concurrent.futures.Future()
            pending = _PendingRead(read, self._stream, loop)
            _pending_reads[self._key] = pending
            reader = _readers.get(self._key)
            if reader is None:
                reader = _readers[self._key] = _ReaderThread(self._key)
            reader.submit((read, self._fd, self._stream, size))
        try:
            data = await asyncio.shield(pending.waiter_on(loop))
        except asyncio.CancelledError:
            # Left registered even when the data already arrived (the read finished just as this reader
            # was cancelled): the next reader on the stream takes it instead of a chunk vanishing.
            raise
        except BaseException:
            if _pending_reads.get(self._key) is pending:
                del _pending_reads[self._key]
            raise
        if _pending_reads.get(self._key) is pending:
            del _pending_reads[self._key]
        return data

    async def frames(self) -> AsyncIterator[Frame]:
        """Frames from the stream (16 kHz mono s16le needs no conversion). Bytes read but not handed out
        when the consumer closes this (a reload) are kept for the next source on the same stream, which
        hands them out first: a reload neither loses a pipe's audio nor shifts its clock."""
        size = frame_bytes(self.frame_ms)
        pending = bytearray(_unread.pop(self._key, b""))
        samples = 0
        try:
            async for chunk in self._chunks(len(pending)):
                pending += chunk
                while len(pending) >= size:
                    frame = Frame(bytes(pending[:size]), samples / SAMPLE_RATE)
                    await self._pacer.wait(frame)
                    # Out of ``pending`` before the yield: a consumer that closes this after taking the
                    # frame has used it.
                    del pending[:size]
                    samples += size // SAMPLE_WIDTH
                    yield frame
            if pending:  # the last partial frame, zero-padded as Framer.finish does
                frame = Frame(bytes(pending) + bytes(size - len(pending)), samples / SAMPLE_RATE)
                pending.clear()
                await self._pacer.wait(frame)
                yield frame
        finally:
            if pending:
                _unread[self._key] = bytes(pending)
