"""``service.log_level`` reaches the daemon's log, and ``-v`` wins over it.

Each test runs the real daemon over stdin (see harness.py): it loads the config, builds the pipeline (whose
intent loader logs at DEBUG), reports READY and stops at the end of its input.
"""

from __future__ import annotations

import copy
import signal
from typing import Any

import pytest

from tests.daemon.conftest import StartDaemon
from tests.daemon.harness import Audio, Daemon, write_config


def _levels(daemon: Daemon) -> set[str]:
    """The level names of the log lines (``%(asctime)s %(levelname)s %(name)s: ...``)."""
    return {line.split()[2] for line in daemon.stderr if line[:4].isdigit() and len(line.split()) > 2}


def _run(
    start_daemon: StartDaemon, config: dict[str, Any], audio: Audio, level: str, *, verbose: bool = False
) -> tuple[set[str], list[str]]:
    config = copy.deepcopy(config)
    config.setdefault("service", {})["log_level"] = level
    # A slow writer on a loaded machine must not add a watchdog WARNING to what the levels are judged on.
    config["service"]["watchdog_stall_s"] = 30.0
    daemon = start_daemon(config, verbose=verbose)
    daemon.notice("READY")
    daemon.write(audio.room(1.0))
    daemon.end_input()
    assert daemon.wait() == 0, "\n".join(daemon.stderr[-10:])
    return _levels(daemon), daemon.stderr


@pytest.mark.parametrize(
    ("level", "expect"),
    [
        ("debug", ({"DEBUG", "INFO"}, set())),
        ("info", ({"INFO"}, {"DEBUG"})),
        ("error", (set(), {"DEBUG", "INFO", "WARNING"})),
    ],
)
def test_the_config_s_log_level_is_applied(
    start_daemon: StartDaemon,
    config: dict[str, Any],
    audio: Audio,
    level: str,
    expect: tuple[set[str], set[str]],
) -> None:
    seen, unseen = expect
    levels, lines = _run(start_daemon, config, audio, level)
    assert seen <= levels, lines
    assert not unseen & levels, lines


def test_the_verbose_flag_wins_over_the_config(
    start_daemon: StartDaemon, config: dict[str, Any], audio: Audio
) -> None:
    levels, lines = _run(start_daemon, config, audio, "error", verbose=True)
    assert {"DEBUG", "INFO"} <= levels, lines


def test_a_reload_applies_the_new_log_level(
    start_daemon: StartDaemon, config: dict[str, Any], audio: Audio
) -> None:
    daemon = start_daemon(config)
    ready = daemon.notice("READY")
    daemon.log_line("assistantd ready")
    quiet = copy.deepcopy(config)
    quiet["service"]["log_level"] = "error"
    write_config(daemon.config, quiet)
    daemon.send(signal.SIGHUP)
    reloading = daemon.notice("RELOADING", since=daemon.notices.index(ready) + 1)
    daemon.notice("READY", since=daemon.notices.index(reloading) + 1)
    since = len(daemon.stderr)
    daemon.write(audio.room(1.0))
    daemon.end_input()
    assert daemon.wait() == 0
    assert not [line for line in daemon.stderr[since:] if " INFO " in line]  # "assistantd stopped" among them
