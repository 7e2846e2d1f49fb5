"""Intent templates (hassil YAML) -> one JSGF grammar whose vocabulary is exactly the command set.

hassil parses the templates; this module walks its expression tree (expression.py: Sequence,
Alternative, Permutation, TextChunk, ListReference, RuleReference) into a small word-level tree and
prints that as JSGF for pocketsphinx. Lists and expansion rules become JSGF rules of their own, so a
list of twenty rooms is written once however many sentences use it.

What a grammar cannot hold is left out, path by path, and reported:
- words missing from the pocketsphinx dictionary: the branch (list value, alternative) that needs them
  is dropped; a sentence with no path left is dropped whole. ``Grammar.missing`` lists them per intent.
- wildcards ({name} lists with ``wildcard: true``) match any text, which a finite grammar cannot;
  branches that need one are dropped (``Grammar.dropped`` says which sentences went).
- number ranges become their spoken words (0..100 -> "zero" .. "one hundred"); digits are never spoken.
  They are written as a prefix tree (jsgf.prefix_tree) so the JSGF stays readable; the decoder gets
  the whole grammar as one minimal word graph (word_graph.py), where every number shares its states.

hassil glues text without spaces ("light[s]" is light or lights), which JSGF, a language of whole
words, cannot express; such glued runs are expanded into whole-word alternatives (capped).
"""

from __future__ import annotations

import functools
import itertools
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from hassil import Intents
from hassil.expression import (
    Alternative,
    Expression,
    Group,
    ListReference,
    Permutation,
    RuleReference,
    TextChunk,
)
from hassil.expression import Sequence as SequenceExpr
from hassil.intents import RangeSlotList, SlotList, TextSlotList, WildcardSlotList
from hassil.util import merge_dict

from assistantd.errors import ConfigError
from assistantd.recognizer.compiled_grammar import Grammar
from assistantd.recognizer.jsgf import Alt, Node, Ref, Seq, Words, prefix_tree, render_jsgf
from assistantd.recognizer.spoken import number_phrases, spoken_words
from assistantd.recognizer.word_graph import word_graph

MAX_GLUED_EXPANSIONS = 2000
"""A glued run ("{area}[s]") expands to at most this many word strings; beyond it the run is dropped."""
MAX_RANGE_VALUES = 2000
"""Number ranges with more values than this are left out (their words would swamp the grammar)."""
MAX_PERMUTATION_ITEMS = 5
"""(a;b;c) becomes every order: 5 items are 120 orders, more is refused."""


def load_intents_dict(intent_files: Sequence[Path], language: str) -> dict[str, Any]:
    """Merge the YAML files whose ``language`` is ``language`` (others, e.g. zh, are skipped)."""
    merged: dict[str, Any] = {"language": language, "intents": {}}
    for path in intent_files:
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as err:
            raise ConfigError(
                str(path), "", "expected a readable hassil intents YAML file", str(err)
            ) from None
        if not isinstance(data, dict) or not isinstance(data.get("intents", {}), dict):
            raise ConfigError(str(path), "intents", "expected a mapping of intent names")
        if data.get("language", language) != language:
            continue
        _check_structure(data, language, str(path))
        merge_dict(merged, data)
    return merged


def build_grammar(
    intent_files: Sequence[Path], dictionary_words: set[str] | frozenset[str], language: str = "en"
) -> Grammar:
    """Build the grammar of every ``language`` intent in ``intent_files``; see the module docstring."""
    return build_grammar_from_dict(load_intents_dict(intent_files, language), dictionary_words)


def build_grammar_from_dict(data: Mapping[str, Any], dictionary_words: Iterable[str]) -> Grammar:
    """Pure core of build_grammar, from the (merged) YAML mapping hassil's ``Intents.from_dict`` takes."""
    intents = _check_structure(data, str(data.get("language", "en")), "<intents>")
    return _Builder(intents, frozenset(dictionary_words)).build()


