"""The decoder's word graph says exactly the grammar's sentences, deterministically, no state to spare."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pocketsphinx
import pytest

from assistantd.recognizer.grammar import Grammar, build_grammar
from assistantd.recognizer.grammar_cache import read_dictionary_words
from assistantd.recognizer.jsgf import Alt, Ref, Seq, Words, prefix_tree
from assistantd.recognizer.word_graph import WordGraph, word_graph

from .jsgf_sentences import sentences

DICTIONARY_PATH = Path(pocketsphinx.get_model_path("en-us/cmudict-en-us.dict"))
SAMPLE = Path(__file__).with_name("commands_en.yaml")
SHIPPED = Path(__file__).resolve().parents[2] / "config" / "intents" / "en.yaml"


@pytest.fixture(scope="module")
def dictionary() -> frozenset[str]:
    return read_dictionary_words(DICTIONARY_PATH)


def said(graph: WordGraph) -> set[str]:
    return {" ".join(words) for words in graph.sentences()}


def assert_deterministic_and_minimal(graph: WordGraph) -> None:
    leaving: dict[int, list[tuple[str, int]]] = {}
    for arc in graph.arcs:
        leaving.setdefault(arc.source, []).append((arc.word, arc.target))
    for state, out in leaving.items():
        words = Counter(word for word, _ in out)
        assert max(words.values()) == 1, f"state {state} has two arcs for one word"
        assert abs(sum(a.probability for a in graph.arcs if a.source == state) - 1.0) < 1e-9
    # Minimal: no two states end the same way (same arcs to the same states).
    signatures = [tuple(sorted(out)) for out in leaving.values()]
    assert len(signatures) == len(set(signatures))


@pytest.mark.parametrize("path", [SAMPLE, SHIPPED], ids=["sample", "shipped"])
def test_the_graph_says_what_the_jsgf_says(path: Path, dictionary: frozenset[str]) -> None:
    grammar = build_grammar([path], dictionary)
    assert grammar.graph is not None
    assert said(grammar.graph) == sentences(grammar.jsgf)
    assert_deterministic_and_minimal(grammar.graph)
    assert grammar.words == {w for s in sentences(grammar.jsgf) for w in s.split()}


def test_the_shipped_number_ranges_share_their_states(dictionary: frozenset[str]) -> None:
    """Three ranges used twice each: pocketsphinx's JSGF compiler makes 2,045 states and 12,700 null
    transitions of them; the graph needs one state per distinct way a sentence can go on."""
    graph = build_grammar([SHIPPED], dictionary).graph
    assert graph is not None
    assert "set a timer for three hundred seconds" in said(graph)
    assert "set a timer for three hundred minutes" not in said(graph)  # minutes stop at 120
    assert graph.states < 150
    assert sum(1 for arc in graph.arcs if not arc.word) < 10


def test_prefixes_and_endings_are_shared() -> None:
    numbers = prefix_tree([("one",), ("one", "hundred"), ("two",), ("two", "hundred")])
    rules = {"n": numbers}
    top = Alt((Seq((Words(("set",)), Ref("n"))), Seq((Words(("volume",)), Ref("n"), Words(("percent",))))))
    graph = word_graph(top, rules)
    assert said(graph) == {
        "set one",
        "set one hundred",
        "set two",
        "set two hundred",
        "volume one percent",
        "volume one hundred percent",
        "volume two percent",
        "volume two hundred percent",
    }
    # "one" and "two" lead to one state in each context: start, set, set N (ends or takes hundred),
    # volume, volume N, volume N hundred, and the final state that every sentence ends on.
    assert graph.states == 7
    assert_deterministic_and_minimal(graph)


def test_an_optional_tail_ends_through_one_null_transition() -> None:
    graph = word_graph(Seq((Words(("lights",)), Alt((Words(("on",)),), optional=True))), {})
    assert said(graph) == {"lights", "lights on"}
    nulls = [arc for arc in graph.arcs if not arc.word]
    assert len(nulls) == 1 and nulls[0].target == graph.final
    assert graph.transitions()[0][:2] == (0, graph.arcs[0].target)


def test_the_graph_survives_the_cache_format(dictionary: frozenset[str]) -> None:
    grammar = build_grammar([SAMPLE], dictionary)
    again = Grammar.from_dict(grammar.to_dict())
    assert again == grammar
    assert again.graph is not None and again.graph.final == grammar.graph.final  # type: ignore[union-attr]
