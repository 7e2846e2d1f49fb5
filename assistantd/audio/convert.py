"""Conversion of any integer PCM to the house format (16 kHz mono s16le) and cutting it into frames.

Pure: bytes in, bytes or frames out; no I/O, no threads. The microphone callback thread, the WAV reader and
the stdin reader all use the same two pieces, so every source resamples and frames the same way.

Resampling uses libsoxr's streaming resampler (``soxr.ResampleStream``), which keeps its filter state between
chunks: a chunk boundary leaves no click and no gap, unlike resampling each chunk on its own or dropping
samples.

numpy and soxr are imported only when a conversion is really needed: 16 kHz mono s16le (a microphone opened
at the house format, ``--input -``) passes through, and the two libraries would cost ~14 MB of RSS on a
daemon that never uses them (issue 6).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from assistantd.audio.frames import SAMPLE_RATE, SAMPLE_WIDTH, Frame, frame_bytes

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    Floats = npt.NDArray[np.float32]

SUPPORTED_WIDTHS = (1, 2, 3, 4)
"""Sample widths in bytes: 8-bit (unsigned, as WAV stores it), 16, 24 and 32-bit signed little-endian."""


def decode(data: bytes, sample_width: int, channels: int) -> Floats:
    """Interleaved little-endian integer PCM -> float32 array of shape (samples, channels) in [-1, 1)."""
    import numpy as np  # noqa: PLC0415 - only a real conversion needs numpy (module docstring)

    if sample_width not in SUPPORTED_WIDTHS:
        raise ValueError(f"unsupported sample width {sample_width} bytes")
    usable = len(data) - len(data) % (sample_width * channels)
    raw = np.frombuffer(data, dtype=np.uint8, count=usable)
    if sample_width == 1:
        # WAV stores 8-bit samples unsigned with 128 as zero.
        values = (raw.astype(np.float32) - 128.0) / 128.0
    elif sample_width == 2:
        values = raw.view("<i2").astype(np.float32) / 32768.0
    elif sample_width == 3:
        triplets = raw.reshape(-1, 3).astype(np.int32)
        packed = triplets[:, 0] | (triplets[:, 1] << 8) | (triplets[:, 2] << 16)
        signed = (packed << 8) >> 8  # sign-extend bit 23
        values = signed.astype(np.float32) / 8388608.0
    else:
        values = raw.view("<i4").astype(np.float32) / 2147483648.0
    return values.reshape(-1, channels)


def encode_s16(samples: Floats) -> bytes:
    """Float samples in [-1, 1) -> s16le bytes, rounded and clipped (a resampler may overshoot full scale)."""
    import numpy as np  # noqa: PLC0415 - only a real conversion needs numpy (module docstring)

    scaled = np.clip(np.rint(samples * 32768.0), -32768, 32767)
    out: bytes = scaled.astype("<i2").tobytes()
    return out


class ToMono16k:
    """Streaming converter: chunks of native PCM in, 16 kHz mono s16le out.

    ``channel`` picks one channel (a multi-mic board's front microphone); ``None`` averages all channels,
    which is what a recording wants. 16-bit mono 16 kHz input passes through untouched (bit-exact).
    """

    def __init__(self, rate: int, channels: int, sample_width: int, channel: int | None = None) -> None:
        if sample_width not in SUPPORTED_WIDTHS:
            raise ValueError(f"unsupported sample width {sample_width} bytes")
        if channels < 1 or (channel is not None and not 0 <= channel < channels):
            raise ValueError(f"channel {channel} out of range for {channels} channels")
        self.rate = rate
        self.channels = channels
        self.sample_width = sample_width
        self.channel = channel
        self._passthrough = rate == SAMPLE_RATE and channels == 1 and sample_width == SAMPLE_WIDTH
        self._stream = None
        if rate != SAMPLE_RATE:
            import soxr  # noqa: PLC0415 - only resampling needs libsoxr (module docstring)

            self._stream = soxr.ResampleStream(rate, SAMPLE_RATE, 1, "float32")
        self._carry = b""

    def process(self, data: bytes) -> bytes:
        """Convert one chunk; a trailing partial sample is kept for the next chunk."""
        if self._passthrough:
            return data
        block = self.sample_width * self.channels
        data = self._carry + data
        cut = len(data) - len(data) % block
        self._carry = data[cut:]
        if cut == 0:
            return b""
        mono = self._mono(decode(data[:cut], self.sample_width, self.channels))
        if self._stream is not None:
            mono = self._stream.resample_chunk(mono)
        return encode_s16(mono)

    def flush(self) -> bytes:
        """The resampler's delayed tail at end of input (a few ms); the converter is done afterwards."""
        if self._stream is None:
            return b""
        import numpy as np  # noqa: PLC0415 - a resampler exists, so numpy is loaded already

        return encode_s16(self._stream.resample_chunk(np.zeros(0, dtype=np.float32), last=True))

    def _mono(self, samples: Floats) -> Floats:
        import numpy as np  # noqa: PLC0415 - called only after decode() has loaded numpy

        if self.channel is not None:
            return np.ascontiguousarray(samples[:, self.channel])
        if self.channels == 1:
            return samples[:, 0]
        mean: Floats = samples.mean(axis=1, dtype=np.float32)
        return mean


class Framer:
    """Cuts a 16 kHz mono s16le byte stream into frames of ``frame_ms`` stamped with the audio clock.

    ``Frame.t`` is the number of samples before the frame divided by 16000, counted from ``start_samples``
    (a source that reopens its device continues its clock instead of restarting at zero).
    """

    def __init__(self, frame_ms: int, start_samples: int = 0) -> None:
        self.frame_ms = frame_ms
        self.size = frame_bytes(frame_ms)
        self.samples = start_samples
        """Samples already framed: the clock of the next frame."""
        self._pending = bytearray()

    def push(self, pcm: bytes) -> list[Frame]:
        self._pending += pcm
        out: list[Frame] = []
        while len(self._pending) >= self.size:
            out.append(Frame(bytes(self._pending[: self.size]), self.samples / SAMPLE_RATE))
            del self._pending[: self.size]
            self.samples += self.size // SAMPLE_WIDTH
        return out

    def finish(self) -> Frame | None:
        """The final partial frame, zero-padded to full length, or None when nothing is left.

        Padding rather than dropping keeps the end of the last word (up to one frame): the VAD and the
        recognizers need full frames, and zeros add silence, never speech.
        """
        if not self._pending:
            return None
        pcm = bytes(self._pending) + bytes(self.size - len(self._pending))
        self._pending.clear()
        frame = Frame(pcm, self.samples / SAMPLE_RATE)
        self.samples += self.size // SAMPLE_WIDTH
        return frame
