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
    """Read, check and convert the whole file. Raises AudioError (bad header, no audio, unreadable).

    A file cut short is read as far as it goes, with a warning (``open_wav``'s policy).
    """
    reader = open_wav(path)
    out = bytearray()
    with reader as wav:
        converter = ToMono16k(wav.getframerate(), wav.getnchannels(), wav.getsampwidth())
        # A second at a time, so only the 16 kHz result grows with the file, not float copies of all of it.
        step = wav.getframerate()
        left = reader.nframes
        try:
            while left > 0 and (raw := wav.readframes(min(step, left))):
                left -= len(raw) // (wav.getsampwidth() * wav.getnchannels())
                out += converter.process(raw)
        except OSError as err:
            raise AudioError(f"{path}: cannot read: {err.strerror or err}") from None
    out += converter.flush()
    return bytes(out)
