"""How deeply a template nests, in its text and with its <rules> and {lists} followed (pure).

hassil parses and matches templates recursively, and so does the fuzzy sampler: a template a few hundred
brackets deep, a chain of a few hundred rules, or a list whose value names the list itself ended in
RecursionError (issue 10). These limits are checked while loading, so such a file is a ConfigError naming
the template, and matching never meets one. Real templates use a handful of levels.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from hassil import Expression, Group, ListReference, RuleReference, SlotList, TextSlotList
from hassil.expression import Sentence

MAX_TEMPLATE_NESTING = 32
"""Brackets ( [ { < open at once in one template's text; checked before hassil parses it."""
MAX_EXPANDED_DEPTH = 100
"""Levels of the parsed template once every <rule> and {list} it names is followed (a bracket is one to
three levels)."""

_OPEN = frozenset("([{<")
_CLOSE = frozenset(")]}>")


def text_nesting(template: str) -> int:
    """The most brackets open at once, skipping backslash-escaped characters as hassil does."""
    depth = deepest = 0
    escaped = False
    for char in template:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in _OPEN:
            depth += 1
            deepest = max(deepest, depth)
        elif char in _CLOSE:
            depth = max(0, depth - 1)
    return deepest


class ReferenceCycleError(Exception):
    """A rule or list that reaches itself; ``chain`` names the way round (``<a> -> <b> -> <a>``)."""

    def __init__(self, chain: list[str]) -> None:
        super().__init__(" -> ".join(chain))
        self.chain = " -> ".join(chain)


class TooDeepError(Exception):
    """Nesting beyond MAX_EXPANDED_DEPTH; ``through`` names the references followed to get there."""

    def __init__(self, through: list[str]) -> None:
        super().__init__("nesting")
        shown = through if len(through) <= 6 else [*through[:3], "...", *through[-2:]]
        self.through = " -> ".join(shown) if through else "the template itself"


class ExpandedDepth:
    """Depths of expressions with references followed, remembered per rule and list.

    The walk stops as soon as it passes MAX_EXPANDED_DEPTH, so its own recursion stays bounded too, and
    each rule or list is measured once however often it is named (a rule naming the next one twice, forty
    times over, is not walked 2**40 times).
    """

    def __init__(self, lists: Mapping[str, SlotList], rules: Mapping[str, Sentence]) -> None:
        self._lists = lists
        self._rules = rules
        self._measured: dict[str, int] = {}
        self._stack: list[str] = []

    def of(self, expression: Expression, above: int = 0) -> int:
        """Levels of ``expression`` placed ``above`` levels down. Raises ReferenceCycleError, TooDeepError."""
        if above >= MAX_EXPANDED_DEPTH:
            raise TooDeepError(self._stack)
        if isinstance(expression, Group):
            return 1 + max((self.of(item, above + 1) for item in expression.items), default=0)
        key, bodies = self._target(expression)
        if key is None:
            return 1
        if key in self._measured:
            depth = self._measured[key]
            if above + depth > MAX_EXPANDED_DEPTH:
                raise TooDeepError([*self._stack, key])
            return depth
        if key in self._stack:
            raise ReferenceCycleError([*self._stack[self._stack.index(key) :], key])
        self._stack.append(key)
        try:
            depth = 1 + max((self.of(body, above + 1) for body in bodies), default=0)
        finally:
            self._stack.pop()
        self._measured[key] = depth
        return depth

    def _target(self, expression: Expression) -> tuple[str | None, Iterable[Expression]]:
        if isinstance(expression, RuleReference) and expression.rule_name in self._rules:
            return f"<{expression.rule_name}>", [self._rules[expression.rule_name].expression]
        if isinstance(expression, ListReference):
            slot_list = self._lists.get(expression.list_name)
            if isinstance(slot_list, TextSlotList):
                return f"{{{expression.list_name}}}", [value.text_in for value in slot_list.values]
        return None, ()
