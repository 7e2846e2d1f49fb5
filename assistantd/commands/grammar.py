"""``assistantd grammar``: what the offline recognizer can hear, built from the configured intents.

For whoever edits /etc/assistantd/intents: which words the dictionary lacks (per intent), which
sentences are left out and why, and with ``--jsgf`` the grammar itself.
"""

from __future__ import annotations

from pathlib import Path

from assistantd.config import load_config
from assistantd.config.files import resolve_intent_paths
from assistantd.recognizer.grammar import build_grammar
from assistantd.recognizer.grammar_cache import read_dictionary_words
from assistantd.recognizer.local import ModelPaths


def run(config_path: Path | None, jsgf: bool) -> int:
    cfg = load_config(config_path)
    files = resolve_intent_paths(cfg.intents.files, cfg.base_dir, cfg.source)
    language = cfg.recognizer.local.language
    grammar = build_grammar(files, read_dictionary_words(ModelPaths.bundled().dictionary), language)
    if jsgf:
        print(grammar.jsgf, end="")
        return 0
    print(f"{len(files)} intent files, {grammar.sentences} {language} sentences in the offline grammar")
    for intent, words in sorted(grammar.missing.items()):
        print(f"  {intent}: not in the dictionary: {', '.join(sorted(words))}")
    for intent, template, reason in grammar.dropped:
        print(f"  {intent}: left out {template!r} ({reason})")
    return 0
