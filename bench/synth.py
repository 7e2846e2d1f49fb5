"""Synthesized speech and noise for the benchmarks and the tests: one place for synthesis and mixing.

Everything is 16 kHz mono; arrays are float64 in int16 units (full scale 32768) until ``to_pcm``.

- ``synthesize(text, voice)`` runs espeak-ng or flite (Debian packages) and returns the clip.
- ``speech_bounds(clip)`` is the truth for a clean clip: first and last sample of its voiced region.
- ``make_noise(kind, n, rng)`` makes one of ``NOISE_KINDS`` (white, pink, brown, fan, hum, clicks).
- ``mix_at_snr(speech, noise, snr_db)`` scales the noise so speech level / noise level = ``snr_db``.

Levels are RMS in dBFS. The speech level of a clip is its RMS over its voiced region (``speech_bounds``), so a
clip's SNR does not depend on how much silence the synthesizer padded it with.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistantd.audio.wavfile import read_wav_pcm16k

SAMPLE_RATE = 16000
FULL_SCALE = 32768.0
NOISE_KINDS = ("white", "pink", "brown", "fan", "hum", "clicks")

# The voiced region of a clean clip: 5 ms frames whose RMS is within this many dB of the loudest frame.
# 40 dB keeps weak word-initial fricatives ("set", "switch") inside the truth: an endpointer must keep them.
_BOUNDS_FRAME = 80
_BOUNDS_DB = 40.0

Array = np.ndarray


@dataclass(frozen=True)
class Voice:
    """A synthesizer voice: ``engine`` is ``espeak-ng`` or ``flite``; ``name`` is its voice argument."""

    engine: str
    name: str

    def __str__(self) -> str:
        return f"{self.engine}:{self.name}"

    @classmethod
    def parse(cls, spec: str) -> Voice:
        """``"espeak-ng:en-us+f3"`` or ``"flite:slt"``."""
        engine, sep, name = spec.partition(":")
        if not sep or engine not in ("espeak-ng", "flite") or not name:
            raise ValueError(f"voice {spec!r}: expected 'espeak-ng:NAME' or 'flite:NAME'")
        return cls(engine, name)


def tool_versions() -> dict[str, str]:
    """Versions of the synthesizers, part of the corpus recipe: a new espeak-ng means new audio."""
    espeak = subprocess.run(["espeak-ng", "--version"], capture_output=True, text=True, check=True).stdout
    flite = subprocess.run(["flite", "--version"], capture_output=True, text=True, check=False).stdout
    flite_version = next((line.strip() for line in flite.splitlines() if "version" in line), flite.strip())
    return {"espeak-ng": espeak.strip(), "flite": flite_version}


def synthesize(text: str, voice: Voice | str, cache_dir: Path | None = None) -> Array:
    """Speak ``text`` with ``voice``; returns the clip at 16 kHz (float64, int16 units).

    With ``cache_dir`` the clip is stored there as raw s16le, keyed by engine, voice and text, so a test
    session or a corpus build synthesizes each clip once.
    """
    v = Voice.parse(voice) if isinstance(voice, str) else voice
    cached: Path | None = None
    if cache_dir is not None:
        key = hashlib.sha256(f"{v}\n{text}".encode()).hexdigest()[:20]
        cached = cache_dir / f"clip-{key}.s16"
        if cached.is_file():
            return np.frombuffer(cached.read_bytes(), dtype="<i2").astype(np.float64)
    with tempfile.TemporaryDirectory(prefix="synth-") as tmp:
        out = Path(tmp) / "out.wav"
        if v.engine == "espeak-ng":
            cmd = ["espeak-ng", "-v", v.name, "-w", str(out), text]
        else:
            cmd = ["flite", "-voice", v.name, "-t", text, "-o", str(out)]
        result = subprocess.run(cmd, capture_output=True, text=True, check=False)
        if result.returncode != 0 or not out.is_file():
            raise RuntimeError(f"{v.engine} failed for voice {v.name!r}: {result.stderr.strip()}")
        # The daemon's own WAV reader: espeak-ng writes 22050 Hz and flite's kal 8 kHz.
        clip = np.frombuffer(read_wav_pcm16k(out), dtype="<i2").astype(np.float64)
    pcm = to_pcm(clip)
    if cached is not None:
        cached.parent.mkdir(parents=True, exist_ok=True)
        # A name of its own per writer: two processes building the same clip (parallel benches, xdist
        # workers sharing a cache) each rename a whole file into place, never a half-written shared one.
        fd, part = tempfile.mkstemp(dir=cached.parent, prefix=cached.name, suffix=".part")
        with os.fdopen(fd, "wb") as out:
            out.write(pcm)
        os.replace(part, cached)
    return np.frombuffer(pcm, dtype="<i2").astype(np.float64)


def speech_bounds(clip: Array) -> tuple[int, int]:
    """First and last+1 sample of the voiced region of a clean clip.

    The region is delimited by 5 ms frames within 40 dB of the loudest frame; inside the first and last such
    frame the bound is the first/last sample whose magnitude exceeds that frame-RMS threshold.
    """
    n = len(clip) // _BOUNDS_FRAME
    if n == 0:
        raise ValueError("clip shorter than 5 ms")
    frames = clip[: n * _BOUNDS_FRAME].reshape(n, _BOUNDS_FRAME)
    rms = np.sqrt(np.mean(frames**2, axis=1))
    threshold = rms.max() * 10 ** (-_BOUNDS_DB / 20)
    if threshold <= 0:
        raise ValueError("clip is digital silence")
    active = np.nonzero(rms > threshold)[0]
    first, last = int(active[0]), int(active[-1])
    head = np.nonzero(np.abs(frames[first]) > threshold)[0]
    tail = np.nonzero(np.abs(frames[last]) > threshold)[0]
    start = first * _BOUNDS_FRAME + (int(head[0]) if len(head) else 0)
    end = last * _BOUNDS_FRAME + (int(tail[-1]) + 1 if len(tail) else _BOUNDS_FRAME)
    return start, end


def rms_dbfs(x: Array) -> float:
    """RMS level in dBFS (full-scale sine reads -3 dBFS)."""
    rms = float(np.sqrt(np.mean(np.square(x)))) if len(x) else 0.0
    return 20 * float(np.log10(max(rms, 1e-9) / FULL_SCALE))


def speech_level_dbfs(clip: Array) -> float:
    """The level of a clean clip: RMS over its voiced region."""
    start, end = speech_bounds(clip)
    return rms_dbfs(clip[start:end])


def set_level(x: Array, level_dbfs: float, reference_dbfs: float | None = None) -> Array:
    """Scale ``x`` so its level (``reference_dbfs``, default its RMS) becomes ``level_dbfs``."""
    ref = rms_dbfs(x) if reference_dbfs is None else reference_dbfs
    return np.asarray(x * 10 ** ((level_dbfs - ref) / 20), dtype=np.float64)


def mix_at_snr(speech: Array, noise: Array, snr_db: float, speech_level: float | None = None) -> Array:
    """``speech + noise`` with the noise scaled to ``speech_level - snr_db`` dBFS (RMS over all of ``noise``).

    ``speech_level`` defaults to ``speech_level_dbfs(speech)`` (speech is then a single clean clip). The
    arrays must have the same length; the result is float, call ``to_pcm`` to get bytes.
    """
    if len(speech) != len(noise):
        raise ValueError(f"speech has {len(speech)} samples, noise {len(noise)}")
    level = speech_level_dbfs(speech) if speech_level is None else speech_level
    return np.asarray(speech + set_level(noise, level - snr_db), dtype=np.float64)


def to_pcm(x: Array) -> bytes:
    """Round and clip to int16, as a sound card would; returns 16 kHz mono s16le bytes."""
    return np.clip(np.round(x), -32768, 32767).astype("<i2").tobytes()


def make_noise(kind: str, n: int, rng: np.random.Generator) -> Array:
    """``n`` samples of noise ``kind`` (one of ``NOISE_KINDS``) at -30 dBFS; rescale with ``set_level``.

    white: flat. pink: 1/f power. brown: 1/f^2 power above 20 Hz. fan: broadband noise below ~200 Hz plus the
    blade-pass tone and two harmonics, slowly modulated. hum: 50 Hz mains with harmonics to 1 kHz. clicks:
    Poisson-timed short damped resonances (3 per second) over a floor 30 dB down.
    """
    if kind == "white":
        x = rng.standard_normal(n)
    elif kind == "pink":
        x = _shaped(n, rng, lambda f: 1 / np.sqrt(np.maximum(f, 20.0)))
    elif kind == "brown":
        x = _shaped(n, rng, lambda f: 1 / np.maximum(f, 20.0))
    elif kind == "fan":
        x = _fan(n, rng)
    elif kind == "hum":
        x = _hum(n, rng)
    elif kind == "clicks":
        x = _clicks(n, rng)
    else:
        raise ValueError(f"unknown noise kind {kind!r}; expected one of {', '.join(NOISE_KINDS)}")
    return set_level(x, -30.0)


def _shaped(n: int, rng: np.random.Generator, amplitude: Callable[[Array], Array]) -> Array:
    """White noise coloured in the frequency domain by ``amplitude(f)`` (a callable on Hz arrays)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.fft.rfftfreq(n, 1 / SAMPLE_RATE)
    shape = np.array(amplitude(f), dtype=np.float64)
    shape[0] = 0.0
    return np.asarray(np.fft.irfft(spectrum * shape, n), dtype=np.float64)


