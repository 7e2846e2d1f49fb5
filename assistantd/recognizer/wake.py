"""Optional wake word: pocketsphinx keyphrase spotting decides whether an utterance is for us.

Off by default: the VAD alone gates listening and every utterance is recognized. With a wake word,
``WakeWordGate.check`` consumes an utterance and says whether the phrase was in it, handing back the
audio after the phrase ("hey computer, turn on the light" -> "turn on the light") so the command can
be recognized from it; a bare "hey computer" leaves the next utterance (within follow_up_s) to be the
command, which the pipeline decides. The gate shares the recognizer's decoder (one acoustic model in
memory) and its thread: keyphrase search costs about what the grammar search costs.
"""

from __future__ import annotations

from collections.abc import AsyncIterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistantd.errors import RecognizerError
from assistantd.recognizer.decoder_thread import DecoderThread
from assistantd.recognizer.grammar_cache import read_dictionary_words
from assistantd.recognizer.utterance import BYTES_PER_FRAME, Timing, decode_utterance

SEARCH = "wake"


@dataclass(frozen=True)
class WakeDecision:
    detected: bool
    command_audio: bytes = b""
    """The audio after the wake phrase (16 kHz s16le); empty when nothing followed or not detected."""


class WakeWordGate:
    """Keyphrase spotting on a shared decoder thread."""

    def __init__(self, thread: DecoderThread, phrase: str, threshold: float, dictionary: Path) -> None:
        self.thread = thread
        self.phrase = phrase
        self.threshold = threshold
        self.dictionary = dictionary
        self.last_timing: Timing | None = None
        self._added = False

    def _add(self, decoder: Any) -> None:
        words = read_dictionary_words(self.dictionary)
        unknown = [w for w in self.phrase.split() if w not in words]
        if unknown:
            raise RecognizerError(
                f"recognizer.local.wake_word.phrase: {', '.join(unknown)} not in the pocketsphinx dictionary"
            )
        # The threshold is read from the decoder's config when the keyphrase search is made.
        decoder.config["kws_threshold"] = self.threshold
        decoder.add_keyphrase(SEARCH, self.phrase)

    async def check(self, audio: AsyncIterable[bytes]) -> WakeDecision:
        """Consume one utterance; detected when the wake phrase was spoken in it."""
        async with self.thread.turn():
            if not self._added:
                await self.thread.call(self._add)
                self._added = True
            kept = bytearray()
            end_frame, timing = await decode_utterance(self.thread, SEARCH, audio, _phrase_end, keep=kept)
        self.last_timing = timing
        if end_frame is None:
            return WakeDecision(False)
        return WakeDecision(True, bytes(kept[(end_frame + 1) * BYTES_PER_FRAME :]))


def _phrase_end(decoder: Any) -> int | None:
    """Last frame of the last spotted phrase, or None when it was not spoken."""
    if decoder.hyp() is None:
        return None
    ends = [seg.end_frame for seg in decoder.seg()]
    return max(ends) if ends else None
