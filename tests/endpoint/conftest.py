"""Real synthesized speech (espeak-ng, flite) and household noise, made once per test session."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pytest

from bench.synth import synthesize

RATE = 16000
Float = npt.NDArray[np.float64]

# (voice, text): English from both synthesizers and Mandarin through espeak-ng's pinyin voice.
PHRASES = {
    "en_espeak": ("espeak-ng:en-us", "turn on the kitchen light"),
    "en_flite": ("flite:slt", "what is the weather like tomorrow"),
    "cmn_espeak": ("espeak-ng:cmn-latn-pinyin", "da3 kai1 ke4 ting1 de5 deng1"),
    "stop_espeak": ("espeak-ng:en-us", "stop"),
}


def _synthesize(voice: str, text: str, cache: Path) -> Float:
    x: Float = synthesize(text, voice, cache) / 32768
    # The synthesizers pad with digital near-silence; the truth starts at the first sound.
    loud = np.flatnonzero(np.abs(x) > 10 ** (-50 / 20))
    return x[loud[0] : loud[-1] + 1]


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Float]:
    """Name -> trimmed 16 kHz float speech scaled to an active level of -20 dBFS RMS."""
    cache = tmp_path_factory.mktemp("speech")
    out = {}
    for name, (voice, text) in PHRASES.items():
        x = _synthesize(voice, text, cache)
        out[name] = x * (0.1 / active_rms(x))
    return out


def active_rms(x: Float) -> float:
    """RMS over the 30 ms frames within 40 dB of the loudest one (a crude active speech level)."""
    frames = x[: len(x) // 480 * 480].reshape(-1, 480)
    power = (frames**2).mean(axis=1)
    return float(np.sqrt(power[power > power.max() * 1e-4].mean()))


def white(n: int, rng: np.random.Generator) -> Float:
    return rng.standard_normal(n)


def hum(n: int, rng: np.random.Generator) -> Float:
    """Mains hum: 50 Hz and ten harmonics falling as 1/k, a little hiss. Unit RMS."""
    t = np.arange(n) / RATE
    x = sum(np.sin(2 * np.pi * 50 * k * t + rng.uniform(0, 6.28)) / k for k in range(1, 12))
    x = np.asarray(x) + 0.05 * rng.standard_normal(n)
    return np.asarray(x / x.std(), dtype=np.float64)


def pink(n: int, rng: np.random.Generator) -> Float:
    spec = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / RATE)
    f[0] = f[1]
    x = np.fft.irfft(spec / np.sqrt(f), n)
    return np.asarray(x / x.std(), dtype=np.float64)


def clicks(n: int, rng: np.random.Generator) -> Float:
    """Two clicks a second on average (keyboard, a ticking radiator) over faint hiss. Unit RMS."""
    x = 0.05 * rng.standard_normal(n)
    decay = np.exp(-np.arange(400) / 60)
    for pos in rng.integers(0, n - 400, size=max(1, 2 * n // RATE)):
        x[pos : pos + 400] += rng.standard_normal(400) * decay * 8
    return np.asarray(x / x.std(), dtype=np.float64)


NOISES = {"white": white, "hum": hum, "pink": pink, "clicks": clicks}


@dataclass(frozen=True)
class Mix:
    pcm: bytes
    truth: list[tuple[float, float]]
    """Start and end of each spoken phrase, seconds."""


def to_pcm(x: Float) -> bytes:
    return bytes(np.clip(np.round(x * 32768), -32768, 32767).astype("<i2").tobytes())


def mix(
    clips: list[Float],
    *,
    gaps_s: list[float],
    noise: str,
    snr_db: float,
    seed: int = 1,
    lead_s: float = 1.5,
    trail_s: float = 2.0,
) -> Mix:
    """Clips separated by gaps, in noise at ``snr_db`` below the -20 dBFS speech level."""
    rng = np.random.default_rng(seed)
    parts: list[Float] = [np.zeros(int(lead_s * RATE))]
    truth = []
    pos = len(parts[0])
    for i, clip in enumerate(clips):
        truth.append((pos / RATE, (pos + len(clip)) / RATE))
        gap = np.zeros(int((gaps_s[i] if i < len(gaps_s) else trail_s) * RATE))
        parts += [clip, gap]
        pos += len(clip) + len(gap)
    x = np.concatenate(parts)
    x = x + NOISES[noise](len(x), rng) * 0.1 * 10 ** (-snr_db / 20)
    return Mix(to_pcm(x), truth)
