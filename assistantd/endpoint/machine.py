"""The endpointer: a pure state machine that turns per-frame VAD decisions into utterances.

How it works
------------
Feed it one frame at a time with ``process(frame, is_speech, now)``, where ``now`` is the audio clock (the
stream time of the frame's first sample, in seconds) and ``is_speech`` is the VAD's verdict on that frame. It
returns a list of events; it never reads a clock, never awaits and never touches a device, so a test can drive
it with a list of booleans.

While nobody speaks (IDLE) every frame goes into a ring buffer holding the last ``preroll_ms`` plus
``start_window_frames`` of audio. An utterance starts when at least ``start_voiced_frames`` of the last
``start_window_frames`` frames were voiced: one stray voiced frame in a fan's noise does not start anything,
but a syllable does. The utterance's audio begins ``preroll_ms`` before the *first voiced frame of that
window* (never before the previous utterance's last uploaded sample, so no audio is sent twice), which is why
the first syllable is never cut: ``UtteranceStarted`` is followed at once by ``UtteranceAudio`` carrying that
pre-roll and the trigger window.

In speech every frame is passed on as ``UtteranceAudio``. Once the speaker pauses, the first ``tail_ms`` of
silence is still passed on (TRAILING): recognizers want a little silence after the last phoneme. After
that the silence is held back (HOLDING), not uploaded: if speech resumes before the hangover runs out, the
held frames are released in order so the audio stays continuous; if ``hangover_ms`` of silence pass, the
held frames are dropped and the utterance ends. The uploaded audio thus ends ``tail_ms`` after the last
voiced frame, while the end *decision* comes ``hangover_ms`` after it. After a pause, speech counts as
resumed only when ``resume_voiced_frames`` of the last 5 frames are voiced: a click or a knock in the
pause (one or two voiced frames) must not restart the hangover, or a noisy room could hold an utterance
open.

An optional ``onset_check`` (Silero, see silero.py) gets the candidate audio when the trigger fires and can
refuse it: the machine then stays IDLE (REJECTED) and asks again on the next frame that satisfies the trigger.
It hears the candidate from ``ONSET_CHECK_LEAD_S`` before the first voiced frame, not the whole pre-roll:
the pre-roll is there so the recognizer gets the first syllable; to the check it is audio the VAD already
called silence, and running Silero over it was half of Silero's cost (issue 13).

An utterance whose voiced span (first voiced frame of the trigger to the end of the last voiced frame) is
shorter than ``min_utterance_ms`` ends as ``cancelled``: a door slam or a cough is not a command, and the
recognizer session already opened for it is to be thrown away. An utterance that reaches
``max_utterance_s`` is ended as ``max_length`` even if speech goes on (a television must not hold the
recognizer forever; if it is reached in held-back silence, that silence stays unsent). The machine then
starts afresh in IDLE with an empty window, so continuing speech starts a new utterance with no audio
overlap. ``finish(now)`` ends an utterance in flight when the audio runs out.

Every transition is in ``_TRANSITIONS`` below; ``process`` only computes the input symbol and runs the table.
"""

from __future__ import annotations

import enum
import itertools
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from itertools import islice
from typing import Literal

from assistantd.audio.frames import BYTES_PER_SECOND
from assistantd.config.endpoint import EndpointConfig

EndReason = Literal["silence", "max_length", "cancelled", "end_of_audio", "no_command"]
"""Why an utterance ended: silence after speech, forced at max length, shorter than the minimum (the
recognizer result is to be discarded), or the audio stream ended mid-utterance. ``no_command`` is never
the machine's: the listener ends an utterance opened by the wake word that no speech followed."""


class State(enum.Enum):
    __hash__ = object.__hash__  # Enum's own hashes the name in Python; members are singletons (per frame)

    IDLE = "idle"
    """Nobody speaks; frames fill the pre-roll ring."""
    SPEAKING = "speaking"
    """The last frame was voiced; audio is passed on."""
    TRAILING = "trailing"
    """Silence shorter than tail_ms after speech; audio is still passed on."""
    HOLDING = "holding"
    """Silence between tail_ms and hangover_ms; audio is held back until speech resumes or the end."""


