"""Numbers as digits or as words, in English and Chinese (pure).

hassil's range lists already accept both "5" and "five" (and 五), so exact matching of a ``{minutes}``
slot needs no help. These rewrites serve two other cases: a *literal* number in a template ("light
one" against a recognizer's ITN "light 1") and the fuzzy matcher, which compares text in one canonical
form where every number is digits. The word->digit parsers are small and cover cardinals; the
digit->word direction uses unicode-rbnf (installed with hassil), whose engine is built at load time.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from assistantd.intents.normalize import primary_language

_EN_UNITS = {
    word: value
    for value, word in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
        ]
    )
}
_EN_TENS = {
    word: 10 * (i + 2)
    for i, word in enumerate(["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"])
}
_EN_SCALES = {"thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000}
_EN_WORDS = {**_EN_UNITS, **_EN_TENS, "hundred": 100, **_EN_SCALES}

_ZH_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7}
_ZH_DIGITS.update({"八": 8, "九": 9})
_ZH_UNITS = {"十": 10, "百": 100, "千": 1000}
_ZH_SCALES = {"万": 10_000, "亿": 100_000_000}
_ZH_RUN = re.compile(f"[{''.join(_ZH_DIGITS)}{''.join(_ZH_UNITS)}{''.join(_ZH_SCALES)}]+")
_DIGITS = re.compile(r"\d+(?:\.\d+)?")


def _en_value(words: list[str]) -> int:
    total = 0
    current = 0
    for word in words:
        if word in _EN_UNITS or word in _EN_TENS:
            current += _EN_WORDS[word]
        elif word == "hundred":
            current = max(current, 1) * 100
        elif word in _EN_SCALES:
            total += max(current, 1) * _EN_SCALES[word]
            current = 0
    return total + current


def _continues(previous: str, word: str) -> bool:
    """Whether ``word`` extends the number ending in ``previous``: "twenty five" is one number,
    "five five" and "five twenty" are two."""
    if word == "hundred" or word in _EN_SCALES:
        return True
    if previous in _EN_UNITS:
        return False
    if previous in _EN_TENS:
        return 1 <= _EN_UNITS.get(word, 0) <= 9
    return True


def _en_words_to_digits(text: str) -> str:
    tokens = text.split(" ")
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            out.append(str(_en_value(run)))
            run.clear()

    for i, token in enumerate(tokens):
        if token in _EN_WORDS:
            if run and not _continues(run[-1], token):
                flush()
            run.append(token)
        elif token == "and" and run and i + 1 < len(tokens) and tokens[i + 1] in _EN_WORDS:
            continue  # "one hundred and five"
        else:
            flush()
            out.append(token)
    flush()
    return " ".join(out)


def _zh_value(run: str) -> str:
    if not any(char in _ZH_UNITS or char in _ZH_SCALES for char in run):
        # Digit by digit, as in years and room numbers: 二零二五 -> 2025.
        return "".join(str(_ZH_DIGITS[char]) for char in run)
    total = 0
    section = 0
    number = 0
    for char in run:
        if char in _ZH_DIGITS:
            number = _ZH_DIGITS[char]
        elif char in _ZH_UNITS:
            # 十五 is 15: a leading unit implies one.
            section += (number or 1) * _ZH_UNITS[char]
            number = 0
        else:
            total += (section + number) * _ZH_SCALES[char]
            section = 0
            number = 0
    return str(total + section + number)


def words_to_digits(text: str, language: str) -> str:
    """Rewrite spelled-out cardinals as digits in normalised text ("twenty five" -> "25", 二十五 -> 25)."""
    primary = primary_language(language)
    if primary == "en":
        return _en_words_to_digits(text)
    if primary == "zh":
        return _ZH_RUN.sub(lambda m: _zh_value(m.group(0)), text)
    return text


def digits_to_words(text: str, spell: Callable[[int | float], str]) -> str:
    """Rewrite digit numbers with ``spell`` (an rbnf engine's cardinal spelling, built at load time)."""

    def one(match: re.Match[str]) -> str:
        raw = match.group(0)
        value: int | float = float(raw) if "." in raw else int(raw)
        return spell(value)

    return _DIGITS.sub(one, text)
