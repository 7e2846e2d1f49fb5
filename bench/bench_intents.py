"""How much the intents layer costs per utterance, against bare hassil in the same run.

Run: python -m bench.bench_intents [--rounds N]
Prints load time, sample counts and the median time per match for exact, fuzzy and no-match texts,
each as a ratio to hassil's recognize_best on the same (already normalised) text and model: the
overhead of normalisation, number variants and the fuzzy fallback. Figures, not assertions.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from hassil import recognize_best

from assistantd.intents.loader import load_intent_files
from assistantd.intents.normalize import normalize_text

REPO = Path(__file__).resolve().parents[1]
FILES = [REPO / "config" / "intents" / "en.yaml", REPO / "config" / "intents" / "zh.yaml"]
TEXTS = {
    "exact en": "Turn on the kitchen lights, please.",
    "exact en number": "Set a timer for twenty five minutes.",
    "exact zh": "设置５分钟的计时器。",
    "fuzzy en": "turn on the kitchen lite",
    "fuzzy zh": "设置五分钟的记时器",
    "no match en": "what is the meaning of life",
    "no match zh": "今天吃什么",
}


def _median_ms(fn: object, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=100)
    args = parser.parse_args()

    start = time.perf_counter()
    matcher = load_intent_files(FILES, fuzzy_threshold=80)
    load_ms = (time.perf_counter() - start) * 1000
    print(f"load: {load_ms:.1f} ms")
    for lm in matcher.languages:
        print(f"  {lm.language}: {len(lm.intents.intents)} intents, {len(lm.samples)} fuzzy samples")

    models = {lm.language: lm for lm in matcher.languages}
    print(f"{'text':<18} {'method':<7} {'matcher ms':>10} {'hassil ms':>10} {'ratio':>6}")
    for label, text in TEXTS.items():
        match = matcher.match(text)
        language = "zh" if "zh" in label else "en"
        normalized = normalize_text(text, language)
        lm = models[language]
        ours = _median_ms(lambda t=text: matcher.match(t), args.rounds)  # type: ignore[misc]
        base = _median_ms(
            lambda n=normalized, m=lm: recognize_best(n, m.intents, language=m.language),  # type: ignore[misc]
            args.rounds,
        )
        method = match.method if match else "-"
        print(f"{label:<18} {method:<7} {ours:>10.3f} {base:>10.3f} {ours / base:>6.1f}")


if __name__ == "__main__":
    main()
