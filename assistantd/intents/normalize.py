"""Text normalisation shared by intent templates and recognizer output (pure).

Cloud recognizers return punctuated, inverse-text-normalised text ("Set a timer for 5 minutes.",
"设置５分钟的计时器。"); the offline recognizer returns bare lower-case words. Both must meet the same
templates, so one set of rules is applied to the input *and* to the literal text of every template,
list value and skip word (``normalize_template`` leaves the template syntax alone):

1. NFKC, which folds full-width letters, digits and punctuation to their ASCII forms (``５`` -> ``5``,
   ``，`` -> ``,``) and the ideographic space to a plain one;
2. case folding;
3. punctuation becomes a space, except an apostrophe inside a word (``what's``) and a decimal point
   between digits; ``%`` after a number is spelled out ("50%" -> "50 percent", "50%" -> "百分之50" in
   Chinese) because that is what the recognizers' ITN made of the spoken words;
4. runs of whitespace become one space, and whitespace next to a CJK character is dropped
   (Chinese is written without spaces; templates for it use hassil's ``ignore_whitespace``).

Numbers are not rewritten here: hassil's range lists accept both digits and words. ``numbers.py``
provides the digit/word variants the matcher tries when a literal number in a template is involved.
"""

from __future__ import annotations

import functools
import re
import unicodedata

# Han, kana, Hangul and CJK symbols: the scripts written without spaces between words.
CJK_CHARS = (
    "\u2e80-\u2fff\u3000-\u303f\u3040-\u30ff\u3100-\u312f\u3190-\u31ff\u3400-\u4dbf"
    "\u4e00-\u9fff\uac00-\ud7af\uf900-\ufaff"
)
CJK_RANGES = (
    (0x2E80, 0x2FFF),
    (0x3000, 0x303F),
    (0x3040, 0x30FF),
    (0x3100, 0x312F),
    (0x3190, 0x31FF),
    (0x3400, 0x4DBF),
    (0x4E00, 0x9FFF),
    (0xAC00, 0xD7AF),
    (0xF900, 0xFAFF),
)
"""CJK_CHARS as code point ranges. A regular expression over these ranges took 12 ms to compile, and the
one below 13 ms, at every start (issue 13): English text never needs either."""
_WHITESPACE = re.compile(r"\s+")
_PERCENT_ZH = re.compile(r"(\d+(?:\.\d+)?)\s*%")
_PERCENT = re.compile(r"%")

# Characters with a template meaning in hassil; normalize_template never touches them (a stray closing
# brace included: it is hassil's to accept or refuse, not punctuation to drop).
TEMPLATE_SYNTAX = frozenset("()[]|;}>")
_NAME_OPEN = {"{": "}", "<": ">"}


def primary_language(language: str) -> str:
    """The language subtag of a code: ``zh`` for ``zh-CN`` or ``zh_Hant``."""
    return language.replace("_", "-").split("-", maxsplit=1)[0].lower()


def has_cjk(text: str) -> bool:
    """True when the text contains a character of a script written without spaces."""
    if text.isascii():
        return False
    return any(lo <= ord(char) <= hi for char in text if ord(char) >= 0x2E80 for lo, hi in CJK_RANGES)


@functools.cache
def _space_near_cjk() -> re.Pattern[str]:
    return re.compile(rf"(?<=[{CJK_CHARS}])\s+|\s+(?=[{CJK_CHARS}])")


def _keep_punctuation(text: str, i: int) -> bool:
    """An apostrophe inside a word, or a decimal point between digits, is part of the token."""
    char = text[i]
    before = text[i - 1] if i > 0 else ""
    after = text[i + 1] if i + 1 < len(text) else ""
    if char == "'":
        return before.isalnum() and after.isalnum()
    if char == ".":
        return before.isdigit() and after.isdigit()
    return False


def _strip_punctuation(text: str) -> str:
    out: list[str] = []
    for i, char in enumerate(text):
        if unicodedata.category(char).startswith("P") and not _keep_punctuation(text, i):
            out.append(" ")
        else:
            out.append(char)
    return "".join(out)


def _literal(text: str, language: str) -> str:
    """Steps 1-3 on a piece of literal text (whitespace is tidied by the caller)."""
    # NFKC again after case folding, as Unicode's NFKC_Casefold does: folding can un-normalise.
    folded = unicodedata.normalize("NFKC", text).replace("\u2019", "'").casefold()
    text = unicodedata.normalize("NFKC", folded)
    if primary_language(language) == "zh":
        text = _PERCENT_ZH.sub(r"百分之\1", text)
    text = _PERCENT.sub(" percent ", text)
    return _strip_punctuation(text)


def _tidy_whitespace(text: str) -> str:
    text = _WHITESPACE.sub(" ", text).strip()
    return _space_near_cjk().sub("", text) if has_cjk(text) else text


def normalize_text(text: str, language: str = "en") -> str:
    """Normalise recognizer output (or any plain text) for matching. Idempotent."""
    return _tidy_whitespace(_literal(text, language))


def normalize_template(template: str, language: str = "en") -> str:
    """Normalise the literal text of a hassil template, leaving its syntax and names untouched.

    ``{list}``/``{list:slot}`` and ``<rule>`` names pass through verbatim (list names are case
    sensitive); the characters ``( ) [ ] | ;`` keep their template meaning; a backslash escape keeps the
    escaped character. Everything else gets the same treatment as ``normalize_text``.
    """
    parts: list[str] = []
    literal: list[str] = []

    def flush() -> None:
        if literal:
            parts.append(_literal("".join(literal), language))
            literal.clear()

    i = 0
    while i < len(template):
        char = template[i]
        if char == "\\" and i + 1 < len(template):
            flush()
            parts.append(template[i : i + 2])
            i += 2
        elif char in _NAME_OPEN:
            close = template.find(_NAME_OPEN[char], i + 1)
            if close < 0:
                # Unbalanced: pass it on untouched so hassil's parser reports it.
                flush()
                parts.append(char)
                i += 1
                continue
            flush()
            parts.append(template[i : close + 1])
            i = close + 1
        elif char in TEMPLATE_SYNTAX:
            flush()
            parts.append(char)
            i += 1
        else:
            literal.append(char)
            i += 1
    flush()
    return _tidy_whitespace("".join(parts))
