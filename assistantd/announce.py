"""This site's candidate for one utterance (several rooms, one broker: arbitration.py).

A reader of the utterance's tape (audio/tape.py) measures the speech level chunk by chunk and announces
the candidate once the audio reaches ANNOUNCE_AFTER_ONSET_S past the onset, or at the end of a shorter
utterance. When another site wins, the tape is released: the recognizer gets no more audio, and the
pipeline reports the utterance deferred.
"""

from __future__ import annotations

import asyncio
from typing import Protocol

from assistantd.arbitration import Decision, score, speech_level
from assistantd.audio.frames import BYTES_PER_SECOND
from assistantd.audio.tape import Tape
from assistantd.endpoint.gate import NoiseFloorGate
from assistantd.endpoint.wake import Detection
from assistantd.tasks import cancel_and_reap

ANNOUNCE_AFTER_ONSET_S = 0.3
"""An utterance's candidate is announced once its audio reaches this far past its onset (the first voiced
frame): in continuous mode that is the end of the endpointer's trigger window, so the announcement goes
out with the first audio (the pre-roll and the trigger window, which come at once), in wake mode with the
command's first syllables. Anchored to the onset, not to an amount of audio: a site whose pre-roll was
cut short (the previous utterance ended just before) announces at the same moment as the others."""


class ClaimerLike(Protocol):
    async def claim(self, session_id: str, score: float) -> Decision:
        """Announce this site's candidate; the decision, at most the arbitration window later."""
        ...


class HeardUtterance(Protocol):
    """What the candidate reads of an utterance (the listener's Utterance)."""

    @property
    def tape(self) -> Tape: ...

    @property
    def start(self) -> float: ...

    def release(self) -> None: ...


class Candidate:
    """Started with the utterance's recognition; ``announced()`` once the recognizer is done."""

    def __init__(
        self, claimer: ClaimerLike, utterance: HeardUtterance, session_id: str, wake: Detection | None
    ) -> None:
        self.claimer = claimer
        self.utterance = utterance
        self.session_id = session_id
        self.wake = wake
        self.claim: asyncio.Future[Decision] | None = None
        """The announcement's decision, once announced."""
        self._reading = asyncio.ensure_future(self._read())

    async def _read(self) -> None:
        tape = self.utterance.tape
        levels: list[float] = []
        heard = 0
        async for chunk in tape.play():
            levels.append(NoiseFloorGate.level_db(chunk))
            heard += len(chunk)
            onset: float = getattr(self.utterance, "onset", self.utterance.start)  # wake mode: set by now
            if self.utterance.start + heard / BYTES_PER_SECOND >= onset + ANNOUNCE_AFTER_ONSET_S - 1e-9:
                break
        if not levels:
            return  # no audio: nothing to announce
        p = self.wake.probability if self.wake is not None else None
        self.claim = asyncio.ensure_future(
            self.claimer.claim(self.session_id, score(speech_level(levels), min(levels), p))
        )
        self.claim.add_done_callback(self._decided)

    def _decided(self, claim: asyncio.Future[Decision]) -> None:
        if lost(claim):
            self.utterance.release()  # another site acts on it: stop sending the rest to the recognizer

    async def announced(self) -> asyncio.Future[Decision] | None:
        """The claim, once the recognizer is done: an utterance that ended before the announcement point
        is announced now, at its end; one the recognizer gave up on before its end is not announced."""
        if not self._reading.done() and not self.utterance.tape.ended:
            await cancel_and_reap(self._reading)
        else:
            await self._reading
        return self.claim

    async def aclose(self) -> None:
        """Stopped (shutdown): stop reading, and withdraw a claim still waiting for its decision."""
        await cancel_and_reap(self._reading)
        if self.claim is not None and not self.claim.done():
            self.claim.cancel()


def lost(claim: asyncio.Future[Decision]) -> bool:
    """A finished claim that another site won (a failed one counts as won: the pipeline acts alone)."""
    if claim.cancelled() or claim.exception() is not None:
        return False
    return not claim.result().won
