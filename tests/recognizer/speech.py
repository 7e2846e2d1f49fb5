"""Synthesized commands for recognizer tests and bench/local_recognizer.py: flite speech + room noise.

flite's voices (kal16, slt, rms, awb) speak at 16 kHz, which pocketsphinx's model expects
(FACTS.md: espeak-ng's formant voices are recognized badly). Each clip is padded with 300 ms of
silence before and 500 ms after and mixed with seeded "room" noise (brown-ish rumble plus a little
hiss) at a fixed speech-to-noise ratio, so the recognizer hears a quiet room, not digital silence.
Clips are cached by (voice, text) in a directory the caller owns (a session tmp dir).
"""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np

from bench import synth as bench_synth
from bench.synth import to_pcm

RATE = 16000
VOICES = ("kal16", "slt", "rms", "awb")


def have_flite() -> bool:
    return shutil.which("flite") is not None


def synthesize(text: str, voice: str, cache_dir: Path) -> bytes:
    """Clean flite speech for ``text`` as 16 kHz mono s16le (cached)."""
    return to_pcm(bench_synth.synthesize(text, f"flite:{voice}", cache_dir))


def room_noise(samples: int, seed: int) -> np.ndarray:
    """Unit-RMS noise shaped like a quiet room: mostly low rumble, some broadband hiss."""
    rng = np.random.default_rng(seed)
    white = rng.standard_normal(samples)
    rumble = np.cumsum(rng.standard_normal(samples))
    rumble -= np.convolve(rumble, np.ones(400) / 400, mode="same")  # remove the random walk's drift
    noise = rumble / (np.std(rumble) or 1.0) + 0.3 * white
    return noise / (np.std(noise) or 1.0)


def noisy_command(text: str, voice: str, cache_dir: Path, *, snr_db: float = 20.0, seed: int = 0) -> bytes:
    """flite speech padded with silence and mixed with room noise at ``snr_db`` (speech RMS to noise RMS)."""
    speech = np.frombuffer(synthesize(text, voice, cache_dir), dtype=np.int16).astype(np.float64)
    padded = np.concatenate([np.zeros(RATE * 3 // 10), speech, np.zeros(RATE // 2)])
    voiced = speech[np.abs(speech) > 0.05 * np.max(np.abs(speech))]
    speech_rms = float(np.sqrt(np.mean(voiced**2))) if voiced.size else 1.0
    noise = room_noise(padded.size, seed) * speech_rms / (10 ** (snr_db / 20))
    mixed = np.clip(padded + noise, -32768, 32767).astype(np.int16)
    return mixed.tobytes()


async def chunks(audio: bytes, chunk_ms: int = 100) -> AsyncIterator[bytes]:
    """The audio as the endpointer hands it on: ``chunk_ms`` pieces, as fast as they are taken."""
    step = RATE * 2 * chunk_ms // 1000
    for start in range(0, len(audio), step):
        yield audio[start : start + step]
