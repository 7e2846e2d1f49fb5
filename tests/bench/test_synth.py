"""bench.synth (shared synthesis and mixing) and the baseline segmenters on real synthesized speech."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench import baselines, synth

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def clip_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("clips")


@pytest.fixture(scope="session")
def command(clip_cache: Path) -> np.ndarray:
    return synth.synthesize("turn on the kitchen light", "flite:slt", cache_dir=clip_cache)


@pytest.mark.parametrize(
    ("voice", "text"),
    [
        ("flite:kal", "what time is it"),  # flite's kal speaks at 8 kHz: resampled
        ("espeak-ng:en-us+f3", "set a timer"),  # espeak-ng speaks at 22050 Hz: resampled
        ("espeak-ng:cmn-latn-pinyin", "xian4 zai4 ji3 dian3"),
    ],
)
def test_synthesized_clip_has_its_speech_inside_the_bounds(voice: str, text: str, clip_cache: Path) -> None:
    clip = synth.synthesize(text, voice, cache_dir=clip_cache)
    start, end = synth.speech_bounds(clip)

    assert 0 <= start < end <= len(clip)
    assert 0.3 < (end - start) / synth.SAMPLE_RATE < 3.0
    inside = np.mean(clip[start:end] ** 2)
    outside = np.concatenate([clip[:start], clip[end:]])
    assert len(outside) == 0 or np.mean(outside**2) < inside * 1e-3
    # The cache returns the same samples without running the synthesizer again.
    assert np.array_equal(synth.synthesize(text, voice, cache_dir=clip_cache), clip)


def test_unknown_voice_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="espeak-ng:NAME"):
        synth.Voice.parse("festival:kal")


@pytest.mark.parametrize("kind", synth.NOISE_KINDS)
@pytest.mark.parametrize("snr_db", [20.0, 5.0])
def test_mix_sets_noise_level_from_speech_level(command: np.ndarray, kind: str, snr_db: float) -> None:
    noise = synth.make_noise(kind, len(command), np.random.default_rng(7))
    mixed = synth.mix_at_snr(command, noise, snr_db)

    added = mixed - command
    assert synth.speech_level_dbfs(command) - synth.rms_dbfs(added) == pytest.approx(snr_db, abs=0.01)


def test_noise_is_reproducible_and_coloured() -> None:
    n = synth.SAMPLE_RATE * 4

    def low_share(kind: str) -> float:
        x = synth.make_noise(kind, n, np.random.default_rng(3))
        power = np.abs(np.fft.rfft(x)) ** 2
        f = np.fft.rfftfreq(n, 1 / synth.SAMPLE_RATE)
        return float(power[f < 300].sum() / power.sum())

    a = synth.make_noise("pink", n, np.random.default_rng(3))
    assert np.array_equal(a, synth.make_noise("pink", n, np.random.default_rng(3)))
    assert synth.rms_dbfs(a) == pytest.approx(-30.0, abs=0.01)
    assert low_share("white") < 0.05 < low_share("pink") < low_share("brown")
    assert low_share("fan") > 0.9
    assert low_share("hum") > 0.5


@pytest.fixture(scope="session")
def placed(command: np.ndarray) -> tuple[bytes, float, float]:
    """The command 1 s into 4 s of white noise at 20 dB SNR; returns pcm, true onset and offset (s)."""
    start, end = synth.speech_bounds(command)
    at = synth.SAMPLE_RATE - start
    track = np.zeros(synth.SAMPLE_RATE * 4)
    track[at : at + len(command)] = command
    noise = synth.make_noise("white", len(track), np.random.default_rng(11))
    level = synth.speech_level_dbfs(command)
    pcm = synth.to_pcm(synth.mix_at_snr(track, noise, 20.0, speech_level=level))
    return pcm, (at + start) / synth.SAMPLE_RATE, (at + end) / synth.SAMPLE_RATE


def test_bare_webrtcvad_segments_the_command(placed: tuple[bytes, float, float]) -> None:
    pcm, onset, offset = placed
    speech = [s for s in baselines.bare_webrtcvad(pcm, 2) if s.start < offset and s.end > onset]

    assert len(speech) == 1
    # No pre-roll: it starts at a voiced frame near the onset, and ends after 0.7 s of unvoiced frames.
    assert abs(speech[0].start - onset) < 0.15
    assert offset + 0.6 < speech[0].end < offset + 1.0


def test_rhasspy_silence_segments_the_command_with_its_preroll(placed: tuple[bytes, float, float]) -> None:
    pcm, onset, offset = placed
    segments = baselines.rhasspy_silence(pcm)

    assert len(segments) == 1
    seg = segments[0]
    # It starts after 0.3 s of speech and keeps 0.5 s from before: the onset is inside its upload.
    assert onset - 0.5 < seg.start <= onset
    # It records at least 1 s, then stops after 0.5 s of unvoiced chunks in total (they need not be
    # consecutive: its counter is not reset by speech), so the end can come before the trailing 0.5 s.
    assert onset + 1.0 < seg.end < offset + 1.0
