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
Paths are absolute and checked for readability when the config is loaded. The TLS context itself is made
when a client is built (mqtt_client.py), so parsing stays free of ssl.
"""

from __future__ import annotations

import os
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
