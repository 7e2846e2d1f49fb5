"""The endpoint section's new keys, through Config.from_dict (strict, with key paths)."""

from __future__ import annotations

import pytest

from assistantd.config import Config
from assistantd.errors import ConfigError


def test_defaults_and_overrides() -> None:
    cfg = Config.from_dict(
        {"endpoint": {"noise_suppression": 0, "gate_margin_db": 4.5, "tail_ms": 150}}
    ).endpoint
    assert (cfg.noise_suppression, cfg.gate_margin_db, cfg.tail_ms) == (0, 4.5, 150)
    assert Config.from_dict({}).endpoint.tail_ms == 200


def test_tail_defaults_to_the_hangover_when_that_is_shorter() -> None:
    cfg = Config.from_dict({"endpoint": {"hangover": 100}}).endpoint
    assert (cfg.hangover_ms, cfg.tail_ms) == (100, 100)


@pytest.mark.parametrize(
    ("section", "path", "expected"),
    [
        ({"hangover": "aggressive", "tail_ms": 400}, "endpoint.tail_ms", "at most the hangover (300 ms)"),
        ({"noise_suppression": 5}, "endpoint.noise_suppression", "<= 4"),
        ({"gate_margin_db": "loud"}, "endpoint.gate_margin_db", "a number"),
        ({"floor_window_s": 0.1}, "endpoint.floor_window_s", ">= 0.5"),
        ({"gate_margin": 3}, "endpoint.gate_margin", "did you mean 'gate_margin_db'"),
    ],
)
def test_errors_name_the_key(section: dict[str, object], path: str, expected: str) -> None:
    with pytest.raises(ConfigError) as err:
        Config.from_dict({"endpoint": section}, source="a.yaml")
    assert err.value.path == path
    assert expected in str(err.value)
