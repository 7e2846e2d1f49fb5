"""Fixtures for the daemon tests: speech synthesized once per session, one daemon per test."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.daemon.harness import Audio, Daemon, base_config, write_config


@pytest.fixture(scope="session")
def audio(tmp_path_factory: pytest.TempPathFactory) -> Audio:
    return Audio(tmp_path_factory.mktemp("daemon-speech"))


@pytest.fixture(scope="session")
def grammar_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("daemon-grammar")


@pytest.fixture
def config(grammar_cache: Path, tmp_path: Path) -> dict[str, Any]:
    """The base config, with a state directory of the test's own (timers.json, privacy.json): never
    /var/lib/assistantd, which tests would share."""
    cfg = base_config(grammar_cache)
    state_dir = tmp_path / "state"
    state_dir.mkdir()  # as the unit's StateDirectory= does
    cfg["service"]["state_dir"] = str(state_dir)
    return cfg


StartDaemon = Callable[..., Daemon]


@pytest.fixture
def start_daemon(tmp_path: Path) -> Iterator[StartDaemon]:
    """``start_daemon(config_dict, **Daemon kwargs)`` writes the config to tmp_path and starts the daemon."""
    started: list[Daemon] = []

    def start(config: dict[str, Any], **kwargs: Any) -> Daemon:
        path = write_config(tmp_path / "assistant.yaml", config)
        daemon = Daemon(path, **kwargs)
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.close()
