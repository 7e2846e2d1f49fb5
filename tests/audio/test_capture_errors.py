"""``assistantd capture`` refuses what it cannot do in one line and exit 2, never a traceback."""

from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

from tests.audio.conftest import write_alsa_conf
from tests.audio.signals import Speech
from tests.audio.test_commands import assistantd


def test_an_unwritable_output_is_one_line_and_exit_2(speech: Speech, tmp_path: Path) -> None:
    out = tmp_path / "no-such-dir" / "out.wav"
    proc = assistantd("capture", "--input", str(speech.wav), str(out))
    assert proc.returncode == 2
    assert proc.stderr == f"assistantd capture: {out}: cannot write: No such file or directory\n"
    assert proc.stdout == ""


@pytest.mark.parametrize("seconds", ["-1", "0", "nan"])
def test_seconds_must_be_positive(speech: Speech, tmp_path: Path, seconds: str) -> None:
    out = tmp_path / "out.wav"
    proc = assistantd("capture", "--input", str(speech.wav), "--seconds", seconds, str(out))
    assert proc.returncode == 2
    assert proc.stderr.startswith("assistantd capture: --seconds: expected a positive number of seconds")
    assert proc.stderr.count("\n") == 1
    assert not out.exists()


def test_capture_with_no_input_device_gives_up_in_one_line(tmp_path: Path) -> None:
    # The ALSA file plugin with a missing infile: PortAudio lists no input device at all, the case where
    # the microphone source waits (as a daemon should) for one to be plugged in.
    config = tmp_path / "assistant.yaml"
    config.write_text("audio:\n  stall_timeout_s: 0.5\n  retry_initial_s: 0.2\n")
    out = tmp_path / "out.wav"
    started = time.monotonic()
    proc = assistantd(
        "capture",
        "--config",
        str(config),
        str(out),
        conf=write_alsa_conf(tmp_path, tmp_path / "absent.raw"),
    )
    waited = time.monotonic() - started
    assert proc.returncode == 2
    # Before the error, the source's own log line says what it is waiting for.
    *logged, last = proc.stderr.splitlines()
    assert last == (
        "assistantd capture: no audio arrived from the input device in 5 s "
        "(no input device matches the default input); see `assistantd devices`"
    )
    assert all(re.search(r" WARNING assistantd\.audio\.microphone: audio missing", line) for line in logged)
    assert waited >= 5
