"""Issue 9: does continuous mode (no wake word) refuse what is not a command? False actions per hour of talk.

    python -m bench.rejection [--commands 24] [--snr-db 20] [--seed 9] [--sdist-cache DIR]

Corpus (bench/talk_corpus.py): talk that uses command words in other senses, by 4 flite and 2 espeak-ng
voices in room noise, plus the real speech of the pocketsphinx sdist (LibriVox, CMU); and commands
sampled from the shipped intents (as bench/command_accuracy.py does) by the 4 flite voices in the same
noise. Talk and commands are shuffled (seeded) into one stream through ONE LocalRecognizer with the
shipped config, as the daemon would hear them (the decoders' cepstral normalisation carries over).

Each clip gets the grammar sentence and the phone loop's verdict in the same decode, so one run gives:
- baseline (rejection off): the sentence goes to the daemon's matcher (fuzzy included) and any intent
  is an action; with the check: only accepted sentences act.
- false actions per hour of talk (and how many came through the fuzzy matcher);
- commands right: intent and slot values the same as for the sentence spoken, and not rejected;
- CPU: decoder-thread seconds per audio-hour, grammar alone vs grammar + phone loop; the phone loop's
  CPU per utterance and its endpoint->text time; the first ``--paced`` clips are fed in real time, for
  the latency the check adds after the endpoint (the rest as fast as the decoders take them).
Targets: <= 10 false actions per hour of talk, >= 90 % of flite commands right.

Wake mode for comparison: the talk goes through bare microWakeWord (okay_nabu, bench/wake_cpu.py's
loop); each detection would open a command window in which the talk is recognized, so detections bound
wake mode's false actions. Its commands need the phrase: see bench/wake_cpu.py for how often it is heard.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from assistantd.config import load_config
from assistantd.recognizer.local import LocalRecognizer
from assistantd.recognizer.rejection import Verdict
from bench.command_accuracy import CONFIG, VOICES, Judge, shipped, wildcard_intents
from bench.local_recognizer import paced, pct, pick_commands
from bench.synth import synthesize
from bench.talk_corpus import fetch_sdist, real_talk, room_mix, synthesized_talk
from bench.wake_cpu import bare_detections
from tests.recognizer.speech import chunks

MAX_FALSE_PER_HOUR = 10.0
MIN_COMMANDS_RIGHT = 0.90


@dataclass
class Heard:
    kind: str
    """talk | real | command"""
    voice: str
    said: str
    text: str
    verdict: Verdict | None
    audio_s: float
    grammar_cpu_s: float
    check_cpu_s: float
    grammar_final_s: float
    check_final_s: float


@dataclass
class Counts:
    clips: int = 0
    audio_s: float = 0.0
    acted: int = 0
    fuzzy: int = 0
    examples: list[str] = field(default_factory=list)


async def hear_all(clips: list[tuple[str, str, str, bytes]], cache: Path, n_paced: int) -> list[Heard]:
    config = load_config(CONFIG, env={})
    settings = dataclasses.replace(config.recognizer.local, cache_dir=str(cache))
    files, _, _ = shipped(config)
    rec = LocalRecognizer(settings, files)
    out: list[Heard] = []
    try:
        await rec.start()
        for i, (kind, voice, said, audio) in enumerate(clips):
            transcript = await rec.transcribe(paced(audio) if i < n_paced else chunks(audio))
            total, check = rec.last_timing, rec.last_check_timing
            assert total is not None and check is not None
            out.append(
                Heard(
                    kind,
                    voice,
                    said,
                    transcript.text,
                    transcript.verdict,
                    total.audio_s,
                    total.cpu_s - check.cpu_s,
                    check.cpu_s,
                    total.final_s,
                    check.final_s,
                )
            )
    finally:
        rec.close()
    return out


def main_async(args: argparse.Namespace) -> int:
    config = load_config(CONFIG, env={})
    _, intents, matcher = shipped(config)
    judge = Judge(matcher)
    rng = np.random.default_rng(args.seed)
    cache = Path(tempfile.mkdtemp(prefix="bench-reject-"))
    talk = [("talk", v, t, a) for v, t, a in synthesized_talk(cache, args.snr_db, rng)]
    data = fetch_sdist(Path(args.sdist_cache))
    real = [("real", s, n, a) for s, n, a in real_talk(data)] if data is not None else []
    commands = pick_commands(intents, args.commands, args.seed, exclude=wildcard_intents(intents))
    said = [
        ("command", voice, text, room_mix(synthesize(text, f"flite:{voice}", cache), args.snr_db, rng))
        for i, text in enumerate(commands)
        for voice in VOICES
    ]
    clips = talk + real + said
    random.Random(args.seed).shuffle(clips)
    reject = config.recognizer.local.reject
    print(
        f"talk: {len(talk)} synthesized clips ({len(talk) // 6} sentences x 6 voices) + "
        + (
            f"{len(real)} real clips from {data}"
            if data is not None
            else "NO real speech (sdist not available)"
        )
        + f"; commands: {len(commands)} x {len(VOICES)} flite voices; room noise {args.snr_db:g} dB SNR; "
        f"reject.min_score {reject.min_score:g}, max_unexplained {reject.max_unexplained:g}"
    )
    heard = asyncio.run(hear_all(clips, cache / "grammar", args.paced))

    talk_h = [h for h in heard if h.kind != "command"]
    hours = sum(h.audio_s for h in talk_h) / 3600
    base, checked = Counts(), Counts()
    for h in talk_h:
        match = matcher.match(h.text) if h.text else None
        if match is None:
            continue
        base.acted += 1
        base.fuzzy += match.method == "fuzzy"
        if h.verdict is not None and not h.verdict.accepted:
            continue
        checked.acted += 1
        checked.fuzzy += match.method == "fuzzy"
        v = h.verdict.to_dict() if h.verdict else {}
        checked.examples.append(
            f"{h.voice}: {h.said[:40]!r} -> {h.text!r} ({match.intent}, {match.method}) {v}"
        )
    cmd = [h for h in heard if h.kind == "command"]
    right_base = sum(judge.same(h.text, h.said) for h in cmd)
    right = sum(judge.same(h.text, h.said) and not (h.verdict and not h.verdict.accepted) for h in cmd)
    misses = [
        f"{h.voice}: {h.said!r} -> {h.text!r} {h.verdict.to_dict() if h.verdict else ''}"
        for h in cmd
        if judge.same(h.text, h.said) and h.verdict is not None and not h.verdict.accepted
    ]
    audio_h = sum(h.audio_s for h in heard) / 3600
    g_cpu = sum(h.grammar_cpu_s for h in heard)
    c_cpu = sum(h.check_cpu_s for h in heard)
    print(f"\ntalk: {len(talk_h)} clips, {hours * 60:.1f} min")
    print(f"{'':22} {'false actions/h':>16} {'(fuzzy)':>8} {'commands right':>15} {'CPU-s/audio-h':>14}")
    print(
        f"{'grammar only':22} {base.acted / hours:16.1f} {base.fuzzy / hours:8.1f} "
        f"{right_base / len(cmd):15.1%} {g_cpu / audio_h:14.0f}"
    )
    print(
        f"{'grammar + phone loop':22} {checked.acted / hours:16.1f} {checked.fuzzy / hours:8.1f} "
        f"{right / len(cmd):15.1%} {(g_cpu + c_cpu) / audio_h:14.0f}"
    )
    per_utt = (
        f"per utterance {c_cpu / len(heard) * 1000:.0f} ms CPU (grammar {g_cpu / len(heard) * 1000:.0f} ms)"
    )
    print(f"\nphone loop: {c_cpu / g_cpu:.2f}x the grammar's CPU; {per_utt}")
    for name, finals in (
        ("grammar", [h.grammar_final_s for h in heard]),
        ("phone loop", [h.check_final_s for h in heard]),
    ):
        print(
            f"  endpoint->result {name}: "
            f"p50 {pct(finals, 0.5) * 1000:.0f} ms, p95 {pct(finals, 0.95) * 1000:.0f} ms"
        )
    live = heard[: args.paced]
    added = [max(0.0, h.check_final_s - h.grammar_final_s) for h in live]
    live_p50 = pct([h.grammar_final_s for h in live], 0.5)
    print(
        f"  {len(live)} clips fed in real time: endpoint->text p50 {live_p50 * 1000:.0f} ms "
        f"(grammar), added by waiting for the phone loop p50 {pct(added, 0.5) * 1000:.0f} ms, "
        f"p95 {pct(added, 0.95) * 1000:.0f} ms"
    )
    for kind in ("command", "talk", "real"):
        values = sorted(
            h.verdict.score for h in heard if h.kind == kind and h.verdict and h.verdict.score is not None
        )
        if values:
            quantiles = "  ".join(f"p{round(q * 100)} {pct(values, q):.1f}" for q in (0.1, 0.5, 0.9))
            print(f"  score {kind:8}: min {values[0]:.1f}  {quantiles}  max {values[-1]:.1f}")
    silence = bytes(32000)  # 1 s between clips, so a detection cannot span two of them
    stream = silence.join(a for _, _, _, a in talk + real)
    wake_cpu = time.thread_time()
    detected = bare_detections(stream)
    wake_cpu = time.thread_time() - wake_cpu
    print(
        f"wake mode (okay_nabu, bare microWakeWord over the talk): {len(detected)} detections "
        f"= at most {len(detected) / hours:.1f} false actions/h; "
        f"{wake_cpu / (len(stream) / 32000 / 3600):.0f} CPU-s per audio-hour"
    )
    false_h = checked.acted / hours
    ok = false_h <= MAX_FALSE_PER_HOUR and right / len(cmd) >= MIN_COMMANDS_RIGHT
    print(
        f"\ntargets (<= {MAX_FALSE_PER_HOUR:g} false actions/h, >= {MIN_COMMANDS_RIGHT:.0%} commands right): "
        + ("met" if ok else "NOT met")
    )
    for line in checked.examples[: args.list]:
        print(f"  false action: {line}")
    for line in misses[: args.list]:
        print(f"  command rejected: {line}")
    if args.dump:
        for h in heard:
            print(
                "  ",
                h.kind,
                h.voice,
                repr(h.said[:30]),
                "->",
                repr(h.text),
                h.verdict.to_dict() if h.verdict else None,
            )
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--commands", type=int, default=24, help="distinct commands (each said by 4 flite voices)"
    )
    parser.add_argument("--snr-db", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=9)
    parser.add_argument("--paced", type=int, default=12, help="clips fed in real time (latency)")
    parser.add_argument("--list", type=int, default=12, help="false actions and rejected commands listed")
    parser.add_argument("--dump", action="store_true", help="print every clip's verdict (for tuning)")
    parser.add_argument(
        "--sdist-cache",
        default=str(Path(tempfile.gettempdir()) / "assistantd-bench-sdist"),
        help="where the pocketsphinx sdist is downloaded and unpacked",
    )
    raise SystemExit(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
