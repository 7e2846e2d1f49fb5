"""The files a config names, on disk: reading a YAML file and expanding ``intents.files``.

Every failure is one ``ConfigError`` naming the file (or the config key) and what was expected. Here, not
in ``intents``, because the local recognizer and ``assistantd grammar`` need the same intent paths.
"""

from __future__ import annotations

import glob
from collections.abc import Sequence
from pathlib import Path

import yaml

from assistantd.errors import ConfigError


def read_yaml(path: Path, what: str) -> object:
    """The parsed document of ``path``; ``what`` names the file's role in errors ("config file")."""
    source = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(source, "", f"expected a readable {what}", "no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(source, "", f"expected a readable UTF-8 {what}", str(err)) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as err:
        # Point at the line and column: people edit these files by hand in /etc.
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "somewhere"
        problem = getattr(err, "problem", None) or "invalid YAML"
        raise ConfigError(source, "", "expected valid YAML", f"{problem} at {where}") from None


def resolve_intent_paths(patterns: Sequence[str], base_dir: Path, source: str) -> list[Path]:
    """Expand ``intents.files`` (sorted within each pattern; each file once). Empty patterns are errors."""
    paths: list[Path] = []
    for i, pattern in enumerate(patterns):
        full = pattern if Path(pattern).is_absolute() else str(base_dir / pattern)
        found = sorted(Path(p) for p in glob.glob(full, recursive=True) if Path(p).is_file())
        if not found:
            raise ConfigError(
                source,
                f"intents.files[{i}]",
                "expected a path or pattern matching an intent file",
                repr(full),
            )
        paths.extend(p for p in found if p not in paths)
    return paths
