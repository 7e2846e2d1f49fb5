"""``assistantd intents test "TEXT"``: what the matcher makes of one text, as JSON.

Exit 0 with the match, 1 when nothing matches (``{"intent": null, ...}``), 2 for bad config or intent
files (printed by cli.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from assistantd.config import Config, load_config
from assistantd.handlers.base import Invocation
from assistantd.handlers.build import build_runner
from assistantd.handlers.speaking import SpeakingGate
from assistantd.intents.loader import load_intent_files, load_matcher
from assistantd.intents.normalize import normalize_text


def _handlers(config: Config | None, intent: str | None, text: str) -> list[str]:
    """Names of the handlers that would run for ``intent`` (the fallback's when it is None), in order."""
    if config is None:
        return []
    runner = build_runner(config.handlers, SpeakingGate())  # builds handler objects only: no I/O
    return [h.name for h in runner.handlers_for(Invocation("test", text, intent))]


def run(
    action: str,
    text: str,
    config_path: Path | None = None,
    intent_files: Sequence[Path] | None = None,
) -> int:
    if action != "test":
        raise ValueError(f"unknown intents action {action!r}")
    config: Config | None = None
    if intent_files:
        config = load_config(config_path) if config_path is not None else None
        threshold = config.intents.fuzzy_threshold if config else Config().intents.fuzzy_threshold
        most = config.intents.fuzzy_max_sentences if config else Config().intents.fuzzy_max_sentences
        matcher = load_intent_files(intent_files, threshold, most)
    else:
        config = load_config(config_path)
        matcher = load_matcher(config)

    match = matcher.match(text)
    if match is None:
        languages = [lm.language for lm in matcher.languages]
        result: dict[str, Any] = {
            "intent": None,
            "slots": {},
            "method": None,
            "score": None,
            "language": None,
            "text": text,
            "normalized": normalize_text(text, languages[0] if languages else "en"),
        }
    else:
        result = match.to_dict()
    result["handlers"] = _handlers(config, match.intent if match else None, text)
    print(json.dumps(result, ensure_ascii=False))
    return 0 if match is not None else 1
