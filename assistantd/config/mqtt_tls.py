"""TLS for an MQTT connection (``mqtt.tls`` or ``handlers.mqtt.tls``).

```yaml
mqtt:
  host: broker.lan
  port: 8883
  tls: true                      # the system's CA certificates, host name checked
# or
  tls:
    ca_file: /etc/assistantd/ca.pem      # the broker's CA (default: the system's)
    cert_file: /etc/assistantd/pi.pem    # a client certificate, for brokers that require one
    key_file: /etc/assistantd/pi.key     # its key (default: in cert_file)
    insecure: false                      # true: do not check the broker's host name (chain still checked)
```
Paths are absolute. When the config is loaded each file must be a readable regular file holding PEM of
its kind: a ``-----BEGIN CERTIFICATE-----`` block in ``ca_file`` and ``cert_file``, a ``PRIVATE KEY``
block in ``key_file`` (or in ``cert_file`` when ``key_file`` is unset), and the key must not be encrypted:
the daemon has no pass phrase to give, and OpenSSL would ask for one on the terminal. Whether the PEM
parses and the key matches the certificate is found when a client is built (mqtt_client.py), so parsing
stays free of ssl.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass

from assistantd.config.reader import Node


@dataclass(frozen=True)
class MqttTls:
    ca_file: str | None = None
    """PEM file of the CA(s) that signed the broker's certificate; None: the system's CA store."""
    cert_file: str | None = None
    """PEM client certificate (brokers with ``require_certificate true``); None: no client certificate."""
    key_file: str | None = None
    """PEM key of ``cert_file``; None: the key is in ``cert_file``."""
    insecure: bool = False
    """Skip the host name check (the chain is still verified): a broker reached by an address its
    certificate does not name. Never for a broker on another network."""

    @classmethod
    def from_node(cls, node: Node) -> MqttTls:
        cfg = cls(
            ca_file=_path(node, "ca_file", cls.ca_file),
            cert_file=_path(node, "cert_file", cls.cert_file),
            key_file=_path(node, "key_file", cls.key_file),
            insecure=node.flag("insecure", cls.insecure),
        )
        if cfg.key_file is not None and cfg.cert_file is None:
            raise node.error("cert_file", "expected a client certificate when key_file is set")
        if cfg.ca_file is not None:
            _check_pem(node, "ca_file", cfg.ca_file, certificate=True)
        if cfg.cert_file is not None:
            _check_pem(node, "cert_file", cfg.cert_file, certificate=True, private_key=cfg.key_file is None)
        if cfg.key_file is not None:
            _check_pem(node, "key_file", cfg.key_file, private_key=True)
        node.finish()
        return cfg


def read_tls(node: Node, key: str) -> MqttTls | None:
    """``key`` as ``true`` (system CAs), ``false``/absent (no TLS) or a mapping of MqttTls keys."""
    raw = node.raw(key, None)
    if raw is None or raw is False:
        return None
    if raw is True:
        return MqttTls()
    if not isinstance(raw, dict):
        raise node.error(
            key, "expected true, false or a mapping (ca_file, cert_file, key_file, insecure)", raw
        )
    return MqttTls.from_node(node.node(key))


def _path(node: Node, key: str, default: str | None) -> str | None:
    path = node.text(key, default)
    if path is None:
        return None
    if not os.path.isabs(path):
        raise node.error(key, "expected an absolute path", path)
    if not os.access(path, os.R_OK) or not os.path.isfile(path):
        raise node.error(key, "expected a readable PEM file", path)
    return path


_MAX_PEM_BYTES = 1 << 20
"""A CA bundle is a few hundred kB at most; more is not a PEM file (and is not read into memory)."""
_CERTIFICATE = re.compile(rb"^-----BEGIN (TRUSTED )?CERTIFICATE-----", re.MULTILINE)
_PRIVATE_KEY = re.compile(rb"^-----BEGIN ((RSA|EC|DSA|ENCRYPTED) )?PRIVATE KEY-----", re.MULTILINE)
_ENCRYPTED = re.compile(rb"^(-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED)", re.MULTILINE)
"""PKCS#8 encryption, and the legacy OpenSSL form (an ``RSA PRIVATE KEY`` with a DEK-Info header)."""


def _check_pem(
    node: Node, key: str, path: str, *, certificate: bool = False, private_key: bool = False
) -> None:
    """``path`` (already known readable) holds the PEM blocks asked for, and no encrypted key."""
    try:
        with open(path, "rb") as f:
            data = f.read(_MAX_PEM_BYTES + 1)
    except OSError as err:
        raise node.error(key, "expected a readable PEM file", f"{path} ({err.strerror})") from None
    if len(data) > _MAX_PEM_BYTES:
        raise node.error(key, f"expected a PEM file of at most {_MAX_PEM_BYTES} bytes", path)
    if certificate and _CERTIFICATE.search(data) is None:
        raise node.error(key, "expected a PEM file with a '-----BEGIN CERTIFICATE-----' block", path)
    if private_key:
        if _PRIVATE_KEY.search(data) is None:
            expected = "expected a PEM file with a '-----BEGIN PRIVATE KEY-----' block"
            if key == "cert_file":
                expected += " (the client key, as key_file is not set)"
            raise node.error(key, expected, path)
        if _ENCRYPTED.search(data) is not None:
            raise node.error(
                key,
                "expected an unencrypted private key (the daemon cannot enter a pass phrase; "
                "decrypt it with 'openssl pkey -in KEY -out KEY.new' and keep it readable only by "
                "the daemon)",
                path,
            )