class Symbol(enum.Enum):
    """The input the table is driven by, computed from (is_speech, timers) in ``process``."""

    __hash__ = object.__hash__

    QUIET = "quiet"
    """IDLE: the start trigger did not fire."""
    TRIGGER = "trigger"
    """IDLE: start_voiced_frames of the last start_window_frames frames were voiced (and the onset check,
    if any, agreed)."""
    REJECTED = "rejected"
    """IDLE: the trigger condition held but the onset check said the candidate is not speech."""
    VOICED = "voiced"
    """In an utterance: this frame is voiced, and after a pause resume_voiced_frames of the last
    RESUME_WINDOW_FRAMES are (a lone click in the pause does not count)."""
    SILENT = "silent"
    """In an utterance: this frame is unvoiced (or an unconfirmed voiced frame in a pause) and the silence
    is still within the tail."""
    SILENT_PAST_TAIL = "silent_past_tail"
    """In an utterance: the silence has outlasted tail_ms (but not hangover_ms)."""
    HANGOVER = "hangover"
    """In an utterance: the silence reached hangover_ms."""
    MAX_LENGTH = "max_length"
    """In an utterance: it reached max_utterance_s (checked before anything else)."""


class Action(enum.Enum):
    BUFFER = "buffer"
    """Append the frame to the pre-roll ring."""
    START = "start"
    """Emit UtteranceStarted and UtteranceAudio(pre-roll + trigger window)."""
    EMIT = "emit"
    """Emit UtteranceAudio(any held frames + this frame)."""
    HOLD = "hold"
    """Keep the frame back (not uploaded unless speech resumes)."""
    END = "end"
    """Drop held frames; emit UtteranceEnded (silence, or cancelled when too short)."""
    FORCE_END = "force_end"
    """Emit UtteranceAudio(this frame) and UtteranceEnded(max_length); clear the ring."""
    CUT = "cut"
    """Max length reached in held-back silence: drop the held frames, emit UtteranceEnded(max_length)."""


# (state, symbol) -> (action, next state). Pairs not listed cannot happen: IDLE only sees QUIET, TRIGGER and
# REJECTED, the utterance states never see those, and HOLDING never sees SILENT (silence only grows).
_TRANSITIONS: dict[tuple[State, Symbol], tuple[Action, State]] = {
    (State.IDLE, Symbol.QUIET): (Action.BUFFER, State.IDLE),
    (State.IDLE, Symbol.TRIGGER): (Action.START, State.SPEAKING),
    (State.IDLE, Symbol.REJECTED): (Action.BUFFER, State.IDLE),
    (State.SPEAKING, Symbol.VOICED): (Action.EMIT, State.SPEAKING),
    (State.SPEAKING, Symbol.SILENT): (Action.EMIT, State.TRAILING),
    (State.SPEAKING, Symbol.SILENT_PAST_TAIL): (Action.HOLD, State.HOLDING),  # tail_ms == 0
    (State.SPEAKING, Symbol.HANGOVER): (Action.END, State.IDLE),  # hangover shorter than a frame
    (State.SPEAKING, Symbol.MAX_LENGTH): (Action.FORCE_END, State.IDLE),
    (State.TRAILING, Symbol.VOICED): (Action.EMIT, State.SPEAKING),
    (State.TRAILING, Symbol.SILENT): (Action.EMIT, State.TRAILING),
    (State.TRAILING, Symbol.SILENT_PAST_TAIL): (Action.HOLD, State.HOLDING),
    (State.TRAILING, Symbol.HANGOVER): (Action.END, State.IDLE),
    (State.TRAILING, Symbol.MAX_LENGTH): (Action.FORCE_END, State.IDLE),
    (State.HOLDING, Symbol.VOICED): (Action.EMIT, State.SPEAKING),
    (State.HOLDING, Symbol.SILENT_PAST_TAIL): (Action.HOLD, State.HOLDING),
    (State.HOLDING, Symbol.HANGOVER): (Action.END, State.IDLE),
    (State.HOLDING, Symbol.MAX_LENGTH): (Action.CUT, State.IDLE),
}


@dataclass(frozen=True, slots=True)
class UtteranceStarted:
    utterance_id: int
    start: float
    """Audio-clock time of the first sample that will be uploaded (pre-roll included), seconds."""
    onset: float
    """Audio-clock time of the first voiced frame of the trigger window, seconds."""


@dataclass(frozen=True, slots=True)
class UtteranceAudio:
    utterance_id: int
    pcm: bytes
    """Contiguous 16 kHz mono s16le audio to upload; chunks of one utterance never overlap or skip."""
    start: float
    """Audio-clock time of the chunk's first sample, seconds."""


