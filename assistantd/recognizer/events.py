"""Vendor-neutral recognizer events. Every codec turns its vendor's responses into these."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Started:
    """The server accepted the session (config acknowledged, or first response)."""

    session_id: str = ""
    """A vendor trace id (X-Tt-Logid, trace_id) for support tickets; never a secret."""


@dataclass(frozen=True, slots=True)
class Partial:
    """An interim hypothesis that may still change."""

    text: str


@dataclass(frozen=True, slots=True)
class Final:
    """The final transcript of the utterance."""

    text: str
    utterances: tuple[str, ...] = field(default=())
    """Definite sentence-level pieces, when the vendor reports them."""


@dataclass(frozen=True, slots=True)
class Error:
    """The server reported a failure. ``retryable`` says whether a fresh connection may succeed."""

    code: int | str
    message: str
    retryable: bool


RecognizerEvent = Started | Partial | Final | Error
