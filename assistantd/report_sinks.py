"""Sinks that read each finished report: the log line (with its journald fields) and the metrics.

The JSON line (report.py ``JsonLines``) and the MQTT events (events.py ``MqttEvents``) are sinks too. A
sink never writes the report; everything it says comes from the report's fields, so the log line, the
counters and the JSON line always agree on what became of an utterance.
"""

from __future__ import annotations

import logging

from assistantd.metrics import Metrics
from assistantd.report import Outcome, UtteranceReport

log = logging.getLogger("assistantd.pipeline")
"""The logger the one line per utterance has always come from (journald and tests filter on it)."""


class LogLine:
    """One log line per utterance with its timings and journald fields (STYLE.md: logs for people).

    It reads the report as soon as it is recognized, before its handlers run (``Pipeline.heard``): the
    log tells what was heard before what it set off, and tests and people wait on it to know that."""

    def emit(self, r: UtteranceReport) -> None:
        if r.outcome is Outcome.NO_COMMAND and r.wake is not None:
            what = r.wake.describe()
            log.info("utterance %s: wake word %s, but no command followed", r.id, what, extra=r.fields())
            return
        if r.outcome is Outcome.DEFERRED:
            where = (r.id, r.start_s, r.note)
            log.info("utterance %s at %.2f s: not acted on here, %s", *where, extra=r.fields())
            return
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
        if not r.text and r.error:
            log.warning(
                "utterance %s at %.2f s: no text (%s); %s", r.id, r.start_s, r.error, timing, extra=r.fields()
            )
            return
        what = f"intent {r.intent} {r.slots} ({r.method} {r.score:.0f})" if r.intent else "no intent matched"
        if r.rejected and r.verdict is not None:
            what = f"rejected, not a command ({r.verdict.reason})"
        if not r.text:
            what = "no words recognized (noise?)"
        via = f" via {r.recognizer}" + (f" ({r.note})" if r.note else "")
        args = (r.id, r.start_s, r.text, via, what, timing)
        log.info("utterance %s at %.2f s: %r%s -> %s; %s", *args, extra=r.fields())


class MetricsSink:
    """The per-utterance counters and latencies (metrics.py), read from finished reports. ``utterances``
    and ``wake_detections`` are counted earlier, as recognition starts (app.py), so that the status line
    counts the utterances still being recognized."""

    def __init__(self, metrics: Metrics) -> None:
        self.metrics = metrics

    def emit(self, r: UtteranceReport) -> None:
        m = self.metrics
        if r.outcome is Outcome.NO_COMMAND:
            m.inc("wake_no_command")
            return
        if r.recognizer_failed:
            m.inc("recognizer_errors")
        if r.recognizer is not None:
            m.inc("recognized")
        if r.fell_back:
            m.inc("fallbacks")
        if r.retried:
            m.inc("retries")
        if r.rejected:
            m.inc("rejected")
        if r.latency_ms is not None:
            m.observe("endpoint_to_final", r.latency_ms / 1000)
        if r.arbitration_wait_ms is not None:
            m.observe("arbitration_wait", r.arbitration_wait_ms / 1000)
        if r.heard:
            m.observe("utterance", r.duration_s)
            if r.dropped_audio_s:
                m.inc("dropped_audio")
        if r.intent:
            m.inc("matched")
        elif r.text and not r.rejected:
            m.inc("unmatched")
        for outcome in r.handlers:
            m.inc("handler_runs")
            if not outcome.ok:
                m.inc("handler_failures")
        if r.outcome is Outcome.LOST:
            m.inc("lost")
        elif r.outcome is Outcome.DROPPED:
            m.inc("dropped")
