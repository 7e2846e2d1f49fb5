"""The ``handlers:`` section: what runs when an intent matches, and the connections handlers share.

```yaml
handlers:
  max_concurrent: 4
  bindings:
    - {intent: TurnOn, exec: {argv: [/usr/local/bin/lights, on, "{room}"]}}
    - {intent: TurnOn, say: {text: "Turning on the {room} lights"}}
  fallback: {say: {text: "Sorry, I didn't get that"}}
  mqtt: {host: 127.0.0.1}
  homeassistant: {url: "http://homeassistant.local:8123", token: "${HA_TOKEN}"}
  tts: {device: null}
```
The family specs live in handler_specs.py; this module holds the section and the connection blocks.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from assistantd.config.handler_specs import HandlerSpec, SecretHeader, parse_family, template
from assistantd.config.mqtt_tls import MqttTls, read_tls
from assistantd.config.reader import Node
from assistantd.config.secret import Secret
from assistantd.config.template import Template

ESPEAK_COMMAND = ("espeak-ng", "--stdin")


@dataclass(frozen=True)
class MqttConnection:
    host: str
    """Broker host name or address."""
    port: int = 1883
    username: str | None = None
    password: Secret | None = None
    """By reference: ${ENV}, file:PATH or credential:NAME."""
    client_id: str = "assistantd"
    keepalive_s: int = 60
    queue_size: int = 64
    """Publishes waiting for the broker; when full a new publish fails at once (the newest is dropped)."""
    retry_initial_s: float = 0.5
    """First delay before reconnecting; doubles (with jitter) up to retry_max_s."""
    retry_max_s: float = 30.0
    tls: MqttTls | None = None
    """TLS settings (mqtt_tls.py); None: plain TCP."""

    @classmethod
    def from_node(cls, node: Node) -> MqttConnection:
        cfg = cls.read(node)
        node.finish()
        return cfg

    @classmethod
    def read(cls, node: Node) -> MqttConnection:
        """The connection keys of ``node``, leaving other keys to the caller (the top-level ``mqtt:``)."""
        cfg = cls(
            host=node.text("host"),
            port=node.integer("port", cls.port, min=1, max=65535),
            username=node.text("username", cls.username),
            password=node.secret("password", cls.password),
            client_id=node.text("client_id", cls.client_id),
            keepalive_s=node.integer("keepalive_s", cls.keepalive_s, min=5, max=3600),
            queue_size=node.integer("queue_size", cls.queue_size, min=1, max=10000),
            retry_initial_s=node.number("retry_initial_s", cls.retry_initial_s, min=0.01, max=60),
            retry_max_s=node.number("retry_max_s", cls.retry_max_s, min=0.1, max=3600),
            tls=read_tls(node, "tls"),
        )
        if cfg.password is not None and cfg.username is None:
            raise node.error("username", "expected a username when a password is set")
        return cfg


@dataclass(frozen=True)
class HomeAssistantConnection:
    url: str
    """Base URL of Home Assistant, e.g. http://homeassistant.local:8123."""
    token: Secret
    """Long-lived access token, sent as ``Authorization: Bearer``; by reference."""
    timeout_s: float = 5.0
    """Deadline for one service call."""

    @property
    def headers(self) -> tuple[tuple[str, SecretHeader]]:
        """How Home Assistant takes the token, ``Authorization: Bearer``, revealed only as it is sent."""
        return (("Authorization", SecretHeader(self.token, "Bearer ")),)

    @classmethod
    def from_node(cls, node: Node) -> HomeAssistantConnection:
        url = node.text("url")
        split = urlsplit(url)
        if split.scheme not in ("http", "https") or not split.netloc or split.query or split.fragment:
            raise node.error("url", "expected an http:// or https:// base URL", url)
        cfg = cls(
            url=url.rstrip("/"),
            token=node.secret("token"),
            timeout_s=node.number("timeout_s", cls.timeout_s, min=0.05, max=600),
        )
        node.finish()
        return cfg


