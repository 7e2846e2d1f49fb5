"""The Silero onset check on real speech and on clicks, and what it costs."""

from __future__ import annotations

import numpy as np

from assistantd.endpoint.silero import SileroOnsetCheck, load_silero
from tests.endpoint.conftest import NOISES, RATE, Float, to_pcm


def test_speech_passes_and_clicks_do_not(speech: dict[str, Float]) -> None:
    check = SileroOnsetCheck(load_silero(), 0.5)
    onset = to_pcm(np.concatenate([np.zeros(RATE * 3 // 10), speech["en_flite"][: RATE * 3 // 10]]))
    assert check(10.0, onset) is True
    clicks = to_pcm(NOISES["clicks"](RATE * 6 // 10, np.random.default_rng(3)) * 0.1)
    assert check(20.0, clicks) is False
    assert check.last_probability < 0.5


def test_a_grown_candidate_is_checked_only_on_its_new_audio(speech: dict[str, Float]) -> None:
    check = SileroOnsetCheck(load_silero(), 0.5)
    clicks = to_pcm(NOISES["clicks"](RATE * 2, np.random.default_rng(4)) * 0.1)
    frame = 960  # 30 ms
    assert check(0.0, clicks[: 20 * frame]) is False
    first = check.chunks_run
    assert first == 20 * frame // 1024  # 600 ms in 32 ms chunks
    for n in range(21, 41):  # the trigger keeps holding: one more frame each time
        check(0.0, clicks[: n * frame])
    assert check.chunks_run - first <= 20  # about one chunk per frame, not the whole window again
    # A candidate that does not continue the last one starts from a fresh model state.
    assert check(100.0, to_pcm(speech["cmn_espeak"][: RATE * 6 // 10])) is True


def test_re_checks_of_a_sliding_candidate_see_the_audio_as_one_stream(speech: dict[str, Float]) -> None:
    """The ring slides one frame per re-check (its start moves too); each re-check must continue the model
    on exactly the samples after the last ones it saw, none skipped or repeated."""
    audio = to_pcm(
        np.concatenate([NOISES["clicks"](RATE, np.random.default_rng(5)) * 0.1, speech["en_flite"][:RATE]])
    )
    frame, window = 960, 20
    check = SileroOnsetCheck(load_silero(), 1.1)  # never passes: every frame is a re-check
    seen = []
    for n in range(window, len(audio) // frame):
        check((n - window) * 0.03, audio[(n - window) * frame : n * frame])
        seen.append(check.last_probability)
    reference = load_silero()
    samples = [s / 32768 for s in np.frombuffer(audio, "<i2").tolist()]
    stream = [reference.process_samples(samples[i : i + 512]) for i in range(0, len(samples) - 511, 512)]
    # Check k has seen the first (window + k) frames: its chunks are those ending within them.
    for k, best in enumerate(seen):
        end = (window + k) * frame // 2 // 512
        start = 0 if k == 0 else (window + k - 1) * frame // 2 // 512
        if end > start:
            assert best == max(stream[start:end])
