"""``tls`` under an MQTT connection: true, false, or a mapping of files, each checked with its key path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from assistantd.config import Config
from assistantd.config.mqtt_tls import MqttTls
from assistantd.errors import ConfigError


def _mqtt(tls: Any) -> Config:
    return Config.from_dict(
        {"mqtt": {"host": "broker.lan", "port": 8883, "tls": tls}}, source="t.yaml", env={}
    )


def _tls(config: Config) -> MqttTls | None:
    assert config.mqtt is not None
    return config.mqtt.connection.tls


def test_true_uses_the_system_cas_and_false_or_absent_means_plain_tcp() -> None:
    assert _tls(_mqtt(True)) == MqttTls(ca_file=None, cert_file=None, key_file=None, insecure=False)
    assert _tls(_mqtt(False)) is None
    assert _tls(_mqtt(None)) is None


def test_files_are_kept_and_the_handler_connection_takes_tls_too(tmp_path: Path) -> None:
    ca, cert, key = (tmp_path / n for n in ("ca.pem", "c.pem", "c.key"))
    for f in (ca, cert, key):
        f.write_text("-----BEGIN CERTIFICATE-----\n")
    tls = {"ca_file": str(ca), "cert_file": str(cert), "key_file": str(key), "insecure": True}
    assert _tls(_mqtt(tls)) == MqttTls(str(ca), str(cert), str(key), True)
    handlers = Config.from_dict(
        {"handlers": {"mqtt": {"host": "b", "tls": {"ca_file": str(ca)}}}}, source="t.yaml", env={}
    ).handlers
    assert handlers.mqtt is not None and handlers.mqtt.tls == MqttTls(ca_file=str(ca))


@pytest.mark.parametrize(
    ("tls", "path", "expected"),
    [
        ("yes please", "mqtt.tls", "expected true, false or a mapping"),
        ({"ca_file": "ca.pem"}, "mqtt.tls.ca_file", "expected an absolute path"),
        ({"ca_file": "/nonexistent/ca.pem"}, "mqtt.tls.ca_file", "expected a readable PEM file"),
        ({"ca_file": "/"}, "mqtt.tls.ca_file", "expected a readable PEM file"),
        ({"key_file": "/etc/hostname"}, "mqtt.tls.cert_file", "expected a client certificate"),
        ({"cafile": "/etc/hostname"}, "mqtt.tls.cafile", "did you mean 'ca_file'"),
        ({"insecure": "sure"}, "mqtt.tls.insecure", "expected"),
    ],
)
def test_bad_tls_names_its_key(tls: Any, path: str, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _mqtt(tls)
    message = str(caught.value)
    assert path in message and expected in message, message
