"""Build the command grammar once per content: keyed by a hash of the intent files and the dictionary.

Building means reading the 134k-word dictionary and walking every template; on a Pi that is the
slow part of start-up, and it only changes when a file does. Entries are JSON files written
atomically (temp file + rename), so a crash mid-write never leaves a half entry; the newest
``KEEP_ENTRIES`` are kept so the directory stays bounded across edits.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

from assistantd.recognizer.grammar import Grammar, build_grammar

log = logging.getLogger(__name__)

FORMAT = "assistantd-grammar-2"
"""Part of every key: bump it when build_grammar's output changes for the same input."""
KEEP_ENTRIES = 8


def default_cache_dir(env: Mapping[str, str]) -> Path:
    """$CACHE_DIRECTORY (systemd CacheDirectory=), $XDG_CACHE_HOME/assistantd, /var/cache/assistantd
    when writable, else a directory under the system temp dir."""
    if env.get("CACHE_DIRECTORY"):
        return Path(env["CACHE_DIRECTORY"].split(":")[0])
    if env.get("XDG_CACHE_HOME"):
        return Path(env["XDG_CACHE_HOME"]) / "assistantd"
    system = Path("/var/cache/assistantd")
    if os.access(system if system.exists() else system.parent, os.W_OK):
        return system
    return Path(tempfile.gettempdir()) / f"assistantd-cache-{os.getuid()}"


def read_dictionary_words(path: Path) -> frozenset[str]:
    """The words of a pocketsphinx dictionary ("word(2)" alternates count as "word")."""
    words: set[str] = set()
    with path.open(encoding="utf-8") as lines:
        for line in lines:
            head = line.split(maxsplit=1)
            if head:
                words.add(head[0].split("(", 1)[0])
    return frozenset(words)


def grammar_key(intent_files: Sequence[Path], dictionary: Path, language: str) -> str:
    digest = hashlib.sha256(f"{FORMAT}\0{language}\0".encode())
    for path in sorted(intent_files):
        digest.update(f"{path.name}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    digest.update(hashlib.sha256(dictionary.read_bytes()).digest())
    return digest.hexdigest()[:32]


class GrammarCache:
    """Grammars by content hash in one directory. A cache that cannot be written only costs time."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.hits = 0
        self.builds = 0

    def _entry(self, key: str) -> Path:
        return self.directory / f"grammar-{key}.json"

    def get_or_build(self, intent_files: Sequence[Path], dictionary: Path, language: str) -> Grammar:
        key = grammar_key(intent_files, dictionary, language)
        entry = self._entry(key)
        try:
            grammar = Grammar.from_dict(json.loads(entry.read_text(encoding="utf-8")))
        except FileNotFoundError:
            pass
        except (OSError, ValueError, KeyError, TypeError) as err:
            log.warning("grammar cache entry %s is unreadable (%s); rebuilding", entry, err)
        else:
            self.hits += 1
            os.utime(entry)  # keeps recently used entries off the pruning list
            return grammar
        grammar = build_grammar(intent_files, read_dictionary_words(dictionary), language)
        self.builds += 1
        self._store(entry, grammar)
        return grammar

    def _store(self, entry: Path, grammar: Grammar) -> None:
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".grammar-", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(grammar.to_dict(), out)
            os.replace(tmp, entry)
            self._prune()
        except OSError as err:
            log.warning(
                "cannot write the grammar cache in %s (%s); building at every start", self.directory, err
            )

    def _prune(self) -> None:
        entries = sorted(self.directory.glob("grammar-*.json"), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[KEEP_ENTRIES:]:
            old.unlink(missing_ok=True)
