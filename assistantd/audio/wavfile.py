"""A whole WAV file as 16 kHz mono s16le, for the commands that analyse a recording at once.

The same header checks (``open_wav``) and the same conversion (``ToMono16k``: channels averaged, soxr
resampling) as the streaming ``WavFileSource``, so ``segments``, ``transcribe`` and the daemon hear a file
alike. Every failure is one ``AudioError`` line naming the file.
"""

from __future__ import annotations

from pathlib import Path

from assistantd.audio.convert import ToMono16k
from assistantd.audio.wavheader import open_wav
from assistantd.errors import AudioError


def read_wav_pcm16k(path: Path) -> bytes:
    """Read, check and convert the whole file. Raises AudioError (bad header, truncated, no audio)."""
    with open_wav(path) as wav:
        rate, channels, width, n = (
            wav.getframerate(),
            wav.getnchannels(),
            wav.getsampwidth(),
            wav.getnframes(),
        )
        try:
            raw = wav.readframes(n)
        except OSError as err:
            raise AudioError(f"{path}: cannot read: {err.strerror or err}") from None
    if n == 0 or len(raw) < width * channels:
        raise AudioError(f"{path}: WAV file contains no audio")
    if len(raw) < n * width * channels:
        # A cut-off recording would be analysed as if it ended early; say so rather than guess.
        raise AudioError(f"{path}: truncated (the header declares {n} frames, the file holds fewer)")
    converter = ToMono16k(rate, channels, width)
    return converter.process(raw) + converter.flush()
