"""One open PortAudio input stream, the thread reading it, and the bounded hand-off of frames to the loop.

A reader thread of our own (``CaptureStream.start``) makes blocking reads of ``frames_per_buffer`` frames;
pyaudio releases the GIL while PortAudio waits for the device. Each read is converted (channel selection
+ soxr streaming resampler), framed, and handed to the asyncio loop.
PortAudio's callback mode was used before and cost more than the listening itself: PortAudio calls back
on a thread Python does not know, so every 30 ms call made and destroyed a Python thread state (with an
mmap/munmap of its frame stack, and a TLB shootdown on every core); bench/idle_cpu.py measured the
daemon in continuous mode at 1.94x its bare loop that way (issue 13).

The hand-off is bounded by ``audio.queue_frames`` counted from the moment a frame is read until the
consumer takes it, so the hand-off cannot grow when the consumer (or the whole loop) stalls. Policy when
full: drop the newest frame and count it; the frames already waiting are older audio the consumer is about
to need. A drop shows as a gap in ``Frame.t``.

Waking the loop costs more than the frame's work: per 30 ms frame, the wake-up alone (a self-pipe write,
epoll, a loop iteration, the GIL passed between two threads) more than doubled the CPU of an idle
listening loop (bench/idle_cpu.py, issue 13). So while nothing needs the audio at once (no utterance in
flight: the listener says so with ``MicrophoneSource.hold(frames)``), the reader never wakes the loop:
the loop looks for what has been read every ``hold_frames`` frames' worth of time, on its own timer.
Otherwise (``hold_frames`` 1) the reader wakes the loop for each frame.

Stopping: ``close()`` tells the reader to stop, waits for its read in progress (one buffer, 30 ms, on a
working device), then stops and closes the stream. A read that does not return (a wedged device) keeps
``close()`` waiting: the stream is never closed under a read in progress, and the caller's deadline
abandons the close (microphone.py), as it did a ``Pa_StopStream`` that hung in callback mode.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import enum
import logging
import threading
from collections.abc import AsyncIterator, Callable
from typing import NoReturn, Protocol

from assistantd.audio.convert import Framer, ToMono16k
from assistantd.audio.devices import (
    PA_DEVICE_UNAVAILABLE,
    PA_INPUT_OVERFLOWED,
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
    input_overflows: int
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
        self._lock = threading.Lock()
        """Guards the three below: the reader thread and the loop both use them."""
        self._in_flight = 0
        self._pending: collections.deque[Frame | None] = collections.deque()
        """Frames read and not yet taken by the loop (None: the reader failed)."""
        self._waiter: asyncio.Future[None] | None = None
        """Set by the loop when it waits for the next frame: the reader wakes it."""
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
                data = read(frames_per_buffer, exception_on_overflow=True)
            except OSError as err:
                if err.errno == PA_INPUT_OVERFLOWED and not stopping.is_set():
                    # The device overran (the reader fell behind PortAudio's buffer): counted. pyaudio
                    # reports it only by raising, which throws away this read's audio too: a gap in speech
                    # that was being lost anyway, and the audio clock goes on as if it were not there.
                    self._owner.input_overflows += 1
                    continue
                if not stopping.is_set():
                    self._fail(f"capture read failed: {err!r}")
                return
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

    def _fail(self, error: str) -> None:
        self.error = error
        self._offer(None)

    def _offer(self, item: Frame | None) -> None:
        with self._lock:
            if item is not None:
                if self._in_flight >= self._bound:
                    self._owner.frames_dropped += 1
                    return
                self._in_flight += 1
            self._pending.append(item)
            waiter, self._waiter = self._waiter, None
        if waiter is not None:
            with contextlib.suppress(RuntimeError):  # the loop closed under a stream shutting down
                self._loop.call_soon_threadsafe(_wake, waiter)

    # -- loop side ----------------------------------------------------------------------------------
    async def frames(self, stall_timeout_s: float) -> AsyncIterator[Frame]:
        """Frames until the stream fails or stalls, which raises CaptureError.

        Holding (``owner.hold_frames`` > 1), the loop looks for frames every ``hold_frames`` frames'
        worth of time and the reader never wakes it; otherwise the reader wakes it for each frame."""
        loop = self._loop
        last = loop.time()
        while True:
            with self._lock:
                items = list(self._pending)
                self._pending.clear()
                hold = self._owner.hold_frames
                waiter = None
                if not items and hold <= 1:
                    waiter = self._waiter = loop.create_future()
            if not items:
                if loop.time() - last >= stall_timeout_s:
                    self._stalled(stall_timeout_s)
                if waiter is None:
                    await asyncio.sleep(hold * self.framer.frame_ms / 1000)
                    continue
                try:
                    async with asyncio.timeout_at(last + stall_timeout_s):
                        await waiter
                except TimeoutError:
                    self._stalled(stall_timeout_s)
                finally:
                    with self._lock:
                        self._waiter = None
                continue
            last = loop.time()
            for item in items:
                if item is None:
                    raise CaptureError(CaptureState.FAILED, f"{self.name}: {self.error or 'stream ended'}")
                with self._lock:
                    self._in_flight -= 1
                yield item

    def _stalled(self, stall_timeout_s: float) -> NoReturn:
        stopped = self.stream is None or not self.stream.is_active()
        why = "stream stopped, no audio" if stopped else "no audio"
        raise CaptureError(CaptureState.STALLED, f"{self.name}: {why} for {stall_timeout_s:g} s")

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


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)
