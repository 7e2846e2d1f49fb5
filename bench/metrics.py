"""Scoring segments against truth (pure: no audio, no I/O).

A segment is anything with ``.start`` and ``.end`` in seconds: the audio a system would upload. Truth is the
voiced region of each placed clip. The figures:

- recall: a true utterance is found if some segment overlaps it (shares a positive stretch of time);
- onset kept: the earliest segment overlapping it starts at or before the true onset (a missed utterance
  counts as not kept, so onset kept <= recall);
- false utterances: segments in noise-only audio (all of them), and separately segments in speech files that
  overlap no true utterance;
- uploaded: the summed length of all segments in speech files, over the summed length of the truth.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Protocol


class Span(Protocol):
    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...


@dataclass(frozen=True)
class Interval:
    """A plain span in seconds, for truth and for the baselines' segments."""

    start: float
    end: float


def overlaps(a: Span, b: Span) -> bool:
    """True when ``a`` and ``b`` share a stretch of positive length (touching ends do not count)."""
    return a.start < b.end and b.start < a.end


@dataclass(frozen=True)
class UtteranceScore:
    found: bool
    onset_kept: bool


@dataclass(frozen=True)
class FileScore:
    """One speech file: per-utterance results, false segments, and seconds uploaded vs true."""

    utterances: tuple[UtteranceScore, ...]
    false_segments: int
    uploaded_s: float
    truth_s: float


def score_speech(truth: Sequence[Span], segments: Sequence[Span]) -> FileScore:
    """Match ``segments`` to ``truth`` in one speech file."""
    scores = []
    for t in truth:
        hits = [s for s in segments if overlaps(s, t)]
        found = bool(hits)
        scores.append(UtteranceScore(found=found, onset_kept=found and min(s.start for s in hits) <= t.start))
    false = sum(1 for s in segments if not any(overlaps(s, t) for t in truth))
    return FileScore(
        utterances=tuple(scores),
        false_segments=false,
        uploaded_s=sum(max(0.0, s.end - s.start) for s in segments),
        truth_s=sum(t.end - t.start for t in truth),
    )


def split_startup(segments: Sequence[Span], truth: Sequence[Span], warmup_s: float) -> tuple[list[Span], int]:
    """Leave out segments that start before ``warmup_s`` and overlap no truth: a fresh stream's start-up.

    Returns the segments kept and how many were left out.
    """
    kept = [s for s in segments if s.start >= warmup_s or any(overlaps(s, t) for t in truth)]
    return kept, len(segments) - len(kept)


@dataclass
class Tally:
    """Running totals for one system, or one system in one condition."""

    utterances: int = 0
    found: int = 0
    onset_kept: int = 0
    speech_audio_s: float = 0.0
    speech_false: int = 0
    uploaded_s: float = 0.0
    truth_s: float = 0.0
    noise_audio_s: float = 0.0
    noise_false: int = 0
    noise_uploaded_s: float = 0.0
    cpu_s: float = 0.0
    warmup_segments: int = 0
    """Segments left out because they began while the system's stream was starting up."""
    conditions: dict[tuple[str, float | None], Tally] = field(default_factory=dict)
    """Per (noise kind, SNR in dB); the SNR is None for the noise-only stretches."""

    def add_speech(self, score: FileScore, audio_s: float) -> None:
        self.utterances += len(score.utterances)
        self.found += sum(u.found for u in score.utterances)
        self.onset_kept += sum(u.onset_kept for u in score.utterances)
        self.speech_false += score.false_segments
        self.uploaded_s += score.uploaded_s
        self.truth_s += score.truth_s
        self.speech_audio_s += audio_s

    def add_noise(self, segments: Iterable[Span], audio_s: float) -> None:
        segs = list(segments)
        self.noise_false += len(segs)
        self.noise_uploaded_s += sum(max(0.0, s.end - s.start) for s in segs)
        self.noise_audio_s += audio_s

    def condition(self, noise: str, snr_db: float | None) -> Tally:
        """The tally of one noise kind at one SNR, or noise-only with None (created on first use)."""
        return self.conditions.setdefault((noise, snr_db), Tally())

    @property
    def recall(self) -> float | None:
        return self.found / self.utterances if self.utterances else None

    @property
    def onset_rate(self) -> float | None:
        return self.onset_kept / self.utterances if self.utterances else None

    @property
    def noise_false_per_hour(self) -> float | None:
        return self.noise_false / (self.noise_audio_s / 3600) if self.noise_audio_s else None

    @property
    def speech_false_per_hour(self) -> float | None:
        return self.speech_false / (self.speech_audio_s / 3600) if self.speech_audio_s else None

    @property
    def upload_ratio(self) -> float | None:
        return self.uploaded_s / self.truth_s if self.truth_s else None

    @property
    def noise_upload_share(self) -> float | None:
        """Share of the noise-only audio uploaded: a segment that never ends has few false alarms."""
        return self.noise_uploaded_s / self.noise_audio_s if self.noise_audio_s else None

    @property
    def cpu_per_hour(self) -> float | None:
        audio_s = self.speech_audio_s + self.noise_audio_s
        return self.cpu_s / (audio_s / 3600) if audio_s else None