def _check_structure(data: Mapping[str, Any], language: str, source: str) -> Intents:
    """hassil's own parse, so a structural mistake names its file (lists may live in other files)."""
    try:
        return Intents.from_dict({"language": language, **data})
    except (KeyError, ValueError, TypeError, AttributeError, AssertionError) as err:
        raise ConfigError(
            source, "", "expected hassil intents (intents: NAME: data: - sentences: [...])", repr(err)
        ) from None


class _Void(Exception):  # noqa: N818 - control flow inside the builder, never escapes it
    """A branch that cannot be in the grammar, with the reason."""

    def __init__(self, reason: str) -> None:
        self.reason = reason


def _alt(attempts: Sequence[Callable[[], Node]], optional: bool, empty_reason: str) -> Alt:
    """An alternative of the branches that can be heard. A branch that is empty makes the whole
    optional; one that cannot be heard (missing words, a wildcard) is left out, and only when none is
    left does the alternative itself become void, with every reason."""
    branches: list[Node] = []
    reasons: list[str] = []
    for attempt in attempts:
        try:
            node = attempt()
        except _Void as void:
            reasons.append(void.reason)
            continue
        if node.is_empty():
            optional = True
        else:
            branches.append(node)
    if not branches and not optional:
        raise _Void("; ".join(dict.fromkeys(reasons)) or empty_reason)
    return Alt(tuple(branches), optional=optional)


_RULE_NAME = re.compile(r"[^A-Za-z0-9_]")


