"""``assistantd intents test "TEXT"``: what the matcher makes of one text, as JSON.

Exit 0 with the match, 1 when nothing matches (``{"intent": null, ...}``), 2 for bad config or intent
files (printed by cli.py).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from assistantd.config import Config, default_config_path, load_config
from assistantd.intents.loader import load_intent_files, load_matcher
from assistantd.intents.normalize import normalize_text


def _bound_handler(config_file: Path | None, intent: str) -> Any:
    """The handler bound to ``intent`` under ``handlers.bindings`` in the config file, if any.

    The handlers section belongs to the handlers package; until its API is merged this reads only
    ``handlers.bindings``, as a mapping of intent -> handler or a list of {intent, handler} entries.
    """
    if config_file is None or not config_file.is_file():
        return None
    data = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    handlers = data.get("handlers") if isinstance(data, Mapping) else None
    bindings = handlers.get("bindings") if isinstance(handlers, Mapping) else None
    if isinstance(bindings, Mapping):
        return bindings.get(intent)
    if isinstance(bindings, list):
        for entry in bindings:
            if isinstance(entry, Mapping) and entry.get("intent") == intent:
                return entry.get("handler")
    return None


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
    config_file = (config_path or default_config_path()) if config is not None else None

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
            "handler": None,
        }
    else:
        result = match.to_dict()
        result["handler"] = _bound_handler(config_file, match.intent)
    print(json.dumps(result, ensure_ascii=False))
    return 0 if match is not None else 1
