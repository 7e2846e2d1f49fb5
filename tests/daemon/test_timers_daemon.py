"""Timers through the real daemon: ``assistantd run --input -`` hears flite saying "set a timer for ...",
"how long is left", "cancel the timer"; the timer rings (alarm sound, then the spoken alarm) after a
SIGHUP replaced the app that set it, and a restart restores it from the state file.

What the daemon "says" and "plays" goes through real processes: the TTS command and the feedback player
are shell commands that append the text / the WAV's bytes to files the test reads. Timers run on the
wall clock here (the unit tests in tests/handlers/test_timer.py move an injected clock instead), so the
one that must ring is a few seconds long: long enough that the reload before it is done first even on a
loaded machine (an 8 s one was not always), and the others long enough that minutes are left whatever
the speed.
"""

from __future__ import annotations

import json
import re
import signal
import time
from pathlib import Path
from typing import Any

from tests.daemon.conftest import StartDaemon
from tests.daemon.harness import REPO, Audio, Daemon

PAUSE_S = 1.2
SOUNDS = REPO / "config" / "sounds"


def _spoken(audio: Audio, text: str) -> bytes:
    return audio.room(0.5) + audio.command(text) + audio.room(PAUSE_S)


def _timer_config(config: dict[str, Any], tmp: Path, **timers: Any) -> dict[str, Any]:
    config["handlers"] = {
        "bindings": [
            {"intent": "TimerStart", "timer": {"action": "start"}},
            {"intent": "TimerCancel", "timer": {"action": "cancel"}},
            {"intent": "TimerStatus", "timer": {"action": "status"}},
        ],
        "tts": {"command": ["sh", "-c", f'printf "%s\\n" "$1" >> {tmp / "said.txt"}', "sh", "{text}"]},
    }
    config["feedback"] = {
        "player": ["sh", "-c", f'cat "$1" >> {tmp / "played.raw"}', "sh"],
        "error": str(SOUNDS / "error.wav"),
        "alarm": str(SOUNDS / "alarm.wav"),
    }
    config["timers"] = timers
    return config


def _said(tmp: Path) -> list[str]:
    path = tmp / "said.txt"
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def _played(tmp: Path) -> bytes:
    path = tmp / "played.raw"
    return path.read_bytes() if path.exists() else b""


def _say(daemon: Daemon, audio: Audio, text: str, reports: int) -> dict[str, Any]:
    daemon.write(_spoken(audio, text))
    report: dict[str, Any] = daemon.reports(reports)[-1]
    return report


def test_a_timer_set_before_a_sighup_rings_once_after_it(
    start_daemon: StartDaemon, config: dict[str, Any], audio: Audio, tmp_path: Path
) -> None:
    daemon = start_daemon(_timer_config(config, tmp_path))
    daemon.notice("READY")
    report = _say(daemon, audio, "set a timer for thirty seconds", 1)
    assert (report["intent"], report["slots"]) == ("TimerStart", {"seconds": 30}), report
    assert [h["ok"] for h in report["handlers"]] == [True]
    # Saved where service.state_dir says (timers.state_file is not set).
    state = Path(config["service"]["state_dir"]) / "timers.json"
    saved = json.loads(state.read_text(encoding="utf-8"))
    assert [(t["id"], t["duration_s"]) for t in saved["timers"]] == [(1, 30.0)]

    daemon.send(signal.SIGHUP)
    reloaded = daemon.log_line(f"reloaded {daemon.config}")
    rung = daemon.log_line("timer 1 (30 second timer) is up")
    daemon.wait_until(lambda: len(_said(tmp_path)) >= 2, 60, "the spoken alarm")
    # The app that set it was gone when it rang: the new one rang it, once.
    assert daemon.stderr.index(reloaded) < daemon.stderr.index(rung)
    assert _said(tmp_path) == ["Timer set for 30 seconds", "The 30 second timer is done"]
    assert _played(tmp_path) == (SOUNDS / "alarm.wav").read_bytes()
    daemon.end_input()
    assert daemon.wait() == 0
    assert sum("is up" in line for line in daemon.stderr) == 1
    assert json.loads(state.read_text(encoding="utf-8"))["timers"] == []


def test_how_long_is_left_cancel_the_limit_and_a_restart(
    start_daemon: StartDaemon, config: dict[str, Any], audio: Audio, tmp_path: Path
) -> None:
    state = tmp_path / "timers.json"
    cfg = _timer_config(config, tmp_path, max_running=1, state_file=str(state))
    daemon = start_daemon(cfg)
    daemon.notice("READY")
    report = _say(daemon, audio, "set a pasta timer for ten minutes", 1)
    set_at = time.monotonic()
    assert (report["intent"], report["slots"]) == ("TimerStart", {"name": "pasta", "minutes": 10}), report
    report = _say(daemon, audio, "how long is left", 2)
    assert report["intent"] == "TimerStatus" and report["handlers"][0]["ok"], report
    # One more than timers.max_running: the handler fails, and the error sound plays.
    report = _say(daemon, audio, "set a timer for three seconds", 3)
    assert report["intent"] == "TimerStart" and not report["handlers"][0]["ok"], report
    assert "timers.max_running" in report["handlers"][0]["detail"]
    daemon.end_input()
    assert daemon.wait() == 0
    said = _said(tmp_path)
    assert said[0] == "Timer set for 10 minutes"
    assert re.fullmatch(r"(\d minutes?( \d+ seconds?)?|10 minutes) left on the pasta timer", said[1]), said
    assert len(said) == 2  # nothing said for the refused timer
    assert _played(tmp_path) == (SOUNDS / "error.wav").read_bytes()
    saved = json.loads(state.read_text(encoding="utf-8"))
    assert [(t["name"], t["duration_s"]) for t in saved["timers"]] == [("pasta", 600.0)]

    # A new process: the timer is back from the state file, and is cancelled. At least a whole second
    # after the timer was set, or a restored timer and a restarted one both say "10 minutes" (the time
    # left is rounded up): a fast run reached the question within a second.
    time.sleep(max(0.0, set_at + 1.5 - time.monotonic()))
    again = start_daemon(cfg)
    again.notice("READY")
    report = _say(again, audio, "how much time is left on the timer", 1)
    assert report["intent"] == "TimerStatus", report
    report = _say(again, audio, "cancel the timer", 2)
    assert report["intent"] == "TimerCancel" and report["handlers"][0]["ok"], report
    report = _say(again, audio, "how long is left", 3)
    assert report["intent"] == "TimerStatus", report
    again.end_input()
    assert again.wait() == 0
    said = _said(tmp_path)[2:]
    # Restored, not restarted: less than the 10 minutes, and minutes still left however slow the run.
    assert re.fullmatch(r"\d minutes?( \d+ seconds?)? left on the pasta timer", said[0]), said
    assert said[1:] == ["Timer cancelled", "There is no timer running"]
    assert json.loads(state.read_text(encoding="utf-8"))["timers"] == []
    assert "timers: restored 1 from" in "\n".join(again.stderr)
