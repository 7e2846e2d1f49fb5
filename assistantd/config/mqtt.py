"""The top-level ``mqtt:`` section: this site's broker connection and what goes over it.

```yaml
mqtt:
  host: 127.0.0.1
  port: 1883
  site_id: kitchen            # default: the host name
  username: assistantd
  password: "credential:mqtt"  # by reference, never inline
  events: true                # publish each utterance's events (README, "MQTT events")
  arbitration:                # several rooms, one broker (README, "Several rooms, one broker")
    enabled: false
    window_ms: 200
```
The handler connection ``handlers.mqtt`` stays; when it is absent, mqtt handlers use this one.
"""

from __future__ import annotations

from dataclasses import dataclass

from assistantd.config.handlers import MqttConnection
from assistantd.config.reader import Node


def arbitration_client_id(client_id: str, site_id: str) -> str:
    """The arbitration exchange's client id (its own connection: announcements never queue behind events)."""
    return f"{client_id}-{site_id}-arbiter"


@dataclass(frozen=True)
class ArbitrationConfig:
    enabled: bool = False
    """Announce each utterance and act only when this site heard it best (every site of the house must
    turn it on; a site without it acts on everything it hears)."""
    window_ms: int = 200
    """How long a site waits for the others' announcements before deciding, milliseconds."""

    @classmethod
    def from_node(cls, node: Node) -> ArbitrationConfig:
        cfg = cls(
            enabled=node.flag("enabled", cls.enabled),
            window_ms=node.integer("window_ms", cls.window_ms, min=20, max=2000),
        )
        node.finish()
        return cfg


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
    arbitration: ArbitrationConfig = ArbitrationConfig()
    """Which site acts when several heard the same utterance (arbitration.py)."""

    @classmethod
    def from_node(cls, node: Node) -> MqttConfig:
        site_id = node.text("site_id", cls.site_id)
        if site_id is not None and (not site_id or any(ch in site_id for ch in "/+#\0")):
            raise node.error(
                "site_id", "expected a non-empty name without / + # or NUL (one topic level)", site_id
            )
        connection = MqttConnection.read(node)
        cfg = cls(
            connection=connection,
            site_id=site_id,
            events=node.flag("events", cls.events),
            arbitration=ArbitrationConfig.from_node(node.node("arbitration")),
        )
        node.finish()
        return cfg
