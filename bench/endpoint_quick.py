"""Quick endpointing evaluation on synthesized speech in household noise (deterministic; a few minutes).

    python -m bench.endpoint_quick [--minutes-noise 5] [--set key=value ...] [--frame-ms 30]

Speech: espeak-ng (English and Mandarin, cmn-latn-pinyin) and flite, cached under bench/.corpus/quick/.
For each noise (white, pink, brown, fan, hum, clicks) and SNR (30/20/10/5 dB against the active speech
level) a track of 8 utterances with 2-8 s gaps is built, plus a noise-only stretch at speech level -10 dB.
Prints, per noise and overall: utterance recall, onset kept, splits, false utterances per hour of
noise-only audio, uploaded seconds / true speech seconds, where the upload ends and when the end is decided
(relative to the true end of speech), and CPU seconds per hour of audio for ``segment_pcm`` (including
building the VAD and loading Silero per track) next to the bare webrtcvad and noise suppression + webrtcvad
baselines measured in the same run.
"""

from __future__ import annotations

import argparse
import dataclasses
import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from assistantd.config.endpoint import EndpointConfig
from assistantd.endpoint.offline import Segment, segment_pcm
from assistantd.endpoint.vad import WebrtcVad
from bench import baselines, synth

RATE = 16000
CACHE = Path(__file__).resolve().parent / ".corpus" / "quick"
Float = npt.NDArray[np.float64]

ENGLISH = [
    "turn on the kitchen light",
    "what is the weather like tomorrow",
    "set a timer for ten minutes",
    "play some music in the living room",
    "stop",
    "how many degrees is it outside",
]
PINYIN = [
    "da3 kai1 ke4 ting1 de5 deng1",
    "jin1 tian1 tian1 qi4 zen3 me5 yang4",
    "ting2 zhi3",
    "ba3 kong1 tiao2 tiao2 dao4 er4 shi2 liu4 du4",
]


def _synth(voice: str, text: str) -> Float:
    return _trim(synth.synthesize(text, voice, CACHE) / 32768)


def _trim(x: Float) -> Float:
    """Cut the synthesizer's leading/trailing digital near-silence so the truth starts at the first sound."""
    env = np.abs(x) > 10 ** (-50 / 20)
    idx = np.flatnonzero(env)
    return x[idx[0] : idx[-1] + 1] if idx.size else x


def speech_clips() -> list[Float]:
    clips = [_synth("espeak-ng:en-us", t) for t in ENGLISH[:3]]
    clips += [_synth(f"flite:{v}", t) for v, t in zip(["slt", "kal", "awb"], ENGLISH[3:], strict=True)]
    clips += [_synth("espeak-ng:cmn-latn-pinyin", t) for t in PINYIN]
    return clips


