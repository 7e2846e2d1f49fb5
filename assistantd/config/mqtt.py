"""The top-level ``mqtt:`` section: this site's broker connection and what goes over it.

```yaml
mqtt:
  host: 127.0.0.1
  port: 1883
  site_id: kitchen            # default: the host name
  username: assistantd
  password: "credential:mqtt"  # by reference, never inline
  events: true                # publish each utterance's events (README, "MQTT events")
  discovery: false            # Home Assistant MQTT discovery (README, "Home Assistant discovery")
  discovery_prefix: homeassistant
```
The handler connection ``handlers.mqtt`` stays; when it is absent, mqtt handlers use this one.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistantd.config.handlers import MqttConnection
from assistantd.config.reader import Node


def events_client_id(client_id: str, site_id: str) -> str:
    """The event publisher's client id. A broker disconnects a client whose id another connection takes:
    the handlers' connection (``client_id`` itself) and other sites' event publishers must not share it."""
    return f"{client_id}-{site_id}-events"


@dataclass(frozen=True)
class MqttConfig:
    connection: MqttConnection
    """Host, port, credentials, client id, keepalive, queue and reconnect delays."""
    site_id: str | None = None
    """This room's name in every payload (``siteId``) and in assistantd's topics; None: the host name
    (resolved when the app is built, config parsing stays pure)."""
    events: bool = True
    """Publish each utterance's events (Hermes topics and ``assistantd/<site_id>/utterance``)."""
    discovery: bool = False
    """Publish Home Assistant MQTT discovery configs for this site (ha_discovery.py)."""
    discovery_prefix: str = "homeassistant"
    """Home Assistant's discovery prefix (its MQTT integration's setting)."""

    @classmethod
    def from_node(cls, node: Node) -> MqttConfig:
        site_id = node.text("site_id", cls.site_id)
        if site_id is not None and (not site_id or any(ch in site_id for ch in "/+#\0")):
            raise node.error(
                "site_id", "expected a non-empty name without / + # or NUL (one topic level)", site_id
            )
        connection = MqttConnection.read(node)
        prefix = node.text("discovery_prefix", cls.discovery_prefix)
        if not prefix or any(ch in prefix for ch in "+#\0") or prefix.startswith("/") or prefix.endswith("/"):
            raise node.error("discovery_prefix", "expected a topic prefix without + # or NUL", prefix)
        cfg = cls(
            connection=connection,
            site_id=site_id,
            events=node.flag("events", cls.events),
            discovery=node.flag("discovery", cls.discovery),
            discovery_prefix=prefix,
        )
        node.finish()
        return cfg
