"""The pure converter and framer: sample decoding, resampling, channel choice, framing and the clock."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistantd.audio.convert import Framer, ToMono16k, decode
from assistantd.audio.frames import frame_bytes
from tests.audio.signals import align, interleave, noise, resampled_raw, rms


def test_decode_knows_each_width() -> None:
    # The same three values (-1, -0.5, +0.5 of full scale) in each encoding WAV uses.
    u8 = bytes([0, 64, 192])
    s16 = np.array([-32768, -16384, 16384], "<i2").tobytes()
    s24 = b"".join(v.to_bytes(3, "little", signed=True) for v in (-(1 << 23), -(1 << 22), 1 << 22))
    s32 = np.array([-(1 << 31), -(1 << 30), 1 << 30], "<i4").tobytes()
    for data, width in ((u8, 1), (s16, 2), (s24, 3), (s32, 4)):
        assert decode(data, width, 1)[:, 0].tolist() == [-1.0, -0.5, 0.5], width


def test_16k_mono_16bit_passes_through_bit_exact(speech) -> None:
    data = speech.samples.tobytes()
    conv = ToMono16k(16000, 1, 2)
    assert conv.process(data[:1001]) + conv.process(data[1001:]) + conv.flush() == data


def test_resampling_matches_an_independent_resampler(speech) -> None:
    # sox makes the 48 kHz input; soxr must bring it back in time with the original 16 kHz speech.
    native = resampled_raw(speech.wav, 48000)
    conv = ToMono16k(48000, 1, 2)
    chunks = [native[i : i + 1440].tobytes() for i in range(0, len(native), 1440)]
    out = np.frombuffer(b"".join(conv.process(c) for c in chunks) + conv.flush(), "<i2")
    assert abs(len(out) - len(speech.samples)) <= 1
    lag, corr = align(out, speech.samples)
    assert lag == 0
    assert corr > 0.99


@settings(max_examples=25, deadline=None)
@given(cuts=st.lists(st.integers(min_value=1, max_value=5000), min_size=1, max_size=12))
def test_chunk_boundaries_do_not_change_the_output(cuts: list[int]) -> None:
    # 44.1 kHz stereo 16-bit; chunks may split a sample or a channel pair anywhere.
    left, right = noise(9000, seed=1, sigma=3000), noise(9000, seed=2, sigma=3000)
    data = interleave(left, right)
    whole = ToMono16k(44100, 2, 2, channel=1)
    expected = whole.process(data) + whole.flush()
    conv = ToMono16k(44100, 2, 2, channel=1)
    pieces, pos = [], 0
    for cut in cuts:
        pieces.append(conv.process(data[pos : pos + cut]))
        pos += cut
    pieces.append(conv.process(data[pos:]))
    pieces.append(conv.flush())
    got = np.frombuffer(b"".join(pieces), "<i2").astype(np.int32)
    want = np.frombuffer(expected, "<i2").astype(np.int32)
    assert len(got) == len(want)
    # soxr's float path can differ by rounding at chunk edges, never by more than a count or two.
    assert np.abs(got - want).max() <= 2


def test_channel_choice_and_averaging(speech) -> None:
    quiet = noise(len(speech.samples), seed=7, sigma=50)
    data = interleave(quiet, speech.samples)
    picked = np.frombuffer(ToMono16k(16000, 2, 2, channel=1).process(data), "<i2")
    other = np.frombuffer(ToMono16k(16000, 2, 2, channel=0).process(data), "<i2")
    mixed = np.frombuffer(ToMono16k(16000, 2, 2, channel=None).process(data), "<i2")
    assert np.array_equal(picked, speech.samples)
    assert rms(other) < rms(speech.samples) / 20
    assert align(mixed, speech.samples, max_lag=2) == (0, pytest.approx(1.0, abs=0.01))


def test_bad_channel_and_width_are_refused() -> None:
    with pytest.raises(ValueError, match="channel 2"):
        ToMono16k(48000, 2, 2, channel=2)
    with pytest.raises(ValueError, match="width"):
        ToMono16k(48000, 1, 5)


def test_framer_stamps_the_audio_clock_and_pads_the_tail() -> None:
    framer = Framer(30, start_samples=16000)
    size = frame_bytes(30)
    frames = framer.push(b"\x01\x00" * (size // 2 * 2 + 100))
    assert [f.t for f in frames] == [1.0, 1.03]
    last = framer.finish()
    assert last is not None
    assert last.t == pytest.approx(1.06)
    assert len(last.pcm) == size
    assert last.pcm[:200] == b"\x01\x00" * 100
    assert last.pcm[200:] == bytes(size - 200)
    assert framer.finish() is None
