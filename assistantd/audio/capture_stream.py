"""One open PortAudio input stream, the thread reading it, and the bounded hand-off of frames to the loop.

A reader thread of our own (``CaptureStream.start``) makes blocking reads of ``frames_per_buffer`` frames;
pyaudio releases the GIL while PortAudio waits for the device. Each read is converted (channel selection
+ soxr streaming resampler), framed, and offered to the asyncio loop with ``loop.call_soon_threadsafe``.
PortAudio's callback mode was used before and cost more than the listening itself: PortAudio calls back
on a thread Python does not know, so every 30 ms call made and destroyed a Python thread state (with an
mmap/munmap of its frame stack, and a TLB shootdown on every core); bench/idle_cpu.py measured the
daemon in continuous mode at 1.94x its bare loop that way (issue 13).

The hand-off is bounded by ``audio.queue_frames`` counted from the moment a frame is scheduled until the
consumer takes it, so neither the queue nor the loop's callback list can grow when the consumer (or the
whole loop) stalls. Policy when full: drop the newest frame and count it; the frames already queued are
older audio the consumer is about to need. A drop shows as a gap in ``Frame.t``.

Waking the loop costs more than the frame's work: per 30 ms frame, the wake-up alone (a self-pipe write,
epoll, a loop iteration, the GIL passed between two threads) more than doubled the CPU of an idle
listening loop (bench/idle_cpu.py, issue 13). So while nothing needs the audio at once (no utterance in
flight: the listener says so with ``MicrophoneSource.hold(frames)``), the reader holds up to
``owner.hold_frames`` frames and wakes the loop once for all of them; held frames count against the bound
like queued ones.

Stopping: ``close()`` tells the reader to stop, waits for its read in progress (one buffer, 30 ms, on a
working device), then stops and closes the stream. A read that does not return (a wedged device) keeps
``close()`` waiting: the stream is never closed under a read in progress, and the caller's deadline
abandons the close (microphone.py), as it did a ``Pa_StopStream`` that hung in callback mode.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import Protocol

from assistantd.audio.convert import Framer, ToMono16k
from assistantd.audio.devices import (
    PA_DEVICE_UNAVAILABLE,
    PA_INVALID_DEVICE,
    PA_NO_DEVICE,
    PortAudio,
    Stream,
)
from assistantd.audio.frames import Frame

log = logging.getLogger(__name__)


READER_STOP_S = 0.5
"""How long ``close()`` waits for the reader's read in progress before it stops the stream under it (a
read returns within one buffer on a working device; stopping the stream ends the wait of most others)."""


class Counters(Protocol):
    """Where the reader counts what it loses (the MicrophoneSource that owns the stream)."""

    frames_dropped: int
    hold_frames: int
    """Frames the reader may collect before waking the loop (1: every frame at once)."""


class CaptureState(enum.StrEnum):
    STARTING = "starting"
    OPEN = "open"
    MISSING = "missing"
    """No input device matches (unplugged, or PortAudio found none)."""
    BUSY = "busy"
    """The device exists but another process holds it."""
    STALLED = "stalled"
    """The stream was open but delivered nothing for stall_timeout_s."""
    FAILED = "failed"
    """Any other open or stream error; retried like the rest."""
    WEDGED = "wedged"
    """Too many abandoned device calls are stuck in PortAudio: not reopening until one returns."""
    STOPPED = "stopped"


class CaptureError(Exception):
    def __init__(self, state: CaptureState, message: str) -> None:
        super().__init__(message)
        self.state = state


def classify(err: OSError) -> CaptureState:
    if err.errno in (PA_INVALID_DEVICE, PA_NO_DEVICE):
        return CaptureState.MISSING
    if err.errno == PA_DEVICE_UNAVAILABLE:
        return CaptureState.BUSY
    return CaptureState.FAILED


class CaptureStream:
    """One open stream: the PortAudio-thread side and the loop side of the bounded hand-off."""

    def __init__(
        self,
        owner: Counters,
        loop: asyncio.AbstractEventLoop,
        converter: ToMono16k,
        framer: Framer,
        bound: int,
    ) -> None:
        self._owner = owner
        self._loop = loop
        self._converter = converter
        self.framer = framer
        self._bound = bound
        self._queue: asyncio.Queue[Frame | None] = asyncio.Queue()
        self._lock = threading.Lock()
        self._in_flight = 0
        self._held: list[Frame | None] = []
        """Frames the reader keeps until ``owner.hold_frames`` are there (reader thread only)."""
        self._stopping = threading.Event()
        self._reader: threading.Thread | None = None
        self.error: str | None = None
        self.name = "?"
        """The device, as DeviceInfo.describe() puts it (for log lines)."""
        self.pa: PortAudio | None = None
        self.stream: Stream | None = None

    # -- reader thread ------------------------------------------------------------------------------
    def start(self, stream: Stream, frames_per_buffer: int) -> None:
        """Keep the open ``stream`` and start its reader thread (once)."""
        self.stream = stream
        self._reader = threading.Thread(
            target=self._read_loop, args=(stream, frames_per_buffer), name="audio-capture", daemon=True
        )
        self._reader.start()

    def _read_loop(self, stream: Stream, frames_per_buffer: int) -> None:
        read, stopping = stream.read, self._stopping
        while not stopping.is_set():
            try:
                # Overflow (audio PortAudio lost before this read) is not raised: pyaudio would throw the
                # read's audio away with it. A lost stretch shows as speech cut short, not as a crash.
                data = read(frames_per_buffer, exception_on_overflow=False)
            except Exception as err:
                if not stopping.is_set():
                    self._fail(f"capture read failed: {err!r}")
                return
            try:
                self.push(data)
            except Exception as err:  # a converter or framer failure: reopen rather than die
                self._fail(f"capture failed: {err!r}")
                return

    def push(self, data: bytes) -> None:
        """Convert, frame and offer one read's audio (reader thread)."""
        for frame in self.framer.push(self._converter.process(data)):
            self._offer(frame)
        if len(self._held) >= self._owner.hold_frames:
            held, self._held = self._held, []
            self._schedule(held)

    def _fail(self, error: str) -> None:
        self.error = error
        held, self._held = self._held, []
        self._schedule([*held, None])

    def _offer(self, frame: Frame) -> None:
        with self._lock:
            if self._in_flight >= self._bound:
                self._owner.frames_dropped += 1
                return
            self._in_flight += 1
        self._held.append(frame)

    def _schedule(self, items: list[Frame | None]) -> None:
        with contextlib.suppress(RuntimeError):  # the loop closed under a stream that is shutting down
            self._loop.call_soon_threadsafe(self._put_all, items)

    def _put_all(self, items: list[Frame | None]) -> None:
        for item in items:
            self._queue.put_nowait(item)

    # -- loop side ----------------------------------------------------------------------------------
    async def frames(self, stall_timeout_s: float) -> AsyncIterator[Frame]:
        """Frames until the stream fails or stalls, which raises CaptureError."""
        while True:
            try:
                if not self._queue.empty():
                    item = self._queue.get_nowait()  # held frames came together: no timer for each
                else:
                    async with asyncio.timeout(stall_timeout_s):
                        item = await self._queue.get()
            except TimeoutError:
                stopped = self.stream is None or not self.stream.is_active()
                why = "stream stopped, no audio" if stopped else "no audio"
                message = f"{self.name}: {why} for {stall_timeout_s:g} s"
                raise CaptureError(CaptureState.STALLED, message) from None
            if item is None:
                raise CaptureError(CaptureState.FAILED, f"{self.name}: {self.error or 'stream ended'}")
            with self._lock:
                self._in_flight -= 1
            yield item

    def close(self) -> None:
        """Stop the reader, stop and close the stream, terminate PortAudio; errors from a dead device are
        only logged. Blocks while a read is stuck in the device (module docstring)."""
        self._stopping.set()
        stream, pa, reader = self.stream, self.pa, self._reader
        self.stream = self.pa = None
        if reader is not None and reader is not threading.current_thread():
            reader.join(READER_STOP_S)
        if stream is not None:
            self._quietly(stream.stop_stream)
            if reader is not None and reader is not threading.current_thread():
                reader.join()  # never close a stream under a read in progress
            self._quietly(stream.close)
        if pa is not None:
            pa.terminate()

    @staticmethod
    def _quietly(step: Callable[[], None]) -> None:
        try:
            step()
        except OSError as err:
            log.debug("audio: closing stream: %s", err)
