"""segment_pcm on real synthesized speech (espeak-ng, flite; English and Mandarin) mixed with noise."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from assistantd.config.endpoint import HANGOVER_PRESETS_MS, EndpointConfig
from assistantd.endpoint.offline import analyse_pcm, segment_pcm
from tests.endpoint.conftest import NOISES, RATE, Float, mix, to_pcm

CONFIG = EndpointConfig()
PRE_ROLL_S = CONFIG.preroll_ms / 1000
TOLERANCE_S = 0.1
"""Slack for frame granularity and for how far a phrase's quiet last phoneme reaches."""


def _clips(speech: dict[str, Float]) -> list[Float]:
    return [speech["en_espeak"], speech["cmn_espeak"], speech["en_flite"], speech["stop_espeak"]]


@pytest.mark.parametrize(
    ("noise", "snr_db"), [("white", 20), ("white", 5), ("hum", 10), ("pink", 10), ("clicks", 10)]
)
def test_each_phrase_is_one_segment_with_its_onset_kept(
    speech: dict[str, Float], noise: str, snr_db: float
) -> None:
    m = mix(_clips(speech), gaps_s=[2.5, 4.0, 3.0], noise=noise, snr_db=snr_db)
    segments = segment_pcm(m.pcm, CONFIG)
    assert len(segments) == len(m.truth), segments
    for seg, (start, end) in zip(segments, m.truth, strict=True):
        assert start - PRE_ROLL_S - TOLERANCE_S <= seg.start <= start  # the first syllable is in
        # Uploaded audio stops within the tail after the speech (its fading end may be called silence).
        assert end - 2 * TOLERANCE_S <= seg.end <= end + CONFIG.tail_ms / 1000 + TOLERANCE_S
        # The noise neither holds the utterance open nor ends it early: the end is decided one hangover on.
        assert seg.decided_at - end <= CONFIG.hangover_ms / 1000 + TOLERANCE_S
        assert seg.reason == "silence"


@pytest.mark.parametrize("preset", sorted(HANGOVER_PRESETS_MS))
def test_hangover_presets_decide_the_end_after_that_much_silence(
    speech: dict[str, Float], preset: str
) -> None:
    hangover_s = HANGOVER_PRESETS_MS[preset] / 1000
    config = replace(
        CONFIG, hangover_ms=HANGOVER_PRESETS_MS[preset], tail_ms=min(200, HANGOVER_PRESETS_MS[preset])
    )
    m = mix([speech["en_flite"]], gaps_s=[], noise="white", snr_db=20)
    (seg,) = segment_pcm(m.pcm, config)
    end = m.truth[0][1]
    assert hangover_s - TOLERANCE_S <= seg.decided_at - end <= hangover_s + TOLERANCE_S


@pytest.mark.parametrize("noise", sorted(NOISES))
def test_a_minute_of_noise_alone_starts_nothing(noise: str) -> None:
    rng = np.random.default_rng(7)
    # Noise at the speech level -10 dB (speech is at -20 dBFS in these tests).
    pcm = to_pcm(NOISES[noise](60 * RATE, rng) * 0.1 * 10 ** (-10 / 20))
    segments, trace = analyse_pcm(pcm, CONFIG)
    assert segments == []
    assert trace.cancelled == []


@pytest.mark.parametrize(
    ("noise", "defences_off"),
    [
        ("pink", {"noise_suppression": 0, "gate_margin_db": 0, "silero_threshold": 0}),
        ("clicks", {"silero_threshold": 0}),
    ],
)
def test_without_the_defences_the_same_noise_does_start_utterances(
    noise: str, defences_off: dict[str, float]
) -> None:
    """The check above can fail: bare webrtcvad takes pink noise for speech, and without the Silero onset
    check a burst of clicks starts utterances."""
    rng = np.random.default_rng(7)
    pcm = to_pcm(NOISES[noise](60 * RATE, rng) * 0.1 * 10 ** (-10 / 20))
    assert len(segment_pcm(pcm, replace(CONFIG, **defences_off))) >= 1


def test_speech_after_a_minute_of_hum_is_still_found(speech: dict[str, Float]) -> None:
    m = mix([speech["en_espeak"]], gaps_s=[], noise="hum", snr_db=10, lead_s=60)
    (seg,) = segment_pcm(m.pcm, CONFIG)
    assert seg.start <= m.truth[0][0] < seg.end


@pytest.mark.parametrize("frame_ms", [10, 20, 30])
def test_every_frame_size_finds_the_phrase(speech: dict[str, Float], frame_ms: int) -> None:
    m = mix([speech["cmn_espeak"]], gaps_s=[], noise="white", snr_db=10)
    (seg,) = segment_pcm(m.pcm, CONFIG, frame_ms)
    assert seg.start <= m.truth[0][0]


def test_trace_has_one_entry_per_frame(speech: dict[str, Float]) -> None:
    m = mix([speech["en_espeak"]], gaps_s=[], noise="white", snr_db=10)
    _, trace = analyse_pcm(m.pcm, CONFIG)
    n = len(m.pcm) // 960
    assert len(trace.t) == len(trace.vad) == len(trace.speech) == len(trace.in_utterance) == n
    assert any(trace.in_utterance)
