"""Recordings for the wake word: "okay nabu" + commands, bare commands and conversation, with the truth.

``build(script)`` lays the clips out in fan + pink room noise and returns the audio with, for each clip,
where the phrase ends and the command begins and ends (seconds), so a test can check that the phrase was
not sent and the command's first syllable was kept. Clips are trimmed to their voiced region
(``speech_bounds``), so the gap between phrase and command is exactly the one asked for.

Voices: microWakeWord's okay_nabu fires on flite kal16, kal, rms and awb saying "okay nabu" (in our probe
also slt, which FACTS.md reports as often missed) and on espeak-ng en-us, but not on espeak-ng en-us+f3.
WAKE_VOICES are the flite voices pocketsphinx also recognizes well.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench.synth import make_noise, mix_at_snr, set_level, speech_bounds, speech_level_dbfs, synthesize

RATE = 16000
PHRASE = "okay nabu"
WAKE_VOICES = ("flite:kal16", "flite:rms", "flite:awb", "flite:kal")
LEVEL_DBFS = -26.0


@dataclass(frozen=True)
class Line:
    """One thing said: ``gap_s`` None means no wake phrase; 0 means in one breath."""

    voice: str
    text: str
    gap_s: float | None = None
    """Silence between the phrase and the command; None: the command is said without the phrase."""
    pause_after_s: float = 2.5
    recorded: bytes | None = None
    """Real speech (16 kHz s16le) said instead of synthesizing ``text`` (which then only names it)."""


@dataclass(frozen=True)
class Placed:
    line: Line
    phrase_end: float | None
    """End of the phrase's voiced region, seconds (None without a phrase)."""
    start: float
    """Start of the command's voiced region (or of the whole clip without a phrase), seconds."""
    end: float


def _clip(text: str, voice: str, cache: Path | None, recorded: bytes | None = None) -> np.ndarray:
    if recorded is not None:
        clip = np.frombuffer(recorded, dtype="<i2").astype(np.float64)
    else:
        clip = synthesize(text, voice, cache)
    a, b = speech_bounds(clip)
    clip = clip[a:b]
    return set_level(clip, LEVEL_DBFS, speech_level_dbfs(clip))


def build(
    script: Sequence[Line], *, seed: int = 5, snr_db: float = 20.0, cache: Path | None = None
) -> tuple[np.ndarray, list[Placed]]:
    """The script spoken in room noise (float64, int16 units) and where each line landed."""
    pieces: list[np.ndarray] = [np.zeros(RATE)]
    at = 1.0
    placed: list[Placed] = []
    for line in script:
        phrase_end = None
        if line.gap_s is not None:
            phrase = _clip(PHRASE, line.voice, cache)
            pieces += [phrase, np.zeros(round(line.gap_s * RATE))]
            at += len(phrase) / RATE
            phrase_end = at
            at += round(line.gap_s * RATE) / RATE
        if line.text or line.recorded is not None:
            command = _clip(line.text, line.voice, cache, line.recorded)
            pieces.append(command)
            start, at = at, at + len(command) / RATE
        else:
            start = at
        placed.append(Placed(line, phrase_end, start, at))
        pieces.append(np.zeros(round(line.pause_after_s * RATE)))
        at += round(line.pause_after_s * RATE) / RATE
    speech = np.concatenate(pieces)
    rng = np.random.default_rng(seed)
    noise = make_noise("fan", len(speech), rng) + 0.5 * make_noise("pink", len(speech), rng)
    return mix_at_snr(speech, noise, snr_db, speech_level=LEVEL_DBFS), placed
