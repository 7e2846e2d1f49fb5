"""One utterance: live audio -> recognizer -> matcher -> handlers -> one report, read by the sinks.

Collaborators come in through the constructor and are described here by what the pipeline needs of them,
so the pipeline is tested with real recognizers and handlers or with honest doubles alike.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Protocol

from assistantd.audio.frames import BYTES_PER_SECOND
from assistantd.audio.tape import Tape
from assistantd.config.template import SlotValue
from assistantd.endpoint.wake import Detection
from assistantd.recognizer.base import RecognitionFailed, Recognizer, Transcript
from assistantd.report import Outcome, ReportSink, UtteranceReport, printable

if TYPE_CHECKING:
    from assistantd.announce import Candidate, ClaimerLike
    from assistantd.arbitration import Decision

log = logging.getLogger(__name__)

Slots = Mapping[str, SlotValue]


class UtteranceLike(Protocol):
    @property
    def id(self) -> int | str: ...

    @property
    def start(self) -> float:
        """Audio-clock time of the first sample, seconds."""
        ...

    @property
    def dropped_s(self) -> float:
        """Seconds of its audio dropped because the reader fell behind a live source."""
        ...

    @property
    def tape(self) -> Tape:
        """Its audio, as it comes: the recognizer, a retry, the fallback and the debug saver all read it."""
        ...

    def release(self) -> None:
        """The readers are done with the audio (even if they stopped early): what still comes is
        discarded, and what was kept let go."""
        ...


class MatchLike(Protocol):
    @property
    def intent(self) -> str: ...
    @property
    def slots(self) -> Slots: ...
    @property
    def method(self) -> str: ...
    @property
    def score(self) -> float: ...


class MatcherLike(Protocol):
    def match(self, text: str) -> MatchLike | None: ...


class HandlersLike(Protocol):
    async def run(self, report: UtteranceReport, done: Callable[[UtteranceReport], None]) -> None:
        """Start the bound handlers (or the fallback handler when no intent matched) and return once they
        are scheduled, not finished; ``done`` gets the finished report (handler_stage.py). Only audio that
        is not live may wait here, for room to schedule them."""


class Pipeline:
    """Builds each utterance's report and hands it, finished, to the sinks (which only read it)."""

    def __init__(
        self,
        recognizer: Recognizer,
        matcher: MatcherLike,
        handlers: HandlersLike,
        sinks: Sequence[ReportSink],
        *,
        heard: Sequence[ReportSink] = (),
        keep_audio: Callable[[str, bytes], object] | None = None,
        claimer: ClaimerLike | None = None,
    ) -> None:
        self.recognizer = recognizer
        self.matcher = matcher
        self.handlers = handlers
        self.sinks = list(sinks)
        """Read each finished report, in order: what must know of it before the others comes first."""
        self.heard = list(heard)
        """Read each report as soon as it is recognized and matched, before its handlers run (the log
        line: the log says what was heard before what it set off). Reports of utterances never taken up
        (``unheard``) skip this stage."""
        self.keep_audio = keep_audio
        """Called with (utterance id, all its audio) when saving utterances for debugging is on."""
        self.claimer = claimer
        """Several rooms, one broker: asked, once per utterance with audio, whether this site acts."""
        self._failing: dict[int, int] = {}
        """Sinks (by id) whose last reads failed, and how many in a row (one log line per such burst)."""

    async def handle(self, utterance: UtteranceLike) -> UtteranceReport:
        """Recognize, match and start the handlers; returns the report once they are scheduled (it is
        finished, and read by the sinks, when they are over)."""
        report = await self._recognize(utterance)
        if report.text and not report.rejected:
            match = self.matcher.match(report.text)
            if match is not None:
                report.intent, report.slots = match.intent, dict(match.slots)
                report.method, report.score = match.method, match.score
        self._heard(report)
        # Every utterance is reported; the handler stage decides what runs (nothing for empty text or errors).
        await self.handlers.run(report, self.finish)
        return report

    def finish(self, report: UtteranceReport) -> None:
        """The report is complete: every sink reads it, once. Never raises (``_emit``)."""
        self._emit(self.sinks, report)

    def _heard(self, report: UtteranceReport) -> None:
        self._emit(self.heard, report)

    def _emit(self, sinks: Sequence[ReportSink], report: UtteranceReport) -> None:
        """Hand ``report`` to each sink on its own: one that fails (a JSON line to a closed pipe, a bug)
        costs the others nothing. Raised up to the service it became a second report of the utterance;
        raised in the handlers' done-callback, the sinks after it never read the report. A failing sink is
        logged once per burst of failures, with its traceback, and once when it works again."""
        for sink in sinks:
            try:
                sink.emit(report)
            except Exception:
                failed = self._failing.get(id(sink), 0)
                if not failed:
                    log.exception(
                        "utterance %s: the report sink %s failed; the other sinks have the report, and "
                        "this one's further failures in a row are not logged",
                        report.id,
                        type(sink).__name__,
                    )
                self._failing[id(sink)] = failed + 1
            else:
                failed = self._failing.pop(id(sink), 0)
                if failed:
                    log.info(
                        "the report sink %s works again after %d failed report(s)",
                        type(sink).__name__,
                        failed,
                    )

    def unheard(self, utterance: UtteranceLike, why: str, *, lost: bool = False) -> None:
        """One report for an utterance that will not be recognized: dropped unheard (the listener fell
        behind, or listening stopped before it was taken up), or lost to an internal error."""
        end: float | None = getattr(utterance, "end", None)
        start = utterance.start
        report = UtteranceReport(id=str(utterance.id), start_s=start, duration_s=(end or start) - start)
        if lost:
            report.error, report.outcome = why, Outcome.LOST
        else:
            report.error, report.outcome = f"dropped unheard: {why}", Outcome.DROPPED
        self.finish(report)

    def _candidate(
        self, utterance: UtteranceLike, report_id: str, wake: Detection | None
    ) -> Candidate | None:
        """This site's arbitration candidate (None: arbitration is off, and its modules stay unloaded)."""
        if self.claimer is None:
            return None
        from assistantd.announce import Candidate  # noqa: PLC0415 - only with mqtt.arbitration on

        return Candidate(self.claimer, utterance, report_id, wake)

    async def _recognize(self, utterance: UtteranceLike) -> UtteranceReport:
        wake: Detection | None = getattr(utterance, "wake", None)
        report = UtteranceReport(id=str(utterance.id), start_s=utterance.start, wake=wake)
        tape = utterance.tape
        candidate = self._candidate(utterance, report.id, wake)
        transcript: Transcript | None = None
        failure: RecognitionFailed | None = None
        kept = b""
        try:
            try:
                try:
                    transcript = await self.recognizer.transcribe(tape.play())
                except RecognitionFailed as err:
                    failure = err
                final_at = time.monotonic()
                claim = await candidate.announced() if candidate is not None else None
            finally:
                if self.keep_audio is not None:
                    kept = tape.data()
                # The readers are done (they failed, or had the answer): stop keeping audio.
                utterance.release()
            lost_to = await self._lost_to(claim, report)
        except asyncio.CancelledError:
            if candidate is not None:
                await candidate.aclose()
            # Cancelled at shutdown, past the grace: still one report, saying what became of it.
            report.error = (
                "lost: the daemon stopped before the recognizer answered"
                if transcript is None and failure is None
                else "lost: the daemon stopped before the other sites' verdict"
            )
            report.outcome = Outcome.LOST
            report.start_s = utterance.start
            report.duration_s = tape.written_bytes / BYTES_PER_SECOND
            self._heard(report)
            self.finish(report)
            raise
        report.start_s = utterance.start  # a wake-mode utterance learns its start after it was yielded
        report.duration_s = tape.written_bytes / BYTES_PER_SECOND
        if lost_to is not None:
            report.outcome, report.note = Outcome.DEFERRED, lost_to.reason()
            return report
        if failure is not None:
            if _no_command(utterance):
                # The session opened at the wake word had nothing to hear: not the recognizer's failure.
                report.outcome = Outcome.NO_COMMAND
                return report
            report.error = str(failure)
            report.outcome = Outcome.LOST
            report.recognizer_failed = True
        else:
            assert transcript is not None
            if _no_command(utterance):
                report.outcome = Outcome.NO_COMMAND
                return report
            report.text = printable(transcript.text)
            report.recognizer = transcript.recognizer
            report.note = transcript.note
            report.verdict = transcript.verdict
            report.fell_back = report.recognizer_failed = transcript.fell_back
            if transcript.fell_back:
                report.outcome = Outcome.FELL_BACK
            elif transcript.attempts > 1:
                report.outcome, report.retried = Outcome.RETRIED, True
            if transcript.rejected:
                report.outcome = Outcome.REJECTED
            elif not report.text and not transcript.fell_back:
                report.outcome = Outcome.SILENT  # the fallback hearing nothing still says it fell back
            if tape.ended_at is not None:  # the tape's end is the endpoint, stamped on the monotonic clock
                report.latency_ms = (final_at - tape.ended_at) * 1000
        report.dropped_audio_s = utterance.dropped_s
        if self.keep_audio is not None:
            self.keep_audio(report.id, kept)
        return report

    async def _lost_to(
        self, claim: asyncio.Future[Decision] | None, report: UtteranceReport
    ) -> Decision | None:
        """Wait for the arbitration decision (at most the window); the decision when another site won it.
        How long the transcript waited for it goes in the report (the latency arbitration added)."""
        if claim is None:
            return None
        waited = time.monotonic()
        try:
            decision = await claim
        except Exception:  # a bug in the exchange must not cost the command: act as if alone
            log.exception("arbitration failed; acting on the utterance alone")
            return None
        finally:
            report.arbitration_wait_ms = (time.monotonic() - waited) * 1000
        return None if decision.won else decision


def _no_command(utterance: UtteranceLike) -> bool:
    """A wake-word utterance that ended without any speech (the listener's ``no_command``)."""
    return getattr(utterance, "end_reason", None) == "no_command"
