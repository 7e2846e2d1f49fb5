"""A capture device that can fail on cue: ALSA's ``file`` plugin reading a FIFO that a thread writes.

PortAudio sees an ordinary ALSA default input. What it reads is whatever ``FifoDevice`` writes: room
noise while ``flow()``, nothing while ``stall()`` (the writer keeps the FIFO open, so ALSA's ``read()``
blocks in PortAudio's callback thread, as a wedged USB device does), end of file after ``close_writer()``
(and then a new open of the FIFO blocks until a writer comes back), no device after ``delete()``.
Before ``flow()`` the FIFO has no writer at all: opening it blocks, the "input missing at start" case.

The writer holds the FIFO open read-write, so the daemon's opens (PortAudio probes the device, then
opens the stream) never wait for it while it is there, and never see SIGPIPE-style hang-ups between them.

With ``bytes_per_s`` the writer is paced: ``chunk_bytes`` at a time, each when the audio clock says it is
due, so the capture side sees a device that runs in real time (bench/idle_cpu.py), not a file read as fast
as it can be.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
from pathlib import Path

import numpy as np

from tests.audio.conftest import write_alsa_conf

CHUNK_BYTES = 4096
PIPE_BYTES = 1 << 16
"""Linux's default pipe capacity: what can be written before anyone reads."""


class FifoDevice:
    def __init__(
        self,
        directory: Path,
        seed: int = 5,
        *,
        audio: bytes | None = None,
        bytes_per_s: float | None = None,
        chunk_bytes: int = CHUNK_BYTES,
    ) -> None:
        """``audio`` (looped) is what the device plays; by default a quiet room's noise."""
        self.path = directory / "mic.fifo"
        os.mkfifo(self.path)
        self.conf = write_alsa_conf(directory, self.path)
        self.env = {"ALSA_CONFIG_PATH": str(self.conf)}
        rng = np.random.default_rng(seed)
        # A quiet room's noise (about -50 dBFS), not constants: whatever format PortAudio opens, it is noise.
        self._noise = audio or rng.normal(0.0, 100.0, 64 * chunk_bytes // 2).astype("<i2").tobytes()
        self._noise += self._noise[:chunk_bytes]  # a whole chunk is always there to write at any offset
        self._chunk = chunk_bytes
        self._bytes_per_s = bytes_per_s
        self._started: float | None = None
        """When the paced writer began (monotonic seconds)."""
        self._cond = threading.Condition()
        self._mode = "idle"
        self._fd: int | None = None
        self.written = 0
        self._thread = threading.Thread(target=self._write, name="fifo writer", daemon=True)
        self._thread.start()

    # -- cues ---------------------------------------------------------------------------------------
    def flow(self) -> None:
        with self._cond:
            if self._fd is None:
                self._fd = os.open(self.path, os.O_RDWR | os.O_NONBLOCK)
            self._mode = "flow"
            self._cond.notify_all()

    def stall(self) -> None:
        self._set("stall")

    def close_writer(self) -> None:
        with self._cond:
            self._mode = "idle"
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None

    def delete(self) -> None:
        self.path.unlink()

    def close(self) -> None:
        self.close_writer()
        self._set("closed")
        self._thread.join(5)
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()

    def wait_consumed(self, nbytes: int, timeout: float) -> bool:
        """Wait until the reader has taken ``nbytes`` more (counted past a full pipe)."""
        with self._cond:
            target = max(self.written, PIPE_BYTES) + nbytes
            return self._cond.wait_for(lambda: self.written >= target, timeout)

    # -- the writer ---------------------------------------------------------------------------------
    def _set(self, mode: str) -> None:
        with self._cond:
            self._mode = mode
            self._cond.notify_all()

    def _pace(self) -> None:
        """Paced: wait (outside the lock) until the next chunk is due on the audio clock."""
        if self._bytes_per_s is None or self._started is None:
            return
        now = time.monotonic()
        due = self._started + self.written / self._bytes_per_s
        if due > now:
            time.sleep(due - now)

    def _write(self) -> None:
        offset = 0
        while True:
            self._pace()
            with self._cond:
                self._cond.wait_for(lambda: self._mode in ("flow", "closed"))
                if self._mode == "closed":
                    return
                # Under the lock, so close_writer() never closes the fd between the wait and the write;
                # short waits, so a cue is obeyed at once even while the pipe is full.
                assert self._fd is not None
                _, ready, _ = select.select([], [self._fd], [], 0.05)
                if not ready:
                    continue
                try:
                    n = os.write(self._fd, self._noise[offset : offset + self._chunk])
                except BlockingIOError:
                    continue
                offset = (offset + n) % (len(self._noise) - self._chunk)
                if self._started is None:
                    self._started = time.monotonic()
                self.written += n
                self._cond.notify_all()
