"""``assistantd run --input REC.wav | head -1``: the reader of the JSON lines goes away after the first.

The rest of the run must not notice beyond one log line: every command is still acted on and logged, no
utterance gets a second report (a "lost" line for a report the sinks already had), no traceback, and the
run ends as it would have (exit 0, not Python's 120 for a stdout it could not flush at exit).

The handlers are the barrier that makes the closed pipe come before the later reports: the first command's
handler returns at once (its report is the line the test reads), every other one waits until the test has
closed its end of the pipe.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from bench.backpressure import recording, script, write_wav
from tests.daemon.harness import DEADLINE_S, REPO, write_config

COMMANDS = 4

pytestmark = pytest.mark.skipif(shutil.which("flite") is None, reason="needs flite (Debian package)")


def test_a_reader_that_leaves_after_one_line_costs_only_the_json_lines(
    config: dict[str, Any], tmp_path: Path
) -> None:
    lines = script(COMMANDS)
    wav = write_wav(tmp_path / "commands.wav", recording(lines, tmp_path))
    go, ran = tmp_path / "go", tmp_path / "ran"
    # mkdir is atomic: exactly one handler (the first to run) passes at once; the others wait for ``go``.
    wait = f"mkdir {tmp_path}/first 2>/dev/null || until [ -e {go} ]; do sleep 0.02; done; echo ran >> {ran}"
    config["handlers"] = {
        "bindings": [
            {"intent": intent, "exec": {"argv": ["sh", "-c", wait], "timeout_s": DEADLINE_S}}
            for intent in sorted({intent for _, intent, _ in lines})
        ]
    }
    path = write_config(tmp_path / "assistant.yaml", config)
    proc = subprocess.Popen(
        [sys.executable, "-m", "assistantd", "run", "--config", str(path), "--input", str(wav)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env={k: v for k, v in os.environ.items() if k not in ("NOTIFY_SOCKET", "WATCHDOG_USEC")},
    )
    assert proc.stdout is not None and proc.stderr is not None
    log: list[str] = []
    reader = threading.Thread(
        target=lambda: log.extend(proc.stderr.read().decode().splitlines()), daemon=True
    )
    reader.start()
    try:
        first = json.loads(proc.stdout.readline())
        proc.stdout.close()  # head -1 exits
        go.touch()
        returncode = proc.wait(DEADLINE_S * 3)
    finally:
        proc.kill()
        proc.wait()
        reader.join(DEADLINE_S)
        proc.stderr.close()

    text = "\n".join(log)
    assert returncode == 0, text
    assert first["outcome"] == "recognized", first
    assert ran.read_text().count("ran") == COMMANDS, text  # every command was acted on
    closed = [line for line in log if "closed the pipe" in line]
    assert len(closed) == 1 and " WARNING " in closed[0], text
    heard = [line for line in log if "' via local" in line]
    assert len(heard) == COMMANDS, text  # one log line per utterance, none reported twice
    assert not [line for line in log if "lost" in line or "Traceback" in line or "Exception" in line], text
