"""Cloud first, local on failure: the same buffered audio goes to the fallback, so no utterance is lost."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator

from assistantd.audio.frames import BYTES_PER_SECOND
from assistantd.recognizer.base import RecognitionFailed, Recognizer, Transcript

log = logging.getLogger(__name__)


class FallbackRecognizer:
    """Feeds ``primary`` live, keeping a bounded copy of the audio to replay into ``fallback`` on failure.

    The copy is bounded by ``max_buffer_s``: past it the oldest audio is dropped (and the transcript's note
    says so), because an utterance that long is already past any endpointer's maximum.
    """

    def __init__(self, primary: Recognizer, fallback: Recognizer, *, max_buffer_s: float = 30.0) -> None:
        self.primary = primary
        self.fallback = fallback
        self.name = primary.name
        self._max_bytes = int(max_buffer_s * BYTES_PER_SECOND)

    async def transcribe(self, audio: AsyncIterable[bytes]) -> Transcript:
        # The live audio is read by a task of our own, not by the primary: a primary that fails is torn down
        # by cancelling its reader, and a cancellation delivered inside the live iterator would end the
        # utterance's audio for the fallback too (it would hear only what had arrived by the failure).
        tape = _Tape(self._max_bytes)
        reader = asyncio.create_task(tape.record(audio), name="fallback-tape")
        try:
            try:
                return await self.primary.transcribe(tape.play())
            except RecognitionFailed as failure:
                why = f"{self.primary.name} failed: {failure.reason}"
                log.warning("falling back to %s recognizer (%s)", self.fallback.name, why)
                # Still live: the endpointer may be producing this utterance; play() follows it to the end.
                result = await self.fallback.transcribe(tape.play())
            dropped = tape.dropped
            note = why if not dropped else f"{why}; first {dropped / BYTES_PER_SECOND:.1f} s not kept"
            return Transcript(
                text=result.text,
                recognizer=result.recognizer,
                utterances=result.utterances,
                session_id=result.session_id,
                attempts=result.attempts,
                note=note,
            )
        finally:
            if not reader.done():
                reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader


class _Tape:
    """One utterance's audio, recorded once and played back any number of times (bounded: the oldest
    chunks go first once it holds more than ``max_bytes``)."""

    def __init__(self, max_bytes: int) -> None:
        self._max_bytes = max_bytes
        self._chunks: deque[bytes] = deque()
        self._first = 0
        """Index, since the start of the utterance, of the oldest chunk kept."""
        self._kept = 0
        self.dropped = 0
        """Bytes of audio no longer kept."""
        self._ended = False
        self._error: BaseException | None = None
        self._changed = asyncio.Event()

    async def record(self, audio: AsyncIterable[bytes]) -> None:
        try:
            async for chunk in audio:
                self._chunks.append(chunk)
                self._kept += len(chunk)
                while self._kept > self._max_bytes and len(self._chunks) > 1:
                    oldest = self._chunks.popleft()
                    self._first += 1
                    self._kept -= len(oldest)
                    self.dropped += len(oldest)
                self._changed.set()
        except Exception as err:  # the audio source's failure reaches whoever plays the tape
            self._error = err
        finally:
            self._ended = True
            self._changed.set()

    async def play(self) -> AsyncIterator[bytes]:
        position = self._first
        while True:
            position = max(position, self._first)
            while position - self._first < len(self._chunks):
                yield self._chunks[position - self._first]
                position = max(position + 1, self._first)
            if self._ended:
                if self._error is not None:
                    raise self._error
                return
            self._changed.clear()
            await self._changed.wait()
