"""Secrets by reference: ``${ENV_NAME}``, ``file:/path`` or ``credential:NAME``.

A secret's value never appears in a repr, str, log line or exception: only its reference does.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

_ENV_REF = re.compile(r"^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$")

INSTALLED_CREDENTIALS_DIR = "/etc/assistantd/credentials"
"""Where scripts/install.sh keeps the secret files (root-only)."""
UNIT_CREDENTIAL_PREFIX = "assistantd_"
"""The unit's ``LoadCredential=assistantd:/etc/assistantd/credentials`` hands the file NAME of that directory
to the daemon as credential ``assistantd_NAME``; reading the directory itself, the prefix comes off."""


@dataclass(frozen=True)
class Secret:
    """A resolved secret. ``reveal()`` is the only way to read the value."""

    reference: str
    _value: str = field(repr=False, compare=False)

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return f"Secret({self.reference!r})"

    __str__ = __repr__


class SecretReferenceError(ValueError):
    """Raised by resolve_secret; the message never contains a secret value."""


def resolve_secret(
    raw: str, env: Mapping[str, str], credentials_dir: str | None, credential_prefix: str = ""
) -> Secret:
    """Resolve one reference. Inline literal secrets are refused: they would sit in a readable file.

    ``credential:NAME`` reads ``credentials_dir/NAME`` ($CREDENTIALS_DIRECTORY under systemd). With a
    ``credential_prefix`` (``check-config --credentials-dir``, reading the unit's source directory) NAME
    must carry the prefix the unit gives it, and the file is NAME without it.
    """
    text = raw.strip()
    match = _ENV_REF.match(text)
    if match:
        name = match.group(1)
        value = env.get(name)
        if not value:
            raise SecretReferenceError(f"environment variable {name} to be set and non-empty")
        return Secret(text, value)
    if text.startswith("credential:"):
        name = text.removeprefix("credential:")
        if not credentials_dir:
            raise SecretReferenceError(
                f"$CREDENTIALS_DIRECTORY to be set for {text} (systemd LoadCredential=)"
            )
        if not name or "/" in name:
            raise SecretReferenceError("credential:NAME with a plain file name")
        if credential_prefix:
            if not name.startswith(credential_prefix) or name == credential_prefix:
                raise SecretReferenceError(
                    f"credential:{credential_prefix}<file name>, as the unit's LoadCredential= names "
                    f"the files of {credentials_dir}"
                )
            file = Path(credentials_dir) / name.removeprefix(credential_prefix)
            return Secret(text, _read_secret_file(file, f"{text} ({file})"))
        return Secret(text, _read_secret_file(Path(credentials_dir) / name, text))
    if text.startswith("file:"):
        path = text.removeprefix("file:")
        if not path:
            raise SecretReferenceError("file:PATH with a path")
        return Secret(text, _read_secret_file(Path(os.path.expanduser(path)), text))
    raise SecretReferenceError(
        "a reference ${ENV_NAME}, file:PATH or credential:NAME (inline secrets are refused)"
    )


def _read_secret_file(path: Path, reference: str) -> str:
    try:
        value = path.read_text(encoding="utf-8").strip()
    except OSError as err:
        raise SecretReferenceError(f"{reference} to name a readable file ({err.strerror})") from None
    except UnicodeDecodeError:
        # The decode error's message quotes the offending byte: never let part of a secret through.
        raise SecretReferenceError(f"{reference} to name a UTF-8 text file") from None
    if not value:
        raise SecretReferenceError(f"{reference} to name a non-empty file")
    return value
