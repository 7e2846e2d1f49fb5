"""The real daemon as a child process, watched the way systemd watches it.

``Daemon`` starts ``python -m assistantd run --input -`` with NOTIFY_SOCKET pointing at an AF_UNIX datagram
socket it binds (as systemd does for Type=notify units) and WATCHDOG_USEC set, writes raw 16 kHz s16le audio
to its stdin and collects every notify datagram, stdout line (one JSON object per utterance) and stderr line
(the log) with the time it arrived. bench/daemon.py drives the same class.

Audio is real flite speech (bench.synth) over a quiet room's noise floor, never arrays of constants.
"""

from __future__ import annotations

import array
import contextlib
import fcntl
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import termios
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import yaml

from bench.synth import make_noise, set_level, speech_level_dbfs, synthesize, to_pcm

REPO = Path(__file__).resolve().parents[2]
RATE = 16000
CHUNK_BYTES = 8000
"""What ``stream`` writes at a time: 0.25 s, StdinSource's read size."""
SPEECH_DBFS = -26.0
FLOOR_DBFS = -56.0
"""A quiet room's noise floor, 30 dB under the speech."""
DEADLINE_S = float(os.environ.get("ASSISTANTD_TEST_DEADLINE_S", "60"))
"""How long a wait for something the daemon must do may take before the test fails. It only bounds a
hang: a loaded machine may be slow, and no verdict depends on how fast the daemon is."""


# -- audio ------------------------------------------------------------------------------------------
class Audio:
    """Makes test audio: commands spoken by flite over a continuous room-noise floor.

    The noise of each piece is seeded by what is asked for, so a test gets the same audio whatever ran
    before it (a shared generator would make a test's noise depend on the order of the suite).
    """

    def __init__(self, cache_dir: Path, seed: int = 3) -> None:
        self.cache_dir = cache_dir
        self.seed = seed

    def _rng(self, *key: object) -> np.random.Generator:
        return np.random.default_rng([self.seed, zlib.crc32(repr(key).encode())])

    def room(self, seconds: float) -> bytes:
        n = int(RATE * seconds)
        return to_pcm(set_level(make_noise("pink", n, self._rng("room", n)), FLOOR_DBFS))

    def command(self, text: str, voice: str = "flite:slt") -> bytes:
        """The spoken command with 0.3 s of room before it and nothing after (the caller adds the pause)."""
        clip = synthesize(text, voice, cache_dir=self.cache_dir)
        clip = set_level(clip, SPEECH_DBFS, speech_level_dbfs(clip))
        lead = int(RATE * 0.3)
        speech = np.concatenate([np.zeros(lead), clip])
        noise = set_level(make_noise("pink", len(speech), self._rng("command", text, voice)), FLOOR_DBFS)
        return to_pcm(speech + noise)


# -- config -----------------------------------------------------------------------------------------
def base_config(cache_dir: Path) -> dict[str, Any]:
    """A daemon config: offline recognizer, English intents, exec handlers only (nothing plays sound)."""
    return {
        "recognizer": {"default": "local", "local": {"cache_dir": str(cache_dir)}},
        "intents": {"files": [str(REPO / "config" / "intents" / "en.yaml")]},
        "handlers": {"bindings": [{"intent": "LightOn", "exec": {"argv": ["true"], "timeout_s": 5}}]},
        "service": {"watchdog_stall_s": 1.0, "shutdown_grace_s": 4.5},
    }


