"""Everything built from one config: capture -> endpointer -> recognizer -> matcher -> handlers.

``build_app`` is the only place that knows the concrete classes; the service sees the App protocol and
the pipeline sees small protocols, so both are tested with real parts or honest doubles.
"""

from __future__ import annotations

import difflib
import json
import logging
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import TextIO

from assistantd.audio.frames import AudioSource, Frame
from assistantd.audio.microphone import MicrophoneSource
from assistantd.audio.sources import open_source
from assistantd.config import Config
from assistantd.debug_wav import UtteranceSaver
from assistantd.endpoint.listener import Listener, Utterance
from assistantd.endpoint.vad import build_vad
from assistantd.errors import ConfigError
from assistantd.handlers.base import Invocation, Outcome
from assistantd.handlers.build import build_runner
from assistantd.handlers.runner import Runner
from assistantd.handlers.speaking import SpeakingGate
from assistantd.intents.loader import load_matcher
from assistantd.metrics import Metrics
from assistantd.pipeline import MatcherLike, Pipeline, UtteranceLike, UtteranceReport
from assistantd.recognizer.base import Recognizer, close_recognizer, start_recognizer
from assistantd.recognizer.registry import recognizer_for
from assistantd.systemd import ProgressWatchdog

log = logging.getLogger(__name__)


async def _aclose(iterator: AsyncIterator[object]) -> None:
    """Close an async generator now (protocols promise only AsyncIterator, which may lack aclose)."""
    aclose = getattr(iterator, "aclose", None)
    if aclose is not None:
        await aclose()


class TappedSource:
    """Wraps a source: tells the watchdog about every consumed frame, and silences frames while the
    assistant itself is speaking (plus a tail), so it never hears its own replies."""

    def __init__(
        self,
        inner: AudioSource,
        on_frame: Callable[[], None],
        gate: SpeakingGate | None,
    ) -> None:
        self.inner = inner
        self.frame_ms = inner.frame_ms
        self.on_frame = on_frame
        self.gate = gate
        """None when the audio clock is not the wall clock (a recording read faster than real time)."""
        self.muted_frames = 0

    async def frames(self) -> AsyncIterator[Frame]:
        frames = self.inner.frames()
        try:
            async for frame in frames:
                self.on_frame()
                if self.gate is not None and self.gate.is_muted():
                    self.muted_frames += 1
                    yield Frame(bytes(len(frame.pcm)), frame.t)
                else:
                    yield frame
        finally:
            # Closing the inner generator closes the device (or file) at once, not at garbage collection.
            await _aclose(frames)