def _active_rms(x: Float) -> float:
    frames = x[: len(x) // 480 * 480].reshape(-1, 480)
    power = (frames**2).mean(axis=1)
    active = power[power > power.max() * 10 ** (-40 / 10)]
    return float(np.sqrt(active.mean()))


def noise(kind: str, n: int, rng: np.random.Generator) -> Float:
    """Unit-RMS noise of one household kind."""
    t = np.arange(n) / RATE
    if kind == "white":
        x = rng.standard_normal(n)
    elif kind in ("pink", "brown"):
        spec = np.fft.rfft(rng.standard_normal(n))
        f = np.fft.rfftfreq(n, 1 / RATE)
        f[0] = f[1]
        x = np.fft.irfft(spec / (np.sqrt(f) if kind == "pink" else f), n)
    elif kind == "hum":
        x = sum(np.sin(2 * np.pi * 50 * k * t + k) / k for k in range(1, 12))
        x = x + 0.05 * rng.standard_normal(n)
    elif kind == "fan":
        spec = np.fft.rfft(rng.standard_normal(n))
        f = np.fft.rfftfreq(n, 1 / RATE)
        f[0] = f[1]
        broad = np.fft.irfft(spec / np.sqrt(f) * (f < 4000), n)
        blade = np.sin(2 * np.pi * 120 * t) * (1 + 0.3 * np.sin(2 * np.pi * 0.5 * t))
        x = broad / broad.std() + 0.5 * blade
    elif kind == "clicks":
        x = 0.05 * rng.standard_normal(n)
        for pos in rng.integers(0, n - 400, size=max(1, n // RATE)):
            x[pos : pos + 400] += rng.standard_normal(400) * np.exp(-np.arange(400) / 60) * 8
    else:
        raise ValueError(kind)
    return np.asarray(x / x.std(), dtype=np.float64)


@dataclass
class Track:
    pcm: bytes
    truth: list[tuple[float, float]]
    seconds: float


def build_track(clips: list[Float], kind: str, snr_db: float, rng: np.random.Generator) -> Track:
    level = 0.1
    parts: list[Float] = [np.zeros(RATE)]
    truth = []
    pos = RATE
    for i in rng.permutation(len(clips))[:8]:
        clip = clips[i] * (level / _active_rms(clips[i]))
        truth.append((pos / RATE, (pos + len(clip)) / RATE))
        gap = np.zeros(int(rng.uniform(2, 8) * RATE))
        parts += [clip, gap]
        pos += len(clip) + len(gap)
    speech = np.concatenate(parts)
    mixed = speech + noise(kind, len(speech), rng) * level * 10 ** (-snr_db / 20)
    return Track(_pcm(mixed), truth, len(speech) / RATE)


def noise_only(kind: str, seconds: float, rng: np.random.Generator) -> Track:
    n = int(seconds * RATE)
    return Track(_pcm(noise(kind, n, rng) * 0.1 * 10 ** (-10 / 20)), [], seconds)


def _pcm(x: Float) -> bytes:
    return bytes(np.clip(x * 32768, -32768, 32767).astype("<i2").tobytes())


@dataclass
class Score:
    utterances: int = 0
    found: int = 0
    onset_kept: int = 0
    splits: int = 0
    false: int = 0
    noise_false: int = 0
    noise_s: float = 0.0
    speech_s: float = 0.0
    uploaded_s: float = 0.0
    end_late: list[float] = dataclasses.field(default_factory=list)
    decided: list[float] = dataclasses.field(default_factory=list)
    cpu: float = 0.0
    audio_s: float = 0.0

    def add(self, other: Score) -> None:
        for f in dataclasses.fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))


def score(track: Track, segments: list[Segment], noise_track: bool) -> Score:
    s = Score(utterances=len(track.truth), audio_s=track.seconds)
    s.uploaded_s = sum(g.end - g.start for g in segments)
    s.speech_s = sum(b - a for a, b in track.truth)
    if noise_track:
        s.noise_false, s.noise_s = len(segments), track.seconds
        return s
    for a, b in track.truth:
        hits = [g for g in segments if g.start < b and g.end > a]
        if hits:
            s.found += 1
            s.onset_kept += hits[0].start <= a + 0.01
            s.splits += len(hits) - 1
            s.end_late.append(hits[-1].end - b)
            s.decided.append(hits[-1].decided_at - b)
    s.false = sum(1 for g in segments if not any(g.start < b and g.end > a for a, b in track.truth))
    return s


def _report(name: str, s: Score) -> str:
    late = np.array(s.end_late) if s.end_late else np.zeros(1)
    decided = np.array(s.decided) if s.decided else np.zeros(1)
    per_hour = s.noise_false / s.noise_s * 3600 if s.noise_s else 0.0
    return (
        f"{name:8s} recall {s.found / max(1, s.utterances):6.1%}  onset {s.onset_kept / max(1, s.found):6.1%}"
        f"  splits {s.splits:2d}  false(speech) {s.false:2d}  false/h(noise) {per_hour:5.1f}"
        f"  upload/speech {s.uploaded_s / max(s.speech_s, 1e-9):4.2f}"
        f"  end-late med {np.median(late):+.2f} min {late.min():+.2f} s"
        f"  decided med {np.median(decided):.2f} max {decided.max():.2f} s"
        f"  cpu {s.cpu / s.audio_s * 3600:5.1f} s/h"
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes-noise", type=float, default=5.0)
    ap.add_argument("--frame-ms", type=int, default=30)
    ap.add_argument("--noises", default="white,pink,brown,fan,hum,clicks")
    ap.add_argument("--snrs", default="30,20,10,5")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="EndpointConfig override")
    args = ap.parse_args()
    overrides = {k: type(getattr(EndpointConfig(), k))(v) for k, v in (kv.split("=", 1) for kv in args.set)}
    config = dataclasses.replace(EndpointConfig(), **overrides)
    print(f"config: {config}")
    clips = speech_clips()
    total = Score()
    baseline_cpu = ns_cpu = 0.0
    for kind in args.noises.split(","):
        rng = np.random.default_rng(zlib.crc32(kind.encode()))
        per = Score()
        tracks = [(build_track(clips, kind, float(snr), rng), False) for snr in args.snrs.split(",")]
        tracks.append((noise_only(kind, args.minutes_noise * 60, rng), True))
        for track, is_noise in tracks:
            t0 = time.process_time()
            segments = segment_pcm(track.pcm, config, args.frame_ms)
            cpu = time.process_time() - t0
            s = score(track, segments, is_noise)
            s.cpu = cpu
            per.add(s)
            t0 = time.process_time()
            vad = WebrtcVad(config.vad_aggressiveness)
            size = args.frame_ms * 32
            for i in range(0, len(track.pcm) - size + 1, size):
                vad.is_speech(track.pcm[i : i + size])
            baseline_cpu += time.process_time() - t0
            t0 = time.process_time()
            baselines.ns_webrtcvad(track.pcm, config.vad_aggressiveness, config.noise_suppression or 2)
            ns_cpu += time.process_time() - t0
        print(_report(kind, per))
        total.add(per)
    print(_report("ALL", total))
    print(f"baseline: bare webrtcvad {baseline_cpu / total.audio_s * 3600:.1f} CPU-s/h of audio")
    ns_per_hour = ns_cpu / total.audio_s * 3600
    print(
        f"baseline: noise suppression + webrtcvad {ns_per_hour:.1f} CPU-s/h of audio; "
        f"assistantd {total.cpu / total.audio_s * 3600 / ns_per_hour:.2f}x that"
    )


if __name__ == "__main__":
    main()
