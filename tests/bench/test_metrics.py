"""The endpointing benchmark's scoring: matching segments to truth, onset kept, false alarms, rates."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bench.metrics import Interval, Tally, overlaps, score_speech, split_startup

TRUTH = [Interval(1.0, 2.0), Interval(5.0, 6.0), Interval(10.0, 11.0)]


def test_segments_are_matched_to_utterances_they_overlap() -> None:
    segments = [Interval(0.8, 2.5), Interval(5.2, 6.5), Interval(20.0, 21.0)]

    score = score_speech(TRUTH, segments)

    assert [u.found for u in score.utterances] == [True, True, False]
    assert [u.onset_kept for u in score.utterances] == [True, False, False]
    assert score.false_segments == 1
    assert score.uploaded_s == pytest.approx(1.7 + 1.3 + 1.0)
    assert score.truth_s == pytest.approx(3.0)


def test_touching_is_not_overlapping() -> None:
    # A segment that ends exactly where speech begins uploaded none of it.
    score = score_speech([Interval(1.0, 2.0)], [Interval(0.0, 1.0), Interval(2.0, 3.0)])

    assert not score.utterances[0].found
    assert score.false_segments == 2


def test_onset_is_judged_by_the_earliest_overlapping_segment() -> None:
    # Split into a late piece listed first and an early piece: the early one kept the onset.
    score = score_speech([Interval(1.0, 2.0)], [Interval(1.5, 2.2), Interval(0.9, 1.2)])
    assert score.utterances[0].onset_kept

    late = score_speech([Interval(1.0, 2.0)], [Interval(1.01, 2.2)])
    assert late.utterances[0].found and not late.utterances[0].onset_kept


def test_a_segment_spanning_two_utterances_finds_both_and_is_no_false_alarm() -> None:
    score = score_speech(TRUTH[:2], [Interval(0.5, 6.2)])

    assert all(u.found and u.onset_kept for u in score.utterances)
    assert score.false_segments == 0


def test_startup_segments_are_left_out_only_when_they_hold_no_speech() -> None:
    truth = [Interval(2.5, 3.5)]
    early_noise, early_into_speech, later = Interval(0.0, 0.8), Interval(0.5, 3.0), Interval(1.2, 1.5)

    kept, dropped = split_startup([early_noise, early_into_speech, later], truth, warmup_s=1.0)

    assert kept == [early_into_speech, later]
    assert dropped == 1


def test_tally_rates_per_hour_and_upload_ratio() -> None:
    tally = Tally()
    tally.add_speech(score_speech(TRUTH, [Interval(0.8, 2.5), Interval(30.0, 31.0)]), audio_s=1800.0)
    tally.add_noise([Interval(3.0, 4.0), Interval(9.0, 9.5), Interval(100.0, 101.0)], audio_s=1800.0)
    tally.cpu_s = 2.0

    assert tally.recall == pytest.approx(1 / 3)
    assert tally.onset_rate == pytest.approx(1 / 3)
    assert tally.noise_false_per_hour == pytest.approx(6.0)  # 3 segments in half an hour
    assert tally.speech_false_per_hour == pytest.approx(2.0)  # 1 segment in half an hour of speech files
    assert tally.upload_ratio == pytest.approx((1.7 + 1.0) / 3.0)
    assert tally.noise_uploaded_s == pytest.approx(2.5)
    assert tally.noise_upload_share == pytest.approx(2.5 / 1800.0)
    assert tally.cpu_per_hour == pytest.approx(2.0)  # over speech and noise-only audio together


def test_empty_tally_reports_nothing_rather_than_zero() -> None:
    tally = Tally()
    assert tally.recall is None
    assert tally.noise_false_per_hour is None
    assert tally.upload_ratio is None


def test_conditions_are_kept_apart() -> None:
    tally = Tally()
    tally.condition("white", 5.0).add_speech(score_speech(TRUTH, []), audio_s=60.0)
    tally.condition("white", None).add_noise([Interval(1.0, 2.0)], audio_s=60.0)

    assert tally.condition("white", 5.0).recall == 0.0
    assert tally.condition("white", None).noise_false == 1
    assert set(tally.conditions) == {("white", 5.0), ("white", None)}


spans = st.tuples(st.floats(0, 100), st.floats(0.01, 10)).map(lambda p: Interval(p[0], p[0] + p[1]))


@given(st.lists(spans, max_size=6), st.lists(spans, max_size=6))
def test_every_segment_is_either_a_hit_or_a_false_alarm(
    truth: list[Interval], segments: list[Interval]
) -> None:
    score = score_speech(truth, segments)

    hits = sum(1 for s in segments if any(overlaps(s, t) for t in truth))
    assert hits + score.false_segments == len(segments)
    for t, u in zip(truth, score.utterances, strict=True):
        assert u.found == any(overlaps(s, t) for s in segments)
        assert not u.onset_kept or u.found
