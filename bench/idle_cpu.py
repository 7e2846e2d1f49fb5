"""Idle CPU of the real capture path, paced in real time, next to the bare loops in the same run.

    python -m bench.idle_cpu [--seconds 90] [--runs 3] [--compare DIR]

Every system is a process of its own capturing with pyaudio from ALSA's ``file`` plugin reading a FIFO
(tests/daemon/fifo_device.py) that this benchmark writes at exactly real-time rate: 30 ms of a quiet room
(pink noise at -56 dBFS) per write, paced on the monotonic clock. PortAudio's callback thread waits on the
FIFO as it would on a sound card, so each process does per second what it would do on a microphone.

- bare pymicro-wakeword: pyaudio (16 kHz mono, 30 ms blocking reads) -> microWakeWord features -> okay_nabu;
- bare noise suppression + webrtcvad: pyaudio -> webrtc-noise-gain (level 2, 10 ms steps) -> webrtcvad 2;
- the daemon (``assistantd run``, the offline recognizer, WATCHDOG_USEC as the shipped unit sets it) on the
  microphone in wake mode (``wake.model: okay_nabu``) and in continuous mode (``wake.model: null``);
- the daemon in continuous mode on stdin, fed 30 ms writes at the same pace (``--input -``).

All run at once, so they share the machine alike. After start-up and a warm-up, CPU time (utime + stime of
the whole process, /proc/PID/stat, every thread included) is read over ``--seconds`` of audio; the least of
``--runs`` runs is kept. Figures are CPU seconds per hour of audio; each daemon is divided by its bare loop
(target <= 1.3x). The Pi column multiplies by PI_FACTOR. ``--compare DIR`` adds the daemon rows of another
checkout (e.g. ``git worktree add /tmp/before HEAD~3``), run at the same time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.synth import make_noise, set_level, to_pcm
from tests.daemon.fifo_device import FifoDevice
from tests.daemon.harness import FLOOR_DBFS, RATE, REPO, Daemon, base_config, write_config

FRAME_BYTES = RATE * 30 // 1000 * 2
"""30 ms of 16 kHz s16le: one write of the paced device, one read of the bare loops."""
PI_FACTOR = 12.0
"""One Pi Zero 2 W core against one core here for interpreter-bound Python (sysbench single-thread says
6.4x; Python loops measured nearer 12x, issue 13): the Pi column is this many times the figure."""
WARMUP_S = 5.0
UNIT_WATCHDOG_USEC = 30_000_000
"""systemd/assistantd.service: WatchdogSec=30."""
CACHE = Path(__file__).resolve().parent / ".corpus" / "idle_cpu"
TARGET = 1.3


# -- the bare loops (run as ``python -m bench.idle_cpu --bare KIND``) -------------------------------------
def bare_loop(kind: str) -> None:
    """Capture 30 ms frames for ever and run only the detector (``wake``) or NS + webrtcvad (``ns``)."""
    import pyaudio

    work: Callable[[bytes], object]
    if kind == "wake":
        from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model

        model, features = MicroWakeWord.from_builtin(Model.OKAY_NABU), MicroWakeWordFeatures()

        def work(pcm: bytes) -> object:
            return [model.process_streaming(step) for step in features.process_streaming(pcm)]

    else:
        import webrtcvad
        from webrtc_noise_gain import AudioProcessor

        process, vad, ten_ms = AudioProcessor(0, 2).Process10ms, webrtcvad.Vad(2), FRAME_BYTES // 3

        def work(pcm: bytes) -> object:
            clean = b"".join([process(pcm[i : i + ten_ms]).audio for i in range(0, FRAME_BYTES, ten_ms)])
            return vad.is_speech(clean, RATE)

    pa = pyaudio.PyAudio()
    stream = pa.open(format=pyaudio.paInt16, channels=1, rate=RATE, input=True, frames_per_buffer=480)
    print("capturing", flush=True)
    while True:
        work(stream.read(480, exception_on_overflow=False))


# -- running the systems ----------------------------------------------------------------------------
def _cpu_s(pid: int) -> float:
    """utime + stime of the whole process (threads that exited included), seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class System:
    name: str
    baseline: str | None
    """The name of the bare loop this one is divided by (None: it is a baseline)."""
    start: Callable[[Path], Any]
    """Starts the system in a fresh directory; returns a handle with ``pid``, ``ready()`` and ``stop()``."""
    runs: list[float] = field(default_factory=list)


