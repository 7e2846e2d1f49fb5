"""``recognizer.wyoming`` parsing: defaults, and errors that name the key path and the expectation."""

from __future__ import annotations

from typing import Any

import pytest

from assistantd.config import Config, ConfigError
from assistantd.config.wyoming import WyomingConfig

SOURCE = "/etc/assistantd/assistant.yaml"


def wyoming(**block: Any) -> WyomingConfig:
    data = {"recognizer": {"default": "wyoming", "wyoming": block}}
    cfg = Config.from_dict(data, source=SOURCE).recognizer.wyoming
    assert cfg is not None
    return cfg


def test_defaults() -> None:
    cfg = wyoming(url="tcp://192.168.1.20:10300")
    assert (cfg.url, cfg.language, cfg.model) == ("tcp://192.168.1.20:10300", "en", None)


def test_every_option_and_a_null_language() -> None:
    cfg = wyoming(url="tcp://[::1]:10300", language="de", model="small-int8")
    assert (cfg.language, cfg.model) == ("de", "small-int8")
    assert wyoming(url="tcp://whisper.lan:10300", language=None).language is None


@pytest.mark.parametrize(
    "url",
    [
        "ws://127.0.0.1:10300",
        "tcp://127.0.0.1",
        "tcp://:10300",
        "tcp://127.0.0.1:10300/path",
        "tcp://127.0.0.1:99999",
        "tcp://user:pw@127.0.0.1:10300",
        "127.0.0.1:10300",
    ],
)
def test_a_bad_url_names_the_key_and_the_form(url: str) -> None:
    with pytest.raises(ConfigError, match=r"recognizer\.wyoming\.url: expected tcp://HOST:PORT") as info:
        wyoming(url=url)
    assert str(info.value).startswith(SOURCE)


def test_missing_url_unknown_key_and_missing_block() -> None:
    with pytest.raises(ConfigError, match=r"recognizer\.wyoming\.url: expected this key to be set"):
        wyoming(language="en")
    with pytest.raises(ConfigError, match=r"recognizer\.wyoming\.lang: .*did you mean 'language'"):
        wyoming(url="tcp://h:1", lang="en")
    with pytest.raises(ConfigError, match=r"recognizer\.default: expected a recognizer\.wyoming block"):
        Config.from_dict({"recognizer": {"default": "wyoming"}}, source=SOURCE)
    with pytest.raises(ConfigError, match=r"recognizer\.wyoming\.language: expected a non-empty string"):
        wyoming(url="tcp://h:1", language="")


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("tcp://user:pw-never-shown@127.0.0.1:10300", "'tcp://127.0.0.1:10300'"),
        ("tcp://127.0.0.1:10300/?token=pw-never-shown", "'tcp://127.0.0.1:10300/'"),
        ("tcp://user:pw-never-shown@[::1:10300", "'tcp://[::1:10300'"),
        ("user:pw-never-shown@127.0.0.1:10300", "'127.0.0.1:10300'"),
    ],
)
def test_a_bad_url_is_shown_without_its_user_information_or_query(url: str, shown: str) -> None:
    with pytest.raises(ConfigError) as info:
        wyoming(url=url)
    message = str(info.value)
    assert "pw-never-shown" not in message, message
    assert message.endswith(
        f"expected tcp://HOST:PORT (a Wyoming server, e.g. tcp://192.168.1.20:10300), got {shown}"
    )
