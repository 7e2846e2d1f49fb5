"""The ``recognizer:`` section: which recognizer runs, shared transport limits, each vendor's block.

A cloud vendor is declared once, in ``CLOUD_VENDORS``: its name (the config key and the name ``default`` and
``fallback`` take), the class of its block and where its codec factory lives. Both are named, not imported
(named.py): the block's module is imported when a config has the block, the factory's when a config uses
the vendor (recognizer/registry.py; issue 13), and this pure module never reaches the recognizer package.
``local`` is not a cloud vendor: it needs the whole config (the intent files make its grammar), so
recognizer/registry.py builds it itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, assert_never, cast

from assistantd.config.local import LocalRecognizerConfig
from assistantd.config.reader import Node
from assistantd.named import load_named

if TYPE_CHECKING:
    from assistantd.config.huawei import HuaweiConfig
    from assistantd.config.volcengine import VolcengineConfig, ZyunConfig
    from assistantd.config.wyoming import WyomingConfig

CloudVendorName = Literal["volcengine", "zyun", "huawei", "wyoming"]
"""The closed set of cloud vendors: RecognizerConfig.block matches it, so mypy reports a missing case."""


@dataclass(frozen=True)
class CloudVendor:
    """One remote recognizer: a sans-I/O codec driven by the shared transport (transport.py)."""

    name: CloudVendorName
    """Its key under ``recognizer:``; RecognizerConfig has a field of this name for the parsed block."""
    block: str
    """``module:Class`` of the vendor's block, whose ``from_node`` reads it (and finishes it); imported
    only when a config has the block."""
    codec: str
    """``module:function`` of the codec factory, called as ``function(block, url_override=URL)`` for each
    connection; imported only when a config names the vendor."""
    connect: str | None = None
    """``module:function`` opening a connection for the transport, for a server that does not speak
    WebSocket (Wyoming's TCP stream); None for ``websockets.connect``. Imported only when used."""


CLOUD_VENDORS = (
    CloudVendor(
        "volcengine",
        "assistantd.config.volcengine:VolcengineConfig",
        "assistantd.recognizer.sauc:volcengine_codec",
    ),
    CloudVendor("zyun", "assistantd.config.volcengine:ZyunConfig", "assistantd.recognizer.sauc:zyun_codec"),
    CloudVendor(
        "huawei", "assistantd.config.huawei:HuaweiConfig", "assistantd.recognizer.huawei:make_huawei_codec"
    ),
    CloudVendor(
        "wyoming",
        "assistantd.config.wyoming:WyomingConfig",
        "assistantd.recognizer.wyoming:make_wyoming_codec",
        connect="assistantd.recognizer.tcp_stream:connect_tcp",
    ),
)
"""Every cloud vendor. A new one is a config module, a codec module, one line here, its name in
CloudVendorName, its block class imported under TYPE_CHECKING and added to VendorBlock, and a field and a
case in RecognizerConfig (mypy reports the ones missing; tests/recognizer/test_vendor_table.py and
tests/config/test_config_consumers.py check that each named class is the field's type)."""

if TYPE_CHECKING:
    VendorBlock = VolcengineConfig | ZyunConfig | HuaweiConfig | WyomingConfig

CLOUD_VENDOR_NAMES = tuple(vendor.name for vendor in CLOUD_VENDORS)
RECOGNIZER_NAMES = ("local", *CLOUD_VENDOR_NAMES)
_BY_NAME: dict[str, CloudVendor] = {vendor.name: vendor for vendor in CLOUD_VENDORS}


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
    """The recognizer every utterance goes to: local, volcengine, zyun, huawei or wyoming."""
    fallback: str | None = "local"
    """Recognizer used with the same audio when the default fails an utterance; null for none."""
    transport: TransportConfig = TransportConfig()
    local: LocalRecognizerConfig = LocalRecognizerConfig()
    volcengine: VolcengineConfig | None = None
    zyun: ZyunConfig | None = None
    huawei: HuaweiConfig | None = None
    wyoming: WyomingConfig | None = None

    @classmethod
    def from_node(cls, node: Node) -> RecognizerConfig:
        default = node.text("default", cls.default, choices=RECOGNIZER_NAMES)
        fallback = node.raw("fallback", cls.fallback)
        if fallback is not None and fallback not in RECOGNIZER_NAMES:
            raise node.error("fallback", f"expected null or one of {', '.join(RECOGNIZER_NAMES)}", fallback)
        # Any: each vendor's field has its own block type, which CloudVendor.block cannot name.
        blocks: dict[str, Any] = {
            vendor.name: cast(Any, load_named(vendor.block)).from_node(node.node(vendor.name))
            for vendor in CLOUD_VENDORS
            if node.has(vendor.name)
        }
        cfg = cls(
            default=default,
            fallback=fallback,
            transport=TransportConfig.from_node(node.node("transport")),
            local=LocalRecognizerConfig.from_node(node.node("local")),
            **blocks,
        )
        for role, name in (("default", cfg.default), ("fallback", cfg.fallback)):
            vendor = _BY_NAME.get(name) if name is not None else None
            if vendor is not None and cfg.block(vendor.name) is None:
                raise node.error(role, f"expected a recognizer.{name} block to configure {name!r}", name)
        node.finish()
        return cfg

    def block(self, name: CloudVendorName) -> VendorBlock | None:
        """The parsed block of the cloud vendor ``name``, or None when the config has none."""
        match name:
            case "volcengine":
                return self.volcengine
            case "zyun":
                return self.zyun
            case "huawei":
                return self.huawei
            case "wyoming":
                return self.wyoming
            case _:
                assert_never(name)
