"""Signal helpers for the audio tests: synthesized speech, native-format files, alignment."""

from __future__ import annotations

import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench import synth as bench_synth

SPEECH_TEXT = "turn on the kitchen light and set a timer for ten minutes"


@dataclass(frozen=True)
class Speech:
    wav: Path
    """16 kHz mono s16 WAV of flite speech mixed with low noise."""
    samples: np.ndarray
    """The same samples as int16."""

    @property
    def seconds(self) -> float:
        return len(self.samples) / 16000


def synthesize(cache: Path) -> Speech:
    """flite speech (16 kHz) plus white noise at about -50 dBFS, fixed seed."""
    speech = bench_synth.synthesize(SPEECH_TEXT, "flite:slt", cache)
    noise = np.random.default_rng(1234).normal(0.0, 100.0, len(speech))
    mixed = np.clip(np.rint(speech + noise), -32768, 32767).astype(np.int16)
    out = cache / "speech16k.wav"
    write_wav(out, mixed, 16000)
    return Speech(out, mixed)


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1 if samples.ndim == 1 else samples.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(samples.astype("<i2").tobytes())


def sox(*args: str | Path) -> None:
    subprocess.run(["sox", *map(str, args)], check=True)


def resampled_raw(src: Path, rate: int) -> np.ndarray:
    """``src`` resampled by sox (an independent resampler) to ``rate``, as int16."""
    out = src.with_name(f"{src.stem}_{rate}.raw")
    if not out.exists():
        sox(src, "-r", rate, "-b", 16, "-e", "signed", "-c", 1, "-t", "raw", out)
    return np.fromfile(out, dtype="<i2")


def interleave(*channels: np.ndarray) -> bytes:
    n = min(len(c) for c in channels)
    return np.stack([c[:n] for c in channels], axis=1).astype("<i2").tobytes()


def noise(n: int, seed: int, sigma: float = 100.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, sigma, n).astype(np.int16)


def pcm(frames: list) -> np.ndarray:  # list[Frame]
    return np.frombuffer(b"".join(f.pcm for f in frames), dtype="<i2")


def align(out: np.ndarray, ref: np.ndarray, max_lag: int = 160) -> tuple[int, float]:
    """The lag (in samples, out relative to ref) with the highest normalised correlation, and that value."""
    a = out.astype(np.float64)
    b = ref.astype(np.float64)
    n = min(len(a), len(b)) - 2 * max_lag
    best = (0, -1.0)
    for lag in range(-max_lag, max_lag + 1):
        x = a[max_lag + lag : max_lag + lag + n]
        y = b[max_lag : max_lag + n]
        c = float(np.dot(x, y) / (np.linalg.norm(x) * np.linalg.norm(y) + 1e-9))
        if c > best[1]:
            best = (lag, c)
    return best


def rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(x.astype(np.float64) ** 2)))
