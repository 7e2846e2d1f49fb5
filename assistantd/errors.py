"""One small exception tree. Every error a user can cause derives from AssistantError."""

from __future__ import annotations

from collections.abc import Iterable


def closest(name: str, known: Iterable[str]) -> str | None:
    """The known name nearest to a misspelt ``name`` (for "did you mean ...?"), or None."""
    import difflib  # noqa: PLC0415 - only when a config is wrong, never at a good start (issue 13)

    hint = difflib.get_close_matches(name, list(known), n=1)
    return hint[0] if hint else None


class AssistantError(Exception):
    """Base of every error assistantd raises on purpose."""


class ConfigError(AssistantError):
    """A configuration problem, naming the file, the key path and what was expected.

    ``str(err)`` is one line fit for a log or a terminal:
    ``/etc/assistantd/assistant.yaml: endpoint.hangover: expected one of ..., got 'fast'``.
    """

    def __init__(self, source: str, path: str, expected: str, got: str | None = None) -> None:
        self.source = source
        self.path = path
        self.expected = expected
        self.got = got
        where = f"{source}: {path}" if path else source
        message = (
            f"{where}: {expected}" if expected.startswith("expected") else f"{where}: expected {expected}"
        )
        if got is not None:
            message += f", got {got}"
        super().__init__(message)


class AudioError(AssistantError):
    """Audio input could not be opened or decoded (bad WAV, no such device)."""


class RecognizerError(AssistantError):
    """A recognizer failed in a way the caller must handle."""


class HandlerError(AssistantError):
    """A command handler failed."""
