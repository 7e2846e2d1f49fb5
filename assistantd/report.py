"""What happened to one utterance: the report the pipeline builds and every sink reads.

Each utterance gets exactly one report, whatever becomes of it, with a typed ``Outcome``. The pipeline
fills it in (recognition, verdict, intent), its handler stage adds the handlers' outcomes or why none
ran, and then the finished report goes to the sinks, which only read it: the log line with its journald
fields and the metrics (report_sinks.py), the JSON line of ``run --input`` (here), MQTT events
(events.py).
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol, TextIO

from assistantd.config.template import SlotValue
from assistantd.endpoint.wake import Detection
from assistantd.handlers.base import Outcome as HandlerOutcome
from assistantd.recognizer.rejection import Verdict

log = logging.getLogger(__name__)


class Outcome(StrEnum):
    """One word for what became of an utterance (the JSON line's ``outcome``, journald's OUTCOME)."""

    RECOGNIZED = "recognized"
    """The configured recognizer gave text at the first attempt."""
    RETRIED = "retried"
    """The configured recognizer gave text after a retry on a fresh connection."""
    FELL_BACK = "fell back"
    """The configured recognizer failed; the fallback recognizer gave the text."""
    SILENT = "silent"
    """Recognized, but no words (noise, a cough)."""
    REJECTED = "rejected"
    """The offline recognizer judged the text only the grammar's nearest command to other speech."""
    NO_COMMAND = "no command"
    """The wake word was heard, but no command followed it."""
    LOST = "lost"
    """No text: every recognizer failed, or the daemon stopped or failed before one answered."""
    DROPPED = "dropped"
    """Not acted on: dropped unheard (a live source the pipeline fell behind) or its handlers not run."""
    DEFERRED = "deferred"
    """Not acted on here: another site heard the same utterance better and acted on it (arbitration.py);
    ``note`` names the site."""


@dataclass
class UtteranceReport:
    """What happened to one utterance; logged as one line, as journald fields and as a JSON line."""

    id: str
    start_s: float
    duration_s: float = 0.0
    text: str | None = None
    recognizer: str | None = None
    note: str = ""
    """Why the text came from where it did, when that is not obvious (the fallback's reason)."""
    intent: str | None = None
    slots: dict[str, SlotValue] = field(default_factory=dict)
    method: str | None = None
    score: float | None = None
    latency_ms: float | None = None
    """Endpoint (last audio chunk) -> final text in hand."""
    arbitration_wait_ms: float | None = None
    """Final text in hand -> the other sites' verdict (several rooms: the latency arbitration added)."""
    error: str | None = None
    """Why there is no text (lost), or why nothing ran (dropped)."""
    wake: Detection | None = None
    """The wake word that opened this utterance (wake mode)."""
    outcome: Outcome = Outcome.RECOGNIZED
    verdict: Verdict | None = None
    """The offline recognizer's confidence check (score, unexplained speech), when one ran."""
    dropped_audio_s: float = 0.0
    """Audio of this utterance dropped because the pipeline fell behind a live source."""
    fell_back: bool = False
    """The configured recognizer failed and the fallback gave the text (even if the outcome says
    rejected)."""
    recognizer_failed: bool = False
    """The configured recognizer failed this utterance (whether or not the fallback then answered)."""
    retried: bool = False
    """The text came after a retry on a fresh connection (even if the outcome says fell back or rejected)."""
    handlers: list[HandlerOutcome] = field(default_factory=list)
    """What the bound handlers did (empty when none ran)."""

    @property
    def rejected(self) -> bool:
        """The offline recognizer judged the text not a command (even if the outcome now says dropped)."""
        return self.verdict is not None and not self.verdict.accepted

    @property
    def heard(self) -> bool:
        """A recognizer took the utterance up (it answered or failed); False for one dropped unheard, a
        wake word with no command, or one the daemon stopped before it was answered."""
        return self.recognizer is not None or self.recognizer_failed

    def fields(self) -> dict[str, object]:
        """Structured journald fields (upper case, as journald wants them)."""
        out: dict[str, object] = {"UTTERANCE_ID": self.id, "UTTERANCE_START_S": f"{self.start_s:.3f}"}
        if self.recognizer:
            out["RECOGNIZER"] = self.recognizer
        if self.intent:
            out["INTENT"] = self.intent
        if self.latency_ms is not None:
            out["LATENCY_MS"] = f"{self.latency_ms:.0f}"
        if self.arbitration_wait_ms is not None:
            out["ARBITRATION_WAIT_MS"] = f"{self.arbitration_wait_ms:.0f}"
        if self.error:
            out["ERROR"] = self.error
        if self.verdict is not None and self.verdict.score is not None:
            out["RECOGNIZER_SCORE"] = f"{self.verdict.score:.1f}"
        out["OUTCOME"] = str(self.outcome)
        if self.wake is not None:
            out["WAKE_MODEL"] = self.wake.model
            out["WAKE_TIME_S"] = f"{self.wake.time:.3f}"
            out["WAKE_PROBABILITY"] = f"{self.wake.probability:.3f}"
        return out

    def line(self) -> dict[str, object]:
        """The JSON line's fields (README, "Quick start")."""
        line: dict[str, object] = {
            "id": self.id,
            "start": round(self.start_s, 3),
            "end": round(self.start_s + self.duration_s, 3),
            "outcome": str(self.outcome),
            "text": self.text,
            "recognizer": self.recognizer,
            "intent": self.intent,
            "slots": self.slots,
            "handlers": [{"handler": o.handler, "ok": o.ok, "detail": o.detail} for o in self.handlers],
        }
        if self.wake is not None:
            line["wake"] = self.wake.to_dict()
        if self.verdict is not None:
            line["verdict"] = self.verdict.to_dict()
        if self.error:
            line["error"] = self.error
        if self.note:
            line["note"] = self.note
        if self.dropped_audio_s:
            line["dropped_audio_s"] = round(self.dropped_audio_s, 3)
        return line


class ReportSink(Protocol):
    """Reads each finished report (never writes it)."""

    def emit(self, report: UtteranceReport) -> None: ...


class JsonLines:
    """A sink: one JSON line per finished report (the ``run --input`` main job prints them to stdout).

    A reader that goes away (``assistantd run --input x.wav | head -1``) ends the JSON lines, not the
    daemon: the broken pipe is logged once, the lines stop, and everything else (handlers, log, events)
    goes on (README, "Reports")."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.closed = False
        """The reader went away: no more lines are written."""

    def emit(self, report: UtteranceReport) -> None:
        if self.closed:
            return
        try:
            print(json.dumps(report.line(), ensure_ascii=False), file=self.stream, flush=True)
        except BrokenPipeError:
            self.closed = True
            log.warning(
                "the reader of the JSON report lines closed the pipe: no more report lines (from utterance "
                "%s on); the daemon keeps listening",
                report.id,
            )
            _discard_from_now_on(self.stream)


def _discard_from_now_on(stream: TextIO) -> None:
    """Point ``stream``'s file descriptor at /dev/null: the line left in its buffer would fail again when
    the interpreter flushes it at exit (a second traceback, and exit status 120)."""
    try:
        fd = stream.fileno()
    except (OSError, ValueError):
        return  # not a file (a test's StringIO): nothing is flushed at exit
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, fd)
    finally:
        os.close(devnull)


def printable(text: str) -> str:
    """``text`` with lone surrogates (a cloud's JSON may carry an escaped "\\ud800") replaced by U+FFFD:
    they cannot be encoded as UTF-8, so the report line, the log and a handler's argv would all fail."""
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
