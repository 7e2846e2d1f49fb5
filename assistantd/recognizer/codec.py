"""The sans-I/O codec interface every vendor implements (see STYLE.md, habit 1).

A codec never touches a socket. The transport feeds it calls and received messages and sends whatever
``messages_to_send()`` returns; the codec returns vendor-neutral events from ``events_received()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from assistantd.errors import RecognizerError
from assistantd.recognizer.events import RecognizerEvent

Message = bytes | str
"""A WebSocket message: bytes for a binary frame, str for a text frame."""


@dataclass(frozen=True)
class Handshake:
    """What the transport needs to open the WebSocket. Header values may be secrets: repr hides them."""

    url: str
    headers: tuple[tuple[str, str], ...] = ()

    def __repr__(self) -> str:
        names = ", ".join(name for name, _ in self.headers)
        return f"Handshake(url={self.url!r}, headers=[{names}])"


class ProtocolError(RecognizerError):
    """The server sent something the spec does not allow. The only exception ``receive`` may raise."""


class Codec(Protocol):
    def handshake(self) -> Handshake:
        """URL and upgrade headers (auth included) for a fresh connection."""

    def upgrade_response(self, headers: dict[str, str]) -> None:
        """Headers of the server's 101 answer (e.g. X-Tt-Logid to log); may queue a Started event."""

    def start(self) -> None:
        """Queue whatever opens a session (config / START command)."""

    def send_audio(self, pcm: bytes) -> None:
        """Queue one packet of 16 kHz mono s16le audio."""

    def finish(self) -> None:
        """Queue the end of the audio (last packet / END command)."""

    def receive(self, message: Message) -> None:
        """Parse one message from the server. Raises only ProtocolError."""

    def events_received(self) -> list[RecognizerEvent]:
        """Events parsed since the last call."""

    def messages_to_send(self) -> list[Message]:
        """Messages queued since the last call, in order."""

    @property
    def done(self) -> bool:
        """True once a final result or a fatal error has been received."""
