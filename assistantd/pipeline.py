"""One utterance: live audio -> recognizer -> matcher -> handlers, with one log line of timings.

Collaborators come in through the constructor and are described here by what the pipeline needs of them,
so the pipeline is tested with real recognizers and handlers or with honest doubles alike.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

from assistantd.audio.frames import BYTES_PER_SECOND
from assistantd.endpoint.wake import Detection
from assistantd.metrics import Metrics
from assistantd.recognizer.base import RecognitionFailed, Recognizer
from assistantd.recognizer.rejection import Verdict

log = logging.getLogger(__name__)

Slots = Mapping[str, str | int | float]


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


@dataclass
class UtteranceReport:
    """What happened to one utterance; logged as one line and as journald fields."""

    id: str
    start_s: float
    duration_s: float = 0.0
    text: str | None = None
    recognizer: str | None = None
    note: str = ""
    intent: str | None = None
    slots: dict[str, str | int | float] = field(default_factory=dict)
    method: str | None = None
    score: float | None = None
    latency_ms: float | None = None
    """Endpoint (last audio chunk) -> final text in hand."""
    error: str | None = None
    wake: Detection | None = None
    """The wake word that opened this utterance (wake mode)."""
    outcome: str | None = None
    """"no command" when the wake word was heard but no speech followed it; "rejected" when the offline
    recognizer judged its text to be only the grammar's nearest command to other speech."""
    verdict: Verdict | None = None
    """The offline recognizer's confidence check (score, unexplained speech), when one ran."""
    dropped_audio_s: float = 0.0
    """Audio of this utterance dropped because the pipeline fell behind a live source."""

    def fields(self) -> dict[str, object]:
        """Structured journald fields (upper case, as journald wants them)."""
        out: dict[str, object] = {"UTTERANCE_ID": self.id, "UTTERANCE_START_S": f"{self.start_s:.3f}"}
        if self.recognizer:
            out["RECOGNIZER"] = self.recognizer
        if self.intent:
            out["INTENT"] = self.intent
        if self.latency_ms is not None:
            out["LATENCY_MS"] = f"{self.latency_ms:.0f}"
        if self.error:
            out["ERROR"] = self.error
        if self.verdict is not None and self.verdict.score is not None:
            out["RECOGNIZER_SCORE"] = f"{self.verdict.score:.1f}"
        if self.outcome:
            out["OUTCOME"] = self.outcome
        if self.wake is not None:
            out["WAKE_MODEL"] = self.wake.model
            out["WAKE_TIME_S"] = f"{self.wake.time:.3f}"
            out["WAKE_PROBABILITY"] = f"{self.wake.probability:.3f}"
        return out


def printable(text: str) -> str:
    """``text`` with lone surrogates (a cloud's JSON may carry an escaped "\\ud800") replaced by U+FFFD:
    they cannot be encoded as UTF-8, so the report line, the log and a handler's argv would all fail."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


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
    ) -> None:
        self.recognizer = recognizer
        self.matcher = matcher
        self.dispatcher = dispatcher
        self.metrics = metrics
        self.clock = clock
        self.keep_audio = keep_audio
        """Called with (utterance id, all its audio) when saving utterances for debugging is on."""

    async def handle(self, utterance: UtteranceLike) -> UtteranceReport:
        wake: Detection | None = getattr(utterance, "wake", None)
        report = UtteranceReport(id=str(utterance.id), start_s=utterance.start, wake=wake)
        self.metrics.inc("utterances")
        if wake is not None:
            self.metrics.inc("wake_detections")
        ended_at: float | None = None
        audio_bytes = 0
        kept: list[bytes] = []

        async def live() -> AsyncIterator[bytes]:
            nonlocal ended_at, audio_bytes
            async for chunk in utterance.audio():
                audio_bytes += len(chunk)
                if self.keep_audio is not None:
                    kept.append(chunk)
                yield chunk
            ended_at = self.clock()

        try:
            try:
                transcript = await self.recognizer.transcribe(live())
            finally:
                # A recognizer may stop reading early (it failed, or had its answer): stop buffering.
                utterance.release()
        except RecognitionFailed as failure:
            if _no_command(utterance):
                # The session opened at the wake word had nothing to hear: not the recognizer's failure.
                return await self._report_no_command(report)
            report.error = str(failure)
            self.metrics.inc("recognizer_errors")
            self.metrics.inc("lost")
        except asyncio.CancelledError:
            # Cancelled at shutdown, past the grace: still one report, saying what became of it.
            report.error = "lost: the daemon stopped before the recognizer answered"
            report.start_s = utterance.start
            report.duration_s = audio_bytes / BYTES_PER_SECOND
            self.metrics.inc("lost")
            self._log(report)
            await self.dispatcher.dispatch(report)  # a report with no text: nothing awaits inside
            raise
        else:
            if _no_command(utterance):
                return await self._report_no_command(report)
            report.text = printable(transcript.text)
            report.recognizer = transcript.recognizer
            report.note = transcript.note
            report.verdict = transcript.verdict
            self.metrics.inc("recognized")
            if transcript.rejected:
                report.outcome = "rejected"
                self.metrics.inc("rejected")
            if transcript.note:
                self.metrics.inc("recognizer_errors")
                self.metrics.inc("fallbacks")
            if ended_at is not None:
                report.latency_ms = (self.clock() - ended_at) * 1000
                self.metrics.observe("endpoint_to_final", report.latency_ms / 1000)
        report.start_s = utterance.start  # a wake-mode utterance learns its start after it was yielded
        report.duration_s = audio_bytes / BYTES_PER_SECOND
        report.dropped_audio_s = utterance.dropped_s
        if report.dropped_audio_s:
            self.metrics.inc("dropped_audio")
        self.metrics.observe("utterance", report.duration_s)
        if self.keep_audio is not None:
            self.keep_audio(report.id, b"".join(kept))

        if report.text and report.outcome != "rejected":
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

    async def _report_no_command(self, report: UtteranceReport) -> UtteranceReport:
        report.outcome = "no command"
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
        if r.verdict is not None and r.verdict.score is not None and r.verdict.accepted:
            timing += f", score {r.verdict.score:.1f}"
        if r.error:
            log.warning(
                "utterance %s at %.2f s: no text (%s); %s", r.id, r.start_s, r.error, timing, extra=r.fields()
            )
            return
        what = f"intent {r.intent} {r.slots} ({r.method} {r.score:.0f})" if r.intent else "no intent matched"
        if r.outcome == "rejected" and r.verdict is not None:
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


def _no_command(utterance: UtteranceLike) -> bool:
    """A wake-word utterance that ended without any speech (the listener's ``no_command``)."""
    return getattr(utterance, "end_reason", None) == "no_command"
