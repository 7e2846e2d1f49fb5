"""The handler family table: one entry per member of the HandlerSpec union, keys taken from the spec."""

from __future__ import annotations

import typing

import pytest

from assistantd.config import Config, ConfigError
from assistantd.config.handler_specs import FAMILIES, FAMILY_KEYS, FAMILY_TABLE, HandlerSpec


def test_every_spec_in_the_union_has_one_family() -> None:
    assert sorted(f.spec.__name__ for f in FAMILY_TABLE) == sorted(
        t.__name__ for t in typing.get_args(HandlerSpec)
    )
    assert len(set(FAMILIES)) == len(FAMILY_TABLE)


def test_a_family_accepts_exactly_its_spec_fields() -> None:
    assert FAMILY_KEYS["say"] == ("text",)
    assert FAMILY_KEYS["http"] == ("url", "method", "headers", "body", "timeout_s")


@pytest.mark.parametrize(
    ("binding", "path", "expected"),
    [
        (
            {"mqtt": {"topic": "a/b"}},
            "handlers.bindings[0].mqtt",
            "a handlers.mqtt or top-level mqtt: connection block",
        ),
        (
            {"homeassistant": {"domain": "light", "service": "turn_on"}},
            "handlers.bindings[0].homeassistant",
            "a handlers.homeassistant block (url, token)",
        ),
        ({"say": {"txt": "x"}}, "handlers.bindings[0].say.txt", "did you mean 'text'"),
    ],
)
def test_a_family_missing_its_connection_or_with_a_typo_names_the_key(
    binding: dict[str, object], path: str, expected: str
) -> None:
    data = {"handlers": {"bindings": [{"intent": "A", **binding}]}}
    with pytest.raises(ConfigError) as info:
        Config.from_dict(data, source="a.yaml")
    assert f"a.yaml: {path}: " in str(info.value)
    assert expected in str(info.value)
