"""TLS and credentials on the MQTT connection, against real Mosquitto listeners: a TLS listener with a
throwaway CA (openssl), one that requires a client certificate, and one with a password file."""

from __future__ import annotations

import asyncio
import logging
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import pytest

from assistantd.config.handlers import MqttConnection
from assistantd.handlers.mqtt import MqttPublisher
from tests.mqtt_certs import OPENSSL, Pki, make_pki

from .conftest import MOSQUITTO, Broker, handlers_config

WAIT_S = 30.0
"""Bounds waits on the broker: only a hang reaches it."""
PASSWORD = "s3cret-pa55word-never-logged"


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    if OPENSSL is None:
        pytest.fail("openssl is not installed (apt-get install openssl)")
    return make_pki(tmp_path_factory.mktemp("pki"))


def _start(directory: Path, options: str) -> Broker:
    if not Path(MOSQUITTO).exists():
        pytest.fail("mosquitto is not installed (apt-get install mosquitto)")
    broker = Broker(directory, options)
    broker.start()
    return broker


@pytest.fixture
def tls_broker(tmp_path: Path, pki: Pki) -> Iterator[Broker]:
    """TLS only, and a client certificate signed by the test CA required."""
    broker = _start(
        tmp_path,
        f"allow_anonymous true\ncafile {pki.ca}\ncertfile {pki.server_cert}\nkeyfile {pki.server_key}\n"
        "require_certificate true\n",
    )
    yield broker
    broker.stop()


@pytest.fixture
def misnamed_broker(tmp_path: Path, pki: Pki) -> Iterator[Broker]:
    """TLS with a certificate for another host name (no client certificate needed)."""
    broker = _start(
        tmp_path,
        f"allow_anonymous true\ncertfile {pki.misnamed_cert}\nkeyfile {pki.misnamed_key}\n",
    )
    yield broker
    broker.stop()


@pytest.fixture
def password_broker(tmp_path: Path) -> Iterator[Broker]:
    passwords = tmp_path / "passwords"
    passwd = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    subprocess.run([passwd, "-b", "-c", str(passwords), "pi", PASSWORD], check=True, timeout=30)
    broker = _start(tmp_path, f"allow_anonymous false\npassword_file {passwords}\n")
    yield broker
    broker.stop()


def _connection(broker: Broker, env: dict[str, str] | None = None, **extra: Any) -> MqttConnection:
    cfg = handlers_config(
        {
            "mqtt": {
                "host": "127.0.0.1",
                "port": broker.port,
                "retry_initial_s": 0.05,
                "retry_max_s": 0.2,
                **extra,
            }
        },
        env,
    )
    assert cfg.mqtt is not None
    return cfg.mqtt


async def _published(connection: MqttConnection, subscriber: aiomqtt.Client) -> bytes:
    """Publish one message through a real MqttPublisher and return what ``subscriber`` received."""
    publisher = MqttPublisher(connection)
    running = asyncio.create_task(publisher.run())
    try:
        await subscriber.subscribe("tls/test", qos=1)
        await publisher.publish("tls/test", b"over tls", qos=1, retain=False, timeout_s=WAIT_S)
        async with asyncio.timeout(WAIT_S):
            async for message in subscriber.messages:
                assert isinstance(message.payload, bytes)
                return message.payload
        raise AssertionError("no message")
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)


def _client_context(pki: Pki) -> ssl.SSLContext:
    context = ssl.create_default_context(cafile=str(pki.ca))
    context.load_cert_chain(str(pki.client_cert), str(pki.client_key))
    return context


async def test_tls_with_a_ca_and_a_client_certificate_carries_publishes(tls_broker: Broker, pki: Pki) -> None:
    connection = _connection(
        tls_broker,
        tls={"ca_file": str(pki.ca), "cert_file": str(pki.client_cert), "key_file": str(pki.client_key)},
    )
    async with aiomqtt.Client(
        "127.0.0.1", tls_broker.port, identifier="tls-sub", tls_context=_client_context(pki)
    ) as subscriber:
        assert await _published(connection, subscriber) == b"over tls"


async def _failures(connection: MqttConnection, caplog: pytest.LogCaptureFixture, attempts: int) -> list[str]:
    """Run a publisher against a broker that refuses it until it has failed ``attempts`` times; its
    warnings (what a user sees at the default level)."""
    caplog.set_level(logging.DEBUG, logger="assistantd")
    made = 0
    tried = asyncio.Event()

    def counting(*args: Any, **kwargs: Any) -> aiomqtt.Client:
        nonlocal made
        made += 1
        if made > attempts:  # the attempts before this one all failed
            tried.set()
        return aiomqtt.Client(*args, **kwargs)

    publisher = MqttPublisher(connection, client_factory=counting)
    running = asyncio.create_task(publisher.run())
    try:
        async with asyncio.timeout(WAIT_S):
            await tried.wait()
        assert not publisher.connected.is_set()
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


async def test_a_broker_whose_certificate_the_ca_did_not_sign_is_refused_and_logged_once(
    tls_broker: Broker, pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    connection = _connection(
        tls_broker,
        tls={
            "ca_file": str(pki.other_ca),
            "cert_file": str(pki.client_cert),
            "key_file": str(pki.client_key),
        },
    )
    warnings = await _failures(connection, caplog, attempts=4)
    assert len(warnings) == 1, warnings
    assert (
        f"127.0.0.1:{tls_broker.port}" in warnings[0] and "certificate verify failed" in warnings[0].lower()
    )


async def test_insecure_skips_only_the_host_name_check(
    misnamed_broker: Broker, pki: Pki, caplog: pytest.LogCaptureFixture
) -> None:
    strict = _connection(misnamed_broker, tls={"ca_file": str(pki.ca)})
    warnings = await _failures(strict, caplog, attempts=2)
    assert len(warnings) == 1 and "127.0.0.1" in warnings[0], warnings
    context = ssl.create_default_context(cafile=str(pki.ca))
    context.check_hostname = False
    async with aiomqtt.Client(
        "127.0.0.1", misnamed_broker.port, identifier="tls-sub", tls_context=context
    ) as subscriber:
        lenient = _connection(misnamed_broker, tls={"ca_file": str(pki.ca), "insecure": True})
        assert await _published(lenient, subscriber) == b"over tls"
    # The chain is still checked: a CA that did not sign the broker's certificate is refused.
    caplog.clear()
    other = _connection(misnamed_broker, tls={"ca_file": str(pki.other_ca), "insecure": True})
    assert len(await _failures(other, caplog, attempts=2)) == 1


async def test_refused_credentials_give_one_line_per_outage_without_the_secret(
    password_broker: Broker, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = _connection(
        password_broker, {"MQTT_PW": "not-the-password-either"}, username="pi", password="${MQTT_PW}"
    )
    warnings = await _failures(wrong, caplog, attempts=5)
    assert len(warnings) == 1, warnings  # five refusals, one line
    line = warnings[0]
    assert f"127.0.0.1:{password_broker.port}" in line and "not authorised" in line, line
    text = caplog.text + "\n".join(str(r.args) for r in caplog.records)
    assert "not-the-password-either" not in text and PASSWORD not in text
    # The right password connects and publishes.
    right = _connection(password_broker, {"MQTT_PW": PASSWORD}, username="pi", password="${MQTT_PW}")
    async with aiomqtt.Client(
        "127.0.0.1", password_broker.port, identifier="auth-sub", username="pi", password=PASSWORD
    ) as subscriber:
        assert await _published(right, subscriber) == b"over tls"
