from __future__ import annotations

from collections.abc import Callable

import pytest
import yaml

from assistantd.intents import Matcher
from assistantd.intents.loader import build_matcher
from assistantd.intents.schema import parse_intent_file

MakeMatcher = Callable[..., Matcher]


@pytest.fixture
def make_matcher() -> MakeMatcher:
    """A Matcher from inline YAML documents (one per intent file), as the loader would build it."""

    def make(*documents: str, threshold: float = 85.0, max_per_intent: int = 1000) -> Matcher:
        files = [parse_intent_file(yaml.safe_load(doc), f"inline{i}.yaml") for i, doc in enumerate(documents)]
        return build_matcher(files, threshold, max_per_intent)

    return make
