"""Handler templates: ``{slot}``, ``{intent}`` and ``{text}`` placeholders, checked once at config load.

A template is parsed with ``string.Formatter().parse`` into literal text and bare field names, and rendered
later by plain concatenation. Nothing is ever passed to ``str.format``: attribute access (``{x.__class__}``),
indexing (``{x[0]}``), conversions (``{x!r}``) and format specs (``{x:>99999}``) are refused at load, so a
config file cannot reach into Python objects and a transcript cannot grow a string without bound.
``{{`` and ``}}`` are literal braces.
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping
from dataclasses import dataclass

SlotValue = str | int | float
"""What an intent's slot holds (matcher, report, handler templates): defined here once."""
"""What a slot holds once matched (hassil gives text, numbers for range lists)."""

JsonValue = str | int | float | bool | None | list["JsonValue"] | dict[str, "JsonValue"]

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


class TemplateSyntaxError(ValueError):
    """Raised by the parsers; the message says what was expected (the caller adds the key path)."""


class MissingValueError(KeyError):
    """A template names a slot the match did not fill."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name

    def __str__(self) -> str:
        return f"the template needs {{{self.name}}}, which this match did not fill"


@dataclass(frozen=True)
class Template:
    """Literal text with ``{name}`` placeholders. ``parts`` alternate literal and field (None = literal)."""

    source: str
    parts: tuple[tuple[str, str | None], ...]

    @classmethod
    def parse(cls, source: str) -> Template:
        parts: list[tuple[str, str | None]] = []
        try:
            parsed = list(string.Formatter().parse(source))
        except ValueError as err:
            raise TemplateSyntaxError(f"a template with balanced braces ({err})") from None
        for literal, field_name, spec, conversion in parsed:
            if literal:
                parts.append((literal, None))
            if field_name is None:
                continue
            if conversion is not None or spec:
                raise TemplateSyntaxError(
                    f"a plain placeholder like {{{field_name}}}, without !conversion or :format"
                )
            if not _NAME.match(field_name):
                raise TemplateSyntaxError(
                    "placeholders that are plain names like {room} (no attribute, index or position)"
                )
            parts.append(("", field_name))
        return cls(source, tuple(parts))

    @property
    def fields(self) -> tuple[str, ...]:
        return tuple(name for _, name in self.parts if name is not None)

    @property
    def whole_field(self) -> str | None:
        """The field name when the template is exactly one placeholder (``"{room}"``), else None."""
        return self.parts[0][1] if len(self.parts) == 1 else None

    def render(self, values: Mapping[str, SlotValue], escape: Callable[[str], str] = str) -> str:
        """Fill the placeholders; ``escape`` is applied to each filled value (URL-quoting, for one)."""
        out: list[str] = []
        for literal, name in self.parts:
            if name is None:
                out.append(literal)
            else:
                out.append(escape(str(lookup(values, name))))
        return "".join(out)


def lookup(values: Mapping[str, SlotValue], name: str) -> SlotValue:
    try:
        return values[name]
    except KeyError:
        raise MissingValueError(name) from None


@dataclass(frozen=True)
class JsonTemplate:
    """A JSON document whose strings are templates.

    A string that is exactly one placeholder keeps the slot's type (``"{brightness}"`` -> ``50``, not
    ``"50"``), so a Home Assistant service gets a number where it expects one.
    """

    source: JsonValue
    compiled: object

    @classmethod
    def parse(cls, source: object) -> JsonTemplate:
        return cls(_check_json(source), _compile(source))

    def render(self, values: Mapping[str, SlotValue]) -> JsonValue:
        return _render(self.compiled, values)


def _check_json(value: object) -> JsonValue:
    if value is None or isinstance(value, str | bool | int | float):
        return value
    if isinstance(value, list):
        return [_check_json(v) for v in value]
    if isinstance(value, Mapping):
        out: dict[str, JsonValue] = {}
        for k, v in value.items():
            if not isinstance(k, str):
                raise TemplateSyntaxError(f"JSON object keys to be strings (got {k!r})")
            out[k] = _check_json(v)
        return out
    raise TemplateSyntaxError(f"a JSON value (got {type(value).__name__})")


def _compile(value: object) -> object:
    if isinstance(value, str):
        return Template.parse(value)
    if isinstance(value, list):
        return [_compile(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _compile(v) for k, v in value.items()}
    return value


def _render(compiled: object, values: Mapping[str, SlotValue]) -> JsonValue:
    if isinstance(compiled, Template):
        whole = compiled.whole_field
        return lookup(values, whole) if whole is not None else compiled.render(values)
    if isinstance(compiled, list):
        return [_render(v, values) for v in compiled]
    if isinstance(compiled, dict):
        return {k: _render(v, values) for k, v in compiled.items()}
    return compiled  # type: ignore[return-value]  # bool, number or None, checked by _check_json


def template_values(text: str, intent: str | None, slots: Mapping[str, SlotValue]) -> dict[str, SlotValue]:
    """The mapping templates render from: every slot, then ``intent`` and ``text`` (which win)."""
    values: dict[str, SlotValue] = dict(slots)
    values["text"] = text
    values["intent"] = intent or ""
    return values