@dataclass(frozen=True)
class TtsConfig:
    command: tuple[Template, ...] = ()
    """TTS argv; empty means espeak-ng (with -v voice and -d device when set). Text goes to an element
    that is exactly "{text}", else to stdin; a set device fills an element that is exactly "{device}"."""
    voice: str | None = None
    """espeak-ng voice (default command only), e.g. en-us or cmn."""
    device: str | None = None
    """Output device; null is the system default."""
    tail_ms: int = 300
    """After speech ends, captured audio is still discarded this long (room echo, buffered playback)."""
    timeout_s: float = 30.0
    """A reply that takes longer is killed."""

    @classmethod
    def from_node(cls, node: Node) -> TtsConfig:
        raw = node.raw("command", None)
        command: list[Template] = []
        if raw is not None:
            if not isinstance(raw, list) or not raw or not all(isinstance(a, str) for a in raw):
                raise node.error("command", "expected a non-empty list of strings (an argv)", raw)
            for i, element in enumerate(raw):
                tpl = template(node, f"command[{i}]", element)
                if tpl.fields and (tpl.whole_field not in ("text", "device") or i == 0):
                    raise node.error(
                        f"command[{i}]",
                        'expected a literal or an element that is exactly "{text}" or "{device}"',
                    )
                command.append(tpl)
        cfg = cls(
            command=tuple(command),
            voice=node.text("voice", cls.voice),
            device=node.text("device", cls.device),
            tail_ms=node.integer("tail_ms", cls.tail_ms, min=0, max=5000),
            timeout_s=node.number("timeout_s", cls.timeout_s, min=0.1, max=600),
        )
        if cfg.device is not None and command and "device" not in [t.whole_field for t in command]:
            raise node.error("command", 'expected a "{device}" element, since tts.device is set')
        if cfg.voice is not None and command:
            raise node.error("voice", "expected no voice with a custom command (put it in the argv)")
        node.finish()
        return cfg


@dataclass(frozen=True)
class Binding:
    intent: str
    spec: HandlerSpec


@dataclass(frozen=True)
class HandlersConfig:
    max_concurrent: int = 4
    """At most this many utterances' handlers run at once; further ones wait their turn."""
    max_pending: int = 16
    """Utterances waiting for a slot; beyond it a new one from a live source is dropped (and reported), never
    the older ones. A recording waits for room instead."""
    kill_grace_s: float = 2.0
    """Between SIGTERM and SIGKILL for an exec handler (or TTS command) past its timeout."""
    output_limit_bytes: int = 65536
    """Output kept per exec run; the rest is read, counted and discarded."""
    bindings: tuple[Binding, ...] = ()
    """Intent -> handler, in order; several handlers for one intent run one after another."""
    fallback: HandlerSpec | None = None
    """Runs for text that matched no intent."""
    mqtt: MqttConnection | None = None
    homeassistant: HomeAssistantConnection | None = None
    tts: TtsConfig = TtsConfig()

    @classmethod
    def from_node(cls, node: Node, *, site_mqtt: MqttConnection | None = None) -> HandlersConfig:
        """``site_mqtt``: the top-level ``mqtt:`` connection, used when ``handlers.mqtt`` is absent."""
        mqtt = MqttConnection.from_node(node.node("mqtt")) if node.has("mqtt") else site_mqtt
        ha = (
            HomeAssistantConnection.from_node(node.node("homeassistant"))
            if node.has("homeassistant")
            else None
        )
        bindings: list[Binding] = []
        for item in node.nodes("bindings"):
            intent = item.text("intent")
            bindings.append(Binding(intent, _spec(item, mqtt, ha, extra_keys=("intent",))))
        fallback = None
        if node.raw("fallback", cls.fallback) is not None:
            fallback = _spec(node.node("fallback"), mqtt, ha)
        cfg = cls(
            max_concurrent=node.integer("max_concurrent", cls.max_concurrent, min=1, max=64),
            max_pending=node.integer("max_pending", cls.max_pending, min=0, max=1000),
            kill_grace_s=node.number("kill_grace_s", cls.kill_grace_s, min=0.0, max=60),
            output_limit_bytes=node.integer(
                "output_limit_bytes", cls.output_limit_bytes, min=0, max=16 * 1024 * 1024
            ),
            bindings=tuple(bindings),
            fallback=fallback,
            mqtt=mqtt,
            homeassistant=ha,
            tts=TtsConfig.from_node(node.node("tts")),
        )
        node.finish()
        return cfg

    def handlers_for(self, intent: str) -> tuple[HandlerSpec, ...]:
        return tuple(b.spec for b in self.bindings if b.intent == intent)


_CONNECTION_BLOCKS = {
    "mqtt": "a handlers.mqtt or top-level mqtt: connection block (host, port, ...)",
    "homeassistant": "a handlers.homeassistant block (url, token)",
}
"""What each connection block a family may need (handler_specs.Family.connection) is, for the error."""


def _spec(
    node: Node,
    mqtt: MqttConnection | None,
    ha: HomeAssistantConnection | None,
    extra_keys: tuple[str, ...] = (),
) -> HandlerSpec:
    family, spec = parse_family(node, extra_keys=extra_keys)
    present = {"mqtt": mqtt is not None, "homeassistant": ha is not None}
    if family.connection is not None and not present[family.connection]:
        raise node.error(family.name, f"expected {_CONNECTION_BLOCKS[family.connection]}")
    node.finish()
    return spec
