"""The ``service:`` section: logging and the daemon's own behaviour."""

from __future__ import annotations

from dataclasses import dataclass

from assistantd.config.reader import Node

LOG_LEVELS = ("debug", "info", "warning", "error")


@dataclass(frozen=True)
class ServiceConfig:
    log_level: str = "info"
    """debug, info, warning or error."""

    @classmethod
    def from_node(cls, node: Node) -> ServiceConfig:
        cfg = cls(log_level=node.text("log_level", "info", choices=LOG_LEVELS))
        node.finish()
        return cfg
