"""Template text -> the words a person says, as the pocketsphinx dictionary spells them.

The dictionary (cmudict) holds lower-case words with inner apostrophes ("what's") and no digits or
symbols, so template text is folded to that form: digits become number words ("5" -> "five"),
"%" becomes "percent", hyphens split words ("twenty-one" -> "twenty one", which is also how
pocketsphinx prints it), and sentence punctuation is dropped.
"""

from __future__ import annotations

import re
from functools import lru_cache

from hassil.numbers import get_rbnf_engine

_SYMBOLS = {"%": " percent ", "°": " degrees ", "&": " and ", "+": " plus "}
_SPLIT = re.compile(r"[\s\-_/]+")
_DIGITS = re.compile(r"^\d+(?:\.\d+)?$")
# Keep letters, digits and inner apostrophes; everything else (.,?!:;"()) is punctuation.
_STRIP = re.compile(r"[^\w']+")


@lru_cache(maxsize=8)
def _engine(language: str):  # type: ignore[no-untyped-def]  # unicode_rbnf ships no types
    return get_rbnf_engine(language)


def number_phrases(number: float, language: str) -> tuple[tuple[str, ...], ...]:
    """Every way ``language`` spells ``number`` (cardinal, numbering, ...), each as a word tuple.

    Uses unicode-rbnf (installed with hassil), the same engine hassil uses to match number words.
    """
    value: float = int(number) if float(number).is_integer() else number
    result = _engine(language).format_number(value)
    phrases = {tuple(_SPLIT.split(text.strip().lower())) for text in result.text_by_ruleset.values()}
    return tuple(sorted(p for p in phrases if p and all(p)))


def spoken_words(text: str, language: str = "en") -> tuple[str, ...]:
    """The dictionary words for a piece of template text ("Set it to 5%!" -> set it to five percent)."""
    for symbol, replacement in _SYMBOLS.items():
        text = text.replace(symbol, replacement)
    words: list[str] = []
    for token in _SPLIT.split(text.lower()):
        if _DIGITS.match(token):
            # The first spelling is as good as any: the recognizer prints what the grammar holds.
            words.extend(number_phrases(float(token), language)[0])
            continue
        word = _STRIP.sub("", token).strip("'")
        if word:
            words.append(word)
    return tuple(words)
