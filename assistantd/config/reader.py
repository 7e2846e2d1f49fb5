"""A checked view of one YAML mapping that knows its key path, for precise ConfigErrors.

Each section's ``from_node`` reads the keys it knows and then calls ``finish()``, which refuses any key
it did not read: a typo never passes silently. A reader's default is the dataclass field's, passed as
the class attribute the dataclass leaves behind (``node.integer("port", cls.port, min=1)``), never a
literal: each default is written once (tests/config/test_config_defaults.py checks both).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar, overload

from assistantd.config.secret import Secret, SecretReferenceError, resolve_secret
from assistantd.errors import ConfigError, closest

T = TypeVar("T")
D = TypeVar("D")
"""A reader's default: its type joins the result's (``node.text("k", None)`` is ``str | None``)."""
_MISSING: Any = object()


@dataclass(frozen=True)
class Context:
    """What every node shares: where the config came from and how to resolve secret references."""

    source: str
    env: Mapping[str, str] = field(default_factory=dict)
    credentials_dir: str | None = None
    credential_prefix: str = ""
    """Stripped from ``credential:NAME`` when reading the unit's source directory (see secret.py)."""


def _describe(value: object) -> str:
    if isinstance(value, Mapping):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "nothing (null)"
    return repr(value) if not isinstance(value, str) or len(value) < 60 else repr(value[:57] + "...")


