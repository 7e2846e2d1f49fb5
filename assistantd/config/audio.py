"""The ``audio:`` section: where frames come from and how they are handed to the loop."""

from __future__ import annotations

from dataclasses import dataclass

from assistantd.config.reader import Node


@dataclass(frozen=True)
class AudioConfig:
    device: str | int | None = None
    """Input device: a substring of its name, or its PortAudio index; null picks the system default."""
    sample_rate_hz: int | None = None
    """Capture rate in Hz; null uses the device's default rate. Always resampled to 16 kHz."""
    channels: int | None = None
    """Channels to open; null uses the device's maximum input channels (capped at 8)."""
    channel: int = 0
    """Which channel to keep (0-based) on multi-mic boards."""
    frame_ms: int = 30
    """Frame length handed to the VAD: 10, 20 or 30 ms (webrtcvad's sizes)."""
    queue_frames: int = 100
    """Bound of the queue between the PortAudio thread and the loop; overflow drops the newest frame."""
    stall_timeout_s: float = 3.0
    """A stream that delivers nothing for this long is closed and reopened."""
    retry_initial_s: float = 0.5
    """First delay before reopening a failed device; doubles up to retry_max_s."""
    retry_max_s: float = 30.0
    """Longest delay between attempts to reopen the device."""

    @classmethod
    def from_node(cls, node: Node) -> AudioConfig:
        device = node.raw("device", cls.device)
        if device is not None and (isinstance(device, bool) or not isinstance(device, str | int)):
            raise node.error("device", "expected a device name substring, an index, or null", device)
        if isinstance(device, int) and device < 0:
            # PortAudio numbers devices from 0; a negative index would match nothing at run time.
            raise node.error("device", "expected a device index >= 0 (see `assistantd devices`)", device)
        cfg = cls(
            device=device,
            sample_rate_hz=node.integer("sample_rate_hz", cls.sample_rate_hz, min=8000, max=192000),
            channels=node.integer("channels", cls.channels, min=1, max=32),
            channel=node.integer("channel", cls.channel, min=0, max=31),
            frame_ms=node.integer("frame_ms", cls.frame_ms),
            queue_frames=node.integer("queue_frames", cls.queue_frames, min=4, max=10000),
            stall_timeout_s=node.number("stall_timeout_s", cls.stall_timeout_s, min=0.5, max=600),
            retry_initial_s=node.number("retry_initial_s", cls.retry_initial_s, min=0.01, max=60),
            retry_max_s=node.number("retry_max_s", cls.retry_max_s, min=0.1, max=3600),
        )
        if cfg.frame_ms not in (10, 20, 30):
            raise node.error("frame_ms", "expected 10, 20 or 30", cfg.frame_ms)
        if cfg.channels is not None and cfg.channel >= cfg.channels:
            raise node.error("channel", f"expected a channel below channels ({cfg.channels})", cfg.channel)
        node.finish()
        return cfg
