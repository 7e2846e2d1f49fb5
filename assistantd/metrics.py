"""Counters and per-stage latencies: summarised in STATUS/logs and rendered for Prometheus. Pure."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

COUNTERS = {
    "utterances": "Utterances the endpointer produced",
    "recognized": "Utterances that produced text",
    "recognizer_errors": "Utterances the configured recognizer failed",
    "fallbacks": "Utterances recognized by the fallback recognizer",
    "retries": "Utterances the configured recognizer answered after a retry on a fresh connection",
    "lost": "Utterances that produced no text at all",
    "dropped": "Utterances dropped because the pipeline fell behind a live source",
    "dropped_audio": "Utterances that lost audio because their recognizer fell behind a live source",
    "matched": "Transcripts that matched an intent",
    "unmatched": "Transcripts that matched nothing",
    "rejected": "Transcripts the offline recognizer judged not to be a command (not acted on)",
    "handler_runs": "Handler runs",
    "handler_failures": "Handler runs that failed",
    "capture_restarts": "Times the audio device was reopened",
    "dropped_frames": "Audio frames dropped because the loop fell behind",
    "input_overflows": "Times the audio device reported an input overflow (samples lost before capture)",
    "rejected_onsets": "Speech onsets the onset check refused (noise that tripped the VAD, not speech)",
    "muted_frames": "Audio frames held back while the assistant spoke or played a sound (it does not hear "
    "itself)",
    "timers_rung": "Timers that rang (the alarm sound and the spoken alarm)",
    "sounds_played": "Feedback sounds played (wake chime, error tone, timer alarm)",
    "wake_detections": "Wake words heard (each opens an utterance)",
    "wake_no_command": "Wake words no command followed",
    "mqtt_events_dropped": "MQTT event messages dropped because the event queue was full (broker down)",
    "arbitration_won": "Utterances this site acted on after announcing them to the other sites",
    "arbitration_lost": "Utterances left to another site that heard them better (reported as deferred)",
    "arbitration_alone": "Utterances decided without the other sites (no broker, or the announcement failed)",
    "arbitration_late": "Other sites' announcements that came after this site had decided",
    "abandoned_calls": "Blocking calls (device, HTTP, decoder, library) abandoned past their deadline",
}

STAGES = {
    "endpoint_to_final": "Time from the endpoint to the final transcript",
    "utterance": "Length of utterances",
    "arbitration_wait": "Time the transcript waited for the arbitration decision (the latency it adds)",
}


@dataclass
class Latency:
    """A bounded window of recent samples (seconds) with percentiles; old samples fall out."""

    window: deque[float] = field(default_factory=lambda: deque(maxlen=512))
    count: int = 0
    total: float = 0.0

    def observe(self, seconds: float) -> None:
        self.window.append(seconds)
        self.count += 1
        self.total += seconds

    def percentile(self, q: float) -> float | None:
        if not self.window:
            return None
        ordered = sorted(self.window)
        index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
        return ordered[index]


class Metrics:
    def __init__(self) -> None:
        self.counters: dict[str, int] = dict.fromkeys(COUNTERS, 0)
        self.latency: dict[str, Latency] = {name: Latency() for name in STAGES}

    def inc(self, name: str, by: int = 1) -> None:
        if name not in self.counters:
            raise KeyError(f"unknown counter {name!r}")
        self.counters[name] += by

    def set_total(self, name: str, value: int) -> None:
        """For counters owned elsewhere (the capture source's restart and drop counts)."""
        if name not in self.counters:
            raise KeyError(f"unknown counter {name!r}")
        self.counters[name] = value

    def observe(self, stage: str, seconds: float) -> None:
        self.latency[stage].observe(seconds)

    def summary(self) -> str:
        """One short line for STATUS= and the periodic log line."""
        c = self.counters
        p50 = self.latency["endpoint_to_final"].percentile(0.5)
        p95 = self.latency["endpoint_to_final"].percentile(0.95)
        lat = ""
        if p50 is not None and p95 is not None:
            lat = f", final p50 {p50 * 1000:.0f} ms p95 {p95 * 1000:.0f} ms"
        return (
            f"{c['utterances']} utterances, {c['matched']} matched, {c['rejected']} rejected, "
            f"{c['recognizer_errors']} recognizer errors, "
            f"{c['fallbacks']} fallbacks, {c['dropped']} dropped, {c['capture_restarts']} capture restarts, "
            f"{c['dropped_frames']} dropped frames{lat}"
        )

    def prometheus(self) -> str:
        """The Prometheus text exposition format (version 0.0.4)."""
        lines: list[str] = []
        for name, help_text in COUNTERS.items():
            metric = f"assistantd_{name}_total"
            lines += [
                f"# HELP {metric} {help_text}",
                f"# TYPE {metric} counter",
                f"{metric} {self.counters[name]}",
            ]
        for stage, help_text in STAGES.items():
            metric = f"assistantd_{stage}_seconds"
            lat = self.latency[stage]
            lines += [f"# HELP {metric} {help_text}", f"# TYPE {metric} summary"]
            for q in (0.5, 0.95):
                value = lat.percentile(q)
                lines.append(f'{metric}{{quantile="{q}"}} {"NaN" if value is None else f"{value:.6f}"}')
            lines += [f"{metric}_sum {lat.total:.6f}", f"{metric}_count {lat.count}"]
        return "\n".join(lines) + "\n"
