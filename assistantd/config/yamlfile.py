"""Reading one YAML file (the config or an intent file) with every failure as one ``ConfigError``."""

from __future__ import annotations

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