@dataclass(frozen=True, slots=True)
class UtteranceEnded:
    utterance_id: int
    start: float
    """As in UtteranceStarted, seconds."""
    end: float
    """Audio-clock time just after the last uploaded sample, seconds."""
    reason: EndReason
    voiced_s: float
    """Onset to the end of the last voiced frame, seconds (what min_utterance_ms is compared with)."""
    decided_at: float
    """Audio-clock time at which the end was decided (the end of the frame that ended it), seconds."""


Event = UtteranceStarted | UtteranceAudio | UtteranceEnded


@dataclass(slots=True)
class _Chunk:
    t: float
    pcm: bytes
    voiced: bool

    @property
    def end(self) -> float:
        return self.t + len(self.pcm) / BYTES_PER_SECOND


RESUME_WINDOW_FRAMES = 5
"""After a pause, speech resumes when resume_voiced_frames of this many latest frames are voiced."""

ONSET_CHECK_LEAD_S = 0.1
"""The onset check hears the candidate from this long before its first voiced frame (the pre-roll, if
shorter). Measured on bench.endpoint: the same recall, onsets and false alarms as with the whole 0.3 s
pre-roll, with half the Silero chunks."""

OnsetCheck = Callable[[float, bytes], bool]
"""(start time in seconds, candidate audio) -> is it speech? A second opinion asked only when the trigger
fires (silero.py's SileroOnsetCheck); the machine stays pure because it is handed in."""


