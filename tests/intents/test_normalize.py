from __future__ import annotations

import re

import pytest

from assistantd.intents.normalize import CJK_CHARS, CJK_RANGES, has_cjk, normalize_template, normalize_text
from assistantd.intents.numbers import digits_to_words, words_to_digits


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("Turn on the Kitchen lights.", "en", "turn on the kitchen lights"),
        ("  set   a\ttimer\nfor 5 minutes  ", "en", "set a timer for 5 minutes"),
        ("What's the weather?", "en", "what's the weather"),
        ("What\u2019s the time?!", "en", "what's the time"),
        ("Turn on the kitchen-light, please", "en", "turn on the kitchen light please"),
        ("Set the volume to 50%.", "en", "set the volume to 50 percent"),
        ("Set a timer for 2.5 minutes.", "en", "set a timer for 2.5 minutes"),
        ("ＴＵＲＮ ＯＮ　ｔｈｅ light", "en", "turn on the light"),
        ("\u201cplay\u201d (some) music", "en", "play some music"),
        ("打开客厅的灯。", "zh", "打开客厅的灯"),
        ("打开客厅、厨房的灯！", "zh", "打开客厅厨房的灯"),
        ("设置 ５ 分钟的计时器，好吗？", "zh", "设置5分钟的计时器好吗"),
        ("音量调到50%", "zh", "音量调到百分之50"),
        ("播放 Taylor Swift 的歌", "zh", "播放taylor swift的歌"),
        ("现在几点了？", "zh", "现在几点了"),
        ("", "en", ""),
        ("?!。，", "zh", ""),
    ],
)
def test_normalize_text(text: str, language: str, expected: str) -> None:
    assert normalize_text(text, language) == expected


@pytest.mark.parametrize(
    "text", ["Turn on the Kitchen lights.", "设置 ５ 分钟的计时器，好吗？", "Volume 50%!", "what's up"]
)
def test_normalize_text_is_idempotent(text: str) -> None:
    once = normalize_text(text, "zh" if has_cjk(text) else "en")
    assert normalize_text(once, "zh" if has_cjk(text) else "en") == once


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        ("(Turn|Switch) on [the] {Area} light[s]?", "(turn|switch) on [the] {Area} light[s]"),
        ("<TimerWords> for {minutes:Minutes}%", "<TimerWords> for {minutes:Minutes} percent"),
        ("[请]打开 {area} 的灯！", "[请]打开{area}的灯"),
        ("(turn;up) the volume", "(turn;up) the volume"),
        ("What\u2019s the time", "what's the time"),
        # Unbalanced braces are hassil's to report, not punctuation to drop.
        ("Turn {on", "turn {on"),
        ("turn on}", "turn on}"),
    ],
)
def test_normalize_template_keeps_syntax_and_names(template: str, expected: str) -> None:
    assert normalize_template(template) == expected


@pytest.mark.parametrize(
    ("text", "language", "expected"),
    [
        ("set a timer for twenty five minutes", "en", "set a timer for 25 minutes"),
        ("one hundred and five", "en", "105"),
        ("two thousand twenty six", "en", "2026"),
        ("five five", "en", "5 5"),
        ("five twenty", "en", "5 20"),
        ("turn on light one", "en", "turn on light 1"),
        ("and then", "en", "and then"),
        ("设置二十五分钟", "zh", "设置25分钟"),
        ("十五", "zh", "15"),
        ("一百零五", "zh", "105"),
        ("两分钟", "zh", "2分钟"),
        ("三万五千", "zh", "35000"),
        ("二零二五年", "zh", "2025年"),
        ("five", "fr", "five"),
    ],
)
def test_words_to_digits(text: str, language: str, expected: str) -> None:
    assert words_to_digits(text, language) == expected


def test_digits_to_words_uses_the_given_speller() -> None:
    spelled = digits_to_words("light 1 and 2.5", lambda n: f"<{n!r}>")
    assert spelled == "light <1> and <2.5>"


def test_has_cjk_agrees_with_the_character_class_it_replaced() -> None:
    # has_cjk checks code point ranges instead of compiling a regex over CJK_CHARS at every start;
    # both must agree on every range's edges and neighbours, and on ordinary text.
    cjk = re.compile(f"[{CJK_CHARS}]")
    points = {p + d for lo, hi in CJK_RANGES for p in (lo, hi) for d in (-1, 0, 1)}
    for point in sorted(points):
        text = f"a{chr(point)}b"
        assert has_cjk(text) == (cjk.search(text) is not None), hex(point)
    for text in ("turn on the kitchen lights", "café au lait", "打开厨房的灯", "turn on 厨房 lights", ""):
        assert has_cjk(text) == (cjk.search(text) is not None), text
