"""Test helper: every sentence a (small) JSGF grammar of the kind grammar.py writes accepts.

An independent reading of the printed grammar: tokens, ( ), [ ], | and <rule> references.
"""

from __future__ import annotations

import itertools
import re

_TOKEN = re.compile(r"<[^>]+>|[()\[\]|]|[^\s()\[\]|<>;]+")


def sentences(jsgf: str, limit: int = 100_000) -> set[str]:
    rules: dict[str, str] = {}
    for line in jsgf.splitlines():
        match = re.match(r"^(?:public\s+)?<([^>]+)>\s*=\s*(.*);$", line.strip())
        if match:
            rules[match.group(1)] = match.group(2)
    out = {" ".join(words) for words in _expand_rule("command", rules, limit)}
    assert len(out) < limit, "grammar too large to enumerate in a test"
    return out


def _expand_rule(name: str, rules: dict[str, str], limit: int) -> list[tuple[str, ...]]:
    tokens = _TOKEN.findall(rules[name])
    result, rest = _alternatives(tokens, rules, limit)
    assert not rest, f"trailing tokens in <{name}>: {rest}"
    return result


def _alternatives(
    tokens: list[str], rules: dict[str, str], limit: int
) -> tuple[list[tuple[str, ...]], list[str]]:
    branches: list[tuple[str, ...]] = []
    while True:
        seq, tokens = _sequence(tokens, rules, limit)
        branches.extend(seq)
        if tokens and tokens[0] == "|":
            tokens = tokens[1:]
            continue
        return branches, tokens


def _sequence(
    tokens: list[str], rules: dict[str, str], limit: int
) -> tuple[list[tuple[str, ...]], list[str]]:
    result: list[tuple[str, ...]] = [()]
    while tokens and tokens[0] not in ("|", ")", "]"):
        token, tokens = tokens[0], tokens[1:]
        if token in ("(", "["):
            inner, tokens = _alternatives(tokens, rules, limit)
            assert tokens and tokens[0] == (")" if token == "(" else "]")
            tokens = tokens[1:]
            if token == "[":
                inner = [*inner, ()]
        elif token.startswith("<"):
            name = token[1:-1]
            inner = [] if name == "VOID" else [()] if name == "NULL" else _expand_rule(name, rules, limit)
        else:
            inner = [(token,)]
        result = [a + b for a, b in itertools.product(result, inner)]
        assert len(result) < limit
    return result, tokens
