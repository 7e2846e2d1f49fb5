"""The files a config names, on disk: reading a YAML file and expanding ``intents.files``.

Every failure is one ``ConfigError`` naming the file (or the config key) and what was expected. Here, not
in ``intents``, because the local recognizer and ``assistantd grammar`` need the same intent paths.
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from assistantd.errors import ConfigError

MAX_YAML_BYTES = 8 << 20
"""Config and intent files are read whole: a file bigger than this is refused before it is read into memory
(the shipped ones are a few KiB)."""
MAX_DEPTH = 64
"""Nesting levels a config or intent file may use (they need about 8). PyYAML composes and constructs
recursively, so a few hundred levels ended in RecursionError; deeper input is refused while composing."""


class _TooDeepError(yaml.composer.ComposerError):
    def __init__(self, path: list[str], mark: Any) -> None:
        super().__init__(None, None, f"more than {MAX_DEPTH} levels of nesting", mark)
        shown = "".join(path[:5]).removeprefix(".")
        self.key_path = shown + ("..." if len(path) > 5 else "")


if getattr(yaml, "__with_libyaml__", False):
    # libyaml scans and parses (the pure-Python scanner was ~180 ms of every start for the shipped config
    # and intents, issue 13); composing stays in Python so compose_node below still guards the depth.
    from yaml._yaml import CParser

    class _Parser(yaml.composer.Composer, CParser):
        def __init__(self, stream: str) -> None:
            CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)

else:  # pragma: no cover - PyYAML built without libyaml

    class _Parser(  # type: ignore[no-redef]
        yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, yaml.composer.Composer
    ):
        def __init__(self, stream: str) -> None:
            yaml.reader.Reader.__init__(self, stream)
            yaml.scanner.Scanner.__init__(self)
            yaml.parser.Parser.__init__(self)
            yaml.composer.Composer.__init__(self)


class _StrictLoader(_Parser, yaml.constructor.SafeConstructor, yaml.resolver.Resolver):
    """A safe loader that refuses a key given twice in one mapping (PyYAML would silently keep the last, so
    a second ``handlers:`` block pasted at the end of a file would replace the first unnoticed) and nesting
    deeper than MAX_DEPTH (refused before PyYAML's recursion gets near Python's limit)."""

    def __init__(self, stream: str) -> None:
        _Parser.__init__(self, stream)
        yaml.constructor.SafeConstructor.__init__(self)
        yaml.resolver.Resolver.__init__(self)
        self._path: list[str] = []

    def compose_node(self, parent: yaml.Node | None, index: object) -> yaml.Node | None:
        if parent is None:
            label = ""  # the document itself
        elif isinstance(index, int):
            label = f"[{index}]"
        elif isinstance(index, yaml.ScalarNode):
            label = f".{index.value[:40]}"
        else:
            label = ".(a key)"
        self._path.append(label)
        try:
            if len(self._path) > MAX_DEPTH:
                event = self.peek_event()
                raise _TooDeepError(self._path, event.start_mark if event is not None else None)
            return super().compose_node(parent, index)  # type: ignore[arg-type]
        finally:
            self._path.pop()


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


_StrictLoader.add_constructor(  # type: ignore[type-var]  # the stubs know only PyYAML's own loaders
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping
)


def parse_yaml(text: str) -> object:
    """Parse YAML with the safe loader, refusing duplicate keys. Raises yaml.YAMLError."""
    loader = _StrictLoader(text)
    try:
        return loader.get_single_data()
    finally:
        loader.dispose()


def read_yaml(path: Path, what: str) -> object:
    """The parsed document of ``path``; ``what`` names the file's role in errors ("config file")."""
    source = str(path)
    try:
        with path.open("rb") as f:
            raw = f.read(MAX_YAML_BYTES + 1)
        if len(raw) > MAX_YAML_BYTES:
            raise ConfigError(source, "", f"expected a {what} of at most {MAX_YAML_BYTES >> 20} MiB")
        text = raw.decode("utf-8")
    except FileNotFoundError:
        raise ConfigError(source, "", f"expected a readable {what}", "no such file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(source, "", f"expected a readable UTF-8 {what}", str(err)) from None
    try:
        return parse_yaml(text)
    except _TooDeepError as err:
        mark = err.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark is not None else ""
        raise ConfigError(
            source, err.key_path, f"expected at most {MAX_DEPTH} levels of nesting", f"more{where}"
        ) from None
    except yaml.YAMLError as err:
        # Point at the line and column: people edit these files by hand in /etc.
        mark = getattr(err, "problem_mark", None)
        where = f"line {mark.line + 1}, column {mark.column + 1}" if mark is not None else "somewhere"
        problem = getattr(err, "problem", None) or "invalid YAML"
        raise ConfigError(source, "", "expected valid YAML", f"{problem} at {where}") from None


MAX_WALKED_DIRS = 1000
"""Directories a pattern of ``intents.files`` may look through: ``/**/*.yaml`` would walk the whole
filesystem at every start and reload. An intents tree has a handful."""
MAX_INTENT_FILES = 1000
"""Intent files the patterns may match in all: each is read and parsed at start and on reload."""
_MAGIC = re.compile(r"[*?[]")


def _check_walk(pattern: str, source: str, key: str) -> None:
    """Refuse a pattern whose directory walk would pass MAX_WALKED_DIRS, counting before glob walks.

    Counts the directories under the pattern's literal prefix that glob could list: every one below a
    ``**``, else those fewer levels down than the pattern has components left. (Hidden directories and
    literal components are counted too, so the count is an upper bound.)
    """
    parts = Path(pattern).parts
    first = next((i for i, part in enumerate(parts) if _MAGIC.search(part)), len(parts))
    rest = parts[first:]
    if len(rest) <= 1:
        return  # at most one directory is listed
    root = Path(*parts[:first])
    levels = None if any("**" in part for part in rest) else len(rest) - 1
    for walked, (dirpath, dirnames, _files) in enumerate(os.walk(root, followlinks=True), start=1):
        if walked > MAX_WALKED_DIRS:
            raise ConfigError(
                source,
                key,
                f"expected a pattern that looks through at most {MAX_WALKED_DIRS} directories "
                "(start it at the intents directory, e.g. intents/**/*.yaml)",
                repr(pattern),
            )
        if levels is not None and len(Path(dirpath).relative_to(root).parts) >= levels:
            dirnames.clear()


def resolve_intent_paths(patterns: Sequence[str], base_dir: Path, source: str) -> list[Path]:
    """Expand ``intents.files`` (sorted within each pattern; each file once). Empty patterns are errors,
    and so are patterns that walk too far (MAX_WALKED_DIRS) or match too much (MAX_INTENT_FILES)."""
    paths: list[Path] = []
    seen: set[Path] = set()
    for i, pattern in enumerate(patterns):
        key = f"intents.files[{i}]"
        full = pattern if Path(pattern).is_absolute() else str(base_dir / pattern)
        _check_walk(full, source, key)
        found = sorted(Path(p) for p in glob.glob(full, recursive=True) if Path(p).is_file())
        if not found:
            raise ConfigError(source, key, "expected a path or pattern matching an intent file", repr(full))
        for path in found:
            if path not in seen:
                seen.add(path)
                paths.append(path)
        if len(paths) > MAX_INTENT_FILES:
            raise ConfigError(
                source, key, f"expected patterns matching at most {MAX_INTENT_FILES} files", f"{len(paths)}"
            )
    return paths
