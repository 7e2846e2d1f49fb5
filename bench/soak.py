"""The soak: an hour of room audio with commands and talk, SIGHUP reloads along the way, every utterance told.

``python -m bench.soak [--minutes 60] [--reloads 50] [--seed 7]`` runs the real ``assistantd run --input -``
(tests/daemon/harness.py: a notify socket bound like systemd's) with the offline default recognizer and
writes to its stdin, unpaced, MINUTES of fan and pink room noise in which flite voices say commands and
flite and espeak-ng voices say conversation between them (bench.talk_corpus), 1-3 s apart. The audio is
made from the seed alone, so every run hears the same hour. Unpaced means the writer blocks on the pipe:
the daemon reads at its own decoding speed (backpressure), and nothing may be dropped. RELOADS SIGHUPs
are spread evenly over the audio, sent from a second thread while the audio keeps flowing.

Each spoken item (a command or a talk sentence) has its span on the audio clock; the daemon's report
lines carry theirs (carried on across reloads), so every item is matched to the lines that overlap it.
Printed: utterances spoken / report lines / lines per outcome / items without any line / lines with
outcome ``lost``, commands that ran their intent, duplicate ids, tracebacks in the log, RSS and threads
at the start and the end, and the wall time against the audio time.

Target (issue 10, where an hour lost 29 of 822): 0 lost, 0 items without a report line.
"""

from __future__ import annotations

import argparse
import collections
import json
import signal
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.backpressure import COMMANDS, VOICES, config
from bench.synth import make_noise, set_level, speech_level_dbfs, synthesize, to_pcm
from bench.talk_corpus import TALK, TALK_VOICES
from tests.daemon.harness import FLOOR_DBFS, RATE, SPEECH_DBFS, Daemon, write_config

BED_S = 60
"""The room bed is one minute of noise, read from a random place for every piece."""
GAP_S = (1.0, 3.0)
"""Room between two items (end of one to start of the next)."""


@dataclass(frozen=True)
class Item:
    """One thing said: ``intent`` None for talk. ``start``/``end`` are seconds on the audio clock."""

    voice: str
    text: str
    intent: str | None
    start: float
    end: float


