"""A word-level grammar tree and its JSGF text (JSpeech Grammar Format 1.0, as pocketsphinx reads it).

Only what the command grammar needs: word sequences, alternatives (optional ones print as ``[...]``)
and references to named rules. The printer writes only the rules reachable from ``<command>``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

TOP_RULE = "command"


@dataclass(frozen=True)
class Words:
    """Words said in order."""

    words: tuple[str, ...]

    def is_empty(self) -> bool:
        return not self.words


@dataclass(frozen=True)
class Seq:
    items: tuple[Node, ...]

    def is_empty(self) -> bool:
        return all(item.is_empty() for item in self.items)


@dataclass(frozen=True)
class Alt:
    """One of ``items``; or nothing at all when ``optional``."""

    items: tuple[Node, ...]
    optional: bool = False

    def is_empty(self) -> bool:
        return all(item.is_empty() for item in self.items)


@dataclass(frozen=True)
class Ref:
    """A named rule (a list, an expansion rule, an intent)."""

    name: str

    def is_empty(self) -> bool:
        return False


Node = Words | Seq | Alt | Ref


def prefix_tree(phrases: Sequence[tuple[str, ...]]) -> Alt:
    """The same phrases as one alternative, factored on shared leading words.

    ``one | one hundred | one hundred one | ...`` becomes ``one [hundred [one | ...]]``: the set of
    sentences is unchanged, but pocketsphinx's FSG search (which does not merge equal prefixes itself)
    then keeps one "one" alive at a word boundary instead of a hundred, which is what a 1..300 number
    range costs in decoding time.
    """
    groups: dict[str, list[tuple[str, ...]]] = {}
    for phrase in phrases:
        if phrase:
            groups.setdefault(phrase[0], []).append(phrase[1:])
    branches: list[Node] = []
    for word, rests in groups.items():
        longer = [rest for rest in rests if rest]
        if not longer:
            branches.append(Words((word,)))
            continue
        tail = prefix_tree(longer)
        branches.append(Seq((Words((word,)), Alt(tail.items, optional=len(longer) < len(rests)))))
    return Alt(tuple(branches))


# pocketsphinx keeps the quotes of a quoted JSGF token as part of the word, so words are written bare;
# spoken.py leaves only letters, digits and inner apostrophes, none of which is JSGF syntax.
_PLAIN_TOKEN = re.compile(r"^[\w']+$")


def _token(word: str) -> str:
    if not _PLAIN_TOKEN.match(word):
        raise ValueError(f"not a plain word for JSGF: {word!r}")
    return word


def _render(node: Node, used: list[str]) -> str:
    if isinstance(node, Words):
        return " ".join(_token(w) for w in node.words)
    if isinstance(node, Ref):
        if node.name not in used:
            used.append(node.name)
        return f"<{node.name}>"
    if isinstance(node, Seq):
        parts = [_render(item, used) for item in node.items if not item.is_empty()]
        return "(" + " ".join(parts) + ")" if len(parts) > 1 else "".join(parts)
    parts = list(dict.fromkeys(_render(item, used) for item in node.items if not item.is_empty()))
    if node.optional:
        if len(parts) == 1 and parts[0].startswith("(") and parts[0].endswith(")"):
            parts = [parts[0][1:-1]]
        return "[" + " | ".join(parts) + "]" if parts else ""
    return "(" + " | ".join(parts) + ")" if len(parts) > 1 else "".join(parts)


def render_jsgf(top: Node, rules: Mapping[str, Node], name: str = "assistantd") -> str:
    """JSGF text with ``public <command> = top;`` and every rule it reaches, in first-use order."""
    used: list[str] = []
    lines = [
        "#JSGF V1.0;",
        "",
        f"grammar {name};",
        "",
        f"public <{TOP_RULE}> = {_render(top, used) or '<VOID>'};",
    ]
    i = 0
    while i < len(used):
        rule = used[i]
        lines.append(f"<{rule}> = {_render(rules[rule], used) or '<NULL>'};")
        i += 1
    return "\n".join(lines) + "\n"
