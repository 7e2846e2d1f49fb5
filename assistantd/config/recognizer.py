"""The ``recognizer:`` section: which recognizer runs, shared transport limits, each vendor's block."""

from __future__ import annotations

from dataclasses import dataclass

from assistantd.config.huawei import HuaweiConfig
from assistantd.config.local import LocalRecognizerConfig
from assistantd.config.reader import Node
from assistantd.config.volcengine import VolcengineConfig, ZyunConfig

RECOGNIZER_NAMES = ("local", "volcengine", "zyun", "huawei")


@dataclass(frozen=True)
class TransportConfig:
    packet_ms: int = 160
    """Audio is sent in packets of this many milliseconds (100-200 ms suits every vendor)."""
    connect_timeout_s: float = 5.0
    """Deadline for the WebSocket upgrade and the vendor's start acknowledgement."""
    send_timeout_s: float = 5.0
    """Deadline for one send to drain."""
    final_timeout_s: float = 5.0
    """Deadline, after the endpoint, for the final transcript."""
    retries: int = 1
    """Retries of one utterance, on a fresh connection, from its buffered audio."""
    max_buffer_s: float = 30.0
    """Audio kept per utterance for a retry or a fallback; beyond it the oldest audio is not retried."""

    @classmethod
    def from_node(cls, node: Node) -> TransportConfig:
        cfg = cls(
            packet_ms=node.integer("packet_ms", cls.packet_ms, min=20, max=1000),
            connect_timeout_s=node.number("connect_timeout_s", cls.connect_timeout_s, min=0.1, max=120),
            send_timeout_s=node.number("send_timeout_s", cls.send_timeout_s, min=0.1, max=120),
            final_timeout_s=node.number("final_timeout_s", cls.final_timeout_s, min=0.1, max=120),
            retries=node.integer("retries", cls.retries, min=0, max=5),
            max_buffer_s=node.number("max_buffer_s", cls.max_buffer_s, min=1, max=600),
        )
        node.finish()
        return cfg


@dataclass(frozen=True)
class RecognizerConfig:
    default: str = "local"
    """The recognizer every utterance goes to: local, volcengine, zyun or huawei."""
    fallback: str | None = "local"
    """Recognizer used with the same audio when the default fails an utterance; null for none."""
    transport: TransportConfig = TransportConfig()
    local: LocalRecognizerConfig = LocalRecognizerConfig()
    volcengine: VolcengineConfig | None = None
    zyun: ZyunConfig | None = None
    huawei: HuaweiConfig | None = None

    @classmethod
    def from_node(cls, node: Node) -> RecognizerConfig:
        default = node.text("default", cls.default, choices=RECOGNIZER_NAMES)
        fallback = node.raw("fallback", cls.fallback)
        if fallback is not None and fallback not in RECOGNIZER_NAMES:
            raise node.error("fallback", f"expected null or one of {', '.join(RECOGNIZER_NAMES)}", fallback)
        cfg = cls(
            default=default,
            fallback=fallback,
            transport=TransportConfig.from_node(node.node("transport")),
            local=LocalRecognizerConfig.from_node(node.node("local")),
            volcengine=VolcengineConfig.from_node(node.node("volcengine"))
            if node.has("volcengine")
            else None,
            zyun=ZyunConfig.from_node(node.node("zyun")) if node.has("zyun") else None,
            huawei=HuaweiConfig.from_node(node.node("huawei")) if node.has("huawei") else None,
        )
        for role, name in (("default", cfg.default), ("fallback", cfg.fallback)):
            if name is not None and name != "local" and getattr(cfg, name) is None:
                raise node.error(role, f"expected a recognizer.{name} block to configure {name!r}", name)
        node.finish()
        return cfg