class _Builder:
    def __init__(self, intents: Intents, dictionary: frozenset[str]) -> None:
        self.intents = intents
        self.language = intents.language
        self.dictionary = dictionary
        self.rules: dict[str, Node] = {}
        self.rule_missing: dict[str, set[str]] = {}
        self.void_rules: dict[str, str] = {}
        """Lists and rules with no path at all, with the reason (their users are dropped too)."""
        self.rule_names: dict[tuple[int, str], str] = {}
        self.in_progress: set[str] = set()
        self.missing: set[str] = set()

    # -- whole grammar ----------------------------------------------------------------------------
    def build(self) -> Grammar:
        public: list[Node] = []
        missing: dict[str, frozenset[str]] = {}
        dropped: list[tuple[str, str, str]] = []
        count = 0
        for intent_name, intent in self.intents.intents.items():
            self.missing = set()
            branches: list[Node] = []
            for data in intent.data:
                scope = _Scope(
                    {**self.intents.slot_lists, **data.slot_lists},
                    {**self.intents.expansion_rules, **data.expansion_rules},
                    id(data) if (data.slot_lists or data.expansion_rules) else 0,
                )
                for sentence in data.sentences:
                    try:
                        branches.append(self.convert(sentence.expression, scope))
                        count += 1
                    except _Void as void:
                        dropped.append((intent_name, sentence.text or "", void.reason))
            if self.missing:
                missing[intent_name] = frozenset(self.missing)
            if branches:
                name = self.unique_name(f"intent_{intent_name}")
                self.rules[name] = Alt(tuple(branches))
                public.append(Ref(name))
        if not public:
            return Grammar(jsgf="", missing=missing, sentences=count, dropped=tuple(dropped))
        top = Alt(tuple(public))
        return Grammar(
            jsgf=render_jsgf(top, self.rules),
            missing=missing,
            sentences=count,
            dropped=tuple(dropped),
            graph=word_graph(top, self.rules),
        )

    def unique_name(self, wanted: str) -> str:
        base = _RULE_NAME.sub("_", wanted)
        name, n = base, 1
        while name in self.rules or name in self.in_progress or name in self.void_rules:
            n += 1
            name = f"{base}_{n}"
        return name

    # -- expressions ------------------------------------------------------------------------------
    def convert(self, expr: Expression, scope: _Scope) -> Node:
        if isinstance(expr, TextChunk):
            return self.words(expr.text)
        if isinstance(expr, Alternative):
            return self.alternative(expr, scope)
        if isinstance(expr, Permutation):
            return self.permutation(expr, scope)
        if isinstance(expr, Group):
            return self.sequence(expr.items, scope)
        if isinstance(expr, ListReference):
            return self.list_reference(expr, scope)
        if isinstance(expr, RuleReference):
            return self.rule_reference(expr, scope)
        raise _Void(f"unsupported template element {type(expr).__name__}")

    def words(self, text: str) -> Words:
        words = spoken_words(text, self.language)
        unknown = [w for w in words if w not in self.dictionary]
        if unknown:
            self.missing.update(unknown)
            raise _Void("missing words: " + ", ".join(sorted(set(unknown))))
        return Words(words)

    def alternative(self, expr: Alternative, scope: _Scope) -> Node:
        attempts = [functools.partial(self.convert, item, scope) for item in expr.items]
        return _alt(attempts, expr.is_optional, "empty alternative")

    def permutation(self, expr: Permutation, scope: _Scope) -> Node:
        if len(expr.items) > MAX_PERMUTATION_ITEMS:
            raise _Void(f"permutation of {len(expr.items)} items (at most {MAX_PERMUTATION_ITEMS})")
        parts = self.all_of([lambda item=item: self.convert(item, scope) for item in expr.items])
        return Alt(tuple(Seq(order) for order in itertools.permutations(parts)))

    def sequence(self, items: Sequence[Expression], scope: _Scope) -> Node:
        nodes = self.all_of(
            [
                (lambda run=run: self.convert(run[0], scope) if len(run) == 1 else self.glued(run, scope))
                for run in _glued_runs(items)
            ]
        )
        return Seq(tuple(n for n in nodes if not n.is_empty()))

    def all_of(self, parts: Sequence[Any]) -> list[Node]:
        """Convert every part, even after one fails, so every missing word is reported."""
        nodes: list[Node] = []
        reasons: list[str] = []
        for part in parts:
            try:
                nodes.append(part())
            except _Void as void:
                reasons.append(void.reason)
        if reasons:
            raise _Void("; ".join(dict.fromkeys(reasons)))
        return nodes

    def glued(self, run: Sequence[Expression], scope: _Scope) -> Node:
        """Items with no space between them: expand to whole strings, then to words."""
        texts = [""]
        for item in run:
            texts = [a + b for a in texts for b in self.expand(item, scope)]
            if len(texts) > MAX_GLUED_EXPANSIONS:
                raise _Void(f"text glued to a list expands to over {MAX_GLUED_EXPANSIONS} forms")
        return _alt([functools.partial(self.words, text) for text in dict.fromkeys(texts)], False, "")

    def expand(self, expr: Expression, scope: _Scope) -> list[str]:
        """Every text an expression can stand for (only used on short glued runs)."""
        if isinstance(expr, TextChunk):
            return [expr.text]
        if isinstance(expr, Permutation):
            parts = [self.expand(item, scope) for item in expr.items]
            return [" ".join(c) for order in itertools.permutations(parts) for c in itertools.product(*order)]
        if isinstance(expr, Alternative):
            out = [t for item in expr.items for t in self.expand(item, scope)]
            return [*out, ""] if expr.is_optional else out
        if isinstance(expr, Group):
            return ["".join(c) for c in itertools.product(*(self.expand(i, scope) for i in expr.items))]
        if isinstance(expr, RuleReference):
            return self.expand(self.rule_body(expr, scope), scope)
        if isinstance(expr, ListReference):
            slot_list = self.slot_list(expr, scope)
            if isinstance(slot_list, TextSlotList):
                return [t for v in slot_list.values for t in self.expand(v.text_in, scope)]
            if isinstance(slot_list, RangeSlotList):
                return [" ".join(p) for p in self.range_phrases(slot_list)]
            raise _Void(f"wildcard {{{expr.list_name}}}")
        raise _Void(f"unsupported template element {type(expr).__name__}")

    # -- lists and rules become JSGF rules --------------------------------------------------------
    def slot_list(self, ref: ListReference, scope: _Scope) -> SlotList:
        if ref.is_inline_range:
            start, stop, step = ref.get_inline_range() or (0, 0, 1)
            return RangeSlotList(name=ref.list_name, start=start, stop=stop, step=step)
        slot_list = scope.lists.get(ref.list_name)
        if slot_list is None:
            raise _Void(f"undefined list {{{ref.list_name}}}")
        return slot_list

    def rule_body(self, ref: RuleReference, scope: _Scope) -> Expression:
        rule = scope.rules.get(ref.rule_name)
        if rule is None:
            raise _Void(f"undefined rule <{ref.rule_name}>")
        expr: Expression = rule.expression
        return expr

    def list_reference(self, ref: ListReference, scope: _Scope) -> Node:
        slot_list = self.slot_list(ref, scope)
        if isinstance(slot_list, WildcardSlotList):
            raise _Void(f"wildcard {{{ref.list_name}}}")

        def body() -> Node:
            if isinstance(slot_list, RangeSlotList):
                return prefix_tree(self.range_phrases(slot_list))
            assert isinstance(slot_list, TextSlotList)
            return self.alternative(Alternative(items=[v.text_in for v in slot_list.values]), scope)

        return self.shared_rule(("list", ref.list_name), f"list_{ref.list_name}", scope, body)

    def rule_reference(self, ref: RuleReference, scope: _Scope) -> Node:
        expr = self.rule_body(ref, scope)
        return self.shared_rule(
            ("rule", ref.rule_name), f"rule_{ref.rule_name}", scope, lambda: self.convert(expr, scope)
        )

    def shared_rule(self, kind: tuple[str, str], wanted: str, scope: _Scope, body: Any) -> Node:
        """Convert a list or expansion rule once per scope; every user gets its missing words too."""
        key = (scope.key, f"{kind[0]}:{kind[1]}")
        name = self.rule_names.get(key)
        if name is None:
            name = self.unique_name(wanted)
            self.rule_names[key] = name
            outer, self.missing = self.missing, set()
            self.in_progress.add(name)
            try:
                self.rules[name] = body()
            except _Void as void:
                self.void_rules[name] = void.reason
            finally:
                self.in_progress.discard(name)
                self.rule_missing[name], self.missing = self.missing, outer
        elif name in self.in_progress:
            raise _Void(f"{kind[0]} {kind[1]} refers to itself")
        self.missing.update(self.rule_missing.get(name, ()))
        if name in self.void_rules:
            raise _Void(self.void_rules[name])
        return Ref(name)

    def range_phrases(self, slot_list: RangeSlotList) -> list[tuple[str, ...]]:
        numbers = list(itertools.islice(slot_list.get_numbers(), MAX_RANGE_VALUES + 1))
        if len(numbers) > MAX_RANGE_VALUES:
            raise _Void(f"range {{{slot_list.name}}} has over {MAX_RANGE_VALUES} values")
        language = slot_list.words_language or self.language
        phrases = [p for n in numbers for p in number_phrases(n, language)]
        known = [p for p in phrases if all(w in self.dictionary for w in p)]
        self.missing.update(w for p in phrases for w in p if w not in self.dictionary)
        if not known:
            raise _Void(f"range {{{slot_list.name}}} has no speakable values")
        return list(dict.fromkeys(known))


