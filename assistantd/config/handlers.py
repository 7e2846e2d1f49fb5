"""The ``handlers:`` section: what runs when an intent matches."""

from __future__ import annotations

from dataclasses import dataclass

from assistantd.config.reader import Node


@dataclass(frozen=True)
class HandlersConfig:
    max_concurrent: int = 4
    """At most this many handlers run at once; further ones wait their turn."""

    @classmethod
    def from_node(cls, node: Node) -> HandlersConfig:
        cfg = cls(max_concurrent=node.integer("max_concurrent", 4, min=1, max=64))
        node.finish()
        return cfg