class Hour:
    """The audio, made piece by piece (an hour is 115 MB of PCM: never held at once)."""

    def __init__(self, minutes: float, seed: int, cache: Path) -> None:
        self.total = int(minutes * 60 * RATE)
        self.rng = np.random.default_rng(seed)
        self.cache = cache
        self.bed = set_level(make_noise("fan", BED_S * RATE, self.rng), FLOOR_DBFS) + set_level(
            make_noise("pink", BED_S * RATE, self.rng), FLOOR_DBFS - 6
        )
        self.items: list[Item] = []
        self._clips: dict[tuple[str, str], np.ndarray] = {}

    def _clip(self, voice: str, text: str) -> np.ndarray:
        key = (voice, text)
        if key not in self._clips:
            clip = synthesize(text, voice, cache_dir=self.cache)
            self._clips[key] = set_level(clip, SPEECH_DBFS, speech_level_dbfs(clip))
        return self._clips[key]

    def _room(self, n: int) -> np.ndarray:
        at = int(self.rng.integers(0, len(self.bed)))
        return np.resize(np.roll(self.bed, -at), n)

    def pieces(self) -> Iterator[bytes]:
        """Yields the audio a piece (one item and the room after it) at a time; fills ``items``."""
        written = 0
        lead = int(RATE * 1.0)
        yield to_pcm(self._room(lead))
        written += lead
        k = 0
        while written < self.total:
            if k % 2 == 0:
                voice = VOICES[(k // 2) % len(VOICES)]
                intent, text = COMMANDS[int(self.rng.integers(0, len(COMMANDS)))]
            else:
                voice = TALK_VOICES[int(self.rng.integers(0, len(TALK_VOICES)))]
                intent, text = None, TALK[int(self.rng.integers(0, len(TALK)))]
            clip = self._clip(voice, text)
            gap = int(RATE * self.rng.uniform(*GAP_S))
            if written + len(clip) + gap > self.total:
                break
            piece = self._room(len(clip) + gap)
            piece[: len(clip)] += clip
            self.items.append(Item(voice, text, intent, written / RATE, (written + len(clip)) / RATE))
            written += len(piece)
            k += 1
            yield to_pcm(piece)
        if written < self.total:
            yield to_pcm(self._room(self.total - written))


@dataclass
class Reading:
    rss_kb: int
    threads: int


def _read(daemon: Daemon) -> Reading:
    return Reading(daemon.vm_rss_kb(), daemon.threads())


class Reloader:
    """Sends SIGHUP each time the writer passes the next of ``count`` evenly spaced marks, and waits for
    RELOADING=1 then READY=1 before the next (the audio keeps flowing meanwhile)."""

    def __init__(self, daemon: Daemon, total_bytes: int, count: int) -> None:
        self.daemon = daemon
        self.marks = [total_bytes * (i + 1) // (count + 1) for i in range(count)]
        self.written = 0
        self.done = 0
        self.slowest_s = 0.0
        self.failure: str | None = None
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def wrote(self, n: int) -> None:
        with self._cond:
            self.written += n
            self._cond.notify_all()

    def _run(self) -> None:
        for mark in self.marks:
            with self._cond:
                while self.written < mark and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
            since = len(self.daemon.notices)
            began = time.monotonic()
            self.daemon.send(signal.SIGHUP)
            try:
                reloading = self.daemon.notice("RELOADING", since=since)
                self.daemon.notice("READY", since=self.daemon.notices.index(reloading) + 1)
            except AssertionError as err:  # told in the summary, not lost with this thread
                self.failure = str(err).splitlines()[0]
                return
            self.slowest_s = max(self.slowest_s, time.monotonic() - began)
            self.done += 1

    def finish(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        self._thread.join(120)


def match(items: list[Item], reports: list[dict[str, Any]]) -> dict[str, int]:
    """Counts of how the items and the report lines meet: a line belongs to every item its span overlaps."""
    by_item: list[list[dict[str, Any]]] = [[] for _ in items]
    unmatched = 0
    starts = np.array([item.start for item in items])
    for report in reports:
        first = max(0, int(np.searchsorted(starts, report["end"], side="right")) - 1)
        hits = [
            i
            for i in range(max(0, first - 3), min(len(items), first + 2))
            if report["start"] < items[i].end and items[i].start < report["end"]
        ]
        for i in hits:
            by_item[i].append(report)
        unmatched += not hits
    commands = [(item, lines) for item, lines in zip(items, by_item, strict=True) if item.intent is not None]
    return {
        "items without a line": sum(1 for lines in by_item if not lines),
        "items with 2+ lines": sum(1 for lines in by_item if len(lines) > 1),
        "lines on no item (noise)": unmatched,
        "commands that ran their intent": sum(
            1 for item, lines in commands if any(r.get("intent") == item.intent for r in lines)
        ),
        "talk that ran an intent": sum(
            1
            for item, lines in zip(items, by_item, strict=True)
            if item.intent is None and any(r.get("intent") and r.get("handlers") for r in lines)
        ),
    }


def soak(minutes: float, reloads: int, seed: int, work: Path, save: Path | None = None) -> None:
    config_path = write_config(work / "assistant.yaml", config(work, 0.0))
    hour = Hour(minutes, seed, work / "speech")
    daemon = Daemon(config_path, watchdog_usec=None)
    try:
        daemon.notice("READY", timeout=120)
        start = _read(daemon)
        peak = start.rss_kb
        began = time.monotonic()
        reloader = Reloader(daemon, hour.total * 2, reloads)
        for piece in hour.pieces():
            daemon.write(piece)
            reloader.wrote(len(piece))
            peak = max(peak, daemon.vm_rss_kb())
        reloader.finish()
        daemon.wait_input_read()
        time.sleep(2.0)  # the last utterance's handlers
        end = _read(daemon)
        daemon.end_input()
        code = daemon.wait(120)
        wall = time.monotonic() - began
        reports = [json.loads(line) for line in daemon.stdout]
    finally:
        daemon.close()

    if save is not None:
        save.write_text(
            json.dumps(
                {"items": [vars(item) for item in hour.items], "reports": reports, "log": daemon.stderr}
            )
        )
    outcomes = collections.Counter(r.get("outcome", "?") for r in reports)
    ids = collections.Counter(r["id"] for r in reports)
    counts = match(hour.items, reports)
    spoken = len(hour.items)
    commands = sum(1 for item in hour.items if item.intent is not None)
    audio_s = hour.total / RATE
    print(
        f"audio {audio_s / 60:.0f} min (seed {seed}): {spoken} utterances spoken "
        f"({commands} commands, {spoken - commands} talk); {reloader.done} of {reloads} reloads "
        f"(slowest {reloader.slowest_s:.1f} s); exit {code}"
        + (f"; reloads stopped: {reloader.failure}" if reloader.failure else "")
    )
    print(
        f"report lines: {len(reports)}; by outcome: "
        + ", ".join(f"{k} {v}" for k, v in outcomes.most_common())
    )
    for name, value in counts.items():
        print(f"  {name}: {value}")
    print(f"  duplicate ids: {sum(n - 1 for n in ids.values() if n > 1)}")
    print(f"  tracebacks in the log: {sum(1 for line in daemon.stderr if 'Traceback' in line)}")
    lost = outcomes.get("lost", 0) + counts["items without a line"]
    print(f"LOST: {lost} (lines 'lost' {outcomes.get('lost', 0)} + items without a line); target 0")
    print(
        f"RSS {start.rss_kb / 1024:.1f} -> {end.rss_kb / 1024:.1f} MB (peak {peak / 1024:.1f}); "
        f"threads {start.threads} -> {end.threads}"
    )
    print(f"wall {wall:.0f} s for {audio_s:.0f} s of audio ({audio_s / wall:.1f}x real time)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minutes", type=float, default=60.0, help="minutes of audio")
    parser.add_argument("--reloads", type=int, default=50, help="SIGHUPs spread over the run")
    parser.add_argument("--seed", type=int, default=7, help="makes the audio (same seed, same audio)")
    parser.add_argument("--save", type=Path, help="write the items, report lines and log here (JSON)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-soak-") as tmp:
        soak(args.minutes, args.reloads, args.seed, Path(tmp), args.save)


if __name__ == "__main__":
    main()
