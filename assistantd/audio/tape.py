"""One utterance's audio, kept once and read by everyone who needs it.

The listener writes an utterance's chunks as the endpointer hands them on; the recognizer reads them
live; a retry on a fresh connection (recognizer/transport.py), the fallback recognizer
(recognizer/fallback.py) and the debug saver read the same chunks again from the start. Nobody copies the
audio: before this type, the listener's buffer, the transport's recording, the fallback's tape and the
pipeline's saved list each held the utterance.

Two bounds, each with a stated drop policy (STYLE.md 7):

* ``max_bytes`` bounds what is kept. Past it the oldest chunks go (drop-oldest: a replay then starts
  later, and says so through ``dropped``); the newest chunk is always kept.
* ``backlog_chunks`` (optional) bounds how far the writer may run ahead of the furthest reader. ``full()``
  tells a writer that can wait (a file, a pipe) to wait; a writer that cannot (a microphone) writes anyway
  and the chunk is refused (drop-newest: what a reader has is a contiguous prefix, never audio with a hole)
  and counted in ``refused_chunks`` / ``refused_bytes``. ``on_room`` is called whenever a reader moves on.

``release()`` says nobody will read any more: later chunks are refused, what is kept is let go, and every
reader ends.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterable, AsyncIterator, Callable


class Tape:
    def __init__(
        self,
        max_bytes: int,
        *,
        backlog_chunks: int | None = None,
        on_room: Callable[[], None] = lambda: None,
    ) -> None:
        self._chunks: deque[bytes] = deque()
        self._base = 0
        """Index, counted from the first chunk written, of ``_chunks[0]``."""
        self._kept = 0
        self._max = max_bytes
        self._backlog = backlog_chunks
        self._on_room = on_room
        self._furthest = 0
        """Index of the next chunk the furthest reader will take."""
        self._changed = asyncio.Event()
        self._end = asyncio.Event()
        self.written_chunks = 0
        self.written_bytes = 0
        """Accepted (kept or since dropped from the front)."""
        self.dropped = 0
        """Bytes dropped from the front (past ``max_bytes``): a replay lacks them."""
        self.refused_chunks = 0
        self.refused_bytes = 0
        """Refused at the back: written while the backlog was full."""
        self.released = False
        self.ended_at: float | None = None
        """``time.monotonic()`` when the writer ended the tape."""
        self.error: BaseException | None = None
        """Why the writer's audio failed (raised to every reader at the end)."""

    # -- the writer --------------------------------------------------------------------------------
    def full(self) -> bool:
        """The writer is ``backlog_chunks`` ahead of every reader (and someone may still read)."""
        if self._backlog is None or self.released:
            return False
        return self._base + len(self._chunks) - self._furthest >= self._backlog

    def write(self, chunk: bytes) -> bool:
        """Keep ``chunk``; False when it was refused: released (nobody reads it: not counted), or the
        backlog is full (counted)."""
        if self.released:
            return False
        if self.full():
            self.refused_chunks += 1
            self.refused_bytes += len(chunk)
            return False
        self._chunks.append(chunk)
        self._kept += len(chunk)
        self.written_chunks += 1
        self.written_bytes += len(chunk)
        while self._kept > self._max and len(self._chunks) > 1:
            oldest = self._chunks.popleft()
            self._base += 1
            self._kept -= len(oldest)
            self.dropped += len(oldest)
        self._changed.set()
        return True

    def end(self, error: BaseException | None = None) -> None:
        if self._end.is_set():
            return
        self.ended_at, self.error = time.monotonic(), error
        self._end.set()
        self._changed.set()

    async def record(self, audio: AsyncIterable[bytes]) -> None:
        """Write everything ``audio`` yields, then end; its failure is kept for the readers."""
        try:
            async for chunk in audio:
                self.write(chunk)
        except Exception as err:  # the source's failure is the readers' to raise
            self.end(err)
        finally:
            self.end()

    # -- readers -----------------------------------------------------------------------------------
    @property
    def ended(self) -> bool:
        return self._end.is_set()

    async def wait_ended(self) -> None:
        await self._end.wait()

    def release(self) -> None:
        """Nobody reads any more: refuse what still comes, let what is kept go, end every reader."""
        self.released = True
        self._chunks.clear()
        self._kept = 0
        self._changed.set()
        self._on_room()

    def data(self) -> bytes:
        """Everything kept, joined."""
        return b"".join(self._chunks)

    def play(self) -> Playback:
        """A reader from the oldest kept chunk: the ones written so far, then each as it is written."""
        return Playback(self)

    async def _next(self, index: int) -> tuple[int, bytes | None]:
        """(index of the chunk returned, the chunk), or (index, None) at the end."""
        while True:
            if self.released:
                return index, None
            index = max(index, self._base)
            if index - self._base < len(self._chunks):
                chunk = self._chunks[index - self._base]
                if index + 1 > self._furthest:
                    self._furthest = index + 1
                    self._on_room()
                return index, chunk
            if self._end.is_set():
                if self.error is not None:
                    raise self.error
                return index, None
            self._changed.clear()
            await self._changed.wait()


class Playback(AsyncIterator[bytes]):
    """One reader of a tape. Recognizers take it as any async iterable of chunks; one that keeps audio for
    a retry or a fallback reads ``tape`` again instead of recording a copy (``tape_of``)."""

    def __init__(self, tape: Tape) -> None:
        self.tape = tape
        self._index = 0
        self._offset = 0
        """Byte offset, in the whole utterance, of the next chunk."""
        self.skipped = 0
        """Bytes this reader never got: dropped from the front before it reached them."""

    def __aiter__(self) -> Playback:
        return self

    async def __anext__(self) -> bytes:
        index, chunk = await self.tape._next(self._index)
        if index > self._index:  # the chunks in between went from the front: it resumes at the oldest kept
            self.skipped += self.tape.dropped - self._offset
            self._offset = self.tape.dropped
        if chunk is None:
            raise StopAsyncIteration
        self._index = index + 1
        self._offset += len(chunk)
        return chunk


def tape_of(audio: AsyncIterable[bytes]) -> Tape | None:
    """The tape ``audio`` plays, if it is a tape's reader: read it again rather than copy it."""
    return audio.tape if isinstance(audio, Playback) else None
