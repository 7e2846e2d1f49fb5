"""The ``intents:`` section: which intent files to load and how forgiving matching is."""

from __future__ import annotations

from dataclasses import dataclass

from assistantd.config.reader import Node


@dataclass(frozen=True)
class IntentsConfig:
    files: tuple[str, ...] = ("intents/*.yaml",)
    """Intent files or glob patterns, relative to the config file's directory."""
    fuzzy_threshold: float = 85.0
    """Minimum score (0-100) for a fuzzy match when no template matches exactly."""

    @classmethod
    def from_node(cls, node: Node) -> IntentsConfig:
        cfg = cls(
            files=node.str_list("files", ("intents/*.yaml",)),
            fuzzy_threshold=node.number("fuzzy_threshold", 85.0, min=0, max=100),
        )
        node.finish()
        return cfg
