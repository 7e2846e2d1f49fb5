"""One utterance: live audio -> recognizer -> matcher -> handlers, with one log line of timings.

Collaborators come in through the constructor and are described here by what the pipeline needs of them,
so the pipeline is tested with real recognizers and handlers or with honest doubles alike.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Protocol

from assistantd.arbitration import Decision, score, speech_level
from assistantd.audio.frames import BYTES_PER_SECOND
from assistantd.config.template import SlotValue
from assistantd.endpoint.gate import NoiseFloorGate
from assistantd.endpoint.wake import Detection
from assistantd.metrics import Metrics
from assistantd.recognizer.base import RecognitionFailed, Recognizer, Transcript
from assistantd.report import Outcome, UtteranceReport, printable

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

    def audio(self) -> AsyncIterator[bytes]: ...

    def release(self) -> None:
        """The reader is done with the audio (even if it stopped early): what still comes is discarded."""
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


class DispatcherLike(Protocol):
    async def dispatch(self, report: UtteranceReport) -> None:
        """Start the bound handlers (or the fallback handler when no intent matched) and return once they
        are scheduled, not finished. Only audio that is not live may wait here, for room to schedule them."""


class ClaimerLike(Protocol):
    async def claim(self, session_id: str, score: float) -> Decision:
        """Announce this site's candidate; the decision, at most the arbitration window later."""
        ...


ANNOUNCE_AFTER_ONSET_S = 0.3
"""An utterance's candidate is announced once its audio reaches this far past its onset (the first voiced
frame): in continuous mode that is the end of the endpointer's trigger window, so the announcement goes
out with the first audio (the pre-roll and the trigger window, which come at once), in wake mode with the
command's first syllables. Anchored to the onset, not to an amount of audio: a site whose pre-roll was
cut short (the previous utterance ended just before) announces at the same moment as the others."""


