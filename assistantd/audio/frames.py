"""The one audio format inside assistantd: 16 kHz, mono, signed 16-bit little-endian PCM."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Protocol

SAMPLE_RATE = 16000
SAMPLE_WIDTH = 2
CHANNELS = 1
BYTES_PER_SECOND = SAMPLE_RATE * SAMPLE_WIDTH * CHANNELS


def frame_bytes(frame_ms: int) -> int:
    """Bytes in one frame of ``frame_ms`` milliseconds."""
    return SAMPLE_RATE * frame_ms // 1000 * SAMPLE_WIDTH


@dataclass(frozen=True, slots=True)
class Frame:
    """One fixed-length frame of 16 kHz mono s16le audio."""

    pcm: bytes
    t: float
    """Stream time of the frame's first sample, in seconds since the source started (the audio clock)."""


class AudioSource(Protocol):
    """Anything that yields fixed-length frames; sources never end the loop on a device error."""

    frame_ms: int
    live: bool
    """True when audio arrives at its own pace whether or not it is read (a microphone, or a recording
    paced to imitate one): a consumer that falls behind can only drop, and says so. False for a file or a
    pipe read as fast as it is consumed: the consumer makes the reader wait instead, and nothing is lost."""

    def frames(self) -> AsyncIterator[Frame]:
        """Frames in order. A file source ends at EOF; a microphone source runs until cancelled."""
        ...

    async def preflight(self) -> None:
        """Check, before the daemon says it is ready, what must be there (the microphone's device);
        raises ``AudioError``. A file or a pipe was checked when the source was made."""

    def state_at(self, now: float) -> SourceState:
        """What the source says of itself at ``now`` (the clock of ``time.monotonic``): for the status
        line, the watchdog and the capture counters."""
        ...

    def resume_after(self, previous: AudioSource, at_s: float) -> None:
        """This source replaces ``previous`` at a reload, whose audio clock stopped at ``at_s``: carry on
        from there if it reads the same audio (the same WAV file goes on where the old reader stopped)."""


@dataclass(frozen=True, slots=True)
class SourceState:
    """A source's own account of itself (``AudioSource.state_at``)."""

    problem: str | None = None
    """Why no audio comes ("microphone missing"); None while it works or for a file or a pipe."""
    retrying: bool = False
    """The capture loop keeps to its schedule without frames (opening, backing off, reopening): the
    daemon keeps pinging the watchdog, since restarting it would not bring a device back."""
    restarts: int = 0
    """Streams lost and reopened."""
    frames_dropped: int = 0
    """Frames dropped at the hand-off to the loop (the loop fell behind)."""
    input_overflows: int = 0
    """Times the device itself reported an input overflow (PortAudio's flag)."""


def hold_frames(source: object, frames: int) -> None:
    """Ask a live source to hand frames over up to ``frames`` at a time (1: each as it comes), if it can:
    the microphone can (microphone.py: fewer wake-ups of the loop); a file or a pipe need not."""
    hold = getattr(source, "hold", None)
    if hold is not None:
        hold(frames)
