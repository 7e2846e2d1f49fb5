"""One open PortAudio input stream and the bounded hand-off of its frames to the event loop.

PortAudio calls ``CaptureStream.callback`` on its own thread with native PCM. The callback converts
(channel selection + soxr streaming resampler), frames, and offers each frame to the asyncio loop with
``loop.call_soon_threadsafe``. The hand-off is bounded by ``audio.queue_frames`` counted from the moment a
frame is scheduled until the consumer takes it, so neither the queue nor the loop's callback list can grow
when the consumer (or the whole loop) stalls. Policy when full: drop the newest frame and count it; the
frames already queued are older audio the consumer is about to need. A drop shows as a gap in ``Frame.t``.

Waking the loop costs more than the frame's work: per 30 ms frame, the wake-up alone (a self-pipe write,
epoll, a loop iteration, the GIL passed between two threads) more than doubled the CPU of an idle
listening loop (bench/idle_cpu.py, issue 13). So while nothing needs the audio at once (no utterance in
flight: the listener says so with ``MicrophoneSource.hold(frames)``), the callback holds up to
``owner.hold_frames`` frames and wakes the loop once for all of them; held frames count against the bound
like queued ones.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import logging
import threading
from collections.abc import AsyncIterator
from typing import Any, Protocol

from assistantd.audio.convert import Framer, ToMono16k
from assistantd.audio.devices import (
    PA_ABORT,
    PA_CONTINUE,
    PA_DEVICE_UNAVAILABLE,
    PA_INPUT_OVERFLOW,
    PA_INVALID_DEVICE,
    PA_NO_DEVICE,
    PortAudio,
    Stream,
)
from assistantd.audio.frames import Frame

log = logging.getLogger(__name__)


class Counters(Protocol):
    """Where the callback counts what it loses (the MicrophoneSource that owns the stream)."""

    frames_dropped: int
    input_overflows: int
    hold_frames: int
    """Frames the callback may collect before waking the loop (1: every frame at once)."""


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
        """Frames the callback keeps until ``owner.hold_frames`` are there (PortAudio thread only)."""
        self.error: str | None = None
        self.name = "?"
        """The device, as DeviceInfo.describe() puts it (for log lines)."""
        self.pa: PortAudio | None = None
        self.stream: Stream | None = None

    # -- PortAudio thread ---------------------------------------------------------------------------
    def callback(
        self, in_data: bytes | None, frame_count: int, time_info: Any, status: int
    ) -> tuple[None, int]:
        try:
            if status & PA_INPUT_OVERFLOW:
                self._owner.input_overflows += 1
            for frame in self.framer.push(self._converter.process(in_data or b"")):
                self._offer(frame)
            if len(self._held) >= self._owner.hold_frames:
                held, self._held = self._held, []
                self._schedule(held)
        except Exception as err:  # nothing may escape into PortAudio's thread
            self.error = f"capture callback failed: {err!r}"
            held, self._held = self._held, []
            self._schedule([*held, None])
            return None, PA_ABORT
        return None, PA_CONTINUE

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
        """Stop and close the stream and terminate PortAudio; errors from a dead device are only logged."""
        stream, pa = self.stream, self.pa
        self.stream = self.pa = None
        if stream is not None:
            for step in (stream.stop_stream, stream.close):
                try:
                    step()
                except OSError as err:
                    log.debug("audio: closing stream: %s", err)
        if pa is not None:
            pa.terminate()
