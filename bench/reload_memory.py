"""Memory across reloads: RSS and threads of the real daemon over N SIGHUPs, against the same daemon idle.

``python -m bench.reload_memory [--reloads 100]`` runs ``assistantd run --input -`` (tests/daemon/harness.py:
a notify socket bound like systemd's) in four set-ups: a cloud recognizer (volcengine pointed at the loopback
fake tests.fakes.sauc, no fallback) and the offline default (pocketsphinx), each with no audio and with
room noise and spoken commands streamed in real time. Per set-up: warm up, read VmRSS and the thread count,
send SIGHUP N times (each time waiting for RELOADING=1, then READY=1), read them again. A second round
of N reloads ("next N") tells a leak (grows again) from an allocator settling (does not). The baseline is
a second daemon of the same config, fed the same way for the same wall time (both rounds), never reloaded.

Target (issue 10): growth <= 1 MB over 100 reloads. Before shared_models.py, 100 reloads grew RSS by
80 MB (cloud, local; no audio) to 123 MB (local, audio), and a local reload took ten times as long.
"""

from __future__ import annotations

import argparse
import copy
import signal
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.daemon.harness import Audio, Daemon, base_config, fake_sauc_process, write_config

FAKE_KEYS = {"BENCH_APP_KEY": "test-app-key", "BENCH_ACCESS_KEY": "test-access-key"}
WARMUP_RELOADS = 3
"""Reloads before the first reading (the first ones also load lazily imported modules)."""
SETTLE_S = 2.0
ROUNDS = 2
"""Rounds of N reloads: a leak grows in the second as in the first; warm-up (allocator high-water marks)
only in the first."""


@dataclass
class Reading:
    rss_kb: int
    threads: int


def _read(daemon: Daemon) -> Reading:
    fields = dict(
        line.split(":", 1) for line in Path(f"/proc/{daemon.proc.pid}/status").read_text().splitlines()
    )
    return Reading(int(fields["VmRSS"].split()[0]), int(fields["Threads"]))


class Feeder:
    """Streams room noise with a spoken command every few seconds, in real time, until stopped."""

    def __init__(self, daemon: Daemon, audio: Audio) -> None:
        self.daemon = daemon
        self.pieces = [
            audio.room(0.5) + audio.command("turn on the kitchen lights") + audio.room(1.5),
            audio.room(4.0),
        ]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> Feeder:
        self._thread.start()
        return self

    def _run(self) -> None:
        i = 0
        while not self._stop.is_set():
            try:
                self.daemon.stream(self.pieces[i % len(self.pieces)])
            except (BrokenPipeError, ValueError):
                return
            i += 1

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)


def _reload(daemon: Daemon) -> None:
    since = len(daemon.notices)
    daemon.send(signal.SIGHUP)
    reloading = daemon.notice("RELOADING", since=since)
    daemon.notice("READY", since=daemon.notices.index(reloading) + 1)


def _session(
    path: Path, audio: Audio | None, reloads: int, holds: list[float] | None, env: dict[str, str]
) -> tuple[list[Reading], list[float]]:
    """Readings at the start and after each round, and each round's wall seconds. A round is ``reloads``
    SIGHUPs (``holds`` None: ROUNDS of them) or, for the baseline, waiting ``holds[i]`` seconds."""
    daemon = Daemon(path, watchdog_usec=None, env=env)
    feeder = None
    try:
        daemon.notice("READY", timeout=60)
        if audio is not None:
            feeder = Feeder(daemon, audio).start()
        for _ in range(WARMUP_RELOADS):
            _reload(daemon)
        time.sleep(SETTLE_S)
        readings = [_read(daemon)]
        took: list[float] = []
        for hold in holds if holds is not None else [None] * ROUNDS:
            began = time.monotonic()
            if hold is None:
                for _ in range(reloads):
                    _reload(daemon)
            else:
                time.sleep(hold)
            took.append(time.monotonic() - began)
            time.sleep(SETTLE_S)
            readings.append(_read(daemon))
        return readings, took
    finally:
        if feeder is not None:
            feeder.stop()
        daemon.close()


