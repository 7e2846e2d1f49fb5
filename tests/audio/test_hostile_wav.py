"""WAV headers that lie: every reader refuses them with one line, before allocating what they claim.

Issue 10 item 6: a chunk size pointing past the end of the file made ``wave`` raise a bare RuntimeError,
and a header saying 1 Hz made ``segments`` resample 16,000 output samples per input frame (13 GB RSS).
"""

from __future__ import annotations

import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from assistantd.audio.filesource import WavFileSource
from assistantd.audio.wavfile import read_wav_pcm16k
from assistantd.cli import main
from assistantd.errors import AudioError

REPO = Path(__file__).resolve().parents[2]
Reader = Callable[[Path], object]
READERS: list[Reader] = [read_wav_pcm16k, WavFileSource]


def riff(
    *,
    rate: int = 16000,
    channels: int = 1,
    frames: int = 1600,
    before_data: bytes = b"",
    riff_size: int | None = None,
) -> bytes:
    """A 16-bit PCM WAV whose header fields can be made to lie."""
    align = channels * 2 & 0xFFFF
    fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * align & 0xFFFFFFFF, align, 16)
    data = bytes(range(256)) * (frames * channels * 2 // 256) + b"\x00" * (frames * channels * 2 % 256)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + before_data
    body += b"data" + struct.pack("<I", len(data)) + data
    return b"RIFF" + struct.pack("<I", len(body) if riff_size is None else riff_size) + body


HUGE_LIST = b"LIST" + struct.pack("<I", 0xFFFFFFF0) + b"INFO"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (riff(before_data=HUGE_LIST), "the 'LIST' chunk at byte 36 says 4294967280 bytes, past the end of"),
        # Inside the file, beyond the RIFF size: wave read it through the RIFF chunk and raised RuntimeError.
        (riff(before_data=b"JUNK" + struct.pack("<I", 64) + bytes(64), riff_size=60), "overruns the RIFF"),
        (riff(rate=1), "sample rate 1 Hz; expected 4000 to 384000 Hz"),
        (riff(rate=1_000_000), "sample rate 1000000 Hz"),
        (riff(channels=0), "bad # of channels"),  # wave refuses this one itself
        (riff(channels=65535, frames=1), "65535 channels; expected 1 to 64"),
        (riff(before_data=b"JUNK\x00\x00\x00\x00" * 1100), "no data chunk among the first 1024"),
    ],
    ids=["huge-chunk", "past-riff", "1hz", "1mhz", "no-channels", "65535-channels", "endless-chunks"],
)
@pytest.mark.parametrize("read", READERS, ids=["read_wav_pcm16k", "WavFileSource"])
def test_a_lying_header_is_one_clear_error(
    tmp_path: Path, read: Reader, content: bytes, message: str
) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioError) as info:
        read(path)
    text = str(info.value)
    assert text.startswith(f"{path}: ")
    assert message in text
    assert "\n" not in text


def test_a_data_chunk_claiming_4_gb_is_read_as_far_as_it_goes(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The data chunk is the one chunk allowed to be cut short (open_wav's policy), even absurdly so."""
    content = bytearray(riff(frames=1600))
    content[40:44] = struct.pack("<I", 0xFFFFFFF0)
    path = tmp_path / "huge-data.wav"
    path.write_bytes(content)
    assert len(read_wav_pcm16k(path)) == 1600 * 2
    assert "header says 2147483640 frames, file holds 1600" in caplog.text


def test_segments_refuses_a_1_hz_header(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "1hz.wav"
    path.write_bytes(riff(rate=1, frames=16000))
    assert main(["segments", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == f"assistantd segments: {path}: sample rate 1 Hz; expected 4000 to 384000 Hz\n"


def test_segments_refuses_a_chunk_past_the_end(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "huge-list.wav"
    path.write_bytes(riff(before_data=HUGE_LIST))
    assert main(["segments", str(path)]) == 2
    assert "past the end of the file" in capsys.readouterr().err


def test_run_input_refuses_a_1_hz_header_before_starting(tmp_path: Path) -> None:
    """Through the daemon's own command line: refused at start (exit 2), not heard as hours of audio."""
    path = tmp_path / "1hz.wav"
    path.write_bytes(riff(rate=1, frames=20))
    config = tmp_path / "assistant.yaml"
    config.write_text(f'intents:\n  files: ["{REPO / "config" / "intents"}/*.yaml"]\n', encoding="utf-8")
    proc = subprocess.run(
        [sys.executable, "-m", "assistantd", "run", "--config", str(config), "--input", str(path)],
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.splitlines()[-1] == (
        f"assistantd run: {path}: sample rate 1 Hz; expected 4000 to 384000 Hz"
    )
    assert proc.stdout == ""
