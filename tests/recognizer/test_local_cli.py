"""``assistantd grammar`` shows what the offline recognizer can hear."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistantd.cli import main

SAMPLE = Path(__file__).with_name("commands_en.yaml")


def test_grammar_command_lists_missing_words_and_left_out_sentences(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "intents").mkdir()
    (tmp_path / "intents" / "en.yaml").write_text(SAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "intents" / "extra.yaml").write_text(
        "language: en\nintents:\n  Remind:\n    data:\n"
        "      - sentences: ['remind me to {task}', 'frobnicate the {area}']\n"
        "lists:\n  task: {wildcard: true}\n",
        encoding="utf-8",
    )
    config = tmp_path / "assistant.yaml"
    config.write_text("intents:\n  files: [intents/*.yaml]\n", encoding="utf-8")

    assert main(["grammar", "--config", str(config)]) == 0
    out = capsys.readouterr().out
    assert "2 intent files, 9 en sentences" in out
    assert "Remind: not in the dictionary: frobnicate" in out
    assert "Remind: left out 'remind me to {task}' (wildcard {task})" in out

    assert main(["grammar", "--config", str(config), "--jsgf"]) == 0
    assert capsys.readouterr().out.startswith("#JSGF V1.0;")