@dataclass(frozen=True)
class _Scope:
    lists: Mapping[str, SlotList]
    rules: Mapping[str, Any]
    key: int
    """0 for the file-wide lists and rules; an intent block's id when it defines its own."""


def _edge_space(expr: Expression, first: bool) -> bool:
    """Does the text at this end of ``expr`` start (first) or end with whitespace, as far as is known?"""
    if isinstance(expr, TextChunk):
        text = expr.text
        return bool(text) and (text[0] if first else text[-1]).isspace()
    if isinstance(expr, SequenceExpr):
        items = [i for i in expr.items if not (isinstance(i, TextChunk) and not i.text)]
        return bool(items) and _edge_space(items[0] if first else items[-1], first)
    # hassil pads every permuted item with spaces; lists and rules are opaque here.
    return isinstance(expr, Permutation)


def _glued_runs(items: Sequence[Expression]) -> list[list[Expression]]:
    """Split a sequence where whitespace separates neighbours; what stays together is glued."""
    runs: list[list[Expression]] = []
    for item in items:
        if isinstance(item, TextChunk) and not item.text:
            continue
        glued = bool(runs) and not _edge_space(runs[-1][-1], False) and not _edge_space(item, True)
        if glued:
            runs[-1].append(item)
        else:
            runs.append([item])
    return runs
