"""Endpointing a whole recording at once, as fast as the CPU allows (for ``assistantd segments`` and bench/).

The same VAD chain and state machine as the live Listener, driven by the sample count instead of a device, so
what ``segment_pcm`` returns is exactly what the daemon would have uploaded for that audio.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from assistantd.audio.frames import BYTES_PER_SECOND, frame_bytes
from assistantd.config.endpoint import EndpointConfig
from assistantd.endpoint.machine import Endpointer, EndReason, State, Symbol, UtteranceEnded
from assistantd.endpoint.vad import FrontEndVad, build_vad, check_frame_ms


@dataclass(frozen=True, slots=True)
class Segment:
    """One uploaded utterance: start..end (seconds from the start of the audio) is exactly its audio."""

    start: float
    end: float
    reason: EndReason = "silence"
    decided_at: float = 0.0
    """When the endpointer decided the end (end of the last voiced frame + hangover), seconds."""


@dataclass(slots=True)
class Trace:
    """Per-frame record of one run, for --plot and tuning. Lists are indexed by frame."""

    frame_ms: int
    t: list[float] = field(default_factory=list)
    """Start of each frame, seconds."""
    vad: list[bool] = field(default_factory=list)
    """The VAD engine's verdict on the noise-suppressed frame."""
    speech: list[bool] = field(default_factory=list)
    """The final verdict the endpointer was fed (VAD and energy gate)."""
    rejected: list[bool] = field(default_factory=list)
    """True where the trigger held but the onset check (Silero) refused to start an utterance."""
    level_db: list[float] = field(default_factory=list)
    floor_db: list[float] = field(default_factory=list)
    in_utterance: list[bool] = field(default_factory=list)
    """True for frames during which an utterance was open (after the trigger, before the end)."""
    cancelled: list[Segment] = field(default_factory=list)
    """Utterances ended as too short (they were streamed but are to be discarded)."""


def analyse_pcm(
    pcm: bytes,
    config: EndpointConfig,
    frame_ms: int = 30,
    vad: FrontEndVad | None = None,
    *,
    traced: bool = True,
) -> tuple[list[Segment], Trace]:
    """Endpoint 16 kHz mono s16le ``pcm``; return the kept segments and a per-frame trace.

    A trailing part shorter than one frame is ignored. Cancelled (too short) utterances are not segments;
    they are listed in ``trace.cancelled``. With ``traced=False`` the per-frame lists stay empty (the
    daemon keeps no trace either, so its cost is not counted in what bench/ measures).
    """
    check_frame_ms(frame_ms)
    vad = vad if vad is not None else build_vad(config, frame_ms)
    machine = Endpointer(config, frame_ms, vad.onset_check)
    size = frame_bytes(frame_ms)
    trace = Trace(frame_ms)
    ended: list[UtteranceEnded] = []
    n = len(pcm) // size
    for i in range(n):
        frame = pcm[i * size : (i + 1) * size]
        now = i * size / BYTES_PER_SECOND
        speech = vad.is_speech(frame)
        events = machine.process(frame, speech, now)
        if events:
            ended.extend(e for e in events if isinstance(e, UtteranceEnded))
        if not traced:
            continue
        verdict = vad.last
        trace.t.append(now)
        trace.vad.append(verdict.vad)
        trace.speech.append(speech)
        trace.rejected.append(machine.last_transition == (State.IDLE, Symbol.REJECTED))
        trace.level_db.append(verdict.level_db)
        trace.floor_db.append(verdict.floor_db)
        trace.in_utterance.append(machine.state is not State.IDLE)
    ended.extend(e for e in machine.finish(n * size / BYTES_PER_SECOND) if isinstance(e, UtteranceEnded))
    segments = [Segment(e.start, e.end, e.reason, e.decided_at) for e in ended if e.reason != "cancelled"]
    trace.cancelled = [
        Segment(e.start, e.end, e.reason, e.decided_at) for e in ended if e.reason == "cancelled"
    ]
    return segments, trace


def segment_pcm(pcm: bytes, config: EndpointConfig, frame_ms: int = 30) -> list[Segment]:
    """The utterances the endpointer would upload from ``pcm`` (16 kHz mono s16le), in order."""
    return analyse_pcm(pcm, config, frame_ms, traced=False)[0]
