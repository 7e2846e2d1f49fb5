"""``recognizer.huawei``: Huawei Cloud SIS real-time ASR (protocols.md §3)."""

from __future__ import annotations

from dataclasses import dataclass

from assistantd.config.reader import Node
from assistantd.config.secret import Secret


@dataclass(frozen=True)
class HuaweiConfig:
    project_id: str
    """Huawei Cloud project id, part of the URL (protocols.md §3.1)."""
    region: str = "cn-north-4"
    """Region, part of the host name."""
    token: Secret | None = None
    """X-Auth-Token (IAM token), by reference; or use ak/sk signing."""
    ak: Secret | None = None
    """Access key id for SDK-HMAC-SHA256 signing, by reference."""
    sk: Secret | None = None
    """Secret access key for SDK-HMAC-SHA256 signing, by reference."""

    @classmethod
    def from_node(cls, node: Node) -> HuaweiConfig:
        cfg = cls(
            project_id=node.text("project_id"),
            region=node.text("region", "cn-north-4"),
            token=node.secret("token", None),
            ak=node.secret("ak", None),
            sk=node.secret("sk", None),
        )
        if cfg.token is None and (cfg.ak is None or cfg.sk is None):
            raise node.error("token", "expected a token, or both ak and sk")
        node.finish()
        return cfg