def _fan(n: int, rng: np.random.Generator) -> Array:
    # A second-order low-pass at 150 Hz gives the rumble; a small fan's blade-pass frequency is 60-120 Hz.
    rumble = _shaped(n, rng, lambda f: 1 / (1 + (f / 150.0) ** 2))
    rumble = set_level(rumble, -30.0)
    t = np.arange(n) / SAMPLE_RATE
    blade = float(rng.uniform(70.0, 110.0))
    wobble = 1 + 0.3 * np.sin(2 * np.pi * float(rng.uniform(0.2, 0.6)) * t)
    tones = sum(
        a * np.sin(2 * np.pi * k * blade * t + rng.uniform(0, 2 * np.pi))
        for k, a in ((1, 1.0), (2, 0.5), (3, 0.25))
    )
    return np.asarray(rumble + set_level(np.asarray(tones * wobble), -33.0), dtype=np.float64)


def _hum(n: int, rng: np.random.Generator) -> Array:
    # Transformer and rectifier hum: 50 Hz with strong even harmonics, falling off to 1 kHz; a faint floor so
    # that the signal is never a pure sum of tones.
    t = np.arange(n) / SAMPLE_RATE
    hum = np.zeros(n)
    for k in range(1, 21):
        amp = (1.0 if k % 2 == 0 else 0.6) / k
        hum += amp * np.sin(2 * np.pi * 50.0 * k * t + rng.uniform(0, 2 * np.pi))
    hum = set_level(hum, -30.0)
    return np.asarray(hum + set_level(rng.standard_normal(n), -60.0), dtype=np.float64)


