"""Capture faults against the real daemon: does it stop by itself, how fast, with how many threads?

``python -m bench.capture_faults [--fault-s 20] [--long-s 150] [--repo PATH]`` runs ``assistantd run`` on
the microphone, which is ALSA's ``file`` plugin reading a FIFO (tests/daemon/fifo_device.py), under a
notify socket with WATCHDOG_USEC set, with the config's audio defaults (stall_timeout_s 3 s, retries from
0.5 s to 30 s). Each scenario breaks the device, waits ``--fault-s`` (or ``--long-s``), sends SIGTERM and
prints: the time from SIGTERM to exit, the exit code ("KILL" when it had not exited after KILL_AFTER_S and
needed SIGKILL), the most threads the daemon had, and the longest gap between WATCHDOG=1 pings during the
fault (the unit's WatchdogSec is 30 s). The healthy run (audio flowing all along) is the baseline: stop
times are also given as a ratio to it. ``--repo`` runs another checkout (e.g. one before a change) the
same way, for comparison.

Scenarios: input missing at start (a FIFO nobody writes: opening it blocks), stalls of fault-s and long-s
(the writer keeps the FIFO open and stops writing: ALSA's read() blocks), writer EOF (the writer closes:
ALSA reads silence), writer EOF then a reload (SIGHUP: the reopen blocks with no writer), FIFO deleted
(during a stall), junk asound.conf (ALSA cannot parse its config).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from tests.daemon.fifo_device import FifoDevice
from tests.daemon.harness import DEADLINE_S, REPO, Daemon, ThreadSampler, base_config, write_config

KILL_AFTER_S = 30.0
"""A daemon still running this long after SIGTERM counts as one that needs SIGKILL."""
WIDTHS = (7, 7, 5, 8, 11, 6)
READY_WAIT_S = 20.0
"""Longer than start-up takes here (about 1 s); a daemon blocked before READY=1 is noted and stopped."""
WATCHDOG_USEC = 2_000_000
"""Pings every second, so the gaps show to about a second."""


@dataclass
class Result:
    name: str
    stop_s: float | None
    """SIGTERM to exit; None when it needed SIGKILL."""
    code: int | None
    max_threads: int
    ping_gap_s: float
    ready: bool


def ping_gap(daemon: Daemon, start: float, end: float) -> float:
    """The longest time without WATCHDOG=1 between ``start`` and ``end`` (monotonic times)."""
    pings = [n.at for n in daemon.notices if "WATCHDOG" in n.fields and start <= n.at <= end]
    marks = [start, *pings, end]
    return max(b - a for a, b in itertools.pairwise(marks))


Fault = Callable[[Daemon, FifoDevice], None]


def run_scenario(
    name: str, work: Path, repo: Path, fault: Fault, fault_s: float, *, flow: bool = True, junk: bool = False
) -> Result:
    directory = Path(tempfile.mkdtemp(dir=work))
    fifo = FifoDevice(directory)
    env = dict(fifo.env)
    if junk:
        conf = directory / "junk.conf"
        conf.write_text("pcm.!default { type file slave.pcm { type null\n infile = = ; }}}\x00\x01 garbage\n")
        env["ALSA_CONFIG_PATH"] = str(conf)
    config = base_config(work / "grammar")
    del config["service"]["watchdog_stall_s"]  # the default, as installed
    path = write_config(directory / "assistant.yaml", config)
    if flow:
        fifo.flow()
    daemon = Daemon(path, env=env, input_path=None, watchdog_usec=WATCHDOG_USEC, cwd=repo)
    sampler = ThreadSampler(daemon, interval_s=0.1)
    try:
        try:
            daemon.notice("READY", timeout=READY_WAIT_S)
            ready = True
        except AssertionError:
            ready = False
        if ready and flow and not junk:
            daemon.log_line("capturing from", timeout=DEADLINE_S)
            fifo.wait_consumed(256 * 1024, DEADLINE_S)
        started = time.monotonic()
        fault(daemon, fifo)
        time.sleep(fault_s)
        term = time.monotonic()
        daemon.send(signal.SIGTERM)
        try:
            code: int | None = daemon.proc.wait(KILL_AFTER_S)
            stop_s: float | None = time.monotonic() - term
        except subprocess.TimeoutExpired:
            code = stop_s = None
        return Result(name, stop_s, code, sampler.stop(), ping_gap(daemon, started, term), ready)
    finally:
        sampler.stop()
        daemon.close()
        fifo.close()


def nothing(daemon: Daemon, fifo: FifoDevice) -> None:
    pass


def stall(daemon: Daemon, fifo: FifoDevice) -> None:
    fifo.stall()


def eof(daemon: Daemon, fifo: FifoDevice) -> None:
    fifo.close_writer()


def eof_reload(daemon: Daemon, fifo: FifoDevice) -> None:
    fifo.close_writer()
    daemon.send(signal.SIGHUP)


def delete(daemon: Daemon, fifo: FifoDevice) -> None:
    fifo.stall()
    fifo.delete()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fault-s", type=float, default=20.0, help="how long each fault lasts")
    parser.add_argument("--long-s", type=float, default=150.0, help="the long stall (0: skip it)")
    parser.add_argument("--repo", type=Path, default=REPO, help="the checkout to run (default: this one)")
    args = parser.parse_args()
    scenarios: list[tuple[str, Fault, float, dict[str, bool]]] = [
        ("healthy (baseline)", nothing, args.fault_s, {}),
        ("input missing at start", nothing, args.fault_s, {"flow": False}),
        (f"stall {args.fault_s:g} s", stall, args.fault_s, {}),
        ("writer EOF", eof, args.fault_s, {}),
        ("writer EOF, then reload", eof_reload, args.fault_s, {}),
        ("FIFO deleted", delete, args.fault_s, {}),
        ("junk asound.conf", nothing, args.fault_s, {"junk": True}),
    ]
    if args.long_s > 0:
        scenarios.append((f"stall {args.long_s:g} s", stall, args.long_s, {}))
    print(f"assistantd from {args.repo}; SIGKILL after {KILL_AFTER_S:g} s")
    print("the unit: TimeoutStopSec=10, WatchdogSec=30")
    columns = ("stop s", "x base", "exit", "threads", "ping gap s", "READY")
    print(f"{'scenario':<26} " + " ".join(f"{c:>{w}}" for c, w in zip(columns, WIDTHS, strict=True)))
    baseline: float | None = None
    with tempfile.TemporaryDirectory(prefix="capture-faults-") as tmp:
        work = Path(tmp)
        for name, fault, seconds, options in scenarios:
            r = run_scenario(name, work, args.repo, fault, seconds, **options)
            if baseline is None:
                baseline = r.stop_s
            stop = f"{r.stop_s:.2f}" if r.stop_s is not None else "hung"
            ratio = f"{r.stop_s / baseline:.1f}" if r.stop_s is not None and baseline else "-"
            code = str(r.code) if r.code is not None else "KILL"
            cells = (stop, ratio, code, str(r.max_threads), f"{r.ping_gap_s:.1f}", "yes" if r.ready else "no")
            print(
                f"{name:<26} " + " ".join(f"{c:>{w}}" for c, w in zip(cells, WIDTHS, strict=True)), flush=True
            )


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        main()
