"""Suite-wide settings."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings

# No per-example deadline: an example that takes 300 ms on a loaded machine is not a failure, and the
# suite must pass whatever else the machine is doing (scripts/test-under-load.sh shows it).
settings.register_profile("assistantd", deadline=None)
settings.load_profile("assistantd")


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """Tests that call ``cli.main()`` in-process set up logging like the real command: a handler on
    the root logger writing to that test's captured stderr, closed once the test ends. Left there, it
    made later tests' log records fail to print (order-dependent failures): restore it after each test."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture(scope="session")
def talk(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """tests/talk_speech.py's recording (commands and conversation) and its cache directory, built once."""
    from tests.talk_speech import talk_recording

    cache = tmp_path_factory.mktemp("talk")
    return talk_recording(cache), cache
