"""One utterance as the listener hears it: its fields, filled in as it goes, and its audio on a shared tape
(audio/tape.py). The Listener (listener.py) writes it; the recognizer, a retry, the fallback, the
arbitration candidate and the debug saver read it."""

from __future__ import annotations

import asyncio

from assistantd.audio.frames import BYTES_PER_SECOND
from assistantd.audio.tape import Playback, Tape
from assistantd.endpoint.machine import EndReason, UtteranceEnded
from assistantd.endpoint.wake import Detection


class Utterance:
    """One utterance, live: its audio is a ``Tape`` (audio/tape.py) that the listener writes from the onset
    (pre-roll included) until the endpoint, and that the recognizer, a retry, the fallback and the debug
    saver all read (``async for pcm in utt.audio()``). Fields are filled in as it goes; ``end`` and
    ``end_reason`` are None until it has ended."""

    def __init__(
        self,
        utterance_id: int,
        start: float,
        onset: float,
        *,
        queue_chunks: int,
        room: asyncio.Event,
        keep_bytes: int,
    ) -> None:
        """``queue_chunks``: how far the listener may run ahead of its furthest reader (module docstring);
        ``keep_bytes``: what the tape keeps, a whole max-length utterance; ``room`` is set whenever a reader
        moves on (the Listener may be waiting for room, see ``_full``)."""
        self.id = utterance_id
        self.start = start
        """Audio-clock time of the first uploaded sample, seconds."""
        self.onset = onset
        """Audio-clock time of the first voiced frame, seconds."""
        self.end: float | None = None
        """Audio-clock time just after the last uploaded sample, seconds (set at the end)."""
        self.end_reason: EndReason | None = None
        self.wake: Detection | None = None
        """The wake word that opened this utterance (None in continuous mode and for a follow-up)."""
        self.voiced_s = 0.0
        self.tape = Tape(keep_bytes, backlog_chunks=queue_chunks, on_room=room.set)

    def __repr__(self) -> str:
        return (
            f"Utterance(id={self.id}, start={self.start:.3f}, end={self.end}, "
            f"end_reason={self.end_reason}, chunks={self.chunks}, dropped={self.dropped_chunks})"
        )

    @property
    def chunks(self) -> int:
        """Chunks accepted onto the tape."""
        return self.tape.written_chunks

    @property
    def dropped_chunks(self) -> int:
        """Chunks dropped because the reader fell behind a live source (drop-newest)."""
        return self.tape.refused_chunks

    @property
    def dropped_bytes(self) -> int:
        return self.tape.refused_bytes

    @property
    def ended(self) -> bool:
        return self.tape.ended

    @property
    def dropped_s(self) -> float:
        """Seconds of this utterance's audio dropped because its reader fell behind a live source."""
        return self.dropped_bytes / BYTES_PER_SECOND

    def audio(self) -> Playback:
        """The audio chunks from the first, as they arrive; ends when the utterance ends (or is released)."""
        return self.tape.play()

    async def wait_ended(self) -> EndReason:
        """Wait for the endpoint (without reading the audio) and return why it ended."""
        await self.tape.wait_ended()
        assert self.end_reason is not None
        return self.end_reason

    def release(self) -> None:
        """The readers are done (recognized, or gave up early): audio still to come is discarded and what
        is kept let go, so a listener waiting for room never waits on a reader that is gone."""
        self.tape.release()

    # -- fed by the Listener --------------------------------------------------------------------------
    def _full(self) -> bool:
        return self.tape.full()

    def _push(self, pcm: bytes) -> None:
        self.tape.write(pcm)

    def _finish(self, event: UtteranceEnded) -> None:
        self.end = event.end
        self.end_reason = event.reason
        self.voiced_s = event.voiced_s
        self.tape.end()
