"""``tls`` under an MQTT connection: true, false, or a mapping of files, each checked with its key path."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import pytest

from assistantd.cli import main
from assistantd.config import Config
from assistantd.config.mqtt_tls import MqttTls
from assistantd.errors import ConfigError
from tests.mqtt_certs import OPENSSL, Pki, make_pki

PASS_PHRASE = "pass-phrase-never-shown"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    if OPENSSL is None:
        pytest.fail("openssl is not installed (apt-get install openssl)")
    return make_pki(tmp_path_factory.mktemp("pki"))


def _openssl(*args: str) -> None:
    assert OPENSSL is not None
    subprocess.run([OPENSSL, *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def encrypted_keys(pki: Pki, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The client key encrypted as PKCS#8 (``ENCRYPTED PRIVATE KEY``) and in OpenSSL's legacy form
    (``RSA PRIVATE KEY`` with ``Proc-Type: 4,ENCRYPTED``)."""
    directory = tmp_path_factory.mktemp("encrypted")
    pkcs8, legacy = directory / "pkcs8.key", directory / "legacy.key"
    _openssl("pkey", "-in", str(pki.client_key), "-aes256", "-passout", f"pass:{PASS_PHRASE}",
             "-out", str(pkcs8))  # fmt: skip
    _openssl("rsa", "-in", str(pki.client_key), "-aes256", "-traditional",
             "-passout", f"pass:{PASS_PHRASE}", "-out", str(legacy))  # fmt: skip
    assert b"ENCRYPTED PRIVATE KEY" in pkcs8.read_bytes()
    assert b"Proc-Type: 4,ENCRYPTED" in legacy.read_bytes()
    return pkcs8, legacy


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


def test_files_are_kept_and_the_handler_connection_takes_tls_too(pki: Pki) -> None:
    ca, cert, key = pki.ca, pki.client_cert, pki.client_key
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


def _handlers_mqtt(tls: Any) -> Config:
    return Config.from_dict({"handlers": {"mqtt": {"host": "b", "tls": tls}}}, source="t.yaml", env={})


@pytest.mark.parametrize("parse", [_mqtt, _handlers_mqtt], ids=["mqtt", "handlers.mqtt"])
def test_files_must_hold_pem_of_their_kind(parse: Any, pki: Pki, tmp_path: Path) -> None:
    prefix = "mqtt.tls" if parse is _mqtt else "handlers.mqtt.tls"
    client = {"cert_file": str(pki.client_cert), "key_file": str(pki.client_key)}
    bundle = tmp_path / "bundle.pem"  # certificate and key in one file: key_file may be left out
    bundle.write_bytes(pki.client_cert.read_bytes() + pki.client_key.read_bytes())
    assert parse({"cert_file": str(bundle)}) is not None
    cases: list[tuple[dict[str, str], str, str]] = [
        ({"ca_file": "/etc/passwd"}, "ca_file", "'-----BEGIN CERTIFICATE-----' block"),
        ({"ca_file": str(pki.client_key)}, "ca_file", "'-----BEGIN CERTIFICATE-----' block"),
        ({**client, "cert_file": str(pki.client_key)}, "cert_file", "BEGIN CERTIFICATE"),
        ({**client, "key_file": str(pki.client_cert)}, "key_file", "'-----BEGIN PRIVATE KEY-----'"),
        ({**client, "key_file": "/etc/passwd"}, "key_file", "'-----BEGIN PRIVATE KEY-----'"),
        ({"cert_file": str(pki.client_cert)}, "cert_file", "(the client key, as key_file is not set)"),
    ]
    for tls, key, expected in cases:
        with pytest.raises(ConfigError) as caught:
            parse(tls)
        message = str(caught.value)
        assert f"{prefix}.{key}: expected" in message and expected in message, (tls, message)


@pytest.mark.parametrize("parse", [_mqtt, _handlers_mqtt], ids=["mqtt", "handlers.mqtt"])
def test_an_encrypted_key_is_refused_by_its_key_path(
    parse: Any, pki: Pki, encrypted_keys: tuple[Path, Path], tmp_path: Path
) -> None:
    prefix = "mqtt.tls" if parse is _mqtt else "handlers.mqtt.tls"
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes(pki.client_cert.read_bytes() + encrypted_keys[0].read_bytes())
    cases = [
        ({"cert_file": str(pki.client_cert), "key_file": str(encrypted_keys[0])}, "key_file"),
        ({"cert_file": str(pki.client_cert), "key_file": str(encrypted_keys[1])}, "key_file"),
        ({"cert_file": str(bundle)}, "cert_file"),
    ]
    for tls, key in cases:
        with pytest.raises(ConfigError) as caught:
            parse(tls)
        message = str(caught.value)
        assert f"{prefix}.{key}: expected an unencrypted private key" in message, message
        assert PASS_PHRASE not in message


def test_check_config_refuses_an_encrypted_key(
    pki: Pki, encrypted_keys: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "tls.yaml"
    config.write_text(
        "mqtt:\n  host: broker.lan\n  port: 8883\n  tls:\n"
        f"    ca_file: {pki.ca}\n    cert_file: {pki.client_cert}\n    key_file: {encrypted_keys[0]}\n"
    )
    assert main(["check-config", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "tls.yaml: mqtt.tls.key_file: expected an unencrypted private key" in err, err
    assert "Traceback" not in err