class _Bare:
    def __init__(self, kind: str, work: Path, room: bytes) -> None:
        self.device = FifoDevice(work, audio=room, bytes_per_s=2 * RATE, chunk_bytes=FRAME_BYTES)
        self.device.flow()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.idle_cpu", "--bare", kind],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            cwd=REPO,
            env={**os.environ, **self.device.env},
            text=True,
        )
        self.pid = self.proc.pid

    def ready(self) -> None:
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if "capturing" not in line:
            raise RuntimeError(f"bare loop did not start (exit {self.proc.poll()})")

    def stop(self) -> None:
        self.proc.kill()
        self.proc.wait(10)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self.device.close()


class _DaemonOnMic:
    def __init__(self, wake: str | None, work: Path, room: bytes, checkout: Path) -> None:
        self.device = FifoDevice(work, audio=room, bytes_per_s=2 * RATE, chunk_bytes=FRAME_BYTES)
        self.device.flow()
        path = write_config(work / "assistant.yaml", _config(wake))
        self.daemon = Daemon(
            path, env=self.device.env, watchdog_usec=UNIT_WATCHDOG_USEC, input_path=None, cwd=checkout
        )
        self.pid = self.daemon.proc.pid

    def ready(self) -> None:
        self.daemon.notice("READY")
        self.daemon.log_line("audio: capturing from")

    def stop(self) -> None:
        _stop(self.daemon)
        self.device.close()


class _DaemonOnStdin:
    """The daemon on ``--input -``, written 30 ms at a time on the audio clock, like a device would."""

    def __init__(self, work: Path, room: bytes, checkout: Path) -> None:
        path = write_config(work / "assistant.yaml", _config(None))
        self.daemon = Daemon(path, watchdog_usec=UNIT_WATCHDOG_USEC, input_path="-", cwd=checkout)
        self.pid = self.daemon.proc.pid
        self._room = room
        self._stop = threading.Event()
        self._writer = threading.Thread(target=self._write, daemon=True)
        self._writer.start()

    def _write(self) -> None:
        assert self.daemon.proc.stdin is not None
        fd = self.daemon.proc.stdin.fileno()
        start, written = time.monotonic(), 0
        while not self._stop.is_set():
            offset = written % (len(self._room) - FRAME_BYTES)
            with contextlib.suppress(BrokenPipeError):
                os.write(fd, self._room[offset : offset + FRAME_BYTES])
            written += FRAME_BYTES
            delay = start + written / (2 * RATE) - time.monotonic()
            if delay > 0:
                time.sleep(delay)

    def ready(self) -> None:
        self.daemon.notice("READY")

    def stop(self) -> None:
        self._stop.set()
        self._writer.join(5)
        _stop(self.daemon)


def _stop(daemon: Daemon) -> None:
    daemon.end_input()
    daemon.send(signal.SIGTERM)
    try:
        daemon.wait(15)
    finally:
        daemon.close()


def _config(wake: str | None) -> dict[str, Any]:
    config = base_config(CACHE / "grammar")
    config["audio"] = {"sample_rate_hz": RATE, "channels": 1}
    config["wake"] = {"model": wake}
    config["service"] = {"shutdown_grace_s": 3.0}
    return config


WAKE_BASE = "bare pymicro-wakeword loop"
NS_BASE = "bare noise suppression + webrtcvad loop"
WAKE_MIC = "daemon, wake mode, microphone"
CONTINUOUS_MIC = "daemon, continuous mode, microphone"


