"""A recording read faster than real time loses nothing: ``assistantd run --input REC.wav``, unpaced.

The recording is many flite commands 3-5 s apart in fan and pink room noise (bench/backpressure.py), and
the handlers are the slow stage: each one is a process that takes a moment, with one handler slot and no
backlog (handlers.max_concurrent 1, max_pending 0). The file is read in a second or two while the handlers
need several: a daemon that dropped what it could not take at once (the listener's queue of waiting
utterances, the runner's backlog) would report only some of the commands, or report them with no handler
run. Every command must come out as exactly one report line, recognized, with its handler run.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from bench.backpressure import recording, script, write_wav
from tests.daemon.harness import Daemon, write_config

COMMANDS = 16
HANDLER_S = 0.2
"""How long each handler runs: together far longer than the daemon takes to read the file."""

pytestmark = pytest.mark.skipif(shutil.which("flite") is None, reason="needs flite (Debian package)")


@pytest.fixture(scope="module")
def lines_and_wav(tmp_path_factory: pytest.TempPathFactory) -> tuple[list[tuple[str, str, str]], Path]:
    tmp = tmp_path_factory.mktemp("backpressure")
    lines = script(COMMANDS)
    return lines, write_wav(tmp / "commands.wav", recording(lines, tmp))


def test_an_unpaced_recording_reports_every_command_once_in_order(
    lines_and_wav: tuple[list[tuple[str, str, str]], Path], config: dict[str, Any], tmp_path: Path
) -> None:
    lines, wav = lines_and_wav
    intents = sorted({intent for _, intent, _ in lines})
    config["handlers"] = {
        "max_concurrent": 1,
        "max_pending": 0,
        "bindings": [
            {"intent": intent, "exec": {"argv": ["sleep", str(HANDLER_S)], "timeout_s": 30}}
            for intent in intents
        ],
    }
    daemon = Daemon(
        write_config(tmp_path / "assistant.yaml", config), input_path=str(wav), watchdog_usec=None
    )
    try:
        # A generous bound on a hang; the run itself takes a few seconds.
        assert daemon.wait(180) == 0, "\n".join(daemon.stderr[-20:])
        reports = [json.loads(line) for line in daemon.stdout]
    finally:
        daemon.close()

    log = "\n".join(daemon.stderr)
    assert len(reports) == len(lines), log
    assert not [line for line in daemon.stderr if " WARNING " in line and "dropped" in line]
    # Lines are printed as handlers finish: two recognitions run at once, so order them by start time.
    reports.sort(key=lambda r: float(r["start"]))
    for report, (_, intent, text) in zip(reports, lines, strict=True):
        assert report["outcome"] == "recognized", report
        assert (report["text"], report["intent"]) == (text, intent), report
        assert [h["ok"] for h in report["handlers"]] == [True], report
