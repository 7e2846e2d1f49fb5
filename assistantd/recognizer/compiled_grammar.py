"""The command grammar as the decoder loads it and the grammar cache keeps it: the sentences as a word
graph (word_graph.py builds it) and what building left out (grammar.py builds it from intent files).

Apart from the builders, so that a start with a warm cache (grammar_cache.py) loads neither the builders
nor their JSGF tree (issue 13: start-up).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Arc:
    """A transition of the graph; ``word`` "" is a null transition (to the final state)."""

    source: int
    target: int
    word: str
    probability: float


@dataclass(frozen=True)
class WordGraph:
    """A deterministic, minimal word graph: state 0 starts, ``final`` ends every sentence."""

    states: int
    final: int
    arcs: tuple[Arc, ...]

    @property
    def words(self) -> frozenset[str]:
        return frozenset(arc.word for arc in self.arcs if arc.word)

    def transitions(self) -> list[tuple[int, int, float] | tuple[int, int, float, str]]:
        """The arcs as pocketsphinx's ``Decoder.create_fsg`` takes them (no word: a null transition)."""
        return [
            (a.source, a.target, a.probability, a.word) if a.word else (a.source, a.target, a.probability)
            for a in self.arcs
        ]

    def to_list(self) -> list[list[object]]:
        return [[a.source, a.target, a.word, a.probability] for a in self.arcs]

    @classmethod
    def from_list(cls, rows: list[list[object]]) -> WordGraph:
        arcs = tuple(Arc(int(str(s)), int(str(t)), str(w), float(str(p))) for s, t, w, p in rows)
        final = next((a.target for a in arcs if not a.word), None)
        states = 1 + max((max(a.source, a.target) for a in arcs), default=0)
        if final is None:  # every sentence ends on a word: the final state is the one nothing leaves
            sources = {a.source for a in arcs}
            final = next((a.target for a in arcs if a.target not in sources), 0)
        return cls(states, final, arcs)

    def sentences(self, limit: int = 100_000) -> set[tuple[str, ...]]:
        """Every sentence of the graph (for tests; stops past ``limit``)."""
        out: set[tuple[str, ...]] = set()
        leaving: dict[int, list[Arc]] = {}
        for arc in self.arcs:
            leaving.setdefault(arc.source, []).append(arc)
        stack: list[tuple[int, tuple[str, ...]]] = [(0, ())]
        while stack and len(out) <= limit:
            state, words = stack.pop()
            if state == self.final:
                out.add(words)
            for arc in leaving.get(state, ()):
                stack.append((arc.target, (*words, arc.word) if arc.word else words))
        return out


@dataclass(frozen=True)
class Grammar:
    """The command grammar built from intent files."""

    jsgf: str
    """JSGF text with one public rule, ``<command>``; empty when no sentence survived."""
    missing: Mapping[str, frozenset[str]] = field(default_factory=dict)
    """Intent name -> words of its templates that the dictionary lacks (those paths are left out)."""
    sentences: int = 0
    """Templates with at least one path in the grammar."""
    dropped: tuple[tuple[str, str, str], ...] = ()
    """(intent, template, reason) for every template left out entirely."""
    graph: WordGraph | None = None
    """The same sentences as the smallest word graph: what the decoder searches (word_graph.py)."""

    @property
    def words(self) -> frozenset[str]:
        """Every word the grammar can say (what its pronunciation dictionary must hold)."""
        return self.graph.words if self.graph is not None else frozenset()

    def to_dict(self) -> dict[str, Any]:
        return {
            "jsgf": self.jsgf,
            "missing": {k: sorted(v) for k, v in self.missing.items()},
            "sentences": self.sentences,
            "dropped": [list(d) for d in self.dropped],
            "graph": self.graph.to_list() if self.graph is not None else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Grammar:
        return cls(
            jsgf=str(data["jsgf"]),
            missing={str(k): frozenset(v) for k, v in data["missing"].items()},
            sentences=int(data["sentences"]),
            dropped=tuple((str(a), str(b), str(c)) for a, b, c in data["dropped"]),
            graph=WordGraph.from_list(data["graph"]) if data["graph"] is not None else None,
        )
