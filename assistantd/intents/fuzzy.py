"""Fuzzy fallback: bounded sample sentences per intent, scored with rapidfuzz (pure).

hassil 3.x has no fuzzy matching (FACTS.md), and recognizers mishear ("turn on the kitchen lite"). At
load time every template is expanded into concrete sample sentences: alternatives, optionals,
permutations, expansion rules and text-list values are spelled out; a number range stays a marker
(``#``) instead of 100 copies of the sentence. Templates with a wildcard list are not sampled: a
wildcard has no text to compare, so those intents match exactly or not at all.

Bound: expansion stops at ``max_per_intent`` sentences per intent. Templates take turns (round robin),
so a late template is not starved by an early one with many list values; inside one template the
Cartesian product is cut off in its natural order (last items vary fastest).

Scoring compares a *key* of the input (skip words removed) with the key of every sample: numbers as
``#`` (spelled-out numbers first turned into digits, so "five" and "5" agree), and for spaceless
languages no spaces at all. The score is rapidfuzz's ``fuzz.ratio`` (normalised Indel similarity,
0-100) over the whole string; partial scorers were rejected because they accept "turn on" inside any
longer sentence.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from hassil import (
    Alternative,
    Expression,
    Intents,
    ListReference,
    Permutation,
    RangeSlotList,
    RuleReference,
    SlotList,
    TextChunk,
    TextSlotList,
)
from hassil.expression import Sentence
from hassil.expression import Sequence as SequenceExpr

from assistantd.intents.numbers import words_to_digits

NUMBER_MARK = "\x00"
"""Stands for a range slot's number inside a sample sentence."""
_NUMBER_OR_MARK = re.compile(r"\x00|\d+(?:\.\d+)?")
_WHITESPACE = re.compile(r"\s+")
DEFAULT_MAX_PER_INTENT = 1000


class _WildcardError(Exception):
    """Raised inside the expansion of a template that contains a wildcard list."""


@dataclass(frozen=True)
class Sample:
    """One concrete sentence of an intent; ``text`` may hold NUMBER_MARK for range slots."""

    intent: str
    text: str
    key: str


@dataclass(frozen=True)
class FuzzyHit:
    sample: Sample
    score: float


def fuzzy_key(text: str, language: str, spaceless: bool) -> str:
    """The form in which input and samples are compared: numbers as '#', spaces tidied (or dropped)."""
    digits = words_to_digits(_WHITESPACE.sub(" ", text).strip(), language)
    key = _NUMBER_OR_MARK.sub("#", digits)
    return key.replace(" ", "") if spaceless else key


def strip_skip_words(text: str, skip_words: Sequence[str], spaceless: bool) -> str:
    """Drop the intents' skip words ("please", 请) before fuzzy scoring, as hassil does before matching.

    Whole words only for spaced languages; anywhere for spaceless ones. Longest first, so "could you"
    goes before "could".
    """
    words = sorted({w for w in skip_words if w}, key=len, reverse=True)
    if not words:
        return text
    alternatives = "|".join(re.escape(w) for w in words)
    pattern = f"(?:{alternatives})" if spaceless else rf"(?<!\w)(?:{alternatives})(?!\w)"
    return _WHITESPACE.sub(" ", re.sub(pattern, " ", text)).strip()


MAX_SAMPLE_CHARS = 400
"""Samples longer than this are dropped: nobody says them, and a rule naming the next one twice, twenty
times over, would otherwise make a sample of a million words."""


class _Expansions:
    """Rule and list expansions already made, by name and limit: the same call gives the same list, so a
    rule named twice by each of forty others is expanded once per limit, not 2**40 times."""

    def __init__(self) -> None:
        self.made: dict[tuple[str, int], list[str]] = {}


def _expand_ref(
    key: str,
    bodies: Sequence[Expression],
    limit: int,
    *,
    lists: Mapping[str, SlotList],
    rules: Mapping[str, Sentence],
    memo: _Expansions,
) -> list[str]:
    made = memo.made.get((key, limit))
    if made is not None:
        return made
    out: list[str] = []
    for body in bodies:
        out.extend(_expand(body, lists, rules, limit - len(out), memo))
        if len(out) >= limit:
            break
    memo.made[key, limit] = out
    return out


def _short(texts: Iterator[str], limit: int) -> list[str]:
    return [text for text in itertools.islice(texts, limit) if len(text) <= MAX_SAMPLE_CHARS]


