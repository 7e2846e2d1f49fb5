"""The ``endpoint:`` section: voice activity detection and the endpointer's timings.

A VAD engine is declared once, in ``VAD_ENGINES``: its name (the value of ``endpoint.vad_engine``) and
where its factory lives. The factory's module is named, not imported: endpoint/vad.py imports it only
when the config picks the engine, so an engine's model and runtime cost nothing to those who do not.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistantd.config.reader import Node

HANGOVER_PRESETS_MS = {"relaxed": 1200, "default": 700, "aggressive": 300}


@dataclass(frozen=True)
class VadEngine:
    """One voice activity detector the front end can put between noise suppression and the gate."""

    name: str
    """The value of ``endpoint.vad_engine`` that picks it."""
    factory: str
    """``module:function`` called as ``function(endpoint_config)``, returning an endpoint.vad.Vad."""


VAD_ENGINES = (VadEngine("webrtcvad", "assistantd.endpoint.vad:webrtc_engine"),)
"""Every VAD engine; the first is the default. A new one is a module with its factory and one line here."""
VAD_ENGINE_NAMES = tuple(engine.name for engine in VAD_ENGINES)


@dataclass(frozen=True)
class EndpointConfig:
    vad_engine: str = VAD_ENGINE_NAMES[0]
    """Which VAD engine calls each frame speech or not (VAD_ENGINES): webrtcvad."""
    vad_aggressiveness: int = 2
    """webrtcvad aggressiveness, 0 (least) to 3 (most eager to call frames non-speech)."""
    preroll_ms: int = 300
    """Audio kept from before the onset so the first syllable is never cut."""
    start_window_frames: int = 10
    """The start trigger looks at the last this-many frames..."""
    start_voiced_frames: int = 6
    """...and fires when at least this many of them are voiced."""
    resume_voiced_frames: int = 3
    """After a pause, speech resumes (restarting the hangover) only when this many of the last 5 frames are
    voiced; 1 = any voiced frame. Keeps clicks in the pause from holding an utterance open."""
    hangover_ms: int = HANGOVER_PRESETS_MS["default"]
    """Silence after the last voiced frame that ends an utterance (presets: relaxed/default/aggressive)."""
    min_utterance_ms: int = 200
    """Shorter utterances are dropped as noise."""
    max_utterance_s: float = 15.0
    """An utterance is ended here even if speech continues."""
    tail_ms: int = 200
    """Silence after the last voiced frame that is still uploaded; the rest of the hangover is not.
    At most hangover_ms (when not set: 200 or the hangover, whichever is less)."""
    noise_suppression: int = 2
    """WebRTC noise suppression level in front of the VAD, 0 (off) to 4 (strongest)."""
    gate_margin_db: float = 6.0
    """A voiced frame must be this many dB above the adaptive noise floor; 0 turns the gate off."""
    floor_window_s: float = 3.0
    """The noise floor is the quietest frame of the last this-many seconds."""
    silero_threshold: float = 0.5
    """Silero speech probability (0-1) the candidate audio must reach before an utterance starts; 0 turns
    the check off. Silero runs only when the start trigger fires, so it costs next to nothing."""

    @classmethod
    def from_node(cls, node: Node) -> EndpointConfig:
        hangover = node.raw("hangover", cls.hangover_ms)
        if isinstance(hangover, str) and hangover in HANGOVER_PRESETS_MS:
            hangover_ms = HANGOVER_PRESETS_MS[hangover]
        elif isinstance(hangover, int) and not isinstance(hangover, bool) and 50 <= hangover <= 10000:
            hangover_ms = hangover
        else:
            raise node.error(
                "hangover", "expected relaxed, default, aggressive, or milliseconds (50-10000)", hangover
            )
        cfg = cls(
            vad_engine=node.text("vad_engine", cls.vad_engine, choices=VAD_ENGINE_NAMES),
            vad_aggressiveness=node.integer("vad_aggressiveness", cls.vad_aggressiveness, min=0, max=3),
            preroll_ms=node.integer("preroll_ms", cls.preroll_ms, min=0, max=2000),
            start_window_frames=node.integer("start_window_frames", cls.start_window_frames, min=1, max=100),
            start_voiced_frames=node.integer("start_voiced_frames", cls.start_voiced_frames, min=1, max=100),
            resume_voiced_frames=node.integer("resume_voiced_frames", cls.resume_voiced_frames, min=1, max=5),
            hangover_ms=hangover_ms,
            min_utterance_ms=node.integer("min_utterance_ms", cls.min_utterance_ms, min=0, max=10000),
            max_utterance_s=node.number("max_utterance_s", cls.max_utterance_s, min=1, max=300),
            tail_ms=node.integer("tail_ms", min(cls.tail_ms, hangover_ms), min=0, max=10000),
            noise_suppression=node.integer("noise_suppression", cls.noise_suppression, min=0, max=4),
            gate_margin_db=node.number("gate_margin_db", cls.gate_margin_db, min=0, max=40),
            floor_window_s=node.number("floor_window_s", cls.floor_window_s, min=0.5, max=30),
            silero_threshold=node.number("silero_threshold", cls.silero_threshold, min=0, max=0.99),
        )
        if cfg.start_voiced_frames > cfg.start_window_frames:
            raise node.error(
                "start_voiced_frames",
                f"expected at most start_window_frames ({cfg.start_window_frames})",
                cfg.start_voiced_frames,
            )
        if cfg.tail_ms > cfg.hangover_ms:
            raise node.error("tail_ms", f"expected at most the hangover ({cfg.hangover_ms} ms)", cfg.tail_ms)
        node.finish()
        return cfg
