"""The handlers section: strict parsing, safe templates, errors naming key paths."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistantd.config import Config, ConfigError, load_config
from assistantd.config.handler_specs import ExecSpec, HttpSpec, SaySpec, SecretHeader
from assistantd.config.template import MissingValueError, Template

REPO = Path(__file__).resolve().parents[2]


def _cfg(section: object, env: dict[str, str] | None = None) -> Config:
    return Config.from_dict({"handlers": section}, source="/etc/assistantd/assistant.yaml", env=env or {})


def _binding(**spec: object) -> dict[str, object]:
    return {"bindings": [{"intent": "A", **spec}]}


@pytest.mark.parametrize(
    ("section", "key_path", "expected"),
    [
        (
            _binding(exec={"argv": ["echo", "room={room}"]}),
            "handlers.bindings[0].exec.argv[1]",
            "whole element",
        ),
        (_binding(exec={"argv": ["{prog}"]}), "handlers.bindings[0].exec.argv[0]", "literal program"),
        (_binding(exec={"argv": "rm -rf /"}), "handlers.bindings[0].exec.argv", "list of strings"),
        (
            _binding(exec={"argv": ["a"], "env": {"ASSISTANTD_TEXT": "x"}}),
            "handlers.bindings[0].exec.env.ASSISTANTD_TEXT",
            "not starting with ASSISTANTD_",
        ),
        (
            _binding(exec={"argv": ["a"], "env": {"KEY": "${UNSET_KEY}"}}),
            "handlers.bindings[0].exec.env.KEY",
            "UNSET_KEY to be set",
        ),
        (
            _binding(exec={"argv": ["a"], "env": {"KEY": ["not", "scalar"]}}),
            "handlers.bindings[0].exec.env.KEY",
            "secret reference",
        ),
        (_binding(say={"text": "{room.__class__}"}), "handlers.bindings[0].say.text", "plain names"),
        (_binding(say={"text": "{room[0]}"}), "handlers.bindings[0].say.text", "plain names"),
        (_binding(say={"text": "{room!r}"}), "handlers.bindings[0].say.text", "without !conversion"),
        (_binding(say={"text": "{room:>999}"}), "handlers.bindings[0].say.text", "without !conversion"),
        (_binding(say={"text": "{}"}), "handlers.bindings[0].say.text", "plain names"),
        (_binding(say={"text": "oops {"}), "handlers.bindings[0].say.text", "balanced braces"),
        (_binding(sya={"text": "hi"}), "handlers.bindings[0].sya", "did you mean 'say'"),
        (_binding(say={"text": "a"}, exec={"argv": ["a"]}), "handlers.bindings[0]", "exactly one handler"),
        ({"bindings": [{"say": {"text": "a"}}]}, "handlers.bindings[0].intent", "to be set"),
        (
            _binding(mqtt={"topic": "a/b"}),
            "handlers.bindings[0].mqtt",
            "handlers.mqtt or top-level mqtt: connection block",
        ),
        (_binding(mqtt={"topic": "a/#"}), "handlers.bindings[0].mqtt.topic", "wildcards"),
        (
            _binding(homeassistant={"domain": "light", "service": "on"}),
            "handlers.bindings[0].homeassistant",
            "",
        ),
        (_binding(http={"url": "http://{host}/x"}), "handlers.bindings[0].http.url", "literal host"),
        (_binding(http={"url": "ftp://h/x"}), "handlers.bindings[0].http.url", "http://"),
        (
            _binding(http={"url": "http://h/", "method": "BREW"}),
            "handlers.bindings[0].http.method",
            "one of GET",
        ),
        (
            _binding(http={"url": "http://h/", "headers": {"X": "a\nb"}}),
            "handlers.bindings[0].http.headers.X",
            "",
        ),
        ({"fallback": {"say": {"txt": "a"}}}, "handlers.fallback.say.txt", "did you mean 'text'"),
        ({"fallback": {"say": {}}}, "handlers.fallback.say.text", "to be set"),
        (_binding(exec={"argv": ["a"], "timeout": 3}), "handlers.bindings[0].exec.timeout", "did you mean"),
        ({"mqtt": {"host": "h", "qos": 1}}, "handlers.mqtt.qos", "known key"),
        ({"mqtt": {"host": "h", "password": "${MQTT_PW}"}}, "handlers.mqtt.password", "MQTT_PW to be set"),
        ({"tts": {"command": ["espeak-ng", "--text={text}"]}}, "handlers.tts.command[1]", '"{text}"'),
        ({"tts": {"command": ["say"], "device": "hw:1"}}, "handlers.tts.command", '"{device}" element'),
        ({"max_concurrent": 0}, "handlers.max_concurrent", ">= 1"),
    ],
)
def test_errors_name_key_path_and_expectation(section: object, key_path: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        _cfg(section)
    message = str(info.value)
    assert message.startswith(f"/etc/assistantd/assistant.yaml: {key_path}: "), message
    assert expected in message


def test_inline_secret_in_a_header_is_refused_without_echo() -> None:
    with pytest.raises(ConfigError) as info:
        _cfg(_binding(http={"url": "http://h/", "headers": {"Authorization": {"secret": "hunter2-inline"}}}))
    assert "hunter2" not in str(info.value)
    assert "handlers.bindings[0].http.headers.Authorization.secret" in str(info.value)


def test_a_full_section_parses() -> None:
    cfg = _cfg(
        {
            "max_concurrent": 2,
            "mqtt": {"host": "127.0.0.1", "username": "u", "password": "${PW}"},
            "bindings": [
                {"intent": "On", "exec": {"argv": ["/bin/lights", "--", "{room}"], "timeout_s": 3}},
                {"intent": "On", "say": {"text": "Turning on {room} {{literally}}"}},
                {
                    "intent": "Hook",
                    "http": {"url": "http://h/x/{id}", "headers": {"K": "${PW}", "V": "plain"}},
                },
                {"intent": "Pub", "mqtt": {"topic": "home/{room}", "payload": {"on": True}, "qos": 2}},
            ],
            "fallback": {"say": {"text": "Sorry, I didn't get that"}},
        },
        env={"PW": "pw-value"},
    ).handlers
    assert cfg.max_concurrent == 2
    on = cfg.handlers_for("On")
    assert isinstance(on[0], ExecSpec) and on[0].timeout_s == 3.0
    assert isinstance(on[1], SaySpec) and on[1].text.render({"room": "hall"}) == "Turning on hall {literally}"
    hook = cfg.handlers_for("Hook")[0]
    assert isinstance(hook, HttpSpec)
    assert isinstance(hook.headers[0][1], SecretHeader) and hook.headers[1] == ("V", "plain")
    assert "pw-value" not in repr(cfg)
    assert isinstance(cfg.fallback, SaySpec)


def test_template_render_needs_every_slot() -> None:
    with pytest.raises(MissingValueError) as info:
        Template.parse("to {room}").render({})
    assert str(info.value) == "the template needs {room}, which this match did not fill"


def test_example_config_handlers_section_loads() -> None:
    cfg = load_config(REPO / "config" / "assistant.yaml", env={})
    assert cfg.handlers.fallback is not None
