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
    fuzzy_max_sentences: int = 1000
    """Sample sentences expanded per intent for fuzzy matching (bounds load time and memory)."""

    @classmethod
    def from_node(cls, node: Node) -> IntentsConfig:
        cfg = cls(
            files=node.str_list("files", cls.files),
            fuzzy_threshold=node.number("fuzzy_threshold", cls.fuzzy_threshold, min=0, max=100),
            fuzzy_max_sentences=node.integer(
                "fuzzy_max_sentences", cls.fuzzy_max_sentences, min=1, max=100_000
            ),
        )
        node.finish()
        return cfg