class Pipeline:
    def __init__(
        self,
        recognizer: Recognizer,
        matcher: MatcherLike,
        dispatcher: DispatcherLike,
        metrics: Metrics,
        *,
        clock: Callable[[], float] = time.monotonic,
        keep_audio: Callable[[str, bytes], object] | None = None,
        claimer: ClaimerLike | None = None,
    ) -> None:
        self.recognizer = recognizer
        self.matcher = matcher
        self.dispatcher = dispatcher
        self.metrics = metrics
        self.clock = clock
        self.keep_audio = keep_audio
        """Called with (utterance id, all its audio) when saving utterances for debugging is on."""
        self.claimer = claimer
        """Several rooms, one broker: asked, once per utterance with audio, whether this site acts."""

    async def handle(self, utterance: UtteranceLike) -> UtteranceReport:
        wake: Detection | None = getattr(utterance, "wake", None)
        report = UtteranceReport(id=str(utterance.id), start_s=utterance.start, wake=wake)
        self.metrics.inc("utterances")
        if wake is not None:
            self.metrics.inc("wake_detections")
        ended_at: float | None = None
        audio_bytes = 0
        kept: list[bytes] = []
        claim: asyncio.Future[Decision] | None = None
        levels: list[float] = []

        def announce() -> None:
            nonlocal claim
            if self.claimer is not None and claim is None and levels:
                p = wake.probability if wake is not None else None
                value = score(speech_level(levels), min(levels), p)
                claim = asyncio.ensure_future(self.claimer.claim(report.id, value))

        async def live() -> AsyncIterator[bytes]:
            nonlocal ended_at, audio_bytes
            async for chunk in utterance.audio():
                if claim is None and self.claimer is not None:
                    levels.append(NoiseFloorGate.level_db(chunk))
                    heard_to = utterance.start + (audio_bytes + len(chunk)) / BYTES_PER_SECOND
                    onset: float = getattr(utterance, "onset", utterance.start)  # wake mode: set by now
                    if heard_to >= onset + ANNOUNCE_AFTER_ONSET_S - 1e-9:
                        announce()
                elif claim is not None and claim.done() and _lost(claim):
                    return  # another site acts on it: stop sending the rest to the recognizer
                audio_bytes += len(chunk)
                if self.keep_audio is not None:
                    kept.append(chunk)
                yield chunk
            announce()  # ended before ANNOUNCE_AFTER_ONSET_S
            ended_at = self.clock()

        transcript: Transcript | None = None
        failure: RecognitionFailed | None = None
        try:
            try:
                transcript = await self.recognizer.transcribe(live())
            except RecognitionFailed as err:
                failure = err
            finally:
                # A recognizer may stop reading early (it failed, or had its answer): stop buffering.
                utterance.release()
            final_at = self.clock()
            lost_to = await self._lost_to(claim, report)
        except asyncio.CancelledError:
            if claim is not None:
                claim.cancel()
            # Cancelled at shutdown, past the grace: still one report, saying what became of it.
            report.error = (
                "lost: the daemon stopped before the recognizer answered"
                if transcript is None and failure is None
                else "lost: the daemon stopped before the other sites' verdict"
            )
            report.outcome = Outcome.LOST
            report.start_s = utterance.start
            report.duration_s = audio_bytes / BYTES_PER_SECOND
            self.metrics.inc("lost")
            self._log(report)
            await self.dispatcher.dispatch(report)  # a report with no text: nothing awaits inside
            raise
        if lost_to is not None:
            return await self._report_deferred(report, lost_to, utterance, audio_bytes)
        if failure is not None:
            if _no_command(utterance):
                # The session opened at the wake word had nothing to hear: not the recognizer's failure.
                return await self._report_no_command(report)
            report.error = str(failure)
            report.outcome = Outcome.LOST
            self.metrics.inc("recognizer_errors")
            self.metrics.inc("lost")
        else:
            assert transcript is not None
            if _no_command(utterance):
                return await self._report_no_command(report)
            report.text = printable(transcript.text)
            report.recognizer = transcript.recognizer
            report.note = transcript.note
            report.verdict = transcript.verdict
            self.metrics.inc("recognized")
            report.fell_back = transcript.fell_back
            if transcript.fell_back:
                report.outcome = Outcome.FELL_BACK
                self.metrics.inc("recognizer_errors")
                self.metrics.inc("fallbacks")
            elif transcript.attempts > 1:
                report.outcome = Outcome.RETRIED
                self.metrics.inc("retries")
            if transcript.rejected:
                report.outcome = Outcome.REJECTED
                self.metrics.inc("rejected")
            elif not report.text and not transcript.fell_back:
                report.outcome = Outcome.SILENT  # the fallback hearing nothing still says it fell back
            if ended_at is not None:
                report.latency_ms = (final_at - ended_at) * 1000
                self.metrics.observe("endpoint_to_final", report.latency_ms / 1000)
        report.start_s = utterance.start  # a wake-mode utterance learns its start after it was yielded
        report.duration_s = audio_bytes / BYTES_PER_SECOND
        report.dropped_audio_s = utterance.dropped_s
        if report.dropped_audio_s:
            self.metrics.inc("dropped_audio")
        self.metrics.observe("utterance", report.duration_s)
        if self.keep_audio is not None:
            self.keep_audio(report.id, b"".join(kept))

        if report.text and report.outcome is not Outcome.REJECTED:
            match = self.matcher.match(report.text)
            if match is not None:
                report.intent, report.slots = match.intent, dict(match.slots)
                report.method, report.score = match.method, match.score
                self.metrics.inc("matched")
            else:
                self.metrics.inc("unmatched")
        self._log(report)
        # Every utterance is reported; the dispatcher decides what runs (nothing for empty text or errors).
        await self.dispatcher.dispatch(report)
        return report

    async def _lost_to(
        self, claim: asyncio.Future[Decision] | None, report: UtteranceReport
    ) -> Decision | None:
        """Wait for the arbitration decision (at most the window); the decision when another site won it.
        How long the transcript waited for it goes in the report (the latency arbitration added)."""
        if claim is None:
            return None
        waited = self.clock()
        try:
            decision = await claim
        except Exception:  # a bug in the exchange must not cost the command: act as if alone
            log.exception("arbitration failed; acting on the utterance alone")
            return None
        finally:
            seconds = self.clock() - waited
            report.arbitration_wait_ms = seconds * 1000
            self.metrics.observe("arbitration_wait", seconds)
        return None if decision.won else decision

    async def _report_deferred(
        self, report: UtteranceReport, decision: Decision, utterance: UtteranceLike, audio_bytes: int
    ) -> UtteranceReport:
        report.outcome = Outcome.DEFERRED
        report.note = decision.reason()
        report.start_s = utterance.start
        report.duration_s = audio_bytes / BYTES_PER_SECOND
        log.info(
            "utterance %s at %.2f s: not acted on here, %s",
            report.id,
            report.start_s,
            report.note,
            extra=report.fields(),
        )
        await self.dispatcher.dispatch(report)
        return report

    async def _report_no_command(self, report: UtteranceReport) -> UtteranceReport:
        report.outcome = Outcome.NO_COMMAND
        self.metrics.inc("wake_no_command")
        assert report.wake is not None
        log.info(
            "utterance %s: wake word %s, but no command followed",
            report.id,
            report.wake.describe(),
            extra=report.fields(),
        )
        await self.dispatcher.dispatch(report)
        return report

    def _log(self, r: UtteranceReport) -> None:
        timing = f"{r.duration_s:.2f} s of audio"
        if r.dropped_audio_s:
            timing += f" ({r.dropped_audio_s:.2f} s more dropped: the pipeline fell behind)"
        if r.wake is not None:
            timing += f", after {r.wake.describe()}"
        if r.latency_ms is not None:
            timing += f", final {r.latency_ms:.0f} ms after the endpoint"
        if r.arbitration_wait_ms is not None:
            timing += f", then {r.arbitration_wait_ms:.0f} ms waiting for the other sites"
        if r.verdict is not None and r.verdict.score is not None and r.verdict.accepted:
            timing += f", score {r.verdict.score:.1f}"
        if r.error:
            log.warning(
                "utterance %s at %.2f s: no text (%s); %s", r.id, r.start_s, r.error, timing, extra=r.fields()
            )
            return
        what = f"intent {r.intent} {r.slots} ({r.method} {r.score:.0f})" if r.intent else "no intent matched"
        if r.outcome is Outcome.REJECTED and r.verdict is not None:
            what = f"rejected, not a command ({r.verdict.reason})"
        if not r.text:
            what = "no words recognized (noise?)"
        via = f" via {r.recognizer}" + (f" ({r.note})" if r.note else "")
        log.info(
            "utterance %s at %.2f s: %r%s -> %s; %s",
            r.id,
            r.start_s,
            r.text,
            via,
            what,
            timing,
            extra=r.fields(),
        )


def _lost(claim: asyncio.Future[Decision]) -> bool:
    """A finished claim that another site won (a failed one counts as won: see Pipeline._lost_to)."""
    if claim.cancelled() or claim.exception() is not None:
        return False
    return not claim.result().won


def _no_command(utterance: UtteranceLike) -> bool:
    """A wake-word utterance that ended without any speech (the listener's ``no_command``)."""
    return getattr(utterance, "end_reason", None) == "no_command"
