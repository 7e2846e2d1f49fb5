from __future__ import annotations

import json
from pathlib import Path

import pytest

from assistantd.cli import main

REPO = Path(__file__).resolve().parents[2]
CONFIG = str(REPO / "config" / "assistant.yaml")


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, dict[str, object], str]:
    code = main(["intents", "test", *argv])
    out, err = capsys.readouterr()
    return code, (json.loads(out) if out.strip() else {}), err


def test_exact_match_prints_json_and_exits_0(capsys: pytest.CaptureFixture[str]) -> None:
    code, result, _ = _run(capsys, "Turn on the kitchen lights.", "--config", CONFIG)
    assert code == 0
    assert result == {
        "intent": "LightOn",
        "slots": {"area": "kitchen"},
        "method": "exact",
        "score": 100.0,
        "language": "en",
        "text": "Turn on the kitchen lights.",
        "normalized": "turn on the kitchen lights",
        "handlers": ["LightOn[0] say"],  # bound in config/assistant.yaml
    }


def test_fuzzy_match_reports_method_and_score(capsys: pytest.CaptureFixture[str]) -> None:
    code, result, _ = _run(capsys, "turn on the kitchen lite", "--config", CONFIG)
    assert code == 0
    assert (result["intent"], result["method"]) == ("LightOn", "fuzzy")
    assert 85 <= float(result["score"]) < 100  # type: ignore[arg-type]


def test_chinese_through_explicit_intent_files(capsys: pytest.CaptureFixture[str]) -> None:
    zh = str(REPO / "config" / "intents" / "zh.yaml")
    code, result, _ = _run(capsys, "设置５分钟的计时器。", "--intents", zh)
    assert code == 0
    assert (result["intent"], result["slots"], result["language"]) == ("TimerStart", {"minutes": 5}, "zh")


def test_no_match_prints_null_intent_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, result, _ = _run(capsys, "what is the meaning of life", "--config", CONFIG)
    assert code == 1
    assert result["intent"] is None
    assert result["handlers"] == ["fallback say"]  # the "Sorry, I didn't get that" reply
    assert result["normalized"] == "what is the meaning of life"


def test_bad_intent_file_exits_2_naming_file_and_key(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text('language: en\nintents:\n  T: {data: [{sentences: ["{nope}"]}]}\n', encoding="utf-8")
    code, _, err = _run(capsys, "x", "--intents", str(bad))
    assert code == 2
    assert f"{bad}: intents.T.data[0].sentences[0]: expected a defined list" in err


def test_handlers_listed_are_those_bound_in_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "assistant.yaml"
    config.write_text(
        f"intents: {{files: ['{REPO}/config/intents/*.yaml']}}\n"
        "handlers:\n"
        "  bindings:\n"
        "    - {intent: TimeGet, say: {text: time}}\n"
        "    - {intent: LightOn, exec: {argv: [/bin/true, '{area}']}}\n"
        "    - {intent: LightOn, say: {text: done}}\n",
        encoding="utf-8",
    )
    code, result, _ = _run(capsys, "turn on the kitchen lights", "--config", str(config))
    assert code == 0
    assert result["handlers"] == ["LightOn[0] exec /bin/true", "LightOn[1] say"]
    code, result, _ = _run(capsys, "next song", "--config", str(config))
    assert (code, result["intent"], result["handlers"]) == (0, "MusicNext", [])  # bound to nothing
