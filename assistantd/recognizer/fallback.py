"""Cloud first, local on failure: the same buffered audio goes to the fallback, so no utterance is lost."""

from __future__ import annotations

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
        buffer: deque[bytes] = deque()
        kept = 0
        dropped = 0

        async def tee() -> AsyncIterator[bytes]:
            nonlocal kept, dropped
            async for chunk in audio:
                buffer.append(chunk)
                kept += len(chunk)
                while kept > self._max_bytes and buffer:
                    oldest = buffer.popleft()
                    kept -= len(oldest)
                    dropped += len(oldest)
                yield chunk

        feed = tee()
        try:
            return await self.primary.transcribe(feed)
        except RecognitionFailed as failure:
            # Drain what the primary did not read: the endpointer may still be producing this utterance.
            async for _ in feed:
                pass
            why = f"{self.primary.name} failed: {failure.reason}"
            log.warning("falling back to %s recognizer (%s)", self.fallback.name, why)

            async def replay() -> AsyncIterator[bytes]:
                for chunk in buffer:
                    yield chunk

            result = await self.fallback.transcribe(replay())
            note = why if not dropped else f"{why}; first {dropped / BYTES_PER_SECOND:.1f} s not kept"
            return Transcript(
                text=result.text,
                recognizer=result.recognizer,
                utterances=result.utterances,
                session_id=result.session_id,
                attempts=result.attempts,
                note=note,
            )
