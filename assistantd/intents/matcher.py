"""Final recognizer text -> IntentMatch (pure: everything it needs was built by the loader).

Order of attempts for one text:

1. Pick the candidate languages by script: text with a CJK character is matched only against the
   spaceless languages (``ignore_whitespace``, e.g. zh); other text only against the rest. Languages
   stay apart, and an English sentence can never land on a Chinese template with a wildcard.
2. Exact: hassil's ``recognize_best`` on the normalised text, then on two number variants (spelled-out
   numbers as digits, digits as words) for templates with a literal number. Score 100.
3. Fuzzy: the best-scoring sample sentence (fuzzy.py) at or above the threshold. Slots are recovered by
   putting the numbers heard into the sample's range markers and parsing that sentence exactly; text
   list values come from the sample itself (the closest spelling), so "kitchen lite" yields
   area=kitchen. If the sample cannot be re-parsed (a number out of range, a number not heard), the
   fuzzy match is refused: a match without its slots would only make the handler fail later.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from hassil import Intents, RecognizeResult, recognize_best

from assistantd.config.template import SlotValue
from assistantd.intents.fuzzy import Sample, best_sample, fill_numbers, fuzzy_key, strip_skip_words
from assistantd.intents.normalize import has_cjk, normalize_text
from assistantd.intents.numbers import digits_to_words, words_to_digits

Method = Literal["exact", "fuzzy"]


@dataclass(frozen=True)
class IntentMatch:
    """What an utterance meant."""

    intent: str
    slots: dict[str, SlotValue]
    """Slot name -> value: list ``out`` values, range numbers (int when whole), wildcard text, fixed slots."""
    method: Method
    """``exact`` when a template matched, ``fuzzy`` when a sample sentence was close enough."""
    score: float
    """100 for exact matches; the rapidfuzz ratio (0-100) for fuzzy ones."""
    text: str
    """The recognizer's text as given."""
    normalized: str
    """The text after normalisation (normalize.py), as matched."""
    language: str
    """Language of the intent file that matched."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "intent": self.intent,
            "slots": dict(self.slots),
            "method": self.method,
            "score": round(self.score, 1),
            "language": self.language,
            "text": self.text,
            "normalized": self.normalized,
        }


@dataclass(frozen=True)
class LanguageModel:
    """Everything the matcher needs for one language, built at load time."""

    language: str
    intents: Intents
    samples: Sequence[Sample] = ()
    spell: Callable[[int | float], str] | None = field(default=None, compare=False)
    """Spells a number in this language (an rbnf engine), for the digits-as-words variant."""

    @property
    def spaceless(self) -> bool:
        return self.intents.settings.ignore_whitespace


def _slot_value(value: object) -> SlotValue:
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str | int | float):
        return value
    return str(value)


def _slots(result: RecognizeResult) -> dict[str, SlotValue]:
    return {name: _slot_value(entity.value) for name, entity in result.entities.items()}


class Matcher:
    """Matches normalised text against the intents of every loaded language."""

    def __init__(self, languages: Sequence[LanguageModel], fuzzy_threshold: float = 85.0) -> None:
        if not 0 <= fuzzy_threshold <= 100:
            raise ValueError("fuzzy_threshold must be within 0..100")
        self.languages = tuple(languages)
        self.fuzzy_threshold = fuzzy_threshold

    def intent_names(self) -> list[str]:
        return sorted({name for lm in self.languages for name in lm.intents.intents})

    def _candidates(self, text: str) -> list[LanguageModel]:
        cjk = has_cjk(text)
        return [lm for lm in self.languages if lm.spaceless == cjk]

    def _variants(self, normalized: str, lm: LanguageModel) -> Iterator[str]:
        seen = {normalized}
        yield normalized
        for variant in (
            words_to_digits(normalized, lm.language),
            digits_to_words(normalized, lm.spell) if lm.spell is not None else normalized,
        ):
            if variant not in seen:
                seen.add(variant)
                yield normalize_text(variant, lm.language)

    def _exact(self, normalized: str, lm: LanguageModel) -> RecognizeResult | None:
        for variant in self._variants(normalized, lm):
            result = recognize_best(variant, lm.intents, language=lm.language)
            if result is not None:
                return result
        return None

    def match(self, text: str) -> IntentMatch | None:
        """The intent meant by ``text``, or None when nothing matches well enough."""
        candidates = self._candidates(text)
        normalized_by_language = {lm.language: normalize_text(text, lm.language) for lm in candidates}
        for lm in candidates:
            normalized = normalized_by_language[lm.language]
            if not normalized:
                continue
            result = self._exact(normalized, lm)
            if result is not None:
                return IntentMatch(
                    result.intent.name, _slots(result), "exact", 100.0, text, normalized, lm.language
                )
        return self._fuzzy(text, candidates, normalized_by_language)

    def _fuzzy(
        self, text: str, candidates: Sequence[LanguageModel], normalized_by_language: Mapping[str, str]
    ) -> IntentMatch | None:
        best: tuple[float, LanguageModel, Sample] | None = None
        for lm in candidates:
            heard = strip_skip_words(normalized_by_language[lm.language], lm.intents.skip_words, lm.spaceless)
            hit = best_sample(fuzzy_key(heard, lm.language, lm.spaceless), lm.samples, self.fuzzy_threshold)
            if hit is not None and (best is None or hit.score > best[0]):
                best = (hit.score, lm, hit.sample)
        if best is None:
            return None
        score, lm, sample = best
        normalized = normalized_by_language[lm.language]
        slots = self._recover_slots(sample, normalized, lm)
        if slots is None:
            return None
        return IntentMatch(sample.intent, slots, "fuzzy", score, text, normalized, lm.language)

    def _recover_slots(self, sample: Sample, heard: str, lm: LanguageModel) -> dict[str, SlotValue] | None:
        filled = fill_numbers(sample.text, heard, lm.language)
        result = self._exact(normalize_text(filled, lm.language), lm)
        if result is None or result.intent.name != sample.intent:
            # A number out of range ("500 minutes") or not heard at all: no usable slots, so no match.
            return None
        return _slots(result)
