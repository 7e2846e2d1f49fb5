"""Models that outlive a reload: Silero, WebRTC noise suppression and the pocketsphinx decoder.

A SIGHUP builds a whole new app while the old one still runs, so every model the new app loaded anew
was, for a moment, loaded twice. Their native memory (ggml's graph buffers, WebRTC's processing
buffers, pocketsphinx's acoustic model) comes from glibc's heap, and the old copy, freed under the new
one, left holes the next load did not fill: RSS grew by about 1.3 MB (cloud recognizer) and 1.8 MB
(local) per reload and never came back (bench/reload_memory.py measures it). A reload now rebuilds
only what its config changed: the daemon keeps one ``SharedModels`` for its life and every app borrows
from it.

Sharing is safe because the service runs one listener at a time (the old app's capture is cancelled
before the new app's starts), and a decoder runs one utterance at a time (its turn lock), so the old
app's utterance in flight and the new app never use a model at once.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from assistantd.config import Config
from assistantd.config.files import resolve_intent_paths
from assistantd.config.local import LocalRecognizerConfig
from assistantd.endpoint.silero import SpeechProbability, load_silero
from assistantd.endpoint.vad import NoiseSuppressor
from assistantd.recognizer.base import Transcript

if TYPE_CHECKING:
    from assistantd.recognizer.local import LocalRecognizer

log = logging.getLogger(__name__)


@dataclass
class _Decoder:
    settings: LocalRecognizerConfig
    recognizer: LocalRecognizer
    users: int = 0
    closed: bool = field(default=False)


class SharedModels:
    """Loads each model once and hands the same one to every app whose config asks for it again."""

    def __init__(self, load_detector: Callable[[], SpeechProbability] = load_silero) -> None:
        self._load_detector = load_detector
        self._detector: SpeechProbability | None = None
        self._suppressor: NoiseSuppressor | None = None
        self._suppressor_level = 0
        self._decoder: _Decoder | None = None
        self.decoders_loaded = 0
        """LocalRecognizers made (a reload with unchanged recognizer.local settings makes none)."""

    def silero(self) -> SpeechProbability:
        """The Silero model (stateless between checks: SileroOnsetCheck resets it for each new onset)."""
        if self._detector is None:
            self._detector = self._load_detector()
        return self._detector

    def suppressor(self, level: int) -> NoiseSuppressor:
        """WebRTC noise suppression at ``level``; the same one while the level stays (its noise estimate
        carries over, as if the reload had not happened)."""
        if self._suppressor is None or self._suppressor_level != level:
            self._suppressor, self._suppressor_level = NoiseSuppressor(level), level
        return self._suppressor

    def local_recognizer(self, config: Config) -> BorrowedLocal:
        """The local recognizer for ``config``: the running decoder when ``recognizer.local`` is unchanged
        (its grammar follows the new intent files on ``start()``), else a new one."""
        from assistantd.recognizer.local import LocalRecognizer  # noqa: PLC0415 - pocketsphinx is heavy

        files = resolve_intent_paths(config.intents.files, config.base_dir, config.source)
        settings = config.recognizer.local
        current = self._decoder
        if current is None or current.settings != settings:
            current = _Decoder(settings, LocalRecognizer(settings, files))
            self.decoders_loaded += 1
            previous, self._decoder = self._decoder, current
            if previous is not None and previous.users == 0:
                self._close(previous)
        current.users += 1
        return BorrowedLocal(self, current, files)

    async def _release(self, entry: _Decoder, deadline_s: float) -> None:
        entry.users -= 1
        if entry.users == 0 and entry is not self._decoder:
            await self._aclose(entry, deadline_s)

    def _close(self, entry: _Decoder) -> None:
        if not entry.closed:
            entry.closed = True
            entry.recognizer.close()

    async def _aclose(self, entry: _Decoder, deadline_s: float) -> None:
        self._close(entry)
        await entry.recognizer.aclose(deadline_s)

    async def aclose(self, deadline_s: float) -> None:
        """At exit: stop the decoder threads, waiting off the loop for at most ``deadline_s`` (the apps
        that borrowed the decoder are closed by now)."""
        if self._decoder is not None:
            entry, self._decoder = self._decoder, None
            await self._aclose(entry, deadline_s)


class BorrowedLocal:
    """One app's use of a shared LocalRecognizer: ``start()`` installs this config's grammar, ``close()``
    gives the decoder back (it stops only when no app uses it and a newer config replaced it)."""

    name = "local"

    def __init__(self, owner: SharedModels, entry: _Decoder, intent_files: list[Path]) -> None:
        self._owner = owner
        self._entry = entry
        self._files = intent_files
        self._returned = False

    @property
    def recognizer(self) -> LocalRecognizer:
        return self._entry.recognizer

    async def start(self) -> None:
        await self._entry.recognizer.reload(self._files)

    async def transcribe(self, audio: AsyncIterable[bytes]) -> Transcript:
        return await self._entry.recognizer.transcribe(audio)

    async def aclose(self, deadline_s: float) -> None:
        if not self._returned:
            self._returned = True
            await self._owner._release(self._entry, deadline_s)
