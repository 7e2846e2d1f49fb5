"""The endpointing corpus: synthesized commands placed into noise, built once and cached by recipe hash.

A speech file holds one noise kind at one SNR: utterances (English and Mandarin, espeak-ng and flite voices)
with 2-8 s between the end of one voiced region and the start of the next, over noise at
``SPEECH_LEVEL_DBFS - snr``. Every clip is scaled so its voiced-region RMS is ``SPEECH_LEVEL_DBFS``, so the
SNR holds per utterance. A noise-only file holds one noise kind at the speech level minus 10 dB.

The cache lives in ``bench/.corpus/<mode>-<hash>/``; the hash covers the recipe (seed, sizes, voices, texts,
levels), the synthesizers' versions and the source of this module and ``bench/synth.py``, so any change
regenerates it. Building writes to a temporary directory and renames it into place.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench import synth

CORPUS_DIR = Path(__file__).resolve().parent / ".corpus"
SPEECH_LEVEL_DBFS = -26.0
SNRS_DB = (30.0, 20.0, 10.0, 5.0)
NOISE_ONLY_BELOW_SPEECH_DB = 10.0

VOICES_EN = (
    "espeak-ng:en-us",
    "espeak-ng:en-gb+m3",
    "espeak-ng:en-us+f3",
    "espeak-ng:en-gb-scotland+f2",
    "flite:kal",
    "flite:slt",
    "flite:rms",
    "flite:awb",
)
# espeak-ng 1.51's plain `cmn` reads tone digits aloud in English; the pinyin voice reads them as tones.
VOICES_CMN = ("espeak-ng:cmn-latn-pinyin", "espeak-ng:cmn-latn-pinyin+f2")
TEXTS_EN = (
    "turn on the kitchen light",
    "what time is it",
    "set a timer for five minutes",
    "play some music",
    "stop",
    "what's the weather like tomorrow",
    "turn off the bedroom lights",
    "volume up",
    "remind me to call mum at six",
    "switch off the fan",
    "pause",
    "how warm is it outside",
)
TEXTS_CMN = (
    "da3 kai1 ke4 ting1 de5 deng1",  # 打开客厅的灯
    "xian4 zai4 ji3 dian3",  # 现在几点
    "guan1 bi4 kong1 tiao2",  # 关闭空调
    "bo1 fang4 yin1 yue4",  # 播放音乐
    "ming2 tian1 tian1 qi4 zen3 me5 yang4",  # 明天天气怎么样
    "ting2 zhi3",  # 停止
    "ding4 yi2 ge4 wu3 fen1 zhong1 de5 ji4 shi2 qi4",  # 定一个五分钟的计时器
    "yin1 liang4 tiao2 da4 yi4 dian3",  # 音量调大一点
)


@dataclass(frozen=True)
class CorpusFile:
    """One file of the corpus; ``truth`` is (onset, offset) in seconds of each placed utterance."""

    name: str
    kind: str
    """``speech`` or ``noise``."""
    noise: str
    snr_db: float | None
    """None for noise-only files."""
    duration_s: float
    truth: tuple[tuple[float, float], ...]
    path: Path

    def pcm(self) -> bytes:
        """The file's audio: 16 kHz mono s16le."""
        return self.path.read_bytes()


def recipe(seed: int, quick: bool) -> dict[str, Any]:
    """Everything that decides the corpus's audio; its hash names the cache directory."""
    here = Path(__file__).resolve().parent
    code = hashlib.sha256()
    for name in ("corpus.py", "synth.py"):
        code.update((here / name).read_bytes())
    return {
        "seed": seed,
        "mode": "quick" if quick else "full",
        "utterances_per_condition": 3 if quick else 24,
        "gap_s": [2.0, 8.0],
        "noise_only_s": 60.0 if quick else 300.0,
        "noise_only_below_speech_db": NOISE_ONLY_BELOW_SPEECH_DB,
        "speech_level_dbfs": SPEECH_LEVEL_DBFS,
        "snrs_db": list(SNRS_DB),
        "noise_kinds": list(synth.NOISE_KINDS),
        "mandarin_share": 0.3,
        "voices_en": list(VOICES_EN),
        "voices_cmn": list(VOICES_CMN),
        "texts_en": list(TEXTS_EN),
        "texts_cmn": list(TEXTS_CMN),
        "tools": synth.tool_versions(),
        "code_sha256": code.hexdigest(),
    }


def recipe_hash(r: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(r, sort_keys=True).encode()).hexdigest()[:16]


