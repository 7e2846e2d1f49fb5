"""Offline recognizer: command accuracy, CPU cost and endpoint latency, grammar mode vs the open LM.

    python -m bench.local_recognizer [--commands 16] [--snr-db 15] [--paced 8] [--seed 1]

Commands are sampled (seeded) from tests/recognizer/commands_en.yaml with hassil's own sampler,
spoken by every flite voice (kal16, slt, rms, awb), padded and mixed with room noise. Each clip
goes through LocalRecognizer.transcribe() in 100 ms chunks, once per mode:
- exact: transcript == the spoken command (word for word);
- intent+slots: hassil recognizes the same intent with the same slot values from the transcript as
  from the reference text (what the daemon would do with it);
- WER: word error rate, for the open LM's near misses;
- CPU-s per audio-s: decoder-thread CPU time over audio duration (the open LM is the baseline);
- endpoint -> final: the first ``--paced`` clips are fed in real time (one chunk per 100 ms, as a
  microphone would), and the time from the last chunk to the transcript is recorded (p50/p95).
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import statistics
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hassil import Intents, recognize
from hassil.sample import sample_intents

from assistantd.config.local import LocalRecognizerConfig
from assistantd.recognizer.local import LocalRecognizer
from assistantd.recognizer.spoken import spoken_words
from tests.recognizer.speech import VOICES, chunks, noisy_command

INTENTS = Path(__file__).resolve().parents[1] / "tests" / "recognizer" / "commands_en.yaml"


def pick_commands(intents: Intents, count: int, seed: int, exclude: Collection[str] = ()) -> list[str]:
    """``count`` spoken commands, spread over the intents (but ``exclude``) round-robin (seeded)."""
    by_intent: dict[str, list[str]] = {}
    for name, text in sample_intents(intents, language="en"):
        if name in exclude:
            continue
        spoken = " ".join(spoken_words(text))
        if not any(ch.isdigit() for ch in text):  # hassil samples digits too; nobody says "21"
            by_intent.setdefault(name, []).append(spoken)
    rng = random.Random(seed)
    pools = {
        name: rng.sample(sorted(set(texts)), len(set(texts))) for name, texts in sorted(by_intent.items())
    }
    picked: list[str] = []
    while len(picked) < count and any(pools.values()):
        for pool in pools.values():
            if pool and len(picked) < count:
                picked.append(pool.pop())
    return picked


def meaning(text: str, intents: Intents) -> tuple[str, tuple[tuple[str, Any], ...]] | None:
    result = recognize(text, intents)
    if result is None:
        return None
    return result.intent.name, tuple(sorted((k, str(v.value)) for k, v in result.entities.items()))


def wer(ref: str, hyp: str) -> tuple[int, int]:
    """(edits, reference words): Levenshtein distance over words."""
    r, h = ref.split(), hyp.split()
    row = list(range(len(h) + 1))
    for i, rw in enumerate(r, 1):
        prev, row[0] = row[0], i
        for j, hw in enumerate(h, 1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (rw != hw))
    return row[len(h)], len(r)


async def paced(audio: bytes, chunk_ms: int = 100) -> AsyncIterator[bytes]:
    """Chunks at the pace a microphone delivers them."""
    start = time.monotonic()
    async for i, chunk in _enumerate(chunks(audio, chunk_ms)):
        await asyncio.sleep(max(0.0, start + (i + 1) * chunk_ms / 1000 - time.monotonic()))
        yield chunk


async def _enumerate(source: AsyncIterator[bytes]) -> AsyncIterator[tuple[int, bytes]]:
    i = 0
    async for item in source:
        yield i, item
        i += 1


@dataclass
class Tally:
    clips: int = 0
    exact: int = 0
    meaning: int = 0
    edits: int = 0
    words: int = 0
    audio_s: float = 0.0
    cpu_s: float = 0.0
    """Decoder-thread CPU."""
    process_cpu_s: float = 0.0
    """The whole process's CPU over the same decodes: the event loop's side and the handoffs too."""
    latencies: list[float] = field(default_factory=list)
    misses: list[str] = field(default_factory=list)


async def run_mode(
    mode: str,
    clips: list[tuple[str, str, bytes]],
    same_meaning: Callable[[str, str], bool],
    n_paced: int,
    *,
    intent_files: Sequence[Path] = (INTENTS,),
    settings: LocalRecognizerConfig | None = None,
    max_misses: int = 4,
    chunk_ms: int = 100,
) -> Tally:
    """Every clip through a fresh LocalRecognizer in ``mode``; ``same_meaning(heard, said)`` judges it."""
    with tempfile.TemporaryDirectory() as cache:
        base = settings or LocalRecognizerConfig()
        rec = LocalRecognizer(dataclasses.replace(base, mode=mode, cache_dir=cache), list(intent_files))
        try:
            await rec.start()
            tally = Tally()
            for i, (voice, text, audio) in enumerate(clips):
                source = paced(audio, chunk_ms) if i < n_paced else chunks(audio, chunk_ms)
                began = time.process_time()
                got = (await rec.transcribe(source)).text
                tally.process_cpu_s += time.process_time() - began
                timing = rec.last_timing
                assert timing is not None
                tally.clips += 1
                tally.exact += got == text
                right = same_meaning(got, text)
                tally.meaning += right
                edits, words = wer(text, got)
                tally.edits += edits
                tally.words += words
                tally.audio_s += timing.audio_s
                tally.cpu_s += timing.cpu_s
                if i < n_paced:
                    tally.latencies.append(timing.final_s)
                if not right and len(tally.misses) < max_misses:
                    tally.misses.append(f"{voice}: {text!r} -> {got!r}")
            return tally
        finally:
            rec.close()


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


async def main_async(args: argparse.Namespace) -> None:
    with INTENTS.open(encoding="utf-8") as f:
        intents = Intents.from_yaml(f)
    commands = pick_commands(intents, args.commands, args.seed)
    speech_dir = Path(tempfile.mkdtemp(prefix="bench-speech-"))
    clips = [
        (voice, text, noisy_command(text, voice, speech_dir, snr_db=args.snr_db, seed=i))
        for i, (text, voice) in enumerate((t, v) for t in commands for v in VOICES)
    ]
    # Interleave voices in the paced subset.
    clips.sort(key=lambda c: (VOICES.index(c[0]) + commands.index(c[1])) % len(VOICES))
    print(
        f"{len(commands)} commands x {len(VOICES)} flite voices = {len(clips)} clips, "
        f"room noise at {args.snr_db:g} dB SNR, 100 ms chunks; {args.paced} clips per mode fed in real time"
    )

    def same(got: str, text: str) -> bool:
        return meaning(got, intents) == meaning(text, intents)

    results = {mode: await run_mode(mode, clips, same, args.paced) for mode in ("grammar", "open")}
    print()
    head = ("mode", "exact", "intent+slots", "WER", "CPU-s/audio-s", "final p50", "p95")
    print(f"{head[0]:8} {head[1]:>7} {head[2]:>13} {head[3]:>6} {head[4]:>14} {head[5]:>10} {head[6]:>8}")
    for mode, t in results.items():
        p50, p95 = pct(t.latencies, 0.5) * 1000, pct(t.latencies, 0.95) * 1000
        print(
            f"{mode:8} {t.exact / t.clips:7.1%} {t.meaning / t.clips:13.1%} {t.edits / max(1, t.words):6.1%} "
            f"{t.cpu_s / t.audio_s:14.4f} {p50:8.0f}ms {p95:6.0f}ms"
        )
    g, o = results["grammar"], results["open"]
    print(
        f"\ngrammar vs open LM (baseline, same run): CPU {g.cpu_s / g.audio_s / (o.cpu_s / o.audio_s):.3f}x, "
        f"final-text latency p50 {statistics.median(g.latencies) / statistics.median(o.latencies):.2f}x"
    )
    for mode, t in results.items():
        for miss in t.misses:
            print(f"  {mode} miss: {miss}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--commands", type=int, default=16, help="distinct commands (each said by 4 voices)")
    parser.add_argument("--snr-db", type=float, default=20.0, help="speech-to-room-noise ratio")
    parser.add_argument("--paced", type=int, default=8, help="clips per mode fed in real time for latency")
    parser.add_argument("--seed", type=int, default=1)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
