"""``recognizer.local``: the embedded offline recognizer (pocketsphinx)."""

from __future__ import annotations

from dataclasses import dataclass

from assistantd.config.reader import Node


@dataclass(frozen=True)
class WakeWordConfig:
    phrase: str = "hey computer"
    """Keyphrase to spot; every word must be in the pocketsphinx dictionary. Two or three syllables
    or more spot far more reliably than one short word."""
    threshold: float = 1e-20
    """Keyphrase spotting threshold: larger (1e-10) misses more, smaller (1e-40) false-accepts more."""
    follow_up_s: float = 5.0
    """After a bare wake phrase, the next utterance within this many seconds is the command."""

    @classmethod
    def from_node(cls, node: Node) -> WakeWordConfig:
        cfg = cls(
            phrase=node.text("phrase", "hey computer").strip().lower(),
            threshold=node.number("threshold", 1e-20, min=1e-80, max=1.0),
            follow_up_s=node.number("follow_up_s", 5.0, min=0.5, max=60),
        )
        node.finish()
        return cfg


@dataclass(frozen=True)
class LocalRecognizerConfig:
    mode: str = "grammar"
    """grammar: vocabulary built from the intents (accurate, cheap); open: the full language model."""
    language: str = "en"
    """Intent files of this language make the grammar (the bundled model is US English)."""
    cache_dir: str | None = None
    """Where compiled grammars are kept; null: $CACHE_DIRECTORY, $XDG_CACHE_HOME/assistantd,
    /var/cache/assistantd when writable, else a temp dir."""
    wake_word: WakeWordConfig | None = None
    """null (default): every utterance the VAD passes is recognized; set to require a keyphrase."""
    max_pending_chunks: int = 64
    """Audio chunks queued for the decoder thread before the producer waits (~6 s of 100 ms chunks)."""

    @classmethod
    def from_node(cls, node: Node) -> LocalRecognizerConfig:
        wake = node.raw("wake_word", None)
        cfg = cls(
            mode=node.text("mode", "grammar", choices=("grammar", "open")),
            language=node.text("language", "en"),
            cache_dir=node.text("cache_dir", None),
            wake_word=WakeWordConfig.from_node(node.node("wake_word")) if wake is not None else None,
            max_pending_chunks=node.integer("max_pending_chunks", 64, min=4, max=4096),
        )
        node.finish()
        return cfg
