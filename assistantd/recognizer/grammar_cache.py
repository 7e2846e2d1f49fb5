"""Build the command grammar once per content: keyed by a hash of the intent files and the dictionary.

Building means reading the 134k-word dictionary and walking every template; on a Pi that is the
slow part of start-up, and it only changes when a file does. Entries are JSON files written
atomically (temp file + rename), so a crash mid-write never leaves a half entry; the newest
``KEEP_ENTRIES`` are kept so the directory stays bounded across edits.

Beside each grammar the cache keeps the pronunciation dictionary the decoder loads: only the lines of
the grammar's words (every pronunciation). The whole CMU dictionary costs the decoder 21.5 MB resident
and about 170 ms to parse at every start (issue 13); the command words are a few kilobytes, and the
search, which only ever reaches the grammar's words, gives the same transcripts.
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from assistantd.recognizer.compiled_grammar import Grammar

log = logging.getLogger(__name__)

FORMAT = "assistantd-grammar-3"
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
    import tempfile  # noqa: PLC0415 - the last resort; not loaded at a normal start (issue 13)

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
    digest.update(file_digest(dictionary))
    return digest.hexdigest()[:32]


@functools.lru_cache(maxsize=4)
def _file_digest(path: Path, mtime_ns: int, size: int) -> bytes:
    return hashlib.sha256(path.read_bytes()).digest()


def file_digest(path: Path) -> bytes:
    """sha256 of a file's bytes, computed once per (path, mtime, size): the 3 MB dictionary is hashed
    for every grammar key and every words dictionary."""
    stat = path.stat()
    return _file_digest(path, stat.st_mtime_ns, stat.st_size)


def dictionary_lines(path: Path, words: frozenset[str]) -> str:
    """The lines of a pocketsphinx dictionary for ``words``, alternates ("word(2)") included."""
    with path.open(encoding="utf-8") as lines:
        return "".join(
            line for line in lines if (head := line.split(maxsplit=1)) and head[0].split("(", 1)[0] in words
        )


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
        # The builder (hassil's templates -> JSGF tree -> word graph) loads only on a miss (issue 13).
        from assistantd.recognizer.grammar import build_grammar  # noqa: PLC0415

        grammar = build_grammar(intent_files, read_dictionary_words(dictionary), language)
        self.builds += 1
        self._store(entry, grammar)
        return grammar

    def words_dictionary(self, words: frozenset[str], dictionary: Path) -> Path:
        """A pronunciation dictionary holding only ``words`` (from ``dictionary``), cached by content.

        If the cache cannot be written the whole ``dictionary`` is returned: it only costs memory.
        """
        digest = hashlib.sha256(f"{FORMAT}\0".encode() + file_digest(dictionary))
        digest.update("\n".join(sorted(words)).encode())
        entry = self.directory / f"words-{digest.hexdigest()[:32]}.dict"
        try:
            os.utime(entry)
        except FileNotFoundError:
            pass
        except OSError as err:
            log.warning("cannot use the cached dictionary %s (%s); loading the whole dictionary", entry, err)
            return dictionary
        else:
            return entry
        try:
            self._write(entry, ".words-", dictionary_lines(dictionary, words))
        except OSError as err:
            log.warning("cannot write %s (%s); loading the whole dictionary", entry, err)
            return dictionary
        return entry

    def _store(self, entry: Path, grammar: Grammar) -> None:
        try:
            self._write(entry, ".grammar-", json.dumps(grammar.to_dict()))
        except OSError as err:
            log.warning(
                "cannot write the grammar cache in %s (%s); building at every start", self.directory, err
            )

    def _write(self, entry: Path, prefix: str, text: str) -> None:
        """Write atomically (temp file + rename), then prune the oldest entries of the same kind."""
        self.directory.mkdir(parents=True, exist_ok=True)
        import tempfile  # noqa: PLC0415 - written on a miss only; a warm start never loads it (issue 13)

        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=prefix, suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                out.write(text)
            os.replace(tmp, entry)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._prune(entry.name.split("-", 1)[0] + "-*" + entry.suffix)

    def _prune(self, pattern: str) -> None:
        entries = sorted(self.directory.glob(pattern), key=lambda p: p.stat().st_mtime, reverse=True)
        for old in entries[KEEP_ENTRIES:]:
            old.unlink(missing_ok=True)
