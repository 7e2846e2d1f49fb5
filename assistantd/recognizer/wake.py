"""Optional wake word: pocketsphinx keyphrase spotting decides whether an utterance is for us.

Off by default: the VAD alone gates listening and every utterance is recognized. With a wake word,
``WakeWordGate.check`` consumes an utterance and says whether the phrase was in it, handing back the
audio after the phrase ("hey computer, turn on the light" -> "turn on the light") so the command can
be recognized from it. A bare "hey computer" (less than ``min_command_s`` of audio after it, which is
about the endpointer's hangover of silence) arms the gate: the next utterance within ``follow_up_s``
passes whole, as the command. The gate shares the recognizer's decoder (one acoustic model in
memory) and its thread: keyphrase search costs about what the grammar search costs.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistantd.audio.frames import BYTES_PER_SECOND
from assistantd.errors import RecognizerError
from assistantd.recognizer.decoder_thread import DecoderThread
from assistantd.recognizer.grammar_cache import read_dictionary_words
from assistantd.recognizer.utterance import BYTES_PER_FRAME, Timing, decode_utterance

_gates = itertools.count(1)


@dataclass(frozen=True)
class WakeDecision:
    detected: bool
    """Recognize ``command_audio``: the phrase was said in it, or it follows a bare wake phrase."""
    command_audio: bytes = b""
    """The audio to recognize (16 kHz s16le): what followed the phrase, or the whole follow-up utterance.
    Empty when the phrase was said alone (the gate is then armed) or not at all."""
    follow_up: bool = False
    """True when this utterance passed because a bare wake phrase came just before it."""


class WakeWordGate:
    """Keyphrase spotting on a shared decoder thread."""

    def __init__(
        self,
        thread: DecoderThread,
        phrase: str,
        threshold: float,
        dictionary: Path,
        *,
        follow_up_s: float = 5.0,
        min_command_s: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.thread = thread
        self.phrase = phrase
        self.threshold = threshold
        self.dictionary = dictionary
        self.follow_up_s = follow_up_s
        self.min_command_s = min_command_s
        self.clock = clock
        self.last_timing: Timing | None = None
        self._added = False
        self._armed_until: float | None = None
        # A search of its own: re-adding a name replaces that search, and replacing the active one
        # leaves pocketsphinx pointing at freed memory.
        self.search = f"wake-{next(_gates)}"

    def _add(self, decoder: Any) -> None:
        words = read_dictionary_words(self.dictionary)
        unknown = [w for w in self.phrase.split() if w not in words]
        if unknown:
            raise RecognizerError(
                f"recognizer.local.wake_word.phrase: {', '.join(unknown)} not in the pocketsphinx dictionary"
            )
        # The threshold is read from the decoder's config when the keyphrase search is made.
        decoder.config["kws_threshold"] = self.threshold
        decoder.add_keyphrase(self.search, self.phrase)

    async def check(self, audio: AsyncIterable[bytes]) -> WakeDecision:
        """Consume one utterance; detected when the wake phrase was spoken in it."""
        async with self.thread.turn():
            if not self._added:
                await self.thread.call(self._add)
                self._added = True
            kept = bytearray()
            end_frame, timing = await decode_utterance(
                self.thread, self.search, audio, _phrase_end, keep=kept
            )
        self.last_timing = timing
        now = self.clock()
        armed = self._armed_until is not None and now <= self._armed_until
        self._armed_until = None
        if end_frame is None:
            return WakeDecision(True, bytes(kept), follow_up=True) if armed else WakeDecision(False)
        rest = bytes(kept[(end_frame + 1) * BYTES_PER_FRAME :])
        if len(rest) < self.min_command_s * BYTES_PER_SECOND:
            self._armed_until = now + self.follow_up_s  # "hey computer" ... (pause) ... "lights on"
            return WakeDecision(True)
        return WakeDecision(True, rest)


def _phrase_end(decoder: Any) -> int | None:
    """Last frame of the last spotted phrase, or None when it was not spoken."""
    if decoder.hyp() is None:
        return None
    ends = [seg.end_frame for seg in decoder.seg()]
    return max(ends) if ends else None
