"""The wake stage: while nobody has addressed the assistant, only the wake-word detector hears the audio.

``WakeStage.listen(frame)`` runs the detector on each idle frame and keeps the last ``RING_S`` of audio
in a bounded ring. When the detector fires, the listener hands the endpointer the audio from just before
the detection (``handoff``), so a command said in one breath with the phrase ("okay nabu turn on the
lights") keeps its first syllable, while the phrase itself is not sent to the recognizer.

Where the phrase ends and the command begins is decided on the audio, not by a fixed offset: the detector
fires between 0.12 s before and 0.41 s after the end of the phrase (measured on flite and espeak-ng voices
saying "okay nabu" followed by a command after 0 to 0.8 s, in room noise), so the split is searched
between ``LOOKBACK_S`` before and ``LOOKAHEAD_S`` after the detection: it is the start of the longest run
of near-silent frames there. Even a one-breath command leaves a short gap after the phrase, longer than
the closure of a stop consonant inside a word; a command glued to the phrase with no gap at all may lose
its first syllable (or keep the phrase's last). The frames before the
split warm the VAD front end up (its noise suppressor and noise floor) without reaching the endpointer.

Pure: no I/O, no clock; the detector comes in through the constructor (microwakeword.py).
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass
from typing import Protocol

from assistantd.audio.frames import Frame
from assistantd.endpoint.gate import NoiseFloorGate

LOOKBACK_S = 0.5
"""The split between phrase and command is searched from this long before the detection..."""
LOOKAHEAD_S = 0.25
"""...to this long after it (the handoff waits for these frames)."""
QUIET_DB = 6.0
"""Frames this close to the quietest one of the window count as silent."""
RING_S = 1.5
"""Audio kept while idle: the search window plus about a second to warm the VAD front end up with."""


@dataclass(frozen=True, slots=True)
class Detection:
    """The wake phrase was heard."""

    time: float
    """Audio-clock time at which the detector fired (the end of the frame), seconds."""
    model: str
    """The model's name (okay_nabu, or the custom model file's stem)."""
    probability: float
    """The detector's averaged probability when it fired, 0-1."""

    def to_dict(self) -> dict[str, object]:
        return {"time": round(self.time, 3), "model": self.model, "probability": round(self.probability, 3)}

    def describe(self) -> str:
        return f"{self.model} at {self.time:.2f} s (p {self.probability:.2f})"


class WakeDetector(Protocol):
    """A streaming wake-word detector over 16 kHz mono s16le."""

    name: str

    def process(self, pcm: bytes) -> float | None:
        """Feed the next audio; the probability when the phrase was detected in it, else None."""
        ...

    def reset(self) -> None:
        """Forget everything heard (after a detection, before listening again)."""
        ...


@dataclass(frozen=True, slots=True)
class Handoff:
    warm: list[Frame]
    """Frames before the split: for the VAD front end only (never uploaded)."""
    command: list[Frame]
    """Frames from the split on: for the VAD and the endpointer."""


class WakeStage:
    """The detector plus the ring of recent audio the command is cut from."""

    def __init__(self, detector: WakeDetector, frame_ms: int, refractory_s: float = 2.0) -> None:
        self.detector = detector
        self.frame_ms = frame_ms
        self.refractory_s = refractory_s
        self._ring: deque[Frame] = deque(maxlen=max(1, round(RING_S * 1000 / frame_ms)))
        self._last: Detection | None = None
        self.detections = 0
        self.suppressed = 0
        """Detections inside the refractory time of the previous one (ignored)."""

    @property
    def last(self) -> Detection | None:
        """The latest detection acted on."""
        return self._last

    def listen(self, frame: Frame) -> Detection | None:
        """An idle frame: remember it and run the detector on it."""
        self._ring.append(frame)
        probability = self.detector.process(frame.pcm)
        if probability is None:
            return None
        end = frame.t + self.frame_ms / 1000
        if self._last is not None and end - self._last.time < self.refractory_s:
            self.suppressed += 1
            return None
        self._last = Detection(end, self.detector.name, probability)
        self.detections += 1
        return self._last

    def collect(self, frame: Frame) -> bool:
        """A frame after the detection, before the handoff; True once the handoff can be made."""
        self._ring.append(frame)
        assert self._last is not None
        return frame.t + self.frame_ms / 1000 >= self._last.time + LOOKAHEAD_S - 1e-9

    def handoff(self) -> Handoff:
        """Split the ring at the quietest frame around the detection; empties the ring."""
        assert self._last is not None
        frames = list(self._ring)
        self._ring.clear()
        t0 = self._last.time - LOOKBACK_S - 1e-9
        window = [i for i, f in enumerate(frames) if f.t >= t0]
        if not window:
            return Handoff([], frames)
        levels = [NoiseFloorGate.level_db(frames[i].pcm) for i in window]
        quiet = min(levels) + QUIET_DB
        # Runs of near-silent frames: the pause after the phrase, and the closures of stops ("what time",
        # "kitchen"). The pause is the longest (earliest on a tie); the command starts after it.
        best_start, best_len, run_start = window[0], 0, None
        for k, level in enumerate([*levels, math.inf]):
            if level <= quiet:
                run_start = k if run_start is None else run_start
                continue
            if run_start is not None and k - run_start > best_len:
                best_start, best_len = window[run_start], k - run_start
            run_start = None
        split = best_start
        return Handoff(frames[:split], frames[split:])

    def reset(self) -> None:
        """Back to idle: the detector starts afresh (it must not fire on what it heard before)."""
        self.detector.reset()
        self._ring.clear()
