"""``recognizer.huawei``: Huawei Cloud SIS real-time ASR (protocols.md §3)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from assistantd.config.reader import Node
from assistantd.config.secret import Secret
from assistantd.config.volcengine import check_ws_url

HUAWEI_MODES = ("short-stream", "sentence-stream", "continue-stream")
"""The three RASR URIs (protocols.md §3.1): streaming one-sentence, single-sentence with VAD, continuous."""

HUAWEI_AUDIO_FORMATS = ("pcm16k16bit",)
"""The daemon streams 16 kHz mono s16le, so only the matching §3.3 format is offered."""

_PROPERTY = re.compile(r"^[a-z]+_16k_[a-z]+$")
_REGION = re.compile(r"^[a-z]{2}(-[a-z0-9]+)+$")


@dataclass(frozen=True)
class HuaweiConfig:
    project_id: str
    """Huawei Cloud project id, part of the URL (protocols.md §3.1)."""
    region: str = "cn-north-4"
    """Region, part of the host name (cn-north-4, cn-east-3, ap-southeast-3 ...)."""
    token: Secret | None = None
    """X-Auth-Token (IAM token, valid 24 h), by reference; or use ak/sk signing (protocols.md §3.2)."""
    ak: Secret | None = None
    """Access key id for SDK-HMAC-SHA256 signing, by reference."""
    sk: Secret | None = None
    """Secret access key for SDK-HMAC-SHA256 signing, by reference."""
    mode: str = "short-stream"
    """short-stream (the daemon's endpointer decides the end; default), sentence-stream or continue-stream."""
    audio_format: str = "pcm16k16bit"
    """START ``audio_format`` (protocols.md §3.3)."""
    property: str = "chinese_16k_general"
    """START ``property``, the model: ``<language>_16k_<domain>``, e.g. english_16k_general."""
    add_punc: bool = False
    """Punctuation in the text (sent as "yes"/"no")."""
    digit_norm: bool = True
    """Numbers as digits (sent as "yes"/"no")."""
    interim_results: bool = False
    """Ask for interim results (Partial events) as well as the final one."""
    vad_head_ms: int = 10000
    """Leading silence that ends a sentence-stream session (ms, 0-60000; sentence/continue modes only)."""
    vad_tail_ms: int = 500
    """Trailing silence that ends a sentence (ms, 0-3000; sentence/continue modes only)."""
    max_seconds: int = 30
    """Longest sentence (s, 1-60; sentence/continue modes only)."""
    vocabulary_id: str | None = None
    """Hot-word table id; unset for none (an unknown id is an error, SIS.0201)."""
    chunk_ms: int = 100
    """Audio per binary frame (ms, 50-1000; §3.4 recommends 100 ms for real-time feedback)."""
    endpoint: str | None = None
    """Base URL; default ``wss://sis-ext.{region}.myhuaweicloud.com``."""
    enterprise_project_id: str | None = None
    """Optional Enterprise-Project-Id header (billing)."""

    def base_url(self) -> str:
        """The endpoint, or the region's public one (protocols.md §3.1)."""
        return self.endpoint or f"wss://sis-ext.{self.region}.myhuaweicloud.com"

    @classmethod
    def from_node(cls, node: Node) -> HuaweiConfig:
        cfg = cls(
            project_id=node.text("project_id"),
            region=node.text("region", cls.region),
            token=node.secret("token", cls.token),
            ak=node.secret("ak", cls.ak),
            sk=node.secret("sk", cls.sk),
            mode=node.text("mode", cls.mode, choices=HUAWEI_MODES),
            audio_format=node.text("audio_format", cls.audio_format, choices=HUAWEI_AUDIO_FORMATS),
            property=node.text("property", cls.property),
            add_punc=node.flag("add_punc", cls.add_punc),
            digit_norm=node.flag("digit_norm", cls.digit_norm),
            interim_results=node.flag("interim_results", cls.interim_results),
            vad_head_ms=node.integer("vad_head_ms", cls.vad_head_ms, min=0, max=60000),
            vad_tail_ms=node.integer("vad_tail_ms", cls.vad_tail_ms, min=0, max=3000),
            max_seconds=node.integer("max_seconds", cls.max_seconds, min=1, max=60),
            vocabulary_id=node.text("vocabulary_id", cls.vocabulary_id),
            chunk_ms=node.integer("chunk_ms", cls.chunk_ms, min=50, max=1000),
            endpoint=node.text("endpoint", cls.endpoint),
            enterprise_project_id=node.text("enterprise_project_id", cls.enterprise_project_id),
        )
        if not re.fullmatch(r"[A-Za-z0-9_-]+", cfg.project_id):
            raise node.error("project_id", "expected a project id (letters, digits, - and _)", cfg.project_id)
        if not _REGION.match(cfg.region):
            raise node.error("region", "expected a region name such as cn-north-4", cfg.region)
        if not _PROPERTY.match(cfg.property):
            raise node.error(
                "property",
                "expected a 16 kHz model <language>_16k_<domain> such as chinese_16k_general",
                cfg.property,
            )
        if cfg.endpoint is not None:
            check_ws_url(node, "endpoint", cfg.endpoint)
        if cfg.token is None and (cfg.ak is None or cfg.sk is None):
            raise node.error("token", "expected a token, or both ak and sk")
        if cfg.token is not None and (cfg.ak is not None or cfg.sk is not None):
            raise node.error("token", "expected either a token or ak/sk, not both")
        node.finish()
        return cfg
