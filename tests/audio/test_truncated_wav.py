"""A WAV whose data is shorter than its header says: every reader accepts what is there, with one warning.

``segments``/``transcribe`` (read_wav_pcm16k) and ``run --input``/``capture`` (WavFileSource) share the
policy in ``open_wav``, so one recording cut short is heard the same way by all of them.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from assistantd.audio.filesource import WavFileSource
from assistantd.audio.wavfile import read_wav_pcm16k
from assistantd.cli import main
from assistantd.errors import AudioError
from tests.audio.signals import Speech, pcm, sox


def _cut(src: Path, dst: Path, drop_bytes: int) -> None:
    dst.write_bytes(src.read_bytes()[:-drop_bytes])


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.levelno == logging.WARNING and "header says" in r.getMessage()
    ]


async def test_both_readers_hear_the_same_cut_short_recording(
    speech: Speech, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="assistantd.audio")
    cut = tmp_path / "cut.wav"
    _cut(speech.wav, cut, 16001)  # 8000 samples and half of one more
    held = len(speech.samples) - 8001

    whole = np.frombuffer(read_wav_pcm16k(cut), dtype="<i2")
    assert np.array_equal(whole, speech.samples[:held])
    assert _warnings(caplog) == [
        f"{cut}: header says {len(speech.samples)} frames, file holds {held}; "
        "using those (the recording was cut short)"
    ]

    caplog.clear()
    source = WavFileSource(cut)
    streamed = pcm([frame async for frame in source.frames()])
    assert np.array_equal(streamed[:held], whole)
    assert not streamed[held:].any()  # the last frame's zero padding, not the half sample
    assert source.nframes == held
    assert len(_warnings(caplog)) == 1  # once per source, not once per open


async def test_a_cut_short_stereo_24_bit_file_agrees_too(
    speech: Speech, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    full = tmp_path / "stereo24.wav"
    sox(speech.wav, "-b", "24", "-c", "2", "-r", "48000", full)
    cut = tmp_path / "stereo24-cut.wav"
    _cut(full, cut, 6 * 4800 + 4)  # 0.1 s and two thirds of a frame
    whole = np.frombuffer(read_wav_pcm16k(cut), dtype="<i2")
    streamed = pcm([frame async for frame in WavFileSource(cut).frames()])
    assert len(whole) > 16000
    assert np.array_equal(streamed[: len(whole)], whole)
    assert len(_warnings(caplog)) == 2


def test_a_header_with_no_data_left_is_still_refused(speech: Speech, tmp_path: Path) -> None:
    header_only = tmp_path / "header.wav"
    header_only.write_bytes(speech.wav.read_bytes()[:44])
    for read in (read_wav_pcm16k, WavFileSource):
        with pytest.raises(AudioError, match="WAV file contains no audio"):
            read(header_only)


def test_segments_accepts_a_cut_short_file(
    speech: Speech, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cut = tmp_path / "cut.wav"
    _cut(speech.wav, cut, 32000)
    assert main(["segments", str(cut)]) == 0
    assert capsys.readouterr().out.count('"start"') >= 1
