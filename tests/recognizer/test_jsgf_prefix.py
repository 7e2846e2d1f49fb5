"""prefix_tree: factoring a list on shared leading words keeps exactly the same sentences."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from assistantd.recognizer.jsgf import Alt, Node, Ref, Seq, Words, prefix_tree, render_jsgf
from assistantd.recognizer.spoken import number_phrases


def sentences(node: Node) -> set[tuple[str, ...]]:
    if isinstance(node, Words):
        return {node.words}
    if isinstance(node, Seq):
        out: set[tuple[str, ...]] = {()}
        for item in node.items:
            out = {a + b for a in out for b in sentences(item)}
        return out
    assert not isinstance(node, Ref)
    found = set().union(*(sentences(item) for item in node.items))
    return found | {()} if node.optional else found


phrase = st.lists(st.sampled_from(["one", "two", "hundred", "twenty"]), min_size=1, max_size=4).map(tuple)


@given(st.lists(phrase, min_size=1, max_size=15))
def test_the_factored_tree_says_exactly_the_same_phrases(phrases: list[tuple[str, ...]]) -> None:
    assert sentences(prefix_tree(phrases)) == set(phrases)


def test_a_number_range_shares_its_leading_words() -> None:
    phrases = [p for n in range(1, 301) for p in number_phrases(n, "en")]
    tree = prefix_tree(phrases)
    assert sentences(tree) == set(phrases)
    text = render_jsgf(tree, {})
    assert text.count("hundred") == 3  # one, two and three hundred: each written once, not once per value
    assert text.count("(twenty [") == 3  # twenty .. twenty nine alone, after one hundred, after two hundred
    assert isinstance(tree, Alt)
