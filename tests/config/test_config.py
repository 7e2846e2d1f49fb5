"""Config parsing: defaults, typed errors that name file and key path, secrets by reference only."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assistantd.cli import main
from assistantd.config import Config, ConfigError, load_config

REPO = Path(__file__).resolve().parents[2]


def test_example_config_loads() -> None:
    cfg = load_config(REPO / "config" / "assistant.yaml", env={})
    assert cfg.recognizer.default == "local"
    assert cfg.endpoint.hangover_ms == 700
    assert cfg.base_dir == REPO / "config"


def test_empty_file_gives_defaults(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("")
    assert load_config(path, env={}).audio == Config().audio


def test_every_section_parsed_from_nothing_equals_its_dataclass_defaults() -> None:
    # Each default is written twice (the field and the from_node call); this catches the two drifting apart.
    parsed, built = Config.from_dict({}, env={}), Config()
    for section in ("audio", "endpoint", "recognizer", "intents", "handlers", "service", "wake"):
        assert getattr(parsed, section) == getattr(built, section), section


@pytest.mark.parametrize(
    ("data", "key_path", "expected"),
    [
        ({"audio": {"frame_ms": 25}}, "audio.frame_ms", "10, 20 or 30"),
        ({"endpoint": {"hangover": "fast"}}, "endpoint.hangover", "relaxed, default, aggressive"),
        ({"endpoint": {"hangovr": 300}}, "endpoint.hangovr", "did you mean 'hangover'"),
        ({"audoi": {}}, "audoi", "did you mean 'audio'"),
        ({"audio": []}, "audio", "a mapping"),
        ({"endpoint": {"vad_aggressiveness": 7}}, "endpoint.vad_aggressiveness", "<= 3"),
        ({"endpoint": {"vad_aggressiveness": True}}, "endpoint.vad_aggressiveness", "an integer"),
        ({"recognizer": {"default": "volcengine"}}, "recognizer.default", "recognizer.volcengine block"),
        ({"recognizer": {"default": "whisper"}}, "recognizer.default", "one of local"),
    ],
)
def test_errors_name_file_key_and_expectation(data: object, key_path: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        Config.from_dict(data, source="/etc/assistantd/assistant.yaml")
    message = str(info.value)
    assert message.startswith(f"/etc/assistantd/assistant.yaml: {key_path}: ")
    assert expected in message


def test_yaml_syntax_error_names_line(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("audio:\n  device: [unclosed\n")
    with pytest.raises(ConfigError, match=r"bad\.yaml: .*line \d+"):
        load_config(path, env={})


SENTINEL = "sk-SENTINEL-7f3a9c"


def _volc(app_key: str) -> dict[str, object]:
    return {"recognizer": {"volcengine": {"app_key": app_key, "access_key": "${ACCESS}"}}}


def test_secret_from_env_is_resolved_and_masked() -> None:
    cfg = Config.from_dict(_volc("${APP}"), env={"APP": SENTINEL, "ACCESS": SENTINEL})
    volc = cfg.recognizer.volcengine
    assert volc is not None
    assert volc.app_key.reveal() == SENTINEL
    assert SENTINEL not in repr(cfg)
    assert SENTINEL not in str(volc.app_key)


def test_secret_from_credentials_dir(tmp_path: Path) -> None:
    (tmp_path / "volc_app").write_text(SENTINEL + "\n")
    cfg = Config.from_dict(_volc("credential:volc_app"), env={"ACCESS": "x"}, credentials_dir=str(tmp_path))
    assert cfg.recognizer.volcengine is not None
    assert cfg.recognizer.volcengine.app_key.reveal() == SENTINEL


def test_inline_secret_is_refused_without_echoing_it() -> None:
    with pytest.raises(ConfigError) as info:
        Config.from_dict(_volc(SENTINEL), env={"ACCESS": "x"})
    assert "recognizer.volcengine.app_key" in str(info.value)
    assert SENTINEL not in str(info.value)


def test_missing_env_secret_names_the_variable() -> None:
    with pytest.raises(ConfigError, match="environment variable APP to be set"):
        Config.from_dict(_volc("${APP}"), env={"ACCESS": "x"})


def test_check_config_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(
        f"endpoint: {{hangover: relaxed}}\nintents: {{files: ['{REPO}/config/intents/*.yaml']}}\n"
    )
    assert main(["check-config", "--config", str(good)]) == 0
    bad = tmp_path / "bad.yaml"
    bad.write_text("endpoint: {hangover: 5}\n")
    assert main(["check-config", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml: endpoint.hangover: expected" in err
    assert "Traceback" not in err


def test_check_config_checks_intents_and_bindings_like_run(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    intents = f"intents: {{files: ['{REPO}/config/intents/*.yaml']}}\n"
    typo = tmp_path / "typo.yaml"
    typo.write_text(intents + "handlers: {bindings: [{intent: LightOnn, say: {text: hi}}]}\n")
    assert main(["check-config", "--config", str(typo)]) == 2
    err = capsys.readouterr().err
    assert "typo.yaml: handlers.bindings[0].intent: expected an intent defined in the intent files" in err
    assert "did you mean 'LightOn'" in err
    missing = tmp_path / "missing.yaml"
    missing.write_text("intents: {files: [nowhere/*.yaml]}\n")
    assert main(["check-config", "--config", str(missing)]) == 2
    assert "missing.yaml: intents.files[0]: expected a path or pattern matching" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("endpoint: {max_utterance_s: .nan}\n", "endpoint.max_utterance_s: expected a finite number"),
        ("endpoint: {max_utterance_s: .inf}\n", "endpoint.max_utterance_s: expected a finite number"),
        ("endpoint: {max_utterance_s: soon}\n", "endpoint.max_utterance_s: expected a number, got 'soon'"),
        ("audio: {}\naudio: {frame_ms: 20}\n", "duplicate key 'audio'"),
    ],
)
def test_values_yaml_lets_through_are_refused(tmp_path: Path, text: str, expected: str) -> None:
    path = tmp_path / "a.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=re.escape(expected)):
        load_config(path, env={})


def test_exponent_without_a_dot_is_a_number(tmp_path: Path) -> None:
    # YAML 1.1 reads 1e1 as a string; users write numbers that way (the wake-word threshold is 1e-20).
    path = tmp_path / "a.yaml"
    path.write_text("endpoint: {max_utterance_s: 2e1}\n")
    assert load_config(path, env={}).endpoint.max_utterance_s == 20.0


def test_undecodable_secret_file_is_refused_without_its_bytes(tmp_path: Path) -> None:
    (tmp_path / "key").write_bytes(b"\xff\xfe" + SENTINEL.encode())
    with pytest.raises(ConfigError) as info:
        Config.from_dict(_volc(f"file:{tmp_path / 'key'}"), env={"ACCESS": "x"})
    assert "to name a UTF-8 text file" in str(info.value)
    assert "xff" not in str(info.value) and SENTINEL not in str(info.value)
