"""``assistantd handle``: run a binding once from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistantd.cli import main

CONFIG = """
handlers:
  bindings:
    - {intent: Note, exec: {argv: [sh, -c, 'printf "%s|%s|%s" "$1" "$ASSISTANTD_TEXT" "$2" > "$3"', sh,
                               "{room}", "{level}", "{out}"]}}
  fallback: {exec: {argv: ["false"]}}
"""


def test_handle_runs_the_binding_with_slots_and_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "a.yaml"
    config.write_text(CONFIG)
    out = tmp_path / "out.txt"
    argv = ["handle", "Note", "--slot", "room=living room", "--slot", "level=3", "--slot", f"out={out}"]
    code = main([*argv, "--text", "note $(this)", "--config", str(config)])
    assert code == 0
    assert out.read_text() == "living room|note $(this)|3"
    assert "Note[0] exec sh: ok" in capsys.readouterr().out


def test_handle_without_intent_runs_the_fallback_and_reports_failure(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "a.yaml"
    config.write_text(CONFIG)
    assert main(["handle", "--config", str(config)]) == 1
    assert "fallback exec false: FAILED" in capsys.readouterr().out
    assert main(["handle", "Note", "--slot", "oops", "--config", str(config)]) == 2
