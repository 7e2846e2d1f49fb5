"""Issue 5's quality bar: command accuracy of the offline recognizer on the SHIPPED intents.

    python -m bench.command_accuracy [--commands 40] [--snr-db 20] [--paced 8] [--seed 5]

Sentences are sampled (seeded, hassil's sampler, round-robin over intents) from the intent files that
config/assistant.yaml names, leaving out wildcard intents (MusicPlayArtist, WeatherGetCity: the grammar
cannot hold them). Each is spoken by every flite voice (kal16, slt, rms, awb), padded with 0.5 s before and
after, and mixed with room noise (a fan under pink hiss) at ``--snr-db``. Every clip goes through
LocalRecognizer (bench/local_recognizer.py's run_mode, 100 ms chunks) in grammar mode and, as the baseline
of the same run, with the open LM.

A command is right when the daemon's own matcher (assistantd.intents.loader.load_matcher on the shipped
config, fuzzy matching included) gives the same intent AND the same slot values for the transcript as for
the sentence that was spoken. Also printed: CPU seconds per audio second (decoder thread) and the time from
the endpoint (the last chunk) to the final text, p50/p95, over the first ``--paced`` clips fed in real time.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

import numpy as np
from hassil import Intents
from hassil.intents import WildcardSlotList

from assistantd.config import Config, load_config
from assistantd.intents.loader import load_matcher, resolve_intent_paths
from assistantd.intents.matcher import Matcher
from bench.local_recognizer import Tally, pct, pick_commands, run_mode
from bench.synth import make_noise, mix_at_snr, speech_level_dbfs, synthesize, to_pcm

ROOT = Path(__file__).resolve().parents[1]
CONFIG = ROOT / "config" / "assistant.yaml"
VOICES = ("kal16", "slt", "rms", "awb")
RATE = 16000
PAD_S = 0.5
TARGET = 0.95


def wildcard_intents(intents: Intents) -> set[str]:
    """Intents with a template that uses a wildcard list: a closed grammar cannot recognise them."""
    wild = {name for name, slots in intents.slot_lists.items() if isinstance(slots, WildcardSlotList)}
    return {
        name
        for name, intent in intents.intents.items()
        for data in intent.data
        for sentence in data.sentences
        if any(f"{{{w}}}" in (sentence.text or "") for w in wild)
    }


def room_clip(text: str, voice: str, cache: Path, snr_db: float, rng: np.random.Generator) -> bytes:
    """flite speech, 0.5 s lead and tail, fan + pink noise at ``snr_db`` below the speech level."""
    clip = synthesize(text, f"flite:{voice}", cache)
    pad = np.zeros(int(PAD_S * RATE))
    padded = np.concatenate([pad, clip, pad])
    noise = make_noise("fan", len(padded), rng) + 0.5 * make_noise("pink", len(padded), rng)
    return to_pcm(mix_at_snr(padded, noise, snr_db, speech_level=speech_level_dbfs(clip)))


class Judge:
    """Same intent and the same slot values, through the daemon's matcher."""

    def __init__(self, matcher: Matcher) -> None:
        self.matcher = matcher
        self._cache: dict[str, tuple[str, tuple[tuple[str, str], ...]] | None] = {}

    def meaning(self, text: str) -> tuple[str, tuple[tuple[str, str], ...]] | None:
        if text not in self._cache:
            found = self.matcher.match(text)
            self._cache[text] = (
                None
                if found is None
                else (found.intent, tuple(sorted((k, str(v)) for k, v in found.slots.items())))
            )
        return self._cache[text]

    def same(self, heard: str, said: str) -> bool:
        return self.meaning(heard) == self.meaning(said)


def shipped(config: Config) -> tuple[list[Path], Intents, Matcher]:
    files = resolve_intent_paths(config.intents.files, config.base_dir, config.source)
    matcher = load_matcher(config)
    language = config.recognizer.local.language
    intents = next(lm.intents for lm in matcher.languages if lm.language == language)
    return files, intents, matcher


def print_row(mode: str, t: Tally) -> None:
    p50, p95 = pct(t.latencies, 0.5) * 1000, pct(t.latencies, 0.95) * 1000
    print(
        f"{mode:8} {t.meaning / t.clips:14.1%} {t.exact / t.clips:7.1%} {t.edits / max(1, t.words):6.1%} "
        f"{t.cpu_s / t.audio_s:14.4f} {p50:8.0f}ms {p95:6.0f}ms"
    )


async def main_async(args: argparse.Namespace) -> int:
    config = load_config(CONFIG, env={})
    files, intents, matcher = shipped(config)
    judge = Judge(matcher)
    excluded = wildcard_intents(intents)
    commands = pick_commands(intents, args.commands, args.seed, exclude=excluded)
    unmatched = [c for c in commands if judge.meaning(c) is None]
    if unmatched:  # the matcher must understand its own sentences, or the figure means nothing
        print(f"sampled sentences the matcher does not understand: {unmatched}")
        return 2
    cache = Path(tempfile.mkdtemp(prefix="bench-commands-"))
    rng = np.random.default_rng(args.seed)
    clips = [
        (voice, text, room_clip(text, voice, cache, args.snr_db, rng))
        for i, text in enumerate(commands)
        for voice in VOICES[i % len(VOICES) :]
        + VOICES[: i % len(VOICES)]  # voices interleaved in the paced set
    ]
    n_intents = len({m[0] for m in map(judge.meaning, commands) if m})
    print(
        f"{len(commands)} {config.recognizer.local.language} sentences "
        f"({n_intents} intents of {', '.join(p.name for p in files)}; "
        f"left out, wildcards: {', '.join(sorted(excluded)) or 'none'}) x {len(VOICES)} flite voices "
        f"= {len(clips)} clips; fan + pink noise at {args.snr_db:g} dB SNR, {PAD_S:g} s lead/tail; "
        f"{args.paced} clips per mode fed in real time"
    )
    settings = config.recognizer.local
    results = {
        mode: await run_mode(
            mode, clips, judge.same, args.paced, intent_files=files, settings=settings, max_misses=args.misses
        )
        for mode in ("grammar", "open")
    }
    print()
    print(
        f"{'mode':8} {'intent+slots':>14} {'exact':>7} {'WER':>6} {'CPU-s/audio-s':>14} "
        f"{'final p50':>10} {'p95':>8}"
    )
    for mode, tally in results.items():
        print_row(mode, tally)
    g, o = results["grammar"], results["open"]
    print(
        "\ngrammar vs open LM (baseline, same clips): "
        f"CPU {g.cpu_s / g.audio_s / (o.cpu_s / o.audio_s):.3f}x, "
        f"endpoint->final p50 {pct(g.latencies, 0.5) / pct(o.latencies, 0.5):.2f}x"
    )
    accuracy = g.meaning / g.clips
    verdict = "met" if accuracy >= TARGET else "NOT met"
    print(f"command accuracy with the grammar: {accuracy:.1%} (target {TARGET:.0%}: {verdict})")
    for mode, tally in results.items():
        for miss in tally.misses:
            print(f"  {mode} miss: {miss}")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--commands", type=int, default=40, help="distinct sentences (each said by 4 voices)")
    parser.add_argument("--snr-db", type=float, default=20.0, help="speech-to-room-noise ratio")
    parser.add_argument("--paced", type=int, default=8, help="clips per mode fed in real time for latency")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--misses", type=int, default=12, help="misrecognitions listed per mode")
    raise SystemExit(asyncio.run(main_async(parser.parse_args())))


if __name__ == "__main__":
    main()
