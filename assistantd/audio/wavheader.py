"""Opening a WAV file with the stdlib ``wave`` module, turning every failure into one ``AudioError`` line.

Python 3.11's ``wave`` refuses WAVE_FORMAT_EXTENSIBLE headers (tag 0xFFFE), which sox and most recorders
write for 24-bit, 32-bit or multichannel PCM; 3.12 accepts them. When the extensible header's SubFormat is
integer PCM the data is plain PCM, so the reader is handed a view of the file whose format tag reads 1
(WAVE_FORMAT_PCM). Nothing else is rewritten; the file on disk is untouched.

A data chunk shorter than its header says (a recording cut short: the recorder was killed, the card was
full, the file is still being written) is accepted with a warning, and ``WavReader.nframes`` counts the
whole frames the file really holds. Any other chunk that overruns the file (or the RIFF chunk) is a damaged
header, refused with its name and sizes before ``wave`` trusts it; so are rates and channel counts no
recorder writes, before anything proportional to them is allocated. Every reader of WAV files
(``read_wav_pcm16k`` for ``segments`` and ``transcribe``, ``WavFileSource`` for ``run --input`` and
``capture``) goes through here, so they agree.
"""

from __future__ import annotations

import logging
import os
import struct
import wave
from pathlib import Path
from typing import BinaryIO

from assistantd.audio.convert import SUPPORTED_WIDTHS
from assistantd.errors import AudioError

WAVE_FORMAT_PCM = 0x0001
WAVE_FORMAT_EXTENSIBLE = 0xFFFE
KSDATAFORMAT_SUBTYPE_PCM = bytes.fromhex("0100000000001000800000aa00389b71")
_FORMAT_NAMES = {
    0x0003: "IEEE float",
    0xFFFE: "extensible with a non-PCM subformat",
    0x0006: "A-law",
    0x0007: "mu-law",
    0x0002: "MS ADPCM",
}
log = logging.getLogger(__name__)

MIN_RATE = 4_000
MAX_RATE = 384_000
"""Sample rates outside this range are refused: a header saying 1 Hz would make the 16 kHz conversion
allocate 16,000 output samples per input frame."""
MAX_CHANNELS = 64
"""More channels than any recorder writes: refused before anything is read."""
_MAX_CHUNKS = 1024
"""Chunks before 'data' (LIST, JUNK, fact, ...) are walked only this far: a file of empty chunks ends."""


def _walk_chunks(path: Path, f: BinaryIO) -> int | None:
    """Check the chunks before 'data' lie inside the file; the offset of the format tag to patch, if any.

    ``wave`` trusts every chunk size it meets: one pointing past the end of the RIFF chunk ends in a bare
    ``RuntimeError`` (3.11), and one pointing past the end of the file in a misleading "data chunk
    missing". A header chunk cut short is a damaged file, refused here with the chunk's name and sizes;
    the 'data' chunk itself may be cut short (the policy in the module docstring). Files that are not
    RIFF/WAVE at all are left to ``wave``'s own messages. Returns the format tag's offset when the header
    is WAVE_FORMAT_EXTENSIBLE with an integer PCM subformat.
    """
    size = os.fstat(f.fileno()).st_size
    f.seek(0)
    head = f.read(12)
    if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
        f.seek(0)
        return None
    # wave reads every chunk through the RIFF chunk, so both its declared end and the file's end bound them.
    riff_end = 8 + struct.unpack_from("<I", head, 4)[0]
    limit, limit_name = (riff_end, "the RIFF chunk") if riff_end < size else (size, "the file")
    tag_offset = None
    pos = 12
    for _ in range(_MAX_CHUNKS):
        f.seek(pos)
        header = f.read(8)
        if len(header) < 8:
            break  # no data chunk: wave says so
        chunk_id = header[:4]
        (chunk_size,) = struct.unpack_from("<I", header, 4)
        if chunk_id == b"data":
            break
        end = pos + 8 + chunk_size + (chunk_size & 1)
        if end > limit:
            name = chunk_id.decode("latin-1").strip() or repr(chunk_id)
            what = "truncated header" if limit == size else "a chunk overruns the RIFF chunk"
            raise AudioError(
                f"{path}: not a usable WAV file ({what}: the {name!r} chunk at byte {pos} says "
                f"{chunk_size} bytes, past the end of {limit_name} at byte {limit})"
            )
        if chunk_id == b"fmt ":
            body = f.read(min(chunk_size, 40))
            extensible = len(body) >= 40 and struct.unpack_from("<H", body)[0] == WAVE_FORMAT_EXTENSIBLE
            if extensible and body[24:40] == KSDATAFORMAT_SUBTYPE_PCM:
                tag_offset = pos + 8
        pos = end
    else:
        raise AudioError(f"{path}: not a usable WAV file (no data chunk among the first {_MAX_CHUNKS})")
    f.seek(0)
    return tag_offset


