"""``recognizer.volcengine`` and ``recognizer.zyun``: the sauc v3 framing (protocols.md §1, §2)."""

from __future__ import annotations

from dataclasses import dataclass

from assistantd.config.reader import Node
from assistantd.config.secret import Secret

VOLC_DEFAULT_URL = "wss://openspeech.bytedance.com/api/v3/sauc/bigmodel_async"


@dataclass(frozen=True)
class VolcengineConfig:
    app_key: Secret
    """X-Api-App-Key (console APP ID), by reference: ${ENV}, file:PATH or credential:NAME."""
    access_key: Secret
    """X-Api-Access-Key (console access token), by reference."""
    url: str = VOLC_DEFAULT_URL
    """Endpoint: .../bigmodel, .../bigmodel_async or .../bigmodel_nostream (protocols.md §1.1)."""
    resource_id: str = "volc.bigasr.sauc.duration"
    """X-Api-Resource-Id (protocols.md §1.2)."""

    @classmethod
    def from_node(cls, node: Node) -> VolcengineConfig:
        cfg = cls(
            app_key=node.secret("app_key"),
            access_key=node.secret("access_key"),
            url=node.text("url", VOLC_DEFAULT_URL),
            resource_id=node.text("resource_id", "volc.bigasr.sauc.duration"),
        )
        node.finish()
        return cfg


@dataclass(frozen=True)
class ZyunConfig:
    api_key: Secret
    """Sent as ``Authorization: Bearer <key>`` (protocols.md §2), by reference."""
    url: str
    """The 360 zyun sauc endpoint (protocols.md §2)."""

    @classmethod
    def from_node(cls, node: Node) -> ZyunConfig:
        cfg = cls(api_key=node.secret("api_key"), url=node.text("url"))
        node.finish()
        return cfg