def load_or_build(seed: int, quick: bool, root: Path = CORPUS_DIR, log: Any = print) -> list[CorpusFile]:
    """The corpus for ``seed``/``quick``: from the cache when its recipe hash matches, else built now."""
    r = recipe(seed, quick)
    directory = root / f"{r['mode']}-{recipe_hash(r)}"
    if not (directory / "manifest.json").is_file():
        log(f"building corpus {directory.name} (cached under {root}) ...")
        root.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=root))
        try:
            _build(r, tmp)
            for stale in root.glob(f"{r['mode']}-*"):
                if stale.is_dir() and stale != directory:
                    shutil.rmtree(stale)
            tmp.replace(directory)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp)
    manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    return [
        CorpusFile(
            name=f["name"],
            kind=f["kind"],
            noise=f["noise"],
            snr_db=f["snr_db"],
            duration_s=f["duration_s"],
            truth=tuple((a, b) for a, b in f["truth"]),
            path=directory / f"{f['name']}.s16",
        )
        for f in manifest["files"]
    ]


def _build(r: dict[str, Any], out: Path) -> None:
    sr = synth.SAMPLE_RATE
    clips_dir = out / "clips"
    files: list[dict[str, Any]] = []
    for k, noise in enumerate(r["noise_kinds"]):
        for s, snr in enumerate(r["snrs_db"]):
            rng = np.random.default_rng([r["seed"], 1, k, s])
            track, truth = _place_utterances(r, rng, clips_dir)
            noise_track = synth.make_noise(noise, len(track), rng)
            level = r["speech_level_dbfs"] - snr
            mixed = track + synth.set_level(noise_track, level)
            name = f"speech-{noise}-snr{snr:g}"
            (out / f"{name}.s16").write_bytes(synth.to_pcm(mixed))
            files.append(
                {
                    "name": name,
                    "kind": "speech",
                    "noise": noise,
                    "snr_db": snr,
                    "duration_s": len(track) / sr,
                    "truth": [[a / sr, b / sr] for a, b in truth],
                }
            )
        rng = np.random.default_rng([r["seed"], 2, k])
        n = int(r["noise_only_s"] * sr)
        level = r["speech_level_dbfs"] - r["noise_only_below_speech_db"]
        name = f"noise-{noise}"
        (out / f"{name}.s16").write_bytes(
            synth.to_pcm(synth.set_level(synth.make_noise(noise, n, rng), level))
        )
        files.append(
            {"name": name, "kind": "noise", "noise": noise, "snr_db": None, "duration_s": n / sr, "truth": []}
        )
    shutil.rmtree(clips_dir, ignore_errors=True)
    (out / "recipe.json").write_text(json.dumps(r, indent=2, sort_keys=True), encoding="utf-8")
    (out / "manifest.json").write_text(json.dumps({"files": files}, indent=1), encoding="utf-8")


def _place_utterances(
    r: dict[str, Any], rng: np.random.Generator, clips_dir: Path
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The clean speech track of one file and the (onset, offset) samples of each utterance in it."""
    sr = synth.SAMPLE_RATE
    lo, hi = r["gap_s"]
    placed: list[tuple[int, np.ndarray]] = []
    truth: list[tuple[int, int]] = []
    cursor = int(rng.uniform(lo, hi) * sr)  # where the next voiced region starts
    for _ in range(r["utterances_per_condition"]):
        if rng.random() < r["mandarin_share"]:
            voice, text = rng.choice(r["voices_cmn"]), rng.choice(r["texts_cmn"])
        else:
            voice, text = rng.choice(r["voices_en"]), rng.choice(r["texts_en"])
        clip = synth.synthesize(str(text), str(voice), cache_dir=clips_dir)
        on, off = synth.speech_bounds(clip)
        clip = synth.set_level(clip, r["speech_level_dbfs"], synth.rms_dbfs(clip[on:off]))
        # The clip's own leading silence may reach back before the cursor; it never reaches the previous
        # utterance because gaps are >= 2 s and synthesizers pad well under that.
        at = max(0, cursor - on)
        placed.append((at, clip))
        truth.append((at + on, at + off))
        cursor = at + off + int(rng.uniform(lo, hi) * sr)
    # The file ends a 2-8 s gap after the last utterance (``cursor``), or with the last clip's padding.
    track = np.zeros(max(cursor, *(start + len(c) for start, c in placed)))
    for start, c in placed:
        track[start : start + len(c)] += c
    return track, truth