def _clicks(n: int, rng: np.random.Generator) -> Array:
    # Relay clicks, keyboard taps, a cup on a table: an impulse rings a resonance (1-5 kHz) for 2-6 ms. The
    # amplitudes spread over 12 dB; times are a Poisson process (3 per second). Scaled by RMS, the peaks sit
    # about 30 dB above the level, so at 5 dB SNR the loudest reach full scale, like a click close to the mic.
    x = set_level(rng.standard_normal(n), -70.0)
    seconds = n / SAMPLE_RATE
    count = int(rng.poisson(3.0 * seconds))
    times = rng.integers(0, max(n - 1, 1), size=count)
    clicks = np.zeros(n)
    for at in times:
        tau = float(rng.uniform(0.002, 0.006))
        length = min(int(5 * tau * SAMPLE_RATE), n - int(at))
        tt = np.arange(length) / SAMPLE_RATE
        freq = float(rng.uniform(1000.0, 5000.0))
        amp = 10 ** (float(rng.uniform(-12.0, 0.0)) / 20) * float(rng.choice([-1.0, 1.0]))
        clicks[at : at + length] += amp * np.exp(-tt / tau) * np.sin(2 * np.pi * freq * tt)
    if count:
        x = x + set_level(clicks, -40.0)
    return np.asarray(x, dtype=np.float64)
