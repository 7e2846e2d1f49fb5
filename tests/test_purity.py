"""Pure modules (codecs, endpointer, matcher, config parsing) must not import anything that does I/O.

Imports inside assistantd are followed, so a pure module cannot reach asyncio through a helper.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "assistantd"
FORBIDDEN = {"asyncio", "socket", "websockets", "pyaudio", "subprocess", "threading", "aiomqtt"}

# Add a module here when it is meant to be pure. Globs are relative to the package directory.
PURE = [
    "config/*.py",
    "audio/frames.py",
    "audio/convert.py",
    "recognizer/events.py",
    "hermes.py",
    "arbitration.py",
    "recognizer/codec.py",
    "recognizer/base.py",
    "recognizer/huawei.py",
    "recognizer/huawei_sign.py",
    "recognizer/sauc.py",
    "recognizer/sauc_frames.py",
    "recognizer/wyoming.py",
    "backoff.py",
    "metrics.py",
    "intents/normalize.py",
    "intents/numbers.py",
    "intents/schema.py",
    "intents/fuzzy.py",
    "intents/matcher.py",
    "recognizer/grammar.py",
    "recognizer/jsgf.py",
    "recognizer/spoken.py",
    "recognizer/rejection.py",
    "endpoint/machine.py",
    "endpoint/gate.py",
    "endpoint/vad.py",
    "endpoint/offline.py",
    "endpoint/silero.py",
    "endpoint/wake.py",
    "handlers/base.py",
    "handlers/speaking.py",
]


def _module_path(name: str) -> Path | None:
    parts = name.split(".")
    if parts[0] != "assistantd":
        return None
    base = PACKAGE.joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _forbidden_reached(start: Path) -> list[str]:
    seen: set[Path] = set()
    stack = [start]
    found: list[str] = []
    while stack:
        path = stack.pop()
        if path in seen:
            continue
        seen.add(path)
        for name in _imports(path):
            if name.split(".")[0] in FORBIDDEN:
                found.append(f"{path.name} imports {name}")
            target = _module_path(name)
            if target is not None:
                stack.append(target)
    return found


def _pure_files() -> list[Path]:
    files: set[Path] = set()
    for pattern in PURE:
        files.update(PACKAGE.glob(pattern))
    return sorted(files)


@pytest.mark.parametrize("path", _pure_files(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_pure_module_imports_no_io(path: Path) -> None:
    assert _forbidden_reached(path) == []


def test_the_walk_catches_io(tmp_path: Path) -> None:
    impure = tmp_path / "x.py"
    impure.write_text("import asyncio\nfrom websockets.asyncio.client import connect\n")
    roots = {line.split(" imports ")[1].split(".")[0] for line in _forbidden_reached(impure)}
    assert roots == {"asyncio", "websockets"}
