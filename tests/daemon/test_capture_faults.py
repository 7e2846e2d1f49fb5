"""The real daemon on a microphone that fails: it stops when told, by itself, and its threads stay bounded.

The microphone is ALSA's ``file`` plugin reading a FIFO (tests/daemon/fifo_device.py), so PortAudio, its
callback thread and the blocking ``read()`` that wedges it are all real. The verdict of each stop is
"it exited by itself with exit code 0": ``DEADLINE_S`` only bounds a hang (a daemon that needs SIGKILL),
and bench/capture_faults.py measures how long stopping really takes.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from assistantd.audio.device_calls import ABANDONED_LIMIT
from tests.daemon.conftest import StartDaemon
from tests.daemon.fifo_device import FifoDevice
from tests.daemon.harness import DEADLINE_S, Daemon, ThreadSampler

STALL_S = 1.0
"""audio.stall_timeout_s here: a stall is found quickly (the FIFO's noise arrives faster than real time)."""


@pytest.fixture
def fifo(tmp_path: Path) -> Iterator[FifoDevice]:
    device = FifoDevice(tmp_path)
    yield device
    device.close()


@pytest.fixture
def mic_config(config: dict[str, Any]) -> dict[str, Any]:
    config["audio"] = {"stall_timeout_s": STALL_S, "retry_initial_s": 0.2, "retry_max_s": 0.5}
    # Longer than a stall takes to be found: the watchdog's verdict then rests on the reopen loop alone.
    config["service"]["watchdog_stall_s"] = 5.0
    return config


def start_on_mic(start_daemon: StartDaemon, config: dict[str, Any], fifo: FifoDevice) -> Daemon:
    return start_daemon(config, input_path=None, env=fifo.env)


def capturing(daemon: Daemon, fifo: FifoDevice, *, since: int = 0) -> None:
    daemon.log_line("audio: capturing from", since=since)
    assert fifo.wait_consumed(256 * 1024, DEADLINE_S), "the daemon read nothing from the FIFO"


def stops_by_itself(daemon: Daemon) -> None:
    daemon.send(signal.SIGTERM)
    assert daemon.wait(DEADLINE_S) == 0  # TimeoutExpired here: it would have needed SIGKILL
    assert any("assistantd stopped" in line for line in daemon.stderr)
    assert not any("stop deadline" in line for line in daemon.stderr), daemon.stderr[-5:]


def test_sigterm_during_a_stall_stops_the_daemon(
    start_daemon: StartDaemon, mic_config: dict[str, Any], fifo: FifoDevice
) -> None:
    fifo.flow()
    daemon = start_on_mic(start_daemon, mic_config, fifo)
    capturing(daemon, fifo)
    fifo.stall()  # PortAudio's callback thread now blocks in read(): stopping the stream waits for it
    daemon.log_line("audio stalled")
    stops_by_itself(daemon)


def test_sigterm_with_the_input_missing_at_start_stops_the_daemon(
    start_daemon: StartDaemon, mic_config: dict[str, Any], fifo: FifoDevice
) -> None:
    # Nobody writes the FIFO: PortAudio's first probe of the device blocks in open() for ever.
    daemon = start_on_mic(start_daemon, mic_config, fifo)
    # The hung open is abandoned and said so; the log was not swallowed by the quieted stderr it holds.
    daemon.log_line("audio failed: opening the device did not return in 10 s")
    assert daemon.notice("WATCHDOG", since=len(daemon.notices))  # the reopen loop is on schedule
    stops_by_itself(daemon)


def test_sigterm_after_the_fifo_is_deleted_stops_the_daemon(
    start_daemon: StartDaemon, mic_config: dict[str, Any], fifo: FifoDevice
) -> None:
    fifo.flow()
    daemon = start_on_mic(start_daemon, mic_config, fifo)
    capturing(daemon, fifo)
    fifo.stall()
    fifo.delete()
    # The stall is found, then reopening fails (how depends on what PortAudio still remembers of the
    # device) and is retried: two "retrying" lines.
    daemon.wait_until(
        lambda: sum("; retrying in" in line for line in daemon.stderr) >= 2, DEADLINE_S, "a failed reopen"
    )
    stops_by_itself(daemon)


def test_a_reload_after_the_writer_left_stops_the_daemon(
    start_daemon: StartDaemon, mic_config: dict[str, Any], fifo: FifoDevice
) -> None:
    fifo.flow()
    daemon = start_on_mic(start_daemon, mic_config, fifo)
    capturing(daemon, fifo)
    fifo.close_writer()  # end of file: ALSA's plugin reads silence; a new open blocks with no writer
    seen = len(daemon.stderr)
    daemon.send(signal.SIGHUP)
    daemon.log_line("reloaded", since=seen)
    stops_by_itself(daemon)


def test_repeated_stalls_keep_threads_bounded_and_the_watchdog_honest(
    start_daemon: StartDaemon, mic_config: dict[str, Any], fifo: FifoDevice
) -> None:
    fifo.flow()
    daemon = start_on_mic(start_daemon, mic_config, fifo)
    capturing(daemon, fifo)
    baseline = daemon.threads()
    sampler = ThreadSampler(daemon)
    fifo.stall()  # every reopened stream stalls again, and every close of one hangs
    wedged = daemon.log_line("audio wedged")
    at_wedged = len(daemon.stderr)
    # Pings continued through every stall, close and reopen while the loop kept to its schedule ...
    before = daemon.stderr[: daemon.stderr.index(wedged)]
    assert not any("withholding the watchdog" in line for line in before), "\n".join(before)
    # ... and stop once it has given up reopening: systemd restarts a daemon whose device calls are stuck.
    daemon.log_line("withholding the watchdog ping", since=at_wedged)
    daemon.wait_until(lambda: "microphone wedged" in daemon.statuses()[-1], DEADLINE_S, "STATUS= wedged")
    # Each abandoned close holds its own thread and the stream's PortAudio callback thread; one more runs
    # the call in progress.
    assert sampler.peak <= baseline + 2 * ABANDONED_LIMIT + 1, (baseline, sampler.peak)
    assert sum("audio: capturing from" in line for line in daemon.stderr[at_wedged:]) == 0

    fifo.flow()  # the stuck reads return, so do the stuck calls, and capture comes back
    daemon.log_line("a stuck device call returned; reopening", since=at_wedged)
    capturing(daemon, fifo, since=at_wedged)
    assert sampler.stop() <= baseline + 2 * ABANDONED_LIMIT + 1
    stops_by_itself(daemon)
