"""The wake: section: built-in names, custom model files resolved against the config's directory, and
errors that name the key path."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assistantd.cli import main
from assistantd.config import Config, ConfigError, WakeConfig, load_config

REPO = Path(__file__).resolve().parents[2]


def _builtin_model_dir() -> Path:
    import pymicro_wakeword

    return Path(pymicro_wakeword.__file__).parent / "models"


def test_no_wake_section_means_continuous_listening() -> None:
    cfg = Config.from_dict({}, env={}).wake
    assert cfg == WakeConfig() and cfg.model is None and not cfg.enabled


def test_the_shipped_config_listens_for_okay_nabu() -> None:
    assert load_config(REPO / "config" / "assistant.yaml", env={}).wake.model == "okay_nabu"


def test_a_full_section() -> None:
    cfg = Config.from_dict(
        {
            "wake": {
                "model": "hey_jarvis",
                "probability_cutoff": 0.9,
                "refractory_s": 1,
                "command_timeout_s": 4,
                "follow_up_s": 6,
            }
        }
    ).wake
    assert cfg == WakeConfig("hey_jarvis", 0.9, 1.0, 4.0, 6.0)


def test_a_custom_model_is_a_json_path_relative_to_the_config(tmp_path: Path) -> None:
    models = tmp_path / "models"
    models.mkdir()
    for name in ("okay_nabu.json", "okay_nabu.tflite"):
        shutil.copy(_builtin_model_dir() / name, models / name)
    config = tmp_path / "assistant.yaml"
    config.write_text("wake: {model: models/okay_nabu.json}\n", encoding="utf-8")
    assert load_config(config, env={}).wake.model == str(models / "okay_nabu.json")


@pytest.mark.parametrize(
    ("wake", "key_path", "expected"),
    [
        ({"model": "okay_nabbu"}, "wake.model", "one of okay_nabu, hey_jarvis, alexa, hey_mycroft"),
        ({"model": 3}, "wake.model", "microWakeWord model .json"),
        ({"model": "missing.json"}, "wake.model", "cannot read it"),
        ({"model": "not-json.json"}, "wake.model", "not JSON"),
        ({"model": "no-micro.json"}, "wake.model", "lacks model / micro.probability_cutoff"),
        ({"model": "no-tflite.json"}, "wake.model", "'gone.tflite' is missing"),
        ({"modle": "okay_nabu"}, "wake.modle", "did you mean 'model'"),
        ({"probability_cutoff": 1.5}, "wake.probability_cutoff", "<= 0.999"),
        ({"command_timeout_s": 0}, "wake.command_timeout_s", ">= 0.5"),
        ({"chime": "ding.wav"}, "wake.chime", "it moved to feedback.wake"),
    ],
)
def test_mistakes_name_file_and_key_path(tmp_path: Path, wake: object, key_path: str, expected: str) -> None:
    (tmp_path / "not-json.json").write_text("{", encoding="utf-8")
    (tmp_path / "no-micro.json").write_text('{"model": "x.tflite"}', encoding="utf-8")
    (tmp_path / "no-tflite.json").write_text(
        '{"model": "gone.tflite", "micro": {"probability_cutoff": 0.9}}', encoding="utf-8"
    )
    with pytest.raises(ConfigError) as info:
        Config.from_dict({"wake": wake}, source="/etc/assistantd/assistant.yaml", base_dir=tmp_path)
    message = str(info.value)
    assert message.startswith(f"/etc/assistantd/assistant.yaml: {key_path}: "), message
    assert expected in message


def test_a_model_file_that_is_not_tflite_is_refused_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # Valid JSON with a .tflite beside it, but the .tflite is not a model (TFLite's C API would crash).
    (tmp_path / "broken.tflite").write_bytes(b"not a flatbuffer")
    (tmp_path / "broken.json").write_text(
        '{"wake_word": "Broken", "model": "broken.tflite", '
        '"micro": {"probability_cutoff": 0.9, "sliding_window_size": 5}}',
        encoding="utf-8",
    )
    config = tmp_path / "assistant.yaml"
    intents = REPO / "config" / "intents" / "*.yaml"
    config.write_text(f"wake: {{model: broken.json}}\nintents: {{files: ['{intents}']}}\n", encoding="utf-8")
    silence = tmp_path / "silence.wav"
    _write_silence(silence)
    assert main(["run", "--config", str(config), "--input", str(silence)]) == 2
    err = capsys.readouterr().err
    assert f"{config}: wake.model: expected one of okay_nabu" in err
    assert "'broken.tflite' is not a TFLite model), got 'broken.json'" in err


def _write_silence(path: Path) -> None:
    import wave

    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(bytes(32000))


def test_check_config_loads_the_model_and_says_which(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config", "--config", str(REPO / "config" / "assistant.yaml")]) == 0
    assert "wake word okay_nabu at cutoff 0.85" in capsys.readouterr().out
