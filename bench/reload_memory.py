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
    path: Path, audio: Audio | None, reloads: int, holds: list[float] | None
) -> tuple[list[Reading], list[float]]:
    """Readings at the start and after each round, and each round's wall seconds. A round is ``reloads``
    SIGHUPs (``holds`` None: ROUNDS of them) or, for the baseline, waiting ``holds[i]`` seconds."""
    daemon = Daemon(path, watchdog_usec=None, env=FAKE_KEYS)
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--reloads", type=int, default=100)
    parser.add_argument("--only", choices=("cloud", "local"), help="one recognizer set-up only")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-reload-"))
    with fake_sauc_process("--transcript", "turn on the kitchen lights") as fake_url:
        configs = _configs(work, fake_url)
        audio = Audio(work / "speech")
        print(f"{args.reloads} reloads per set-up; baseline: same daemon and feed, same wall time, no reload")
        print(
            f"{'set-up':<16}{'RSS start':>10}{'after N':>10}{'growth':>9}{'per reload':>12}"
            f"{'next N':>11}{'threads':>10}{'baseline':>11}{'wall':>7}"
        )
        for name, cfg in configs.items():
            if args.only and name != args.only:
                continue
            path = write_config(work / f"{name}.yaml", cfg)
            for fed in (False, True):
                feed = audio if fed else None
                readings, took = _session(path, feed, args.reloads, None)
                base, _ = _session(path, feed, 0, took)
                first, then = _growth_mb(readings)
                label = f"{name}, {'audio' if fed else 'no audio'}"
                print(
                    f"{label:<16}{readings[0].rss_kb / 1024:>8.1f}MB{readings[1].rss_kb / 1024:>8.1f}MB"
                    f"{first:>7.2f}MB{first * 1024 / args.reloads:>10.1f}kB{then:>9.2f}MB"
                    f"{readings[0].threads:>5} ->{readings[-1].threads:>2}"
                    f"{(base[-1].rss_kb - base[0].rss_kb) / 1024:>9.2f}MB{sum(took):>6.0f}s",
                    flush=True,
                )
        print("target: growth <= 1 MB over 100 reloads")


if __name__ == "__main__":
    main()
