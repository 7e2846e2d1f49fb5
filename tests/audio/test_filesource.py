"""WAV and stdin sources: every sample width, rates and channel counts, bad files, pacing, the tail frame."""

from __future__ import annotations

import asyncio
import io
import math
import os
import struct
import threading
from pathlib import Path

import numpy as np
import pytest

from assistantd.audio.filesource import StdinSource, WavFileSource
from assistantd.audio.frames import Frame
from assistantd.audio.sources import open_source
from assistantd.config.audio import AudioConfig
from assistantd.errors import AudioError
from tests.audio.signals import align, noise, pcm, sox, write_wav


async def collect(source) -> list[Frame]:  # type: ignore[no-untyped-def]
    return [frame async for frame in source.frames()]


def expected_frames(seconds: float, frame_ms: int = 30) -> int:
    return math.ceil(round(seconds * 16000) / (16000 * frame_ms // 1000))


@pytest.mark.parametrize(
    ("name", "sox_args", "min_corr"),
    [
        ("pcm16_16k", ["-b", "16"], 0.999),
        ("pcm8_8k", ["-b", "8", "-r", "8000"], 0.9),
        ("pcm24_48k_extensible", ["-b", "24", "-r", "48000"], 0.99),
        ("pcm32_22k", ["-b", "32", "-r", "22050"], 0.99),
    ],
)
async def test_wav_widths_and_rates(speech, tmp_path: Path, name: str, sox_args: list[str], min_corr: float):
    path = tmp_path / f"{name}.wav"
    sox(speech.wav, *sox_args, path)
    source = WavFileSource(path)
    frames = await collect(source)
    assert len(frames) == expected_frames(source.duration_s)
    assert [f.t for f in frames] == [pytest.approx(i * 0.03) for i in range(len(frames))]
    out = pcm(frames)
    lag, corr = align(out, speech.samples)
    assert abs(lag) <= 1
    assert corr > min_corr


async def test_stereo_44k1_is_averaged(speech, tmp_path: Path) -> None:
    right = tmp_path / "right.wav"
    write_wav(right, noise(len(speech.samples), seed=3, sigma=300), 16000)
    stereo = tmp_path / "stereo44k.wav"
    sox("-M", speech.wav, right, "-r", "44100", "-b", "16", stereo)
    source = WavFileSource(stereo)
    assert (source.rate, source.channels) == (44100, 2)
    out = pcm(await collect(source))
    lag, corr = align(out, speech.samples)
    assert lag == 0
    assert corr > 0.95
    # Averaging halves the speech: about -6 dB against the original.
    gain = np.dot(out[:48000].astype(float), speech.samples[:48000]) / np.dot(
        speech.samples[:48000].astype(float), speech.samples[:48000]
    )
    assert gain == pytest.approx(0.5, abs=0.05)


async def test_final_partial_frame_is_zero_padded(tmp_path: Path) -> None:
    samples = noise(480 * 3 + 100, seed=5, sigma=2000)
    path = tmp_path / "odd.wav"
    write_wav(path, samples, 16000)
    frames = await collect(WavFileSource(path))
    assert len(frames) == 4
    out = pcm(frames)
    assert np.array_equal(out[: len(samples)], samples)
    assert not out[len(samples) :].any()


def _riff(fmt: bytes, data: bytes = b"\x00\x00" * 10) -> bytes:
    body = (
        b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    )
    return b"RIFF" + struct.pack("<I", len(body)) + body


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "not a WAV file (empty or truncated header)"),
        (_riff(struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16))[:30], "truncated header"),
        (b"RIFF\x10\x00\x00\x00AVI LIST", "not a usable WAV file (not a WAVE file)"),
        (b"ID3\x03" + bytes(100), "not a usable WAV file (file does not start with RIFF id)"),
        (_riff(struct.pack("<HHIIHH", 3, 1, 16000, 64000, 4, 32)), "unsupported WAV encoding (IEEE float)"),
        (_riff(struct.pack("<HHIIHH", 1, 1, 16000, 80000, 5, 40)), "unsupported sample width 40 bits"),
        (_riff(struct.pack("<HHIIHH", 1, 1, 16000, 32000, 2, 16), data=b""), "WAV file contains no audio"),
    ],
    ids=["empty", "truncated", "avi", "mp3", "float", "40bit", "no-samples"],
)
def test_bad_wav_files_raise_one_clear_line(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "bad.wav"
    path.write_bytes(content)
    with pytest.raises(AudioError) as info:
        open_source(AudioConfig(), str(path), pace=False)
    text = str(info.value)
    assert text.startswith(str(path))
    assert message in text
    assert "\n" not in text


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(AudioError, match="cannot open: No such file"):
        open_source(AudioConfig(), str(tmp_path / "nope.wav"), pace=False)


class FakeTime:
    """The only mock in these tests: a clock that moves when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


async def test_pacing_follows_the_audio_clock(speech) -> None:
    fake = FakeTime()
    source = WavFileSource(speech.wav, 20, pace=True, clock=fake.clock, sleep=fake.sleep)
    seen = []
    async for frame in source.frames():
        seen.append((fake.now - 100.0, frame.t))
        fake.now += 0.004  # the consumer's own work takes time; pacing must absorb it, not add it
    assert all(now == pytest.approx(t, abs=0.0041) for now, t in seen)
    assert sum(fake.sleeps) + 0.004 * len(seen) == pytest.approx(seen[-1][1] + 0.004, abs=0.01)


async def test_unpaced_source_never_sleeps(speech) -> None:
    fake = FakeTime()
    frames = await collect(WavFileSource(speech.wav, pace=False, clock=fake.clock, sleep=fake.sleep))
    assert frames
    assert fake.sleeps == []


async def test_stdin_source_reads_raw_s16le(speech) -> None:
    data = speech.samples.tobytes() + b"\x07"  # a stray half sample at the end
    frames = await collect(StdinSource(io.BytesIO(data), frame_ms=10))
    assert len(frames) == math.ceil(len(data) / 320)
    out = b"".join(f.pcm for f in frames)
    assert out[: len(data)] == data
    assert frames[-1].t == pytest.approx((len(frames) - 1) * 0.01)


async def test_stdin_pacing(speech) -> None:
    fake = FakeTime()
    source = StdinSource(
        io.BytesIO(speech.samples[:16000].tobytes()), pace=True, clock=fake.clock, sleep=fake.sleep
    )
    frames = await collect(source)
    assert fake.now - 100.0 == pytest.approx(frames[-1].t)


async def test_empty_stdin_is_an_audio_error() -> None:
    with pytest.raises(AudioError, match="stdin: no audio"):
        await collect(StdinSource(io.BytesIO(b"")))


def test_open_source_picks_by_path(speech) -> None:
    assert isinstance(open_source(AudioConfig(frame_ms=20), "-", pace=False), StdinSource)
    wav = open_source(AudioConfig(frame_ms=20), str(speech.wav), pace=True)
    assert isinstance(wav, WavFileSource)
    assert wav.frame_ms == 20


async def test_stdin_reader_can_be_cancelled_while_the_pipe_is_idle() -> None:
    r, w = os.pipe()
    reader = os.fdopen(r, "rb")
    try:
        os.write(w, bytes(16000))  # 0.5 s of audio, then the writer goes quiet without closing
        source = StdinSource(reader, frame_ms=20)
        got: list[Frame] = []
        all_read = asyncio.Event()

        async def consume() -> None:
            async for frame in source.frames():
                got.append(frame)
                if len(got) == 25:
                    all_read.set()

        task = asyncio.create_task(consume())
        async with asyncio.timeout(10):
            await all_read.wait()
        await asyncio.sleep(0.05)  # the next read is now blocked on the idle pipe
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert len(got) == 25
        blocked = [t for t in threading.enumerate() if t.name == "assistantd-stdin"]
        assert blocked
        assert all(t.daemon for t in blocked)  # cannot delay interpreter exit
    finally:
        os.close(w)
        reader.close()


class _SmallWrites(io.RawIOBase):
    """A stream whose writer sends 30 ms at a time: each read returns at most one write; it notes the thread
    that made each read."""

    def __init__(self, data: bytes) -> None:
        self._data = data
        self.readers: list[threading.Thread] = []

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        self.readers.append(threading.current_thread())
        chunk, self._data = self._data[: min(size, 960)], self._data[min(size, 960) :]
        return chunk


async def test_stdin_reads_are_made_by_one_thread_not_one_each() -> None:
    stream = _SmallWrites(bytes(960 * 40))
    frames = await collect(StdinSource(stream, frame_ms=30))  # type: ignore[arg-type]
    assert len(frames) == 40
    assert len(stream.readers) == 41  # 40 writes, then end of file
    assert len(set(stream.readers)) == 1
    assert stream.readers[0] is not threading.main_thread()
