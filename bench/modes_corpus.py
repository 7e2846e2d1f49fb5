"""bench/modes.py's corpus: talk, commands said without the wake phrase and commands after it, laid out
in room noise, with where each line landed; and which line a daemon report belongs to.

Talk is bench/talk_corpus.py's (sentences that use the command words in other senses, 4 flite and 2
espeak-ng voices, plus the real speech of the pocketsphinx sdist); commands are sampled from the shipped
intents as bench/command_accuracy.py does, each by its 4 flite voices, once bare and once after "okay
nabu" (the gaps of bench/wake_cpu.py in turn). Lines are shuffled (seeded) and laid out by
bench/wake_audio.py's ``build`` in fan + pink room noise.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hassil import Intents

from bench.command_accuracy import VOICES, wildcard_intents
from bench.local_recognizer import pick_commands
from bench.synth import to_pcm
from bench.talk_corpus import TALK, TALK_VOICES, real_talk
from bench.wake_audio import Line, Placed, build
from bench.wake_cpu import GAPS

KINDS = ("talk", "bare", "addressed")
"""talk: not meant for the assistant; bare: a command without the wake phrase; addressed: after it."""
PAUSE_S = 2.5


@dataclass(frozen=True)
class Item:
    kind: str
    line: Line


@dataclass(frozen=True)
class Recording:
    pcm: bytes
    items: list[Item]
    placed: list[Placed]

    def hours(self, kind: str) -> float:
        """Speech time of the lines of ``kind`` (their voiced regions), hours."""
        return (
            sum(p.end - p.start for i, p in zip(self.items, self.placed, strict=True) if i.kind == kind)
            / 3600
        )

    def owner(self, start: float) -> int:
        """The line a report starting at ``start`` belongs to: each line owns the timeline from halfway
        through the pause before it to halfway through the pause after it (a report starts at most the
        pre-roll before its speech, and a long line cut into pieces starts each piece inside itself)."""
        bounds = [p.end + i.line.pause_after_s / 2 for i, p in zip(self.items, self.placed, strict=True)]
        return min(bisect.bisect_left(bounds, start), len(self.items) - 1)


def items(
    intents: Intents, *, commands: int, talk: int, real: int, seed: int, sdist: Path | None
) -> list[Item]:
    """``talk`` synthesized talk lines and ``real`` sdist clips, and ``commands`` commands x 4 voices x
    (bare, addressed), shuffled."""
    rng = random.Random(seed)
    said = [Line(v, t, pause_after_s=PAUSE_S) for t, v in itertools.product(TALK, TALK_VOICES)]
    out = [Item("talk", line) for line in rng.sample(said, min(talk, len(said)))]
    if sdist is not None:
        clips = real_talk(sdist)
        out += [
            Item("talk", Line(source, name, pause_after_s=PAUSE_S, recorded=pcm))
            for source, name, pcm in rng.sample(clips, min(real, len(clips)))
        ]
    picked = pick_commands(intents, commands, seed, exclude=wildcard_intents(intents))
    for i, (text, voice) in enumerate(itertools.product(picked, VOICES)):
        out.append(Item("bare", Line(f"flite:{voice}", text, pause_after_s=PAUSE_S)))
        gap = GAPS[1 + i % (len(GAPS) - 1)]  # 0.05, 0.15, 0.6 s: GAPS[0], glued to the phrase, is rare
        out.append(Item("addressed", Line(f"flite:{voice}", text, gap_s=gap, pause_after_s=PAUSE_S)))
    rng.shuffle(out)
    return out


def record(chosen: Sequence[Item], *, snr_db: float, seed: int, cache: Path) -> Recording:
    audio, placed = build([i.line for i in chosen], seed=seed, snr_db=snr_db, cache=cache)
    return Recording(to_pcm(audio), list(chosen), placed)


def room(seconds: float, *, snr_db: float, seed: int) -> bytes:
    """Room noise alone, at the level the recordings have it."""
    audio, _ = build([Line("flite:kal16", "", pause_after_s=seconds)], seed=seed, snr_db=snr_db)
    return to_pcm(audio)


def by_line(recording: Recording, reports: Sequence[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The daemon's report lines grouped by the line of the recording they belong to."""
    out: list[list[dict[str, Any]]] = [[] for _ in recording.items]
    for report in reports:
        out[recording.owner(float(report["start"]))].append(report)
    return out