class Endpointer:
    """The state machine described in the module docstring. Not thread-safe; one per audio stream."""

    def __init__(self, config: EndpointConfig, frame_ms: int, onset_check: OnsetCheck | None = None) -> None:
        self.config = config
        self.frame_ms = frame_ms
        self.onset_check = onset_check
        self.rejected_onsets = 0
        """Frames on which the trigger held but the onset check refused."""
        self.state = State.IDLE
        window = config.start_window_frames
        preroll_frames = -(-config.preroll_ms // frame_ms)
        self._ring: deque[_Chunk] = deque(maxlen=window + preroll_frames)
        self._held: list[_Chunk] = []
        self._recent: deque[bool] = deque(maxlen=RESUME_WINDOW_FRAMES)
        """Verdicts of the latest frames in an utterance, for the resume rule."""
        self._next_id = 1
        self._utterance_id = 0
        self._start = 0.0
        self._onset = 0.0
        self._last_voiced_end = 0.0
        self._emitted_end = 0.0
        """End of the last sample handed out in any utterance: the floor for the next pre-roll."""
        self.last_transition: tuple[State, Symbol] | None = None
        """The table row used for the latest frame (for debugging and the coverage test)."""

    # -- input ------------------------------------------------------------------------------------
    def process(self, frame: bytes, is_speech: bool, now: float) -> list[Event]:
        """Advance by one frame that starts at audio-clock time ``now`` (seconds); return what happened."""
        chunk = _Chunk(now, frame, is_speech)
        symbol = self._symbol(chunk)
        action, next_state = _TRANSITIONS[(self.state, symbol)]
        self.last_transition = (self.state, symbol)
        events = self._act(action, chunk, symbol)
        self.state = next_state
        return events

    def finish(self, now: float) -> list[Event]:
        """The audio ended at ``now``: end the utterance in flight, if any."""
        if self.state is State.IDLE:
            return []
        self._held.clear()
        self.state = State.IDLE
        return [self._ended("end_of_audio", now)]

    def rearm(self, floor: float) -> None:
        """Start listening afresh at audio-clock ``floor`` (seconds): forget the pre-roll ring, and never
        reach back before ``floor``. The wake stage calls this when it hands audio over after the phrase,
        so neither the phrase nor audio from an earlier command window can become pre-roll."""
        if self.state is not State.IDLE:
            raise RuntimeError("rearm() needs the endpointer idle")
        self._ring.clear()
        self._emitted_end = max(self._emitted_end, floor)

    def at_rest(self) -> bool:
        """IDLE with no voiced frame in the trigger window (the newest ``start_window_frames``): no start
        is building up, so a stream cut here cuts no speech in two."""
        if self.state is not State.IDLE:
            return False
        window = self.config.start_window_frames
        return not any(chunk.voiced for chunk in itertools.islice(reversed(self._ring), window))

    @property
    def utterance_id(self) -> int | None:
        """The id of the utterance in flight, or None in IDLE."""
        return None if self.state is State.IDLE else self._utterance_id

    # -- the symbol -------------------------------------------------------------------------------
    def _symbol(self, chunk: _Chunk) -> Symbol:
        cfg = self.config
        if self.state is State.IDLE:
            earlier = cfg.start_window_frames - 1
            voiced = chunk.voiced + sum([c.voiced for c in islice(reversed(self._ring), earlier)])
            if voiced < cfg.start_voiced_frames:
                return Symbol.QUIET
            if self.onset_check is not None:
                candidate = self._candidate(chunk, ONSET_CHECK_LEAD_S)
                if not self.onset_check(candidate[0].t, b"".join([c.pcm for c in candidate])):
                    self.rejected_onsets += 1
                    return Symbol.REJECTED
            return Symbol.TRIGGER
        if chunk.end - self._start >= cfg.max_utterance_s - 1e-9:
            return Symbol.MAX_LENGTH
        self._recent.append(chunk.voiced)
        if chunk.voiced and (
            self.state is State.SPEAKING or sum(self._recent) >= self.config.resume_voiced_frames
        ):
            return Symbol.VOICED
        silence_ms = (chunk.end - self._last_voiced_end) * 1000
        if silence_ms >= cfg.hangover_ms - 1e-6:
            return Symbol.HANGOVER
        if silence_ms > cfg.tail_ms + 1e-6:
            return Symbol.SILENT_PAST_TAIL
        return Symbol.SILENT

    # -- the actions ------------------------------------------------------------------------------
    def _act(self, action: Action, chunk: _Chunk, symbol: Symbol) -> list[Event]:
        if action is Action.BUFFER:
            self._ring.append(chunk)
            return []
        if action is Action.START:
            return self._start_utterance(chunk)
        if action is Action.EMIT:
            if symbol is Symbol.VOICED:
                self._last_voiced_end = chunk.end
            return [self._audio([*self._held, chunk])]
        if action is Action.HOLD:
            self._held.append(chunk)
            return []
        if action is Action.END or action is Action.CUT:
            # Held-back silence was never uploaded: it may serve as the next utterance's pre-roll.
            self._ring.clear()
            self._ring.extend([*self._held, chunk])
            self._held.clear()
            reason: EndReason = "silence" if action is Action.END else "max_length"
            too_short = (self._last_voiced_end - self._onset) * 1000 < self.config.min_utterance_ms - 1e-6
            return [self._ended("cancelled" if too_short else reason, chunk.end)]
        # Action.FORCE_END
        if chunk.voiced:
            self._last_voiced_end = chunk.end
        events: list[Event] = [self._audio([*self._held, chunk])]
        self._ring.clear()
        return [*events, self._ended("max_length", chunk.end)]

    def _candidate(self, chunk: _Chunk, lead_s: float | None = None) -> list[_Chunk]:
        """The audio an utterance starting with ``chunk`` would begin with: pre-roll + trigger window
        (with ``lead_s``, only that much of the pre-roll)."""
        chunks = [*self._ring, chunk]
        first_voiced = next(c for c in chunks[-self.config.start_window_frames :] if c.voiced)
        lead = self.config.preroll_ms / 1000 if lead_s is None else min(lead_s, self.config.preroll_ms / 1000)
        earliest = max(first_voiced.t - lead, self._emitted_end)
        # Whole frames only, none starting before `earliest`.
        return [c for c in chunks if c.t >= earliest - 1e-9]

    def _start_utterance(self, chunk: _Chunk) -> list[Event]:
        cfg = self.config
        kept = self._candidate(chunk)
        onset = next(c for c in kept[-cfg.start_window_frames :] if c.voiced).t
        self._ring.clear()
        self._held.clear()
        self._recent.clear()
        self._recent.extend(c.voiced for c in kept[-RESUME_WINDOW_FRAMES:])
        self._utterance_id = self._next_id
        self._next_id += 1
        self._start = kept[0].t
        self._onset = onset
        self._last_voiced_end = max(c.end for c in kept if c.voiced)
        return [UtteranceStarted(self._utterance_id, self._start, onset), self._audio(kept)]

    def _audio(self, chunks: list[_Chunk]) -> UtteranceAudio:
        self._held = []
        self._emitted_end = chunks[-1].end
        return UtteranceAudio(self._utterance_id, b"".join(c.pcm for c in chunks), chunks[0].t)

    def _ended(self, reason: EndReason, now: float) -> UtteranceEnded:
        voiced_s = max(0.0, self._last_voiced_end - self._onset)
        return UtteranceEnded(self._utterance_id, self._start, self._emitted_end, reason, voiced_s, now)
