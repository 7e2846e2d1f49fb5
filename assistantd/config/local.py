"""``recognizer.local``: the embedded offline recognizer (pocketsphinx)."""

from __future__ import annotations

from dataclasses import dataclass

from assistantd.config.reader import Node


@dataclass(frozen=True)
class LocalRecognizerConfig:
    mode: str = "grammar"
    """grammar: vocabulary built from the intents (accurate, cheap); open: the full language model."""

    @classmethod
    def from_node(cls, node: Node) -> LocalRecognizerConfig:
        cfg = cls(mode=node.text("mode", "grammar", choices=("grammar", "open")))
        node.finish()
        return cfg
