"""``recognizer.local``: the embedded offline recognizer (pocketsphinx)."""

from __future__ import annotations

from dataclasses import dataclass, field

from assistantd.config.reader import Node


@dataclass(frozen=True)
class RejectConfig:
    """``recognizer.local.reject``: refusing speech that is not a command (recognizer/rejection.py).

    The grammar decoder forces every sound into its nearest command; a free phone loop decoded over the
    same frames says how well *any* sounds would fit. Measured by bench/rejection.py.
    """

    enabled: bool = True
    """Decode a phone loop beside the grammar and reject what the grammar explains badly (grammar mode)."""
    min_score: float = -15.0
    """Lowest accepted score: (grammar path - phone loop path) per 10 ms frame, in pocketsphinx log
    units. Commands scored -2.3 to -10.5 in bench/rejection.py (-12.9 after a wake word in
    tests/test_wake_e2e.py); talk forced into the grammar -3 to -37, and -17.1 at most where it left no
    more than max_unexplained of its speech unexplained. -15 sits halfway between the two."""
    max_unexplained: float = 0.1
    """Highest accepted share of the phone loop's speech frames that the grammar path covers only with
    silence or noise (the rest of a long sentence around a command-like phrase). Commands recognized
    right: 0.0, once 0.06, in bench/rejection.py at 10 and 20 dB SNR. Talk that scored above min_score left
    0.22 and more at 20 dB, but in loud noise (10 dB) 0.04-0.18: 0.2 let those through as actions."""
    run_fallback: bool = False
    """Run the fallback handler (handlers.fallback) for a rejected utterance. Off: rejected utterances
    are reported and nothing runs (in continuous mode most of them were not meant for the assistant)."""

    @classmethod
    def from_node(cls, node: Node) -> RejectConfig:
        cfg = cls(
            enabled=node.flag("enabled", cls.enabled),
            min_score=node.number("min_score", cls.min_score, min=-1000, max=0),
            max_unexplained=node.number("max_unexplained", cls.max_unexplained, min=0, max=1),
            run_fallback=node.flag("run_fallback", cls.run_fallback),
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
    max_pending_chunks: int = 64
    """Audio chunks queued for the decoder thread before the producer waits (~6 s of 100 ms chunks)."""
    reject: RejectConfig = field(default_factory=RejectConfig)

    @classmethod
    def from_node(cls, node: Node) -> LocalRecognizerConfig:
        cfg = cls(
            mode=node.text("mode", cls.mode, choices=("grammar", "open")),
            language=node.text("language", cls.language),
            cache_dir=node.text("cache_dir", cls.cache_dir),
            max_pending_chunks=node.integer("max_pending_chunks", cls.max_pending_chunks, min=4, max=4096),
            reject=RejectConfig.from_node(node.node("reject")),
        )
        node.finish()
        return cfg