class _TagPatchedFile:
    """A read-only file view whose two bytes at ``offset`` read as WAVE_FORMAT_PCM."""

    def __init__(self, f: BinaryIO, offset: int) -> None:
        self._f = f
        self._offset = offset
        self._patch = struct.pack("<H", WAVE_FORMAT_PCM)

    def read(self, n: int = -1) -> bytes:
        start = self._f.tell()
        data = self._f.read(n)
        lo = max(start, self._offset)
        hi = min(start + len(data), self._offset + 2)
        if lo >= hi:
            return data
        patched = bytearray(data)
        for pos in range(lo, hi):
            patched[pos - start] = self._patch[pos - self._offset]
        return bytes(patched)

    def seek(self, pos: int, whence: int = 0) -> int:
        return self._f.seek(pos, whence)

    def tell(self) -> int:
        return self._f.tell()


def _explain(err: wave.Error) -> str:
    text = str(err)
    if text.startswith("unknown format: "):
        try:
            tag = int(text.removeprefix("unknown format: "))
        except ValueError:
            return text
        name = _FORMAT_NAMES.get(tag, f"format tag {tag:#06x}")
        return f"unsupported WAV encoding ({name}); expected integer PCM"
    return f"not a usable WAV file ({text})"


class WavReader:
    """A context manager around ``wave.Wave_read`` that owns the underlying file."""

    def __init__(self, path: Path, f: BinaryIO, wav: wave.Wave_read, nframes: int) -> None:
        self.path = path
        self._f = f
        self.wav = wav
        self.nframes = nframes
        """Whole frames the file holds: the header's count, or fewer when the data was cut short."""

    def __enter__(self) -> wave.Wave_read:
        return self.wav

    def __exit__(self, *exc: object) -> None:
        self.wav.close()
        self._f.close()


def _frames_held(f: BinaryIO, wav: wave.Wave_read) -> int:
    """Whole frames between the data chunk's start and the end of the file, at most the header's count."""
    # wave.open stops reading right after the data chunk's header, so the file position is where the
    # samples begin (3.11 and 3.12+ alike).
    data_start = f.tell()
    size = os.fstat(f.fileno()).st_size
    held = max(0, size - data_start) // (wav.getsampwidth() * wav.getnchannels())
    return min(wav.getnframes(), held)


def open_wav(path: Path, *, warn_truncated: bool = True) -> WavReader:
    """Open and check a WAV file: integer PCM, 8/16/24/32-bit, 1 to MAX_CHANNELS channels, a rate from
    MIN_RATE to MAX_RATE Hz, at least one frame of audio. A file cut short is accepted; ``warn_truncated``
    logs that once (a caller opening the same file again passes False)."""
    try:
        f: BinaryIO = path.open("rb")
    except OSError as err:
        raise AudioError(f"{path}: cannot open: {err.strerror or err}") from None
    try:
        offset = _walk_chunks(path, f)
        source = f if offset is None else _TagPatchedFile(f, offset)
        # The reader outlives this function (WavReader closes it); a duck-typed file is enough for wave.
        wav = wave.open(source, "rb")  # type: ignore[arg-type]  # noqa: SIM115
    except AudioError:
        f.close()
        raise
    except EOFError:
        f.close()
        raise AudioError(f"{path}: not a WAV file (empty or truncated header)") from None
    except wave.Error as err:
        f.close()
        raise AudioError(f"{path}: {_explain(err)}") from None
    except (OSError, struct.error, ValueError) as err:
        f.close()
        raise AudioError(f"{path}: not a usable WAV file ({err})") from None
    reader = WavReader(path, f, wav, wav.getnframes())
    problem = None
    if wav.getsampwidth() not in SUPPORTED_WIDTHS:
        problem = f"unsupported sample width {wav.getsampwidth() * 8} bits; expected 8, 16, 24 or 32"
    elif not 1 <= wav.getnchannels() <= MAX_CHANNELS:
        problem = f"{wav.getnchannels()} channels; expected 1 to {MAX_CHANNELS}"
    elif not MIN_RATE <= wav.getframerate() <= MAX_RATE:
        problem = f"sample rate {wav.getframerate()} Hz; expected {MIN_RATE} to {MAX_RATE} Hz"
    else:
        reader.nframes = _frames_held(f, wav)
        if reader.nframes == 0:
            problem = "WAV file contains no audio"
    if problem is not None:
        reader.__exit__()
        raise AudioError(f"{path}: {problem}")
    if warn_truncated and reader.nframes < wav.getnframes():
        log.warning(
            "%s: header says %d frames, file holds %d; using those (the recording was cut short)",
            path,
            wav.getnframes(),
            reader.nframes,
        )
    return reader
