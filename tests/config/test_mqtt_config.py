"""The top-level ``mqtt:`` section: parsed values, precise errors, and the handlers' fallback to it."""

from __future__ import annotations

import pytest

from assistantd.config import Config, ConfigError
from assistantd.config.mqtt import events_client_id


def _cfg(data: dict[str, object], env: dict[str, str] | None = None) -> Config:
    return Config.from_dict(data, source="site.yaml", env=env or {})


def test_a_full_section_parses_with_the_password_by_reference() -> None:
    cfg = _cfg(
        {
            "mqtt": {
                "host": "broker.lan",
                "port": 8883,
                "site_id": "kitchen",
                "username": "pi",
                "password": "${MQTT_PW}",
                "client_id": "pi-kitchen",
                "events": False,
            }
        },
        env={"MQTT_PW": "hunter2"},
    )
    assert cfg.mqtt is not None
    c = cfg.mqtt.connection
    assert (c.host, c.port, c.username, c.client_id) == ("broker.lan", 8883, "pi", "pi-kitchen")
    assert c.password is not None and c.password.reveal() == "hunter2"
    assert "hunter2" not in repr(cfg.mqtt)
    assert (cfg.mqtt.site_id, cfg.mqtt.events) == ("kitchen", False)


def test_defaults_leave_the_site_id_to_the_host_name_and_publish_events() -> None:
    cfg = _cfg({"mqtt": {"host": "127.0.0.1"}})
    assert cfg.mqtt is not None
    assert (cfg.mqtt.site_id, cfg.mqtt.events, cfg.mqtt.connection.port) == (None, True, 1883)
    assert _cfg({}).mqtt is None


@pytest.mark.parametrize(
    ("section", "key_path", "expected"),
    [
        ({}, "mqtt.host", "expected"),
        ({"host": "h", "site_id": "a/b"}, "mqtt.site_id", "without / + # or NUL"),
        ({"host": "h", "site_id": "+"}, "mqtt.site_id", "one topic level"),
        ({"host": "h", "events": "yes"}, "mqtt.events", "expected"),
        ({"host": "h", "port": 0}, "mqtt.port", "expected"),
        ({"host": "h", "password": "${PW}", "username": "u"}, "mqtt.password", "PW to be set"),
        ({"host": "h", "password": "plain", "username": "u"}, "mqtt.password", "inline secrets"),
        ({"host": "h", "password": "${PW2}"}, "mqtt.username", "when a password is set"),
        ({"host": "h", "site": "x"}, "mqtt.site", "did you mean 'site_id'"),
    ],
)
def test_errors_name_the_file_key_path_and_expectation(
    section: dict[str, object], key_path: str, expected: str
) -> None:
    with pytest.raises(ConfigError) as info:
        _cfg({"mqtt": section}, env={"PW2": "secret-value"})
    message = str(info.value)
    assert "site.yaml" in message and key_path in message and expected in message, message
    assert "secret-value" not in message and "plain" not in message.replace("plain file", "")


def test_mqtt_handlers_use_the_top_level_connection_when_handlers_mqtt_is_absent() -> None:
    binding = {"intent": "LightOn", "mqtt": {"topic": "home/light", "payload": "on"}}
    cfg = _cfg({"mqtt": {"host": "10.0.0.2"}, "handlers": {"bindings": [binding]}})
    assert cfg.handlers.mqtt is not None and cfg.handlers.mqtt.host == "10.0.0.2"
    both = _cfg(
        {"mqtt": {"host": "10.0.0.2"}, "handlers": {"mqtt": {"host": "10.0.0.3"}, "bindings": [binding]}}
    )
    assert both.handlers.mqtt is not None and both.handlers.mqtt.host == "10.0.0.3"
    with pytest.raises(ConfigError, match=r"handlers\.mqtt or top-level mqtt:"):
        _cfg({"handlers": {"bindings": [binding]}})


def test_the_events_client_id_differs_from_the_handlers_and_other_sites() -> None:
    ids = {"assistantd", events_client_id("assistantd", "kitchen"), events_client_id("assistantd", "hall")}
    assert len(ids) == 3