def systems(room: bytes, compare: Path | None, *, stdin: bool = True) -> list[System]:
    wake_base, ns_base = WAKE_BASE, NS_BASE
    out = [
        System(wake_base, None, lambda w: _Bare("wake", w, room)),
        System(ns_base, None, lambda w: _Bare("ns", w, room)),
    ]
    checkouts = [(REPO, "")] + ([(compare, f" [{compare}]")] if compare is not None else [])
    for checkout, tag in checkouts:
        out += [
            System(
                f"{WAKE_MIC}{tag}",
                wake_base,
                lambda w, c=checkout: _DaemonOnMic("okay_nabu", w, room, c),
            ),
            System(
                f"{CONTINUOUS_MIC}{tag}",
                ns_base,
                lambda w, c=checkout: _DaemonOnMic(None, w, room, c),
            ),
        ]
        if stdin:
            out.append(
                System(
                    f"daemon, continuous mode, stdin in 30 ms writes{tag}",
                    ns_base,
                    lambda w, c=checkout: _DaemonOnStdin(w, room, c),
                )
            )
    return out


def idle_by_mode(room: bytes, seconds: float, runs: int) -> dict[str, tuple[float, float]]:
    """For bench.modes: {"wake" | "continuous": (daemon CPU-s per audio-hour, its bare loop's)} on the
    paced microphone, the four systems at once, the least of ``runs`` runs of ``seconds`` each."""
    runners = systems(room, None, stdin=False)
    for _ in range(runs):
        run_once(runners, seconds)
    best = {s.name: min(s.runs) for s in runners}
    return {
        "wake": (best[WAKE_MIC], best[WAKE_BASE]),
        "continuous": (best[CONTINUOUS_MIC], best[NS_BASE]),
    }


@contextlib.contextmanager
def _started(runners: list[System]) -> Iterator[list[Any]]:
    handles: list[Any] = []
    try:
        for i, system in enumerate(runners):
            work = Path(tempfile.mkdtemp(prefix=f"idle-cpu-{i}-"))
            handles.append(system.start(work))
        for handle in handles:
            handle.ready()
        yield handles
    finally:
        for handle in handles:
            with contextlib.suppress(Exception):
                handle.stop()


def run_once(runners: list[System], seconds: float) -> None:
    with _started(runners) as handles:
        time.sleep(WARMUP_S)
        before = [(_cpu_s(h.pid), time.monotonic()) for h in handles]
        time.sleep(seconds)
        for system, handle, (cpu0, t0) in zip(runners, handles, before, strict=True):
            hours = (time.monotonic() - t0) / 3600
            system.runs.append((_cpu_s(handle.pid) - cpu0) / hours)


def report(runners: list[System], seconds: float) -> str:
    best = {s.name: min(s.runs) for s in runners}
    width = max(len(s.name) for s in runners) + 2
    lines = [
        f"idle CPU-s per audio-hour, {len(runners[0].runs)} runs of {seconds:g} s of a quiet room "
        f"(least kept), all systems at once",
        f"{'system':<{width}}{'CPU-s/h':>9}  {'runs':<20}{'x bare loop':>16}"
        f"{'Pi Zero 2 W (x' + format(PI_FACTOR, 'g') + ')':>24}",
    ]
    for s in runners:
        ratio = "1.00 (baseline)" if s.baseline is None else f"{best[s.name] / best[s.baseline]:.2f}"
        pi = best[s.name] * PI_FACTOR
        runs = " ".join(f"{r:.1f}" for r in s.runs)
        lines.append(
            f"{s.name:<{width}}{best[s.name]:>9.1f}  {runs:<20}{ratio:>16}"
            f"{pi:>12.0f} s = {100 * pi / 3600:4.1f} %"
        )
    lines.append(f"target: each daemon <= {TARGET}x its bare loop; Pi column: % of one A53 core")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=90.0, help="audio measured per run")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--compare", type=Path, help="another checkout whose daemon runs alongside")
    parser.add_argument("--bare", choices=("wake", "ns"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.bare:
        bare_loop(args.bare)
        return
    room = to_pcm(set_level(make_noise("pink", 20 * RATE, _rng()), FLOOR_DBFS))
    runners = systems(room, args.compare)
    for _ in range(args.runs):
        run_once(runners, args.seconds)
    print(report(runners, args.seconds))


def _rng() -> Any:
    import numpy as np

    return np.random.default_rng(13)


if __name__ == "__main__":
    main()
