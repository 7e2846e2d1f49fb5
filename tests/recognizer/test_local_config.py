"""recognizer.local: checked strictly, like every section."""

from __future__ import annotations

import pytest

from assistantd.config import Config, ConfigError
from assistantd.config.local import LocalRecognizerConfig, RejectConfig


def local(block: object) -> LocalRecognizerConfig:
    return Config.from_dict({"recognizer": {"local": block}}, source="a.yaml").recognizer.local


def test_defaults_are_grammar_mode() -> None:
    cfg = local(None)
    assert (cfg.mode, cfg.language, cfg.cache_dir) == ("grammar", "en", None)


def test_a_full_block() -> None:
    cfg = local(
        {
            "mode": "open",
            "language": "en",
            "cache_dir": "/var/cache/assistantd",
            "max_pending_chunks": 16,
        }
    )
    assert cfg.mode == "open"
    assert cfg.max_pending_chunks == 16


def test_rejection_is_on_by_default_and_tunable() -> None:
    assert local(None).reject == RejectConfig(True, -15.0, 0.1, False)
    cfg = local({"reject": {"min_score": -20, "max_unexplained": 0.4, "run_fallback": True}})
    assert cfg.reject == RejectConfig(True, -20.0, 0.4, True)
    assert not local({"reject": {"enabled": False}}).reject.enabled


@pytest.mark.parametrize(
    ("block", "path", "expected"),
    [
        ({"mode": "dictation"}, "recognizer.local.mode", "one of grammar, open"),
        # The pocketsphinx keyphrase gate is gone: the wake word is the top-level wake: section.
        ({"wake_word": {"phrase": "hey computer"}}, "recognizer.local.wake_word", "an unknown key"),
        ({"cache": "/tmp"}, "recognizer.local.cache", "did you mean 'cache_dir'"),
        ({"reject": {"min_score": 5}}, "recognizer.local.reject.min_score", "a value <= 0"),
        ({"reject": {"max_unexplained": 2}}, "recognizer.local.reject.max_unexplained", "<= 1"),
        ({"reject": {"fallback": True}}, "recognizer.local.reject.fallback", "did you mean 'run_fallback'"),
    ],
)
def test_mistakes_name_the_key(block: object, path: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        local(block)
    assert f"a.yaml: {path}: " in str(info.value)
    assert expected in str(info.value)