def _expand(
    expr: Expression,
    lists: Mapping[str, SlotList],
    rules: Mapping[str, Sentence],
    limit: int,
    memo: _Expansions,
) -> list[str]:
    if isinstance(expr, TextChunk):
        return [expr.text]
    if isinstance(expr, Alternative):
        out: list[str] = []
        for item in expr.items:
            out.extend(_expand(item, lists, rules, limit - len(out), memo))
            if len(out) >= limit:
                break
        return out
    if isinstance(expr, SequenceExpr):
        parts = [_expand(item, lists, rules, limit, memo) for item in expr.items]
        return _short(("".join(p) for p in itertools.product(*parts)), limit)
    if isinstance(expr, Permutation):
        parts = [_expand(item, lists, rules, limit, memo) for item in expr.items]
        if not all(parts):
            return []  # else every one of the n! orders would be tried for nothing
        orders = itertools.permutations(parts)
        return _short((" ".join(p) for order in orders for p in itertools.product(*order)), limit)
    if isinstance(expr, ListReference):
        slot_list = lists[expr.list_name]
        if isinstance(slot_list, RangeSlotList):
            return [NUMBER_MARK]
        if isinstance(slot_list, TextSlotList):
            values = [value.text_in for value in slot_list.values]
            return _expand_ref(f"{{{expr.list_name}}}", values, limit, lists=lists, rules=rules, memo=memo)
        raise _WildcardError
    if isinstance(expr, RuleReference):
        body = [rules[expr.rule_name].expression]
        return _expand_ref(f"<{expr.rule_name}>", body, limit, lists=lists, rules=rules, memo=memo)
    raise TypeError(f"unexpected template element {expr!r}")


def _template_samples(intents: Intents, name: str, limit: int) -> Iterator[Iterator[str]]:
    for block in intents.intents[name].data:
        lists = {**intents.slot_lists, **block.slot_lists}
        rules = {**intents.expansion_rules, **block.expansion_rules}
        memo = _Expansions()
        for sentence in block.sentences:
            try:
                yield iter(_expand(sentence.expression, lists, rules, limit, memo))
            except _WildcardError:
                continue


def sample_intents(intents: Intents, max_per_intent: int = DEFAULT_MAX_PER_INTENT) -> list[Sample]:
    """Up to ``max_per_intent`` distinct samples per intent, templates taking turns."""
    spaceless = intents.settings.ignore_whitespace
    samples: list[Sample] = []
    for name in intents.intents:
        seen: set[str] = set()
        pending = list(_template_samples(intents, name, max_per_intent))
        while pending and len(seen) < max_per_intent:
            still: list[Iterator[str]] = []
            for texts in pending:
                raw = next(texts, None)
                if raw is None:
                    continue
                still.append(texts)
                text = _WHITESPACE.sub(" ", raw).strip()
                if text in seen or len(seen) >= max_per_intent:
                    continue
                seen.add(text)
                samples.append(Sample(name, text, fuzzy_key(text, intents.language, spaceless)))
            pending = still
    return samples


def best_sample(key: str, samples: Sequence[Sample], threshold: float) -> FuzzyHit | None:
    """The sample most like ``key`` if its score reaches ``threshold`` (0-100)."""
    if not samples or not key:
        return None
    # Imported at the first fuzzy match, not with the matcher: a daemon whose transcripts all match
    # exactly (the offline grammar's always do) never loads it (3.6 MB of RSS, issue 13).
    from rapidfuzz import fuzz, process  # noqa: PLC0415

    found = process.extractOne(key, [s.key for s in samples], scorer=fuzz.ratio, score_cutoff=threshold)
    if found is None:
        return None
    _choice, score, index = found
    return FuzzyHit(samples[index], float(score))


def fill_numbers(sample_text: str, heard: str, language: str) -> str:
    """The sample sentence with its range markers replaced by the numbers heard, position by position.

    The k-th number (or marker) in the sample lines up with the k-th number in what was heard; literal
    numbers in the sample keep their own value. This lets hassil re-parse the sample and recover slots.
    """
    numbers: list[str] = _NUMBER_OR_MARK.findall(words_to_digits(heard, language))
    index = 0

    def one(match: re.Match[str]) -> str:
        nonlocal index
        here = index
        index += 1
        found = match.group(0)
        if found == NUMBER_MARK and here < len(numbers) and numbers[here] != NUMBER_MARK:
            return numbers[here]
        return found

    return _NUMBER_OR_MARK.sub(one, words_to_digits(sample_text, language))
