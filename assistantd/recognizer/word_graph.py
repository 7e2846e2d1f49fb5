"""The command grammar as the smallest deterministic word graph, for pocketsphinx's FSG search (pure).

pocketsphinx turns JSGF into a finite-state grammar by copying every rule at each place it is used and
joining the pieces with null (epsilon) transitions, then closing them transitively. For the shipped
intents that is 2,045 states and 13,900 transitions, 12,700 of them null: three number ranges used twice
each, every one a hundred-odd words. The FSG search walks every null transition at every word exit and
keeps a silence and filler loop on every state, which is where most of a command's decoding time went
(issue 13: number ranges +0.058 CPU-s per audio-s).

Here the same sentences become a word graph with at most one arc per word leaving a state
(determinised), and states that end the same way merged (minimised: an acyclic graph is minimised by
giving each state the signature of its arcs, from the end backwards). The set of sentences is unchanged,
every number command included; the shipped intents need 100-odd states and no null transitions but one
per accepting state that also continues ("one" may end a sentence or go on to "one hundred").

Arc probabilities follow JSGF's rule of equal shares for the choices at a point: each state divides one
among its words (and, when it accepts, ending there), as pocketsphinx's JSGF compiler does among
alternatives. Like it, the probabilities are not scaled by the language weight.
"""

from __future__ import annotations

from collections.abc import Mapping

from assistantd.recognizer.compiled_grammar import Arc, WordGraph
from assistantd.recognizer.jsgf import Node, Ref, Seq, Words

__all__ = ["Arc", "WordGraph", "word_graph"]


class _Nfa:
    """Words on arcs, null moves between pieces: the direct image of the grammar tree."""

    def __init__(self, rules: Mapping[str, Node]) -> None:
        self.rules = rules
        self.words: list[list[tuple[str, int]]] = []
        self.nulls: list[list[int]] = []

    def state(self) -> int:
        self.words.append([])
        self.nulls.append([])
        return len(self.words) - 1

    def add(self, node: Node, source: int) -> int:
        """Add ``node`` starting at ``source``; return the state where it ends."""
        if isinstance(node, Words):
            for word in node.words:
                target = self.state()
                self.words[source].append((word, target))
                source = target
            return source
        if isinstance(node, Seq):
            for item in node.items:
                source = self.add(item, source)
            return source
        if isinstance(node, Ref):
            return self.add(self.rules[node.name], source)
        end = self.state()
        for item in node.items:
            self.nulls[self.add(item, source)].append(end)
        if node.optional or not node.items:
            self.nulls[source].append(end)
        return end

    def closure(self, states: frozenset[int]) -> frozenset[int]:
        seen = set(states)
        todo = list(states)
        while todo:
            for nxt in self.nulls[todo.pop()]:
                if nxt not in seen:
                    seen.add(nxt)
                    todo.append(nxt)
        return frozenset(seen)


def word_graph(top: Node, rules: Mapping[str, Node]) -> WordGraph:
    """The minimal deterministic word graph of the sentences of ``top`` (rules resolved by name)."""
    nfa = _Nfa(rules)
    start = nfa.state()
    accept = nfa.add(top, start)

    # Determinise (subset construction). The grammar has no recursion, so this ends.
    first = nfa.closure(frozenset({start}))
    ids = {first: 0}
    subsets = [first]
    moves: list[dict[str, int]] = []
    i = 0
    while i < len(subsets):
        by_word: dict[str, set[int]] = {}
        for state in subsets[i]:
            for word, target in nfa.words[state]:
                by_word.setdefault(word, set()).add(target)
        row: dict[str, int] = {}
        for word in sorted(by_word):
            subset = nfa.closure(frozenset(by_word[word]))
            if subset not in ids:
                ids[subset] = len(subsets)
                subsets.append(subset)
            row[word] = ids[subset]
        moves.append(row)
        i += 1
    accepting = [accept in subset for subset in subsets]

    # Minimise: states with the same acceptance and the same arcs to the same classes are one.
    classes: dict[tuple[bool, tuple[tuple[str, int], ...]], int] = {}
    class_of: dict[int, int] = {}

    def signature_class(state: int) -> int:
        found = class_of.get(state)
        if found is not None:
            return found
        stack = [state]
        while stack:  # iterative post-order: deep grammars must not hit the recursion limit
            top_state = stack[-1]
            pending = [t for t in moves[top_state].values() if t not in class_of]
            if pending:
                stack.extend(pending)
                continue
            stack.pop()
            if top_state in class_of:
                continue
            key = (accepting[top_state], tuple((w, class_of[t]) for w, t in moves[top_state].items()))
            class_of[top_state] = classes.setdefault(key, len(classes))
        return class_of[state]

    signature_class(0)
    return _renumber(classes, class_of[0])


def _renumber(classes: Mapping[tuple[bool, tuple[tuple[str, int], ...]], int], start: int) -> WordGraph:
    """Start at 0; the accepting class with no arcs (if any) is the final state; equal shares per state."""
    by_id = {cid: key for key, cid in classes.items()}
    dead_end = next((cid for (acc, out), cid in classes.items() if acc and not out), None)
    order = [start] + [cid for cid in sorted(by_id) if cid != start]
    number = {cid: n for n, cid in enumerate(order)}
    final = number[dead_end] if dead_end is not None else len(order)
    arcs: list[Arc] = []
    for cid in order:
        accepting, out = by_id[cid]
        ends = accepting and cid != dead_end
        if not out and not ends:
            continue  # the final state
        share = 1.0 / (len(out) + ends)
        arcs.extend(Arc(number[cid], number[target], word, share) for word, target in out)
        if ends:
            arcs.append(Arc(number[cid], final, "", share))
    states = max(len(order), final + 1)
    return WordGraph(states, final, tuple(arcs))
