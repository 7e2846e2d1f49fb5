"""The first stage after capture: every consumed frame tells the watchdog, and frames are held back while
the assistant itself speaks (it never hears its own replies) or discarded while listening is muted (the
privacy switch)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import TYPE_CHECKING

from assistantd.audio.frames import AudioSource, Frame, SourceState, hold_frames
from assistantd.handlers.speaking import SpeakingGate
from assistantd.tasks import aclose_iterator

if TYPE_CHECKING:
    from assistantd.privacy import PrivacySwitch


class TappedSource:
    """Wraps a source: tells the watchdog about every consumed frame, and holds back frames while the
    assistant itself is speaking (plus a tail), so it never hears its own replies."""

    def __init__(
        self,
        inner: AudioSource,
        on_frame: Callable[[], None],
        gate: SpeakingGate | None,
        on_muted: Callable[[], None] = lambda: None,
        *,
        privacy: PrivacySwitch | None = None,
        on_private: Callable[[], None] = lambda: None,
    ) -> None:
        self.inner = inner
        self.frame_ms = inner.frame_ms
        self.live = inner.live
        self.on_frame = on_frame
        self.gate = gate
        """None when the audio clock is not the wall clock (a recording read faster than real time)."""
        self.on_muted = on_muted
        """Called for each frame held back (the metric ``muted_frames``)."""
        self.privacy = privacy
        """Listening muted (privacy.py): frames are discarded before the wake stage, live source or not."""
        self.on_private = on_private
        """Called for each frame discarded while muted (the metric ``private_frames``)."""
        self.offset_s = 0.0
        """Added to every frame's time: after a reload, the new source's clock carries on from the old
        one's instead of starting again at 0 (reports stay in one timeline)."""
        self.end_s = 0.0
        """End of the last frame read, on the carried-on clock."""

    def hold(self, frames: int) -> None:
        hold_frames(self.inner, frames)

    async def preflight(self) -> None:
        await self.inner.preflight()

    def state_at(self, now: float) -> SourceState:
        return self.inner.state_at(now)

    def resume_after(self, previous: AudioSource, at_s: float) -> None:
        self.inner.resume_after(previous, at_s)

    async def frames(self) -> AsyncIterator[Frame]:
        frames = self.inner.frames()
        try:
            async for captured in frames:
                self.on_frame()
                frame = Frame(captured.pcm, captured.t + self.offset_s) if self.offset_s else captured
                self.end_s = frame.t + self.frame_ms / 1000
                if self.privacy is not None and self.privacy.muted:
                    self.on_private()
                    continue
                if self.gate is not None and self.gate.is_muted():
                    # Held back, not replaced by silence: zeros dragged the noise floor and the noise
                    # suppressor's model down, and the endpointer then stopped ending utterances at
                    # pauses after a reply. The stages downstream simply pause.
                    self.on_muted()
                    continue
                yield frame
        finally:
            # Closing the inner generator closes the device (or file) at once, not at garbage collection.
            await aclose_iterator(frames)