class AssistantApp:
    """One configuration's worth of collaborators; the service swaps whole apps on reload."""

    def __init__(
        self,
        config: Config,
        metrics: Metrics,
        *,
        source: AudioSource,
        recognizer: Recognizer,
        matcher: MatcherLike,
        runner: Runner,
        gate: SpeakingGate | None,
        watchdog: ProgressWatchdog | None = None,
        report_to: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config
        self.metrics = metrics
        self.source = source
        self.recognizer = recognizer
        self.runner = runner
        self.clock = clock
        self.watchdog = watchdog
        self.report_to = report_to
        """Where one JSON line per utterance goes (the --input main job prints to stdout)."""
        self.tap = TappedSource(source, self._progress, gate)
        vad = build_vad(config.endpoint, config.audio.frame_ms)
        self.listener = Listener(self.tap, vad, config.endpoint, onset_check=vad.onset_check)
        saver = None
        if config.service.save_utterances_dir:
            saver = UtteranceSaver(
                Path(config.service.save_utterances_dir), config.service.save_utterances_max
            )
        self.pipeline = Pipeline(
            recognizer,
            matcher,
            self,
            metrics,
            clock=clock,
            keep_audio=saver.save if saver is not None else None,
        )
        self._hearing: Utterance | None = None
        self._recognizing = 0
        self._recognizer_failing = False
        """The configured recognizer failed the last utterance (its fallback, if any, took over)."""

    def _progress(self) -> None:
        if self.watchdog is not None:
            self.watchdog.progress(self.clock())

    # -- App protocol -----------------------------------------------------------------------------
    async def start(self) -> None:
        await start_recognizer(self.recognizer)
        await self.runner.start()

    async def utterances(self) -> AsyncIterator[UtteranceLike]:
        stream = self.listener.utterances()
        try:
            async for utterance in stream:
                self._hearing = utterance
                yield utterance
        finally:
            await _aclose(stream)

    async def handle(self, utterance: UtteranceLike) -> UtteranceReport:
        self._recognizing += 1
        try:
            return await self.pipeline.handle(utterance)
        finally:
            self._recognizing -= 1

    def state(self) -> str:
        mic = self.source if isinstance(self.source, MicrophoneSource) else None
        if mic is not None:
            self.metrics.set_total("capture_restarts", mic.restarts)
            self.metrics.set_total("dropped_frames", mic.frames_dropped)
            if mic.state in ("missing", "busy", "failed", "stalled", "wedged"):
                return f"microphone {mic.state}"
        if self._hearing is not None and not self._hearing.ended:
            return "hearing"
        if self._recognizing:
            return "recognizing"
        if self._recognizer_failing:
            return "recognizer unavailable"
        return "listening"

    def capture_waiting(self, now: float) -> bool:
        return isinstance(self.source, MicrophoneSource) and self.source.retrying(now)

    async def aclose(self, grace_s: float) -> None:
        await self.runner.aclose(grace_s)
        await close_recognizer(self.recognizer)

    # -- Dispatcher protocol (called by the pipeline) -------------------------------------------
    def dispatch(self, report: UtteranceReport) -> None:
        if not report.text:
            # No words (noise, a cough) or a failed recognition: nothing to act on, and the fallback
            # reply ("Sorry, I didn't get that") would answer every noise. Reported, not acted on.
            self._finished(report, [])
            return
        invocation = Invocation(report.id, report.text, report.intent, report.slots)
        task = self.runner.dispatch(invocation)
        if task is None:
            self._finished(report, [])
        else:
            task.add_done_callback(lambda t: self._finished(report, [] if t.cancelled() else t.result()))

    def _finished(self, report: UtteranceReport, outcomes: list[Outcome]) -> None:
        self._recognizer_failing = bool(report.error or report.note)
        for outcome in outcomes:
            self.metrics.inc("handler_runs")
            if not outcome.ok:
                self.metrics.inc("handler_failures")
        if self.report_to is None:
            return
        line = {
            "start": round(report.start_s, 3),
            "end": round(report.start_s + report.duration_s, 3),
            "text": report.text,
            "recognizer": report.recognizer,
            "intent": report.intent,
            "slots": report.slots,
            "handlers": [{"handler": o.handler, "ok": o.ok, "detail": o.detail} for o in outcomes],
        }
        if report.error:
            line["error"] = report.error
        if report.note:
            line["note"] = report.note
        print(json.dumps(line, ensure_ascii=False), file=self.report_to, flush=True)


def check_bindings(config: Config, intents: Sequence[str]) -> None:
    """A binding to an intent no file defines would never run: refuse it like any other config error."""
    known = set(intents)
    for i, binding in enumerate(config.handlers.bindings):
        if binding.intent not in known:
            hint = difflib.get_close_matches(binding.intent, sorted(known), n=1)
            expected = (
                f"expected an intent defined in the intent files (did you mean {hint[0]!r}?)"
                if hint
                else ("expected an intent defined in the intent files")
            )
            raise ConfigError(config.source, f"handlers.bindings[{i}].intent", expected, repr(binding.intent))


def build_app(
    config: Config,
    metrics: Metrics,
    watchdog: ProgressWatchdog,
    *,
    input_path: str | None = None,
    pace: bool = False,
    report_to: TextIO | None = None,
) -> AssistantApp:
    """Build every collaborator for ``config``. Raises ConfigError/AudioError before anything runs."""
    gate = SpeakingGate()
    source = open_source(config.audio, input_path, pace=pace)
    # Replies are muted in wall-clock time: that only lines up with audio that arrives in real time.
    realtime = input_path is None or pace
    matcher = load_matcher(config)
    check_bindings(config, matcher.intent_names())
    recognizer = recognizer_for(config, with_fallback=True)
    runner = build_runner(config.handlers, gate)
    return AssistantApp(
        config,
        metrics,
        source=source,
        recognizer=recognizer,
        matcher=matcher,
        runner=runner,
        gate=gate if realtime else None,
        watchdog=watchdog,
        report_to=report_to if report_to is not None else (sys.stdout if input_path else None),
    )
