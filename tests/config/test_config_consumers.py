"""Every config key has a consumer: a field of the parsed config that no code reads is a defect.

A static audit: every field of every dataclass reachable from ``Config`` must be read as an attribute
(``x.field``) somewhere in the package outside the parsers (``from_node``/``from_dict``), which only
build it. It cannot tell two classes' fields of the same name apart, so a field whose name is read
elsewhere passes; each key's behaviour is then the business of the tests that drive it through the
daemon (the closing notes list them).
"""

from __future__ import annotations

import ast
import dataclasses
import types
import typing
from pathlib import Path

from assistantd.config import Config
from assistantd.config.recognizer import CLOUD_VENDORS
from assistantd.named import load_named

PACKAGE = Path(__file__).resolve().parents[2] / "assistantd"
PARSERS = {"from_node", "from_dict", "parse", "__post_init__"}
NOT_KEYS = {("Config", "source"), ("Config", "base_dir")}
"""Bookkeeping fields, not keys a user writes."""


def _lazy_names() -> dict[str, object]:
    """The classes that config modules name only for type checking (each vendor's block, imported when a
    config has the block), so that their hints resolve here."""
    return {vendor.block.rpartition(":")[2]: load_named(vendor.block) for vendor in CLOUD_VENDORS}


def _dataclasses(root: type) -> list[type]:
    lazy = _lazy_names()
    seen: list[type] = []
    todo = [root]
    while todo:
        cls = todo.pop()
        if cls in seen:
            continue
        seen.append(cls)
        for hint in typing.get_type_hints(cls, localns=lazy).values():
            stack = [hint]
            while stack:
                t = stack.pop()
                if dataclasses.is_dataclass(t) and isinstance(t, type):
                    todo.append(t)
                stack.extend(typing.get_args(t))
                if isinstance(t, types.UnionType):
                    stack.extend(t.__args__)
    return seen


def _attributes_read() -> set[str]:
    names: set[str] = set()
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skip: set[int] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name in PARSERS:
                skip.update(id(n) for n in ast.walk(node))
        for node in ast.walk(tree):
            if isinstance(node, ast.Attribute) and id(node) not in skip:
                names.add(node.attr)
    return names


def test_every_config_field_is_read_somewhere() -> None:
    read = _attributes_read()
    classes = _dataclasses(Config)
    assert len(classes) > 10  # the walk found the nested sections
    unread = [
        f"{cls.__name__}.{f.name}"
        for cls in classes
        for f in dataclasses.fields(cls)
        if (cls.__name__, f.name) not in NOT_KEYS and f.name not in read
    ]
    assert unread == []
