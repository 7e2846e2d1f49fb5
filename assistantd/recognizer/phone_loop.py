"""The offline recognizer's second opinion: a free phone loop over the same audio (rejection.py).

A second pocketsphinx Decoder on its own thread (decoder_thread.py) runs an ``allphone`` search with no
phone language model. It is fed the utterance's chunks as they arrive, beside the grammar decoder, so
at the endpoint both finish at about the same time: the check adds little endpoint->text latency, and
CPU only while someone speaks (about twice the grammar's own cost since the grammar became a word graph:
bench/rejection.py, bench/pi_budget.py).

The loop needs the acoustic model but no words: the decoder gets a one-word dictionary instead of the
3 MB CMU dictionary (about 6 MB resident instead of about 27 MB).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterable, AsyncIterator
from pathlib import Path as FilePath
from typing import Any

import pocketsphinx

from assistantd.recognizer.decoder_thread import DecoderThread
from assistantd.recognizer.rejection import Path, Segment
from assistantd.recognizer.utterance import Timing, decode_utterance

SEARCH = "phones"


def best_path(decoder: Any) -> Path | None:
    """The decoder's best path after ``end_utt``: integer log score and segments (None: no path).

    ``hyp().score`` is ``logmath.exp`` of the integer score (the Python API's choice); ``logmath.log``
    undoes it. A path so bad that the exponential underflowed to 0 gets the lowest integer score.
    """
    hyp = decoder.hyp()
    if hyp is None:
        return None
    logmath = decoder.logmath
    score = int(logmath.log(hyp.score)) if hyp.score > 0 else -(2**31)
    segments = tuple(Segment(s.word, s.start_frame, s.end_frame) for s in decoder.seg())
    return Path(score, segments)


def text_and_path(decoder: Any) -> tuple[str, Path | None, int]:
    """The grammar decoder's result: its sentence, its path and the frames decoded."""
    hyp = decoder.hyp()
    text = str(hyp.hypstr) if hyp is not None else ""
    return text, best_path(decoder), int(decoder.n_frames())


def _path_and_frames(decoder: Any) -> tuple[Path | None, int]:
    return best_path(decoder), int(decoder.n_frames())


class PhoneLoop:
    """A phone-loop decoder on its own thread, fed the same chunks as the grammar decoder."""

    def __init__(self, hmm: FilePath, *, max_pending: int = 64) -> None:
        self.hmm = hmm
        self.thread = DecoderThread(self._make_decoder, max_pending=max_pending, name="pocketsphinx-phones")

    def _make_decoder(self) -> Any:
        # The one-word dictionary lives in an anonymous in-memory file the decoder opens by its /proc path:
        # nothing is written to disk or left behind.
        with os.fdopen(os.memfd_create("assistantd-phones.dict"), "w") as dictionary:
            dictionary.write("a AH\n")
            dictionary.flush()
            path = f"/proc/self/fd/{dictionary.fileno()}"
            config = pocketsphinx.Config(hmm=str(self.hmm), dict=path, lm=None, loglevel="ERROR")
            decoder = pocketsphinx.Decoder(config)
        decoder.add_allphone_file(SEARCH, None)
        decoder.activate_search(SEARCH)
        return decoder

    async def decode(self, audio: AsyncIterable[bytes]) -> tuple[tuple[Path | None, int], Timing]:
        async with self.thread.turn():
            return await decode_utterance(self.thread, SEARCH, audio, _path_and_frames)

    def close(self) -> None:
        self.thread.close()

    async def aclose(self, deadline_s: float) -> None:
        await self.thread.aclose(deadline_s)


class Tee:
    """Hands every chunk of one audio stream to a second consumer through a bounded queue.

    ``first()`` is iterated by the grammar decode; ``second()`` by the phone loop. When the second
    consumer falls behind by ``max_chunks`` the first waits (backpressure, as decoder_thread.py does):
    both decoders see every chunk. ``detach()`` (the second consumer is gone) stops the forwarding, so
    the first never waits on a queue nobody reads.
    """

    def __init__(self, audio: AsyncIterable[bytes], max_chunks: int) -> None:
        self._audio = audio
        self._queue: asyncio.Queue[bytes | None] = asyncio.Queue(maxsize=max_chunks)
        self._detached = False

    async def first(self) -> AsyncIterator[bytes]:
        async for chunk in self._audio:
            if not self._detached:
                await self._queue.put(chunk)
            yield chunk
        await self._queue.put(None)  # detach() makes room if the reader is gone

    async def second(self) -> AsyncIterator[bytes]:
        while (chunk := await self._queue.get()) is not None:
            yield chunk

    def detach(self) -> None:
        """The second consumer stopped: drop what it did not take and forward nothing more."""
        self._detached = True
        while not self._queue.empty():
            self._queue.get_nowait()
