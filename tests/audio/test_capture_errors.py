"""``assistantd capture`` refuses what it cannot do in one line and exit 2, never a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

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
