from __future__ import annotations

import pytest
import yaml

from assistantd.intents.fuzzy import (
    NUMBER_MARK,
    fill_numbers,
    fuzzy_key,
    sample_intents,
    strip_skip_words,
)
from assistantd.intents.schema import merge_language, parse_intent_file
from tests.intents.conftest import MakeMatcher
from tests.intents.test_matcher import EN, ZH


def test_misheard_english_is_found_above_the_threshold(make_matcher: MakeMatcher) -> None:
    match = make_matcher(EN, threshold=85).match("turn on the kitchen lite")
    assert match is not None
    assert (match.intent, match.slots, match.method) == ("LightOn", {"area": "kitchen"}, "fuzzy")
    assert 85 <= match.score < 100


def test_the_same_text_is_refused_below_a_stricter_threshold(make_matcher: MakeMatcher) -> None:
    # "lite" vs "light" scores about 94; a threshold of 97 refuses it.
    assert make_matcher(EN, threshold=97).match("turn on the kitchen lite") is None


def test_fuzzy_recovers_numbers_heard_as_words(make_matcher: MakeMatcher) -> None:
    match = make_matcher(EN).match("set a timer for twenty five minuts")
    assert match is not None
    assert (match.intent, match.slots, match.method) == ("TimerStart", {"minutes": 25}, "fuzzy")


def test_misheard_chinese_with_full_width_numbers(make_matcher: MakeMatcher) -> None:
    # 计时器 misheard as 记时器; the number arrives as a full-width digit.
    match = make_matcher(ZH, threshold=80).match("设置５分钟的记时器。")
    assert match is not None
    assert (match.intent, match.slots, match.method, match.language) == (
        "TimerStart",
        {"minutes": 5},
        "fuzzy",
        "zh",
    )
    assert make_matcher(ZH, threshold=95).match("设置５分钟的记时器。") is None


def test_unrelated_text_is_refused(make_matcher: MakeMatcher) -> None:
    assert make_matcher(EN, ZH, threshold=60).match("the quick brown fox jumps") is None


def _model(doc: str):  # type: ignore[no-untyped-def]
    return merge_language([parse_intent_file(yaml.safe_load(doc), "x.yaml")])


def test_samples_are_bounded_per_intent_and_templates_take_turns() -> None:
    doc = """
language: en
intents:
  Big:
    data:
      - sentences:
          - "(a|b|c|d|e|f|g|h|i|j) (a|b|c|d|e|f|g|h|i|j) (a|b|c|d|e|f|g|h|i|j)"
          - "the last template"
lists: {}
"""
    samples = sample_intents(_model(doc), max_per_intent=50)
    assert len(samples) == 50
    # The 1000-way first template does not starve the second.
    assert "the last template" in {s.text for s in samples}


def test_ranges_become_markers_and_wildcards_are_not_sampled() -> None:
    samples = sample_intents(_model(EN))
    texts = {s.text for s in samples}
    assert f"set a timer for {NUMBER_MARK} minutes" in texts
    assert not any(s.intent == "PlayArtist" for s in samples)
    assert {"turn on the lights in the kitchen", "turn on in the kitchen the lights"} <= texts


@pytest.mark.parametrize(
    ("text", "language", "spaceless", "key"),
    [
        ("set a timer for five minutes", "en", False, "set a timer for # minutes"),
        (f"set a timer for {NUMBER_MARK} minutes", "en", False, "set a timer for # minutes"),
        ("设置 二十五 分钟", "zh", True, "设置#分钟"),
    ],
)
def test_fuzzy_key(text: str, language: str, spaceless: bool, key: str) -> None:
    assert fuzzy_key(text, language, spaceless) == key


def test_fill_numbers_lines_up_numbers_by_position() -> None:
    sample = f"light one for {NUMBER_MARK} minutes"
    assert fill_numbers(sample, "lite 1 for twenty minutes", "en") == "light 1 for 20 minutes"
    # Nothing heard for the marker: it stays, and re-parsing the sample will fail.
    assert NUMBER_MARK in fill_numbers(sample, "light one for minutes", "en")


def test_skip_words_do_not_count_against_a_fuzzy_match(make_matcher: MakeMatcher) -> None:
    # Without removing "could you ... please" this scores about 70 (76 for the Chinese one).
    match = make_matcher(EN, threshold=85).match("Could you turn on the kitchen lite, please?")
    assert match is not None and (match.intent, match.method) == ("LightOn", "fuzzy")
    zh = make_matcher(ZH, threshold=80).match("请帮我设置五分钟的记时器")
    assert zh is not None and (zh.intent, zh.slots) == ("TimerStart", {"minutes": 5})


@pytest.mark.parametrize(
    ("text", "spaceless", "expected"),
    [
        ("could you turn on the light please", False, "turn on the light"),
        ("pleased to meet you", False, "pleased to meet you"),
        ("请帮我打开灯", True, "打开灯"),
    ],
)
def test_strip_skip_words(text: str, spaceless: bool, expected: str) -> None:
    words = ["please", "could you", "请", "帮我"]
    assert strip_skip_words(text, words, spaceless) == expected
