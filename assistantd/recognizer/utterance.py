"""Feeding one utterance to a decoder thread while it is spoken, shared by the recognizer and the gate."""

from __future__ import annotations

import concurrent.futures
import contextlib
import functools
import logging
import time
from collections.abc import AsyncIterable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from assistantd.audio.frames import BYTES_PER_SECOND
from assistantd.errors import RecognizerError
from assistantd.recognizer.base import RecognitionFailed
from assistantd.recognizer.decoder_thread import DecoderThread

log = logging.getLogger(__name__)

T = TypeVar("T")
BYTES_PER_FRAME = 320
"""pocketsphinx frames are 10 ms: 160 samples of 16-bit audio at 16 kHz."""
BATCH_BYTES = 10 * BYTES_PER_FRAME
"""Audio handed to the decoder thread per job: 100 ms. The endpointer yields 30 ms frames; one job
each (two with the phone loop) cost more CPU in the handoff (a future, a queue, a thread wake-up) than
the grammar search itself (issue 13: +0.022 CPU-s per audio-s). The last, shorter batch rides with the
end of the utterance, so the endpoint waits for at most 100 ms of decoding."""


@dataclass(frozen=True)
class Timing:
    """Figures for one utterance (logs and bench/local_recognizer.py)."""

    audio_s: float
    final_s: float
    """From the end of the audio (the endpoint) to the result."""
    cpu_s: float
    """Decoder-thread CPU spent on this utterance."""


def final_text(decoder: Any) -> str:
    hyp = decoder.hyp()
    return str(hyp.hypstr) if hyp is not None else ""


async def decode_utterance(
    thread: DecoderThread,
    search: str,
    audio: AsyncIterable[bytes],
    finish: Callable[[Any], T],
) -> tuple[T, Timing]:
    """Run one utterance through ``search``: feed chunks as they arrive, end it, return ``finish(decoder)``.

    Call inside ``thread.turn()``.
    Decoder errors become RecognitionFailed; an open utterance is always closed again.
    """
    cpu_before = thread.cpu_s
    received = 0
    batch = bytearray()

    def begin(decoder: Any) -> None:
        if decoder.current_search() != search:
            decoder.activate_search(search)
        decoder.start_utt()

    pending: list[concurrent.futures.Future[Any]] = []
    try:
        pending.append(await thread.submit(begin))
        async for data in audio:
            batch += data
            if len(batch) < BATCH_BYTES:
                continue
            chunk = _take_even(batch)
            received += len(chunk)
            pending.append(await thread.submit(functools.partial(_process, data=chunk)))
            while pending and pending[0].done():
                pending.pop(0).result()  # a decoder error surfaces here, mid-utterance
        rest = _take_even(batch)
        received += len(rest)
        ended = time.monotonic()
        result = await thread.call(lambda d: _end_and(d, finish, rest))
        final_s = time.monotonic() - ended
        for future in pending:
            future.result()
    except (RuntimeError, ValueError) as err:
        _abandon(thread)
        raise RecognitionFailed("local", f"pocketsphinx: {err}") from err
    except RecognizerError as err:  # the decoder was closed under the utterance
        raise RecognitionFailed("local", str(err)) from err
    except BaseException:
        _abandon(thread)
        raise
    return result, Timing(received / BYTES_PER_SECOND, final_s, thread.cpu_s - cpu_before)


def _process(decoder: Any, data: bytes) -> None:
    decoder.process_raw(data, False, False)


def _end_and(decoder: Any, finish: Callable[[Any], T], rest: bytes) -> T:
    if rest:
        decoder.process_raw(rest, False, False)
    decoder.end_utt()
    return finish(decoder)


def _abandon(thread: DecoderThread) -> None:
    """Close an utterance left open by an error or a cancellation, so the next one can start."""

    def end(decoder: Any) -> None:
        with contextlib.suppress(RuntimeError):  # it was not in an utterance
            decoder.end_utt()

    if not thread.submit_nowait(end):
        log.warning("decoder queue full after a failed utterance; the next utterance restarts it")


def _take_even(batch: bytearray) -> bytes:
    """Take the whole samples out of ``batch``: a trailing odd byte (half a 16-bit sample) stays."""
    cut = len(batch) - (len(batch) % 2)
    chunk = bytes(batch[:cut])
    del batch[:cut]
    return chunk