class Node:
    """One mapping in the config, with the dotted path that leads to it."""

    def __init__(self, data: object, path: str, ctx: Context) -> None:
        if data is None:
            data = {}
        if not isinstance(data, Mapping):
            raise ConfigError(ctx.source, path or "(top level)", "expected a mapping", _describe(data))
        for key in data:
            if not isinstance(key, str):
                raise ConfigError(ctx.source, path or "(top level)", "expected string keys", _describe(key))
        self._data: Mapping[str, object] = data
        self.path = path
        self.ctx = ctx
        self._read: set[str] = set()

    # -- plumbing ---------------------------------------------------------------------------------
    def key_path(self, key: str) -> str:
        return f"{self.path}.{key}" if self.path else key

    def error(self, key: str, expected: str, got: object = _MISSING) -> ConfigError:
        return ConfigError(
            self.ctx.source, self.key_path(key), expected, None if got is _MISSING else _describe(got)
        )

    def has(self, key: str) -> bool:
        return key in self._data

    def raw(self, key: str, default: object = _MISSING) -> object:
        self._read.add(key)
        if key in self._data:
            return self._data[key]
        if default is _MISSING:
            raise self.error(key, "expected this key to be set")
        return default

    def keys(self) -> list[str]:
        return list(self._data)

    def finish(self) -> None:
        """Refuse keys nobody read, suggesting the closest known key."""
        self.refuse_unknown(sorted(self._read))

    def refuse_unknown(self, known: Sequence[str]) -> None:
        """Refuse the first key not in ``known``, suggesting the closest one.

        ``finish`` does this after reading; call it first where a typo would otherwise surface as a
        confusing "not set" for the key the user meant.
        """
        key = next((k for k in self._data if k not in known), None)
        if key is None:
            return
        hint = closest(key, known)
        expected = f"expected one of the known keys ({', '.join(known) or 'no keys'})"
        if hint:
            expected = f"expected a known key (did you mean {hint!r}?)"
        raise ConfigError(self.ctx.source, self.key_path(key), expected, "an unknown key")

    # -- typed readers ----------------------------------------------------------------------------
    @overload
    def text(self, key: str, *, choices: tuple[str, ...] | None = None) -> str: ...
    @overload
    def text(self, key: str, default: D, *, choices: tuple[str, ...] | None = None) -> str | D: ...
    def text(self, key: str, default: Any = _MISSING, *, choices: tuple[str, ...] | None = None) -> Any:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str) or not value:
            raise self.error(key, "expected a non-empty string", value)
        if choices is not None and value not in choices:
            raise self.error(key, f"expected one of {', '.join(choices)}", value)
        return value

    @overload
    def integer(self, key: str, *, min: int | None = None, max: int | None = None) -> int: ...
    @overload
    def integer(self, key: str, default: D, *, min: int | None = None, max: int | None = None) -> int | D: ...
    def integer(
        self, key: str, default: Any = _MISSING, *, min: int | None = None, max: int | None = None
    ) -> Any:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, bool) or not isinstance(value, int):
            raise self.error(key, "expected an integer", value)
        self._check_range(key, value, min, max)
        return value

    @overload
    def number(self, key: str, *, min: float | None = None, max: float | None = None) -> float: ...
    @overload
    def number(
        self, key: str, default: D, *, min: float | None = None, max: float | None = None
    ) -> float | D: ...
    def number(
        self, key: str, default: Any = _MISSING, *, min: float | None = None, max: float | None = None
    ) -> Any:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        if isinstance(value, str):
            # YAML 1.1 reads 1e-20 (no dot) as a string; people write numbers like that.
            try:
                value = float(value)
            except ValueError:
                raise self.error(key, "expected a number", value) from None
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise self.error(key, "expected a finite number", value)
        self._check_range(key, value, min, max)
        return float(value)

    @overload
    def flag(self, key: str) -> bool: ...
    @overload
    def flag(self, key: str, default: D) -> bool | D: ...
    def flag(self, key: str, default: Any = _MISSING) -> Any:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, bool):
            raise self.error(key, "expected true or false", value)
        return value

    @overload
    def str_list(self, key: str) -> tuple[str, ...]: ...
    @overload
    def str_list(self, key: str, default: D) -> tuple[str, ...] | D: ...
    def str_list(self, key: str, default: Any = _MISSING) -> Any:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise self.error(key, "expected a list of strings", value)
        return tuple(value)

    @overload
    def str_map(self, key: str) -> tuple[tuple[str, str], ...]: ...
    @overload
    def str_map(self, key: str, default: D) -> tuple[tuple[str, str], ...] | D: ...
    def str_map(self, key: str, default: Any = _MISSING) -> Any:
        """A flat mapping of string -> scalar, returned as a sorted tuple of (key, str(value)) pairs."""
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, Mapping):
            raise self.error(key, "expected a mapping of names to values", value)
        out: list[tuple[str, str]] = []
        for k, v in value.items():
            if not isinstance(k, str) or isinstance(v, Mapping | list) or v is None:
                raise self.error(f"{key}.{k}", "expected a string, number or boolean", v)
            out.append((k, str(v)))
        return tuple(sorted(out))

    @overload
    def secret(self, key: str) -> Secret: ...
    @overload
    def secret(self, key: str, default: D) -> Secret | D: ...
    def secret(self, key: str, default: Any = _MISSING) -> Any:
        value = self.raw(key, default)
        if value is default and default is not _MISSING:
            return value
        if not isinstance(value, str):
            # Never echo the value: it may be a secret pasted inline.
            raise self.error(key, "expected a reference ${ENV_NAME}, file:PATH or credential:NAME")
        try:
            return resolve_secret(value, self.ctx.env, self.ctx.credentials_dir, self.ctx.credential_prefix)
        except SecretReferenceError as err:
            raise self.error(key, f"expected {err}") from None

    def node(self, key: str) -> Node:
        """The sub-mapping at ``key`` (an empty one when absent)."""
        return Node(self.raw(key, None), self.key_path(key), self.ctx)

    def nodes(self, key: str) -> list[Node]:
        """A list of mappings at ``key``, each as a Node with an indexed path (``handlers[2]``)."""
        value = self.raw(key, [])
        if value is None:
            return []
        if not isinstance(value, list):
            raise self.error(key, "expected a list of mappings", value)
        return [Node(item, f"{self.key_path(key)}[{i}]", self.ctx) for i, item in enumerate(value)]

    def named_nodes(self, key: str) -> Iterator[tuple[str, Node]]:
        """A mapping of name -> mapping at ``key`` (for example recognizers by name)."""
        sub = self.node(key)
        for name in sub.keys():  # noqa: SIM118 - Node is not a Mapping
            yield name, sub.node(name)

    def _check_range(self, key: str, value: float, lo: float | None, hi: float | None) -> None:
        if lo is not None and value < lo:
            raise self.error(key, f"expected a value >= {lo}", value)
        if hi is not None and value > hi:
            raise self.error(key, f"expected a value <= {hi}", value)
