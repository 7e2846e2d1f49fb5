"""``recognizer.local``: the embedded offline recognizer (pocketsphinx)."""

from __future__ import annotations

from dataclasses import dataclass

from assistantd.config.reader import Node


@dataclass(frozen=True)
class LocalRecognizerConfig:
    mode: str = "grammar"
    """grammar: vocabulary built from the intents (accurate, cheap); open: the full language model."""
    language: str = "en"
    """Intent files of this language make the grammar (the bundled model is US English)."""
    cache_dir: str | None = None
    """Where compiled grammars are kept; null: $CACHE_DIRECTORY, $XDG_CACHE_HOME/assistantd,
    /var/cache/assistantd when writable, else a temp dir."""
    max_pending_chunks: int = 64
    """Audio chunks queued for the decoder thread before the producer waits (~6 s of 100 ms chunks)."""

    @classmethod
    def from_node(cls, node: Node) -> LocalRecognizerConfig:
        cfg = cls(
            mode=node.text("mode", "grammar", choices=("grammar", "open")),
            language=node.text("language", "en"),
            cache_dir=node.text("cache_dir", None),
            max_pending_chunks=node.integer("max_pending_chunks", 64, min=4, max=4096),
        )
        node.finish()
        return cfg
