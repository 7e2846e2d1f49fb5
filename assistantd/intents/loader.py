"""Intent files on disk -> a ready Matcher. The only module here that reads files.

``intents.files`` holds paths or glob patterns relative to the config file's directory. Files are
grouped by their ``language`` (in order of first appearance) and each group becomes one hassil model;
every problem is a ConfigError naming the intent file, the key path and what was expected.
"""

from __future__ import annotations

import glob
import logging
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

from hassil.numbers import get_rbnf_engine

from assistantd.config import Config
from assistantd.config.yamlfile import read_yaml
from assistantd.errors import ConfigError
from assistantd.intents.fuzzy import DEFAULT_MAX_PER_INTENT, sample_intents
from assistantd.intents.matcher import LanguageModel, Matcher
from assistantd.intents.schema import IntentFile, merge_language, parse_intent_file

_LOGGER = logging.getLogger(__name__)


def resolve_intent_paths(patterns: Sequence[str], base_dir: Path, source: str) -> list[Path]:
    """Expand ``intents.files`` (sorted within each pattern; each file once). Empty patterns are errors."""
    paths: list[Path] = []
    for i, pattern in enumerate(patterns):
        full = pattern if Path(pattern).is_absolute() else str(base_dir / pattern)
        found = sorted(Path(p) for p in glob.glob(full, recursive=True) if Path(p).is_file())
        if not found:
            raise ConfigError(
                source,
                f"intents.files[{i}]",
                "expected a path or pattern matching an intent file",
                repr(full),
            )
        paths.extend(p for p in found if p not in paths)
    return paths


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
