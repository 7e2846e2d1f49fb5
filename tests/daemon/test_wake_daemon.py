"""Under a service manager, with the wake word on: STATUS says when the phrase was heard, and after a
reply ``wake.follow_up_s`` lets one command in without the phrase."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest

from bench.synth import to_pcm
from bench.wake_audio import Line, build
from tests.daemon.conftest import StartDaemon
from tests.wake_speech import recording

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("flite") is None, reason="needs flite (Debian package)"),
]


def test_status_says_when_the_phrase_was_heard(
    start_daemon: StartDaemon, config: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    pcm, placed = recording(tmp_path_factory.mktemp("wake-daemon"))
    config["wake"] = {"model": "okay_nabu"}
    daemon = start_daemon(config)
    daemon.notice("READY")
    assert daemon.statuses()[-1].startswith("listening for okay_nabu;")
    first = placed[0]
    daemon.write(pcm[: round((first.end + 2) * 32000) // 2 * 2])
    (report,) = daemon.reports(1)
    assert report["intent"] == "LightOn" and report["wake"]["model"] == "okay_nabu"
    heard = f"listening for okay_nabu (last heard at {report['wake']['time']:.2f} s, p "
    daemon.wait_until(lambda: daemon.statuses()[-1].startswith(heard), 5, "STATUS with the wake word")
    daemon.end_input()
    assert daemon.wait() == 0


def _said(cache: Path, *lines: Line) -> bytes:
    audio, _ = build(list(lines), seed=11, cache=cache)
    return to_pcm(audio)


@pytest.mark.parametrize("follow_up_s", [0, 8])
def test_after_a_reply_one_command_needs_no_phrase_for_follow_up_s(
    start_daemon: StartDaemon,
    config: dict[str, Any],
    tmp_path_factory: pytest.TempPathFactory,
    follow_up_s: float,
) -> None:
    cache = tmp_path_factory.mktemp("follow-up")
    config["wake"] = {"model": "okay_nabu", "follow_up_s": follow_up_s}
    config["handlers"]["bindings"] += [
        {"intent": intent, "exec": {"argv": ["true"], "timeout_s": 5}} for intent in ("LightOff", "TimeGet")
    ]
    daemon = start_daemon(config)
    daemon.notice("READY")
    daemon.write(
        _said(cache, Line("flite:kal16", "turn on the kitchen lights", gap_s=0.3, pause_after_s=1.5))
    )
    (first,) = daemon.reports(1)
    assert first["intent"] == "LightOn" and first["wake"]["model"] == "okay_nabu", first
    # The reply is out (the report is printed once the handler ran): the app has called follow_up().
    # The next command comes without the phrase, 2 s later, then an addressed one to end on.
    daemon.write(
        _said(
            cache,
            Line("flite:rms", "turn off the kitchen lights", pause_after_s=2.0),
            Line("flite:kal16", "what time is it", gap_s=0.3),
        )
    )
    daemon.end_input()
    assert daemon.wait() == 0
    reports = daemon.reports(2)
    said = [(r["intent"], "wake" in r) for r in reports]
    if follow_up_s:
        assert said == [("LightOn", True), ("LightOff", False), ("TimeGet", True)], reports
    else:
        assert said == [("LightOn", True), ("TimeGet", True)], reports