def _growth_mb(readings: list[Reading]) -> tuple[float, float]:
    """RSS growth over the first round and over the next one, MB."""
    first = (readings[1].rss_kb - readings[0].rss_kb) / 1024
    then = (readings[2].rss_kb - readings[1].rss_kb) / 1024
    return first, then


def _configs(work: Path, fake_url: str) -> dict[str, dict[str, Any]]:
    local = base_config(work / "grammar")
    cloud = copy.deepcopy(local)
    cloud["recognizer"] = {
        "default": "volcengine",
        "fallback": None,
        "volcengine": {"app_key": "${BENCH_APP_KEY}", "access_key": "${BENCH_ACCESS_KEY}", "url": fake_url},
    }
    return {"cloud": cloud, "local": local}


def _run(path: Path, audio: Audio | None, reloads: int, env: dict[str, str]) -> Row:
    readings, took = _session(path, audio, reloads, None, env)
    base, _ = _session(path, audio, 0, took, env)
    first, then = _growth_mb(readings)
    return Row(readings, first, then, (base[-1].rss_kb - base[0].rss_kb) / 1024, sum(took))


@dataclass
class Row:
    readings: list[Reading]
    first_mb: float
    next_mb: float
    baseline_mb: float
    wall_s: float


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reloads", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3, help="runs per set-up (the spread is printed)")
    parser.add_argument("--only", choices=("cloud", "local"), help="one recognizer set-up only")
    parser.add_argument(
        "--env", action="append", default=[], metavar="KEY=VALUE", help="for the daemons (MALLOC_ARENA_MAX=2)"
    )
    args = parser.parse_args()
    env = FAKE_KEYS | dict(item.split("=", 1) for item in args.env)
    work = Path(tempfile.mkdtemp(prefix="bench-reload-"))
    with fake_sauc_process("--transcript", "turn on the kitchen lights") as fake_url:
        configs = _configs(work, fake_url)
        audio = Audio(work / "speech")
        print(
            f"{args.reloads} reloads per round, {args.runs} runs per set-up; baseline: the same daemon and "
            f"feed, never reloaded, for the same wall time as both rounds; target: growth <= 1 MB over 100"
        )
        print(
            f"{'set-up':<16}{'run':>4}{'RSS start':>10}{'after N':>10}{'growth':>9}{'next N':>9}"
            f"{'baseline':>10}{'threads':>10}{'wall':>7}{'target':>8}"
        )
        summary = []
        for name, cfg in configs.items():
            if args.only and name != args.only:
                continue
            path = write_config(work / f"{name}.yaml", cfg)
            for fed in (False, True):
                label = f"{name}, {'audio' if fed else 'no audio'}"
                rows = []
                for run in range(args.runs):
                    row = _run(path, audio if fed else None, args.reloads, env)
                    rows.append(row)
                    start, after, last = row.readings[0], row.readings[1], row.readings[-1]
                    verdict = "met" if row.first_mb * 100 / args.reloads <= 1.0 else "MISSED"
                    print(
                        f"{label:<16}{run + 1:>4}{start.rss_kb / 1024:>8.1f}MB{after.rss_kb / 1024:>8.1f}MB"
                        f"{row.first_mb:>7.2f}MB{row.next_mb:>7.2f}MB{row.baseline_mb:>8.2f}MB"
                        f"{start.threads:>5} ->{last.threads:>2}{row.wall_s:>6.0f}s{verdict:>8}",
                        flush=True,
                    )
                summary.append((label, rows))
        print()
        print(f"{'set-up':<16}{'growth, first N':>20}{'next N':>16}{'baseline':>16}   (min .. max MB)")
        for label, rows in summary:
            cells = [[r.first_mb for r in rows], [r.next_mb for r in rows], [r.baseline_mb for r in rows]]
            print(f"{label:<16}" + "".join(f"{min(c):>10.2f} ..{max(c):>5.2f}" for c in cells))


if __name__ == "__main__":
    main()