def write_config(path: Path, config: Mapping[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(dict(config), sort_keys=False))
    return path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# -- the daemon -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Notice:
    """One sd_notify datagram: ``at`` is time.monotonic() on receipt."""

    at: float
    text: str

    @property
    def fields(self) -> dict[str, str]:
        out: dict[str, str] = {}
        for line in self.text.splitlines():
            key, _, value = line.partition("=")
            out[key] = value
        return out


class Daemon:
    """``python -m assistantd run --config CONFIG --input -`` under a fake service manager.

    ``input_path=None`` runs it on the microphone: pass ALSA_CONFIG_PATH in ``env`` (see fifo_device).
    ``cwd`` is the checkout whose ``assistantd`` runs (a benchmark may compare another one).
    """

    def __init__(
        self,
        config: Path,
        *,
        env: Mapping[str, str] | None = None,
        watchdog_usec: int | None = 1_000_000,
        input_path: str | None = "-",
        verbose: bool = False,
        cwd: Path = REPO,
    ) -> None:
        # AF_UNIX paths are limited to 108 bytes: pytest's tmp_path can be longer.
        self.dir = Path(tempfile.mkdtemp(prefix="assistantd-notify-"))
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(str(self.dir / "notify"))
        self.sock.settimeout(0.1)
        child_env = {k: v for k, v in os.environ.items() if k not in ("WATCHDOG_PID", "JOURNAL_STREAM")}
        child_env["NOTIFY_SOCKET"] = str(self.dir / "notify")
        child_env["PYTHONUNBUFFERED"] = "1"
        if watchdog_usec is not None:
            child_env["WATCHDOG_USEC"] = str(watchdog_usec)
        else:
            child_env.pop("WATCHDOG_USEC", None)
        child_env.update(env or {})
        self.config = config
        self.notices: list[Notice] = []
        self.stdout: list[str] = []
        self.stderr: list[str] = []
        self._cond = threading.Condition()
        self._closed = False
        self._empty_reads = 0
        """Times the notify receiver found the socket empty (to know it has read all that was sent)."""
        self.started_at = time.monotonic()
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "assistantd",
                *(["-v"] if verbose else []),
                "run",
                "--config",
                str(config),
                *(["--input", input_path] if input_path is not None else []),
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=cwd,
            env=child_env,
        )
        assert self.proc.stdout is not None and self.proc.stderr is not None
        self._threads = [
            threading.Thread(target=self._read_lines, args=(self.proc.stdout, self.stdout), daemon=True),
            threading.Thread(target=self._read_lines, args=(self.proc.stderr, self.stderr), daemon=True),
            threading.Thread(target=self._receive_notices, daemon=True),
        ]
        for t in self._threads:
            t.start()

    # -- collectors ---------------------------------------------------------------------------------
    def _read_lines(self, stream: IO[bytes], into: list[str]) -> None:
        for raw in stream:
            with self._cond:
                into.append(raw.decode("utf-8", "replace").rstrip("\n"))
                self._cond.notify_all()

    def _receive_notices(self) -> None:
        while not self._closed:
            try:
                data = self.sock.recv(4096)
            except TimeoutError:
                with self._cond:
                    self._empty_reads += 1
                    self._cond.notify_all()
                continue
            except OSError:
                return
            with self._cond:
                self.notices.append(Notice(time.monotonic(), data.decode()))
                self._cond.notify_all()

    def wait_until(self, predicate: Callable[[], Any], timeout: float, what: str) -> Any:
        """Wait for ``predicate()`` to return something truthy; fail with the log's tail if it does not.

        Once the daemon has exited, everything it wrote is collected first (its pipes to EOF, its
        datagrams until the socket is empty), so the verdict never depends on the readers' speed.
        """
        deadline = time.monotonic() + timeout
        with self._cond:
            while not (result := predicate()) and self.proc.poll() is None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._cond.wait(min(left, 0.1))
        if not result and self.proc.poll() is not None:
            self._collect_all()
            with self._cond:
                result = predicate()
        if not result:
            tail = "\n".join(self.stderr[-int(os.environ.get("ASSISTANTD_TEST_LOG_TAIL", "15")) :])
            raise AssertionError(
                f"{what}: not within {timeout} s (exit {self.proc.poll()}); log tail:\n{tail}"
            )
        return result

    def _collect_all(self) -> None:
        """After the exit: read the pipes to EOF and the notify socket until it is empty."""
        for t in self._threads[:2]:
            t.join(DEADLINE_S)
        with self._cond:
            # Datagrams sent before the exit are already queued: the next empty read comes after them.
            seen = self._empty_reads
            self._cond.wait_for(lambda: self._empty_reads > seen + 1 or self._closed, DEADLINE_S)

    def notice(self, key: str, timeout: float = DEADLINE_S, *, since: int = 0) -> Notice:
        """The first datagram from index ``since`` on that carries ``KEY=``."""

        def find() -> Notice | None:
            return next((n for n in self.notices[since:] if key in n.fields), None)

        found: Notice = self.wait_until(find, timeout, f"{key}= on the notify socket")
        return found

    def log_line(self, text: str, timeout: float = DEADLINE_S, *, since: int = 0) -> str:
        def find() -> str | None:
            return next((line for line in self.stderr[since:] if text in line), None)

        found: str = self.wait_until(find, timeout, f"log line containing {text!r}")
        return found

    def reports(self, count: int, timeout: float = DEADLINE_S) -> list[dict[str, Any]]:
        """Wait for ``count`` JSON lines on stdout and return all of them, parsed."""
        self.wait_until(lambda: len(self.stdout) >= count, timeout, f"{count} utterance report(s)")
        return [json.loads(line) for line in self.stdout]

    def statuses(self) -> list[str]:
        with self._cond:
            return [n.fields["STATUS"] for n in self.notices if "STATUS" in n.fields]

    # -- driving ------------------------------------------------------------------------------------
    def write(self, pcm: bytes) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(pcm)
        self.proc.stdin.flush()

    def stream(self, pcm: bytes, realtime_factor: float = 1.0) -> None:
        """Write ``pcm`` a chunk at a time at ``realtime_factor`` times real time, like a microphone."""
        start = time.monotonic()
        for i in range(0, len(pcm), CHUNK_BYTES):
            due = start + (i / (2 * RATE)) / realtime_factor
            time.sleep(max(0.0, due - time.monotonic()))
            self.write(pcm[i : i + CHUNK_BYTES])

    def end_input(self) -> None:
        assert self.proc.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            self.proc.stdin.close()

    def wait_input_read(self, timeout: float = DEADLINE_S) -> None:
        """Wait until the daemon has read everything written to its stdin (the pipe is empty).

        StdinSource reads its next chunk only after the frames of the last one went through the
        listener, so at most the last chunk written may still be on its way through.
        """
        assert self.proc.stdin is not None
        fd = self.proc.stdin.fileno()

        def empty() -> bool:
            pending = array.array("i", [0])
            fcntl.ioctl(fd, termios.FIONREAD, pending)
            return pending[0] == 0

        self.wait_until(empty, timeout, "the daemon to read all of its input")

    def send(self, sig: signal.Signals) -> None:
        self.proc.send_signal(sig)

    def wait(self, timeout: float = DEADLINE_S) -> int:
        code = self.proc.wait(timeout)
        self._collect_all()
        return code

    def _proc_status(self, key: str) -> int:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith(f"{key}:"):
                return int(line.split()[1])
        raise RuntimeError(f"no {key} line")

    def vm_rss_kb(self) -> int:
        return self._proc_status("VmRSS")

    def threads(self) -> int:
        """The daemon's threads now (Python's and PortAudio's), or 0 once it has exited."""
        try:
            return self._proc_status("Threads")
        except (FileNotFoundError, ProcessLookupError, RuntimeError):
            return 0

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        for pipe in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            if pipe is not None:
                with contextlib.suppress(OSError):
                    pipe.close()
        self._closed = True
        self.sock.close()
        self._threads[2].join(timeout=1)
        shutil.rmtree(self.dir, ignore_errors=True)


class ThreadSampler:
    """The daemon's thread count (/proc/PID/status), sampled every ``interval_s`` until stopped; ``peak``
    is the most seen."""

    def __init__(self, daemon: Daemon, interval_s: float = 0.05) -> None:
        self.daemon = daemon
        self.interval_s = interval_s
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.peak = max(self.peak, self.daemon.threads())

    def stop(self) -> int:
        self._stop.set()
        self._thread.join(5)
        return self.peak


@contextlib.contextmanager
def fake_sauc_process(*args: str) -> Iterator[str]:
    """``python -m tests.fakes.sauc ARGS`` on 127.0.0.1 as a process of its own (a daemon under test is
    another process, so the fake's state is not shared with it); yields its ws:// URL."""
    fake = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.sauc", *args], cwd=REPO, stdout=subprocess.PIPE, text=True
    )
    try:
        assert fake.stdout is not None
        yield fake.stdout.readline().split(" on ", 1)[1].strip()
    finally:
        fake.terminate()
        fake.wait(DEADLINE_S)
        if fake.stdout is not None:
            fake.stdout.close()
