"""The embedded offline recognizer (pocketsphinx 5), the default: assistantd works with no cloud account.

In ``grammar`` mode the decoder searches only the command set built from the intents (grammar.py):
about 0.01 CPU-s per audio second and far more accurate than open dictation. ``open`` mode uses the
bundled US-English language model for free dictation (about 20 times the CPU). A grammar with no
sentence left (no English intents, every word missing) falls back to the open model, with a warning.

The decoder is loaded once, on its own thread (decoder_thread.py), and fed while the person speaks,
so the final text is ready right after the endpoint (end_utt + hyp).

In grammar mode every sentence gets a second opinion (``recognizer.local.reject``): a free phone loop
decoded over the same frames on a second decoder thread (phone_loop.py). A sentence the grammar
explains much worse than the loop, or that leaves much of the speech unexplained, is only the nearest
command to something else: the Transcript says so (``rejected``) and the pipeline acts on nothing.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import AsyncIterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pocketsphinx

from assistantd.config import Config
from assistantd.config.files import resolve_intent_paths
from assistantd.config.local import LocalRecognizerConfig
from assistantd.errors import ConfigError, RecognizerError
from assistantd.recognizer.base import RecognitionFailed, Transcript
from assistantd.recognizer.compiled_grammar import Grammar
from assistantd.recognizer.decoder_thread import CLOSE_DEADLINE_S, DecoderThread
from assistantd.recognizer.grammar_cache import GrammarCache, default_cache_dir, grammar_key
from assistantd.recognizer.phone_loop import PhoneLoop, Tee, text_and_path
from assistantd.recognizer.rejection import Verdict, judge
from assistantd.recognizer.utterance import Timing, decode_utterance, final_text
from assistantd.tasks import cancel_and_reap

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ModelPaths:
    """Acoustic model directory, pronunciation dictionary and language model."""

    hmm: Path
    dictionary: Path
    lm: Path

    @classmethod
    def bundled(cls) -> ModelPaths:
        """The US-English model inside the pocketsphinx wheel."""
        root = Path(pocketsphinx.get_model_path("en-us"))
        return cls(root / "en-us", root / "cmudict-en-us.dict", root / "en-us.lm.bin")


class LocalRecognizer:
    """The ``local`` recognizer: pocketsphinx on a dedicated thread, grammar from the intents."""

    name = "local"

    def __init__(
        self,
        settings: LocalRecognizerConfig,
        intent_files: Sequence[Path],
        *,
        model: ModelPaths | None = None,
        cache: GrammarCache | None = None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.settings = settings
        self.model = model or ModelPaths.bundled()
        self.intent_files = list(intent_files)
        env = os.environ if env is None else env
        self.cache = cache or GrammarCache(
            Path(settings.cache_dir) if settings.cache_dir else default_cache_dir(env)
        )
        self.thread = DecoderThread(self._make_decoder, max_pending=settings.max_pending_chunks)
        self.grammar: Grammar | None = None
        self.search = ""
        """The active search: "grammar-N" or "open"."""
        self.last_timing: Timing | None = None
        self.last_check_timing: Timing | None = None
        """The phone loop's figures for the last utterance (None when no check ran)."""
        self.phones = (
            PhoneLoop(self.model.hmm, max_pending=settings.max_pending_chunks)
            if settings.reject.enabled and settings.mode == "grammar"
            else None
        )
        self._generation = 0
        self._searches: set[str] = set()
        """Searches added to the decoder (touched only on the decoder thread)."""
        self._installed = ""
        """grammar_key() of the active grammar ("open" for the open model): a reload with the same
        intents adds no search (each one costs the decoder native memory)."""
        self._words: frozenset[str] | None = None
        """The words of the decoder's dictionary (None: the whole dictionary; decoder thread only)."""

    @classmethod
    def from_config(cls, config: Config, env: Mapping[str, str] | None = None) -> LocalRecognizer:
        """The recognizer for ``recognizer.local``, fed by the files of ``intents.files``."""
        return cls(
            config.recognizer.local,
            resolve_intent_paths(config.intents.files, config.base_dir, config.source),
            env=env,
        )

    # -- loading ----------------------------------------------------------------------------------
    def _make_decoder(self) -> Any:
        # No LM at load: grammar mode never needs its 30 MB; open mode (or a fallback) adds it. Nor the
        # whole dictionary: _install loads one holding only the grammar's words. No lattice pass after
        # a grammar search (bestpath): the FSG search's own best path gives the same sentences (issue
        # 13: 20/20 intents either way), and the pass cost 0.027 CPU-s per audio-s and most of the
        # endpoint -> text time.
        grammar = self.settings.mode == "grammar"
        if grammar:
            dictionary = self.cache.words_dictionary(frozenset(), self.model.dictionary)
            self._words = None if dictionary == self.model.dictionary else frozenset()
        else:
            dictionary, self._words = self.model.dictionary, None
        config = pocketsphinx.Config(
            hmm=str(self.model.hmm), dict=str(dictionary), lm=None, loglevel="ERROR", bestpath=not grammar
        )
        return pocketsphinx.Decoder(config)

    async def start(self) -> None:
        """Load the decoder and the grammar (both off the event loop). Idempotent; a cancelled
        start leaves nothing half-done (the next call loads again)."""
        if not self.search:
            await self.reload()
        if self.phones is not None:
            await self.phones.thread.ready()

    async def reload(self, intent_files: Sequence[Path] | None = None) -> None:
        """Rebuild (or fetch from cache) the grammar and switch to it between utterances.

        On failure the previous grammar stays active: ConfigError for bad intent YAML (file and
        reason), RecognizerError when pocketsphinx cannot load the model or the grammar.
        """
        files = list(self.intent_files if intent_files is None else intent_files)
        async with self.thread.turn():
            try:
                grammar, search = await self.thread.call(lambda d: self._install(d, files))
            except (RecognizerError, ConfigError):
                raise
            except Exception as err:
                raise RecognizerError(f"local recognizer failed to load: {err}") from err
        self.grammar, self.search, self.intent_files = grammar, search, files

    def _install(self, decoder: Any, files: list[Path]) -> tuple[Grammar | None, str]:
        """Runs on the decoder thread: build or fetch the grammar, add it as a new search, activate it."""
        grammar: Grammar | None = None
        search = "open"
        key = "open"
        if self.settings.mode == "grammar":
            key = grammar_key(files, self.model.dictionary, self.settings.language)
        if key == self._installed and self.search:
            return self.grammar, self.search
        if self.settings.mode == "grammar":
            start = time.monotonic()
            grammar = self.cache.get_or_build(files, self.model.dictionary, self.settings.language)
            _report(grammar, files, time.monotonic() - start)
            if grammar.sentences and grammar.graph is not None:
                self._generation += 1
                search = f"grammar-{self._generation}"
                self._load_words(decoder, grammar.words)
                graph = grammar.graph
                decoder.add_fsg(search, decoder.create_fsg(search, 0, graph.final, graph.transitions()))
            else:
                log.warning(
                    "no %s intent sentence fits the offline grammar; using the open language model",
                    self.settings.language,
                )
        if search == "open" and "open" not in self._searches:
            self._load_words(decoder, None)
            decoder.add_lm_file("open", str(self.model.lm))
            self._searches.add("open")
        decoder.activate_search(search)
        # The previous grammar goes only once another search is active (removing the active one
        # would leave the decoder without a search).
        for old in [s for s in self._searches if s.startswith("grammar-") and s != search]:
            decoder.remove_search(old)
            self._searches.discard(old)
        if search != "open":
            self._searches.add(search)
        self._installed = key
        return grammar, search

    def _load_words(self, decoder: Any, words: frozenset[str] | None) -> None:
        """Make the decoder's dictionary hold ``words`` (None: every word) besides the active grammar's.

        The active search stays in the decoder until the new one replaces it, and pocketsphinx checks
        every search's words against a dictionary it loads, so the new dictionary holds both.
        """
        if self._words is None or (words is not None and words <= self._words):
            return
        if words is None:
            path = self.model.dictionary
        else:
            keep = self.grammar.words if self.grammar is not None and self.search != "open" else frozenset()
            words = words | keep
            path = self.cache.words_dictionary(words, self.model.dictionary)
        decoder.load_dict(str(path))
        self._words = None if path == self.model.dictionary else words

    # -- recognition ------------------------------------------------------------------------------
    async def transcribe(self, audio: AsyncIterable[bytes]) -> Transcript:
        """Decode one utterance as its audio arrives; the text is ready right after the endpoint."""
        try:
            await self.start()
        except (RecognizerError, ConfigError) as err:
            raise RecognitionFailed(self.name, str(err), fatal=True) from err
        verdict: Verdict | None = None
        async with self.thread.turn():
            if self.phones is None or self.search == "open":
                text, timing = await decode_utterance(self.thread, self.search, audio, final_text)
                self.last_check_timing = None
            else:
                text, timing, verdict = await self._checked(audio)
        self.last_timing = timing
        log.debug(
            "local: %.2f s audio, final %.0f ms after the endpoint, %.3f CPU-s: %r%s",
            timing.audio_s,
            timing.final_s * 1000,
            timing.cpu_s,
            text,
            f" ({verdict.to_dict()})" if verdict is not None else "",
        )
        return Transcript(text=text, recognizer=self.name, verdict=verdict)

    async def _checked(self, audio: AsyncIterable[bytes]) -> tuple[str, Timing, Verdict | None]:
        """The grammar decode and the phone loop side by side on the same chunks, then the verdict."""
        assert self.phones is not None
        tee = Tee(audio, self.settings.max_pending_chunks)
        loop = asyncio.create_task(self.phones.decode(tee.second()), name="phone-loop")
        loop.add_done_callback(lambda _: tee.detach())
        try:
            (text, grammar, frames), timing = await decode_utterance(
                self.thread, self.search, tee.first(), text_and_path
            )
            (phones, _), check = await loop
        finally:
            await cancel_and_reap(loop)
        self.last_check_timing = check
        if not text or phones is None:  # no words (noise): nothing to judge
            return text, timing, None
        reject = self.settings.reject
        verdict = judge(
            grammar, phones, frames, min_score=reject.min_score, max_unexplained=reject.max_unexplained
        )
        # The text is ready when the later of the two decoders is done.
        final_s = max(timing.final_s, check.final_s)
        return text, Timing(timing.audio_s, final_s, timing.cpu_s + check.cpu_s), verdict

    def close(self) -> None:
        """Stop the decoder threads once their queued jobs are done; never blocks (see ``aclose``)."""
        self.thread.close()
        if self.phones is not None:
            self.phones.close()

    async def aclose(self, deadline_s: float = CLOSE_DEADLINE_S) -> None:
        """``close``, then wait off the loop (at most ``deadline_s``) until the threads have stopped."""
        self.close()
        closing = [self.thread.aclose(deadline_s)]
        if self.phones is not None:
            closing.append(self.phones.aclose(deadline_s))
        await asyncio.gather(*closing)


def _report(grammar: Grammar, files: Sequence[Path], seconds: float) -> None:
    # One WARNING per intent, once per load: the journal shows what cannot be said and why.
    for intent, words in sorted(grammar.missing.items()):
        log.warning(
            "intent %s: words not in the pocketsphinx dictionary, sentences needing them are left out: %s",
            intent,
            ", ".join(sorted(words)),
        )
    for intent, template, reason in grammar.dropped:
        log.info("intent %s: %r is left out of the offline grammar (%s)", intent, template, reason)
    log.info("offline grammar: %d sentences from %d files in %.2f s", grammar.sentences, len(files), seconds)
