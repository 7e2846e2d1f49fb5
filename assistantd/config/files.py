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


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key given twice in one mapping: PyYAML would silently keep the last,
    so a second ``handlers:`` block pasted at the end of a file would replace the first unnoticed."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode) -> dict[object, object]:
    seen: set[object] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=True)
        if isinstance(key, list | dict):
            continue  # unhashable keys are refused later as "expected string keys"
        if key in seen:
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key {key!r} (each key may appear once)", key_node.start_mark
            )
        seen.add(key)
    return loader.construct_mapping(node, deep=True)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def parse_yaml(text: str) -> object:
    """Parse YAML with the safe loader, refusing duplicate keys. Raises yaml.YAMLError."""
    return yaml.load(text, Loader=_StrictLoader)


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
        return parse_yaml(text)
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
