"""The second opinion's arithmetic (pure): score per frame and speech the grammar left unexplained."""

from __future__ import annotations

import pytest

from assistantd.recognizer.rejection import Path, Segment, Verdict, judge

LIMITS = {"min_score": -12.0, "max_unexplained": 0.2}


def phones(*spans: tuple[str, int, int], score: int = -1000) -> Path:
    return Path(score, tuple(Segment(w, s, e) for w, s, e in spans))


def words(*spans: tuple[str, int, int], score: int) -> Path:
    return Path(score, tuple(Segment(w, s, e) for w, s, e in spans))


LOOP = phones(("SIL", 0, 19), ("AA", 20, 39), ("ER", 40, 79), ("IY", 80, 99), ("SIL", 100, 119))


def test_a_close_path_that_covers_the_speech_is_accepted() -> None:
    grammar = words(("<sil>", 0, 19), ("turn", 20, 99), ("<sil>", 100, 119), score=-1000 - 5 * 120)
    verdict = judge(grammar, LOOP, 120, **LIMITS)
    assert verdict == Verdict(-5.0, 0.0, True, "", 0.0)


def test_a_path_far_below_the_phone_loop_is_rejected() -> None:
    grammar = words(("<sil>", 0, 19), ("turn", 20, 99), ("<sil>", 100, 119), score=-1000 - 20 * 120)
    verdict = judge(grammar, LOOP, 120, **LIMITS)
    assert not verdict.accepted
    assert verdict.score == pytest.approx(-20.0)
    assert verdict.reason == "score -20.0 < -12"


def test_speech_covered_only_by_silence_is_unexplained() -> None:
    # "lights on" and then the rest of the sentence explained as silence: 60 of 80 speech frames.
    grammar = words(("<sil>", 0, 19), ("on(2)", 20, 39), ("<sil>", 40, 119), score=-1000 - 3 * 120)
    verdict = judge(grammar, LOOP, 120, **LIMITS)
    assert not verdict.accepted
    assert verdict.unexplained == pytest.approx(60 / 80)
    assert verdict.unexplained_s == pytest.approx(0.6)
    assert verdict.reason == "unexplained 0.75 > 0.2"


def test_noise_fillers_count_as_unexplained_and_only_vowels_are_speech() -> None:
    # Fan noise decodes as F and V in the lead and tail: not speech the grammar has to explain.
    loop = phones(("F", 0, 19), ("+NSN+", 20, 39), ("AH", 40, 99), ("V", 100, 119))
    grammar = words(("[NOISE]", 0, 59), ("louder", 60, 99), ("</s>", 100, 119), score=-1000)
    verdict = judge(grammar, loop, 120, **LIMITS)
    assert verdict.unexplained == pytest.approx(20 / 60)  # frames 40-59: speech under [NOISE]
    assert not verdict.accepted


def test_no_path_through_the_grammar_is_a_rejection() -> None:
    verdict = judge(None, LOOP, 120, **LIMITS)
    assert not verdict.accepted and verdict.score is None
    assert verdict.to_dict()["score"] is None


def test_thresholds_come_from_the_caller() -> None:
    grammar = words(("turn", 0, 119), score=-1000 - 20 * 120)
    assert judge(grammar, LOOP, 120, min_score=-25.0, max_unexplained=0.2).accepted
