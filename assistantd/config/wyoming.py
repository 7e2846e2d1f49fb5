"""``recognizer.wyoming``: any Wyoming speech-to-text server (faster-whisper, vosk, ... on a home server).

Wyoming is a TCP stream of JSON-line events with optional binary payloads (rhasspy's ``wyoming``
library); the server is reached at ``url: tcp://HOST:PORT``. No credentials: Wyoming has none, so the
server belongs on the home network.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from assistantd.config.reader import Node
from assistantd.urls import public_url

TCP_EXPECTED = "expected tcp://HOST:PORT (a Wyoming server, e.g. tcp://192.168.1.20:10300)"


def tcp_url_problem(url: str) -> str | None:
    """Why ``url`` is not a usable ``tcp://HOST:PORT``, or None."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return TCP_EXPECTED
    if parts.scheme != "tcp" or not parts.hostname or not port:
        return TCP_EXPECTED
    if parts.path not in ("", "/") or parts.query or parts.fragment or parts.username or parts.password:
        return TCP_EXPECTED
    return None


def tcp_address(url: str) -> tuple[str, int]:
    """(host, port) of a URL that passed tcp_url_problem."""
    parts = urlsplit(url)
    assert parts.hostname is not None and parts.port is not None
    return parts.hostname, parts.port


@dataclass(frozen=True)
class WyomingConfig:
    url: str
    """The server, ``tcp://HOST:PORT`` (wyoming-faster-whisper listens on 10300 by default)."""
    language: str | None = "en"
    """``transcribe.language`` sent before each utterance (e.g. en, de); null lets the server choose."""
    model: str | None = None
    """``transcribe.name``: which of the server's models to use; null for its default."""

    @classmethod
    def from_node(cls, node: Node) -> WyomingConfig:
        cfg = cls(
            url=node.text("url"),
            language=None
            if node.has("language") and node.raw("language") is None
            else node.text("language", cls.language),
            model=node.text("model", cls.model),
        )
        problem = tcp_url_problem(cfg.url)
        if problem is not None:  # shown without user information or query: they may hold a secret
            raise node.error("url", problem, public_url(cfg.url))
        node.finish()
        return cfg
