"""recognizer.local: checked strictly, like every section."""

from __future__ import annotations

import pytest

from assistantd.config import Config, ConfigError
from assistantd.config.local import LocalRecognizerConfig, WakeWordConfig


def local(block: object) -> LocalRecognizerConfig:
    return Config.from_dict({"recognizer": {"local": block}}, source="a.yaml").recognizer.local


def test_defaults_are_grammar_mode_without_wake_word() -> None:
    cfg = local(None)
    assert (cfg.mode, cfg.language, cfg.cache_dir, cfg.wake_word) == ("grammar", "en", None, None)


def test_a_full_block() -> None:
    cfg = local(
        {
            "mode": "open",
            "language": "en",
            "cache_dir": "/var/cache/assistantd",
            "wake_word": {"phrase": "Hey Computer", "threshold": 1e-30, "follow_up_s": 3},
            "max_pending_chunks": 16,
        }
    )
    assert cfg.mode == "open"
    assert cfg.wake_word == WakeWordConfig(phrase="hey computer", threshold=1e-30, follow_up_s=3.0)
    assert cfg.max_pending_chunks == 16


def test_an_empty_wake_word_block_turns_it_on_with_defaults() -> None:
    assert local({"wake_word": {}}).wake_word == WakeWordConfig()


@pytest.mark.parametrize(
    ("block", "path", "expected"),
    [
        ({"mode": "dictation"}, "recognizer.local.mode", "one of grammar, open"),
        ({"wake_word": {"phrase": ""}}, "recognizer.local.wake_word.phrase", "non-empty string"),
        ({"wake_word": {"threshold": 2}}, "recognizer.local.wake_word.threshold", "<= 1.0"),
        ({"wake_word": {"treshold": 1e-9}}, "recognizer.local.wake_word.treshold", "mean 'threshold'"),
        ({"cache": "/tmp"}, "recognizer.local.cache", "did you mean 'cache_dir'"),
    ],
)
def test_mistakes_name_the_key(block: object, path: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        local(block)
    assert f"a.yaml: {path}: " in str(info.value)
    assert expected in str(info.value)
