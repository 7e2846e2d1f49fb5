"""Cloud first, local on failure: the same buffered audio goes to the fallback, so no utterance is lost."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterable

from assistantd.audio.frames import BYTES_PER_SECOND
from assistantd.audio.tape import Tape, tape_of
from assistantd.recognizer.base import (
    RecognitionFailed,
    Recognizer,
    Transcript,
    close_recognizer,
    start_recognizer,
)
from assistantd.tasks import cancel_and_reap

log = logging.getLogger(__name__)


class FallbackRecognizer:
    """Feeds ``primary`` live, and on failure plays the same audio again into ``fallback``.

    The audio is the utterance's tape (audio/tape.py) when it comes as a tape's reader: nothing is copied.
    Other audio is recorded onto a tape of its own by one task, bounded by ``max_buffer_s``: past it the
    oldest audio is dropped (and the transcript's note says so), because an utterance that long is already
    past any endpointer's maximum. The recording task owns the iteration of the caller's audio: a
    recognizer that gives up (and cancels its own reading, as the WebSocket transport does) cancels only its
    wait on the tape, never the caller's iterator. The fallback starts as soon as the primary fails, reading
    the tape while the person may still be talking.

    ``final_deadline_s`` after the endpoint the primary is abandoned (cancelled) even if it is still
    retrying: the transport gives each attempt its own final_timeout_s, so a cloud that accepts audio but
    never answers would otherwise hold the command (retries + 1) times as long before the fallback starts.
    """

    def __init__(
        self,
        primary: Recognizer,
        fallback: Recognizer,
        *,
        max_buffer_s: float = 30.0,
        final_deadline_s: float | None = None,
    ) -> None:
        self.primary = primary
        self.fallback = fallback
        self.name = primary.name
        self._max_bytes = int(max_buffer_s * BYTES_PER_SECOND)
        self._deadline = final_deadline_s
        self._hurried = asyncio.Event()

    def hurry(self) -> None:
        """Stop waiting for the primary: the daemon is stopping, and the fallback can still answer the
        utterance in flight within the shutdown grace (a stalled cloud would hold it past the grace)."""
        self._hurried.set()

    async def start(self) -> None:
        """Load both now (the local decoder and grammar take a moment): not during the first failure."""
        for recognizer in (self.primary, self.fallback):
            await start_recognizer(recognizer)

    async def aclose(self, deadline_s: float) -> None:
        """Close both (the local recognizer's decoder thread would otherwise outlive a reload)."""
        for recognizer in (self.primary, self.fallback):
            await close_recognizer(recognizer, deadline_s)

    async def transcribe(self, audio: AsyncIterable[bytes]) -> Transcript:
        tape = tape_of(audio)
        recorder = None
        if tape is None:
            tape = Tape(self._max_bytes)
            recorder = asyncio.create_task(tape.record(audio))
        try:
            try:
                return await self._ask_primary(tape)
            except RecognitionFailed as failure:
                why = f"{self.primary.name} failed: {failure.reason}"
                fatal = failure.fatal
            if tape.error is not None:
                raise tape.error
            # A fatal failure (credentials, URL) will repeat on every utterance until the config is fixed.
            kind = "fatal error (fix the configuration)" if fatal else "failure"
            log.warning("falling back to %s recognizer after a %s: %s", self.fallback.name, kind, why)
            result = await self.fallback.transcribe(tape.play())
        finally:
            if recorder is not None:
                await cancel_and_reap(recorder)
        note = why if not tape.dropped else f"{why}; first {tape.dropped / BYTES_PER_SECOND:.1f} s not kept"
        return Transcript(
            text=result.text,
            recognizer=result.recognizer,
            utterances=result.utterances,
            session_id=result.session_id,
            attempts=result.attempts,
            note=note,
            fell_back=True,
            verdict=result.verdict,
        )

    async def _ask_primary(self, tape: Tape) -> Transcript:
        task = asyncio.create_task(self.primary.transcribe(tape.play()))
        ended = asyncio.create_task(tape.wait_ended())
        hurried = asyncio.create_task(self._hurried.wait())
        try:
            await asyncio.wait((task, ended, hurried), return_when=asyncio.FIRST_COMPLETED)
            if not task.done() and not hurried.done():
                await asyncio.wait(
                    (task, hurried), timeout=self._deadline, return_when=asyncio.FIRST_COMPLETED
                )
            if not task.done():
                why = (
                    "abandoned: the daemon is stopping"
                    if hurried.done()
                    else f"no final result within {self._deadline:g} s of the endpoint"
                )
                raise RecognitionFailed(self.primary.name, why)
            return task.result()
        finally:
            await cancel_and_reap(task, ended, hurried)
