"""Intent files on disk -> a ready Matcher. The only module here that reads files.

``intents.files`` holds paths or glob patterns relative to the config file's directory. Files are
grouped by their ``language`` (in order of first appearance) and each group becomes one hassil model;
every problem is a ConfigError naming the intent file, the key path and what was expected.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from hassil.numbers import get_rbnf_engine

from assistantd.config import Config
from assistantd.config.files import read_yaml, resolve_intent_paths
from assistantd.errors import ConfigError
from assistantd.intents.fuzzy import DEFAULT_MAX_PER_INTENT, sample_intents
from assistantd.intents.matcher import LanguageModel, Matcher
from assistantd.intents.schema import IntentFile, merge_language, parse_intent_file

_LOGGER = logging.getLogger(__name__)


def read_intent_file(path: Path) -> IntentFile:
    return parse_intent_file(read_yaml(path, "intent file"), str(path))


def _speller(language: str) -> Callable[[int | float], str] | None:
    try:
        # Built now so that hassil's range lists and the digit->word variant never read the
        # rbnf rule files while matching.
        engine = get_rbnf_engine(language)
    except ValueError:
        _LOGGER.warning("no number spelling for language %s; numbers match as digits only", language)
        return None

    def spell(number: int | float) -> str:
        return str(engine.format_number(number).text)

    return spell


def build_matcher(
    files: Iterable[IntentFile],
    fuzzy_threshold: float = 85.0,
    max_per_intent: int = DEFAULT_MAX_PER_INTENT,
) -> Matcher:
    """Group checked files by language, merge each group and prepare fuzzy samples."""
    groups: dict[str, list[IntentFile]] = {}
    for file in files:
        groups.setdefault(file.language, []).append(file)
    models: list[LanguageModel] = []
    for language, group in groups.items():
        intents = merge_language(group)
        spell = _speller(language)
        samples = sample_intents(intents, max_per_intent)
        _LOGGER.debug("%s: %d intents, %d fuzzy samples", language, len(intents.intents), len(samples))
        models.append(LanguageModel(language, intents, samples, spell))
    return Matcher(models, fuzzy_threshold)


def load_intent_files(
    paths: Iterable[Path | str],
    fuzzy_threshold: float = 85.0,
    max_per_intent: int = DEFAULT_MAX_PER_INTENT,
) -> Matcher:
    """A Matcher for explicit intent files (``assistantd intents test --intents FILE``)."""
    files = [read_intent_file(Path(p)) for p in paths]
    if not files:
        raise ConfigError("<intents>", "intents.files", "expected at least one intent file")
    return build_matcher(files, fuzzy_threshold, max_per_intent)


def load_matcher(config: Config) -> Matcher:
    """A Matcher for the intent files the config names."""
    cfg = config.intents
    paths = resolve_intent_paths(cfg.files, config.base_dir, config.source)
    return load_intent_files(paths, cfg.fuzzy_threshold, cfg.fuzzy_max_sentences)
