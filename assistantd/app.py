"""Everything built from one config: capture -> endpointer -> recognizer -> matcher -> handlers.

``build_app`` is the only place that knows the concrete classes; the service sees the App protocol and
the pipeline sees small protocols, so both are tested with real parts or honest doubles.
"""

from __future__ import annotations

import functools
import logging
import os
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from assistantd.audio.frames import AudioSource
from assistantd.audio.microphone import STOP_CLOSE_S
from assistantd.audio.sources import open_source
from assistantd.config import Config
from assistantd.debug_wav import UtteranceSaver
from assistantd.endpoint.listener import ARBITRATION_IDLE_HOLD_MS, IDLE_HOLD_MS, Listener
from assistantd.endpoint.live_utterance import Utterance
from assistantd.endpoint.vad import build_vad
from assistantd.endpoint.wake import WakeStage
from assistantd.errors import ConfigError, closest
from assistantd.handler_stage import HandlerStage
from assistantd.handlers.build import build_runner
from assistantd.handlers.runner import Runner
from assistantd.handlers.sounds import SoundPlayer
from assistantd.handlers.speaking import SpeakingGate
from assistantd.intents.loader import load_matcher
from assistantd.metrics import Metrics
from assistantd.mqtt_connections import MqttConnections
from assistantd.pipeline import MatcherLike, Pipeline, UtteranceLike
from assistantd.recognizer.base import Recognizer, close_recognizer, hurry_recognizer, start_recognizer
from assistantd.recognizer.registry import recognizer_for
from assistantd.report import JsonLines, Outcome, ReportSink, UtteranceReport
from assistantd.report_sinks import LogLine, MetricsSink
from assistantd.shared_models import SharedModels
from assistantd.systemd import ProgressWatchdog
from assistantd.tap import TappedSource
from assistantd.tasks import aclose_iterator
from assistantd.timers import Timer, TimerBoard

if TYPE_CHECKING:
    from assistantd.arbitration_link import ArbitrationLink
    from assistantd.events import MqttEvents
    from assistantd.mqtt_connections import Connection, Lease
    from assistantd.site_controls import State
    from assistantd.site_runtime import SiteRuntime

log = logging.getLogger(__name__)


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
        wake: WakeStage | None = None,
        models: SharedModels | None = None,
        events: MqttEvents | None = None,
        sounds: SoundPlayer | None = None,
        timers: TimerBoard | None = None,
        arbitration: ArbitrationLink | None = None,
        site: SiteRuntime | None = None,
        on_started: Callable[[], None] | None = None,
        connections: MqttConnections | None = None,
        shared: tuple[Connection, ...] = (),
        idle_hold_ms: int = IDLE_HOLD_MS,
    ) -> None:
        """``wake`` None: continuous listening (every utterance the VAD finds is a command). ``models``:
        where the Silero model comes from (the daemon's, kept across reloads); None loads one.
        ``sounds``: the feedback player (wake chime, error tone). ``timers``: the daemon's timer board,
        configured from this config when the app starts. ``site``: the daemon's site
        (site_runtime.py): the privacy switch, and where state changes go. ``shared``: the MQTT
        connections (events, handlers, arbitration) this app holds in ``connections`` from its start to
        its close (mqtt_connections.py: kept across reloads). ``on_started``: called at the end of a start
        that succeeded (the site's link and voice for this config are swapped in then). ``idle_hold_ms``:
        the listener's idle frame hold in continuous mode (``continuous_idle_hold_ms``)."""
        self.config = config
        self.on_started = on_started
        self.metrics = metrics
        self.source = source
        self.recognizer = recognizer
        self.runner = runner
        self.clock = clock
        self.watchdog = watchdog
        self.events = events
        self.arbitration = arbitration
        """Several rooms, one broker: the pipeline asks it whether this site acts on an utterance."""
        sinks: list[ReportSink] = [self, MetricsSink(metrics)]
        """What reads each finished report, in order: the app's own state (follow-up window, recognizer
        health), the metrics, one JSON line per utterance (the --input main job's stdout), then the MQTT
        events (events.py). The log line reads it earlier, once recognized (Pipeline.heard)."""
        if report_to is not None:
            sinks.append(JsonLines(report_to))
        if events is not None:
            sinks.append(events)
        # The chain of stages (module docstring): the mute, then the wake stage, VAD and endpointer.
        self.site = site
        if site is not None:
            sinks.append(site)  # Home Assistant's "last heard" sensors (ha_discovery.py)
        self.tap = TappedSource(
            source,
            self._progress,
            gate,
            lambda: metrics.inc("muted_frames"),
            privacy=site.privacy if site is not None else None,
            on_private=lambda: metrics.inc("private_frames"),
        )
        self.wake = wake
        if models is not None:
            vad = build_vad(
                config.endpoint, config.audio.frame_ms, silero=models.silero, suppressor=models.suppressor
            )
        else:
            vad = build_vad(config.endpoint, config.audio.frame_ms)
        self.listener = Listener(
            self.tap,
            vad,
            config.endpoint,
            onset_check=vad.onset_check,
            wake=wake,
            command_timeout_s=config.wake.command_timeout_s,
            on_drop=self._dropped,
            on_end=lambda _: self._state_changed(),
            idle_hold_ms=idle_hold_ms,
        )
        saver = None
        if config.service.save_utterances_dir:
            saver = UtteranceSaver(
                Path(config.service.save_utterances_dir), config.service.save_utterances_max
            )
        handlers = HandlerStage(
            runner,
            wait_for_room=not source.live,
            run_on_reject=config.recognizer.local.reject.run_fallback,
            # Heard before listening was muted (the mute cut it short): muted means no action.
            muted=lambda: site is not None and site.muted,
        )
        self.pipeline = Pipeline(
            recognizer,
            matcher,
            handlers,
            sinks,
            heard=[LogLine()],
            keep_audio=saver.save if saver is not None else None,
            claimer=arbitration,
        )
        self._hearing: Utterance | None = None
        self._open: dict[str, Utterance] = {}
        """Utterances taken from the listener whose report is not finished (the site's state)."""
        self._on_state: Callable[[], None] | None = None
        """Told whenever state() may have changed (watch_state: the service's STATUS=)."""
        self._recognizing = 0
        self._recognizer_failing = False
        """The configured recognizer failed the last utterance (its fallback, if any, took over)."""
        self.sounds = sounds
        self.timers = timers
        self.connections = connections
        self.shared = shared
        self._lease: Lease | None = None

    def _progress(self) -> None:
        if self.watchdog is not None:
            self.watchdog.progress(self.clock())

    # -- App protocol -----------------------------------------------------------------------------
    async def start(self) -> None:
        """Raises AudioError for a microphone config no device present matches (the start or the
        reload fails), ConfigError/RecognizerError for what the recognizer cannot load."""
        await self.source.preflight()
        await start_recognizer(self.recognizer)
        if self.timers is not None:  # before the runner starts its alarm clock on the board
            cfg = self.config.timers
            state = cfg.state_path(self.config.base_dir, self.config.service.state_dir)
            self.timers.configure(cfg.max_running, state)
        await self.runner.start()
        if self.connections is not None and self.shared:
            self._lease = self.connections.hold(self.shared)
        if self.on_started is not None:
            self.on_started()
        if self.site is not None:
            if self.site.privacy is not None:
                self.site.privacy.subscribe(self._privacy_changed)
            self.site.start(self)
            self._state_changed()

    async def utterances(self) -> AsyncIterator[UtteranceLike]:
        stream = self.listener.utterances()
        try:
            async for utterance in stream:
                self._hearing = utterance
                self._open[str(utterance.id)] = utterance
                self._state_changed()
                if utterance.wake is not None:  # the listener hands a wake utterance over at the detection
                    if self.events is not None:
                        self.events.wake_heard(str(utterance.id), utterance.wake)
                    if self.sounds is not None:
                        self.sounds.play_soon("wake")
                yield utterance
        finally:
            await aclose_iterator(stream)

    async def handle(self, utterance: UtteranceLike) -> UtteranceReport:
        self._taken_up(utterance)
        self._recognizing += 1
        try:
            return await self.pipeline.handle(utterance)
        finally:
            self._recognizing -= 1

    def state(self) -> str:
        problem = self.source.state_at(self.clock()).problem
        if problem is not None:
            return problem
        hearing = self._hearing
        if hearing is not None and not hearing.ended:
            if hearing.wake is not None and not hearing.chunks:
                return f"waiting for a command after {hearing.wake.describe()}"
            return "hearing"
        if self._recognizing:
            return "recognizing"
        if self._recognizer_failing:
            return "recognizer unavailable"
        if self.wake is not None:
            last = self.wake.last
            heard = f" (last heard at {last.time:.2f} s, p {last.probability:.2f})" if last else ""
            return f"listening for {self.wake.detector.name}{heard}"
        return "listening"

    def capture_waiting(self, now: float) -> bool:
        return self.source.state_at(now).retrying

    def totals(self) -> dict[str, int]:
        source = self.source.state_at(self.clock())
        return {
            "capture_restarts": source.restarts,
            "dropped_frames": source.frames_dropped,
            "input_overflows": source.input_overflows,
            "rejected_onsets": self.listener.endpointer.rejected_onsets,
        }

    def hurry(self) -> None:
        hurry_recognizer(self.recognizer)

    def stop_at_pause(self) -> bool:
        if self.source.live:
            return False
        self.listener.stop_at_pause()
        return True

    def input_ended(self) -> bool:
        return self.listener.source_ended

    def continue_from(self, previous: object) -> None:
        """Carry on from the app this one replaces at a reload: utterance ids and the audio clock go on
        where it stopped, so no two reports share an id or a time."""
        if isinstance(previous, AssistantApp):
            self.listener.continue_ids(previous.listener.next_id)
            self.tap.offset_s = previous.tap.end_s
            self.source.resume_after(previous.source, previous.tap.end_s)

    async def aclose(self, grace_s: float) -> None:
        if self.site is not None:
            self.site.stop(self)
            if self.site.privacy is not None:
                self.site.privacy.unsubscribe(self._privacy_changed)
        started = time.monotonic()
        await self.runner.aclose(grace_s)  # the last reports are finished (and offered to the sinks) here
        if self.sounds is not None:  # a sound is short: it may finish within what is left of the grace
            await self.sounds.aclose(max(0.0, grace_s - (time.monotonic() - started)))
        if self.connections is not None and self._lease is not None:
            # Closed only if no app that replaced this one holds them too (mqtt_connections.py).
            await self.connections.release(self._lease, max(0.0, grace_s - (time.monotonic() - started)))
        # The decoder threads get at least STOP_CLOSE_S to finish their last job, off the loop.
        await close_recognizer(self.recognizer, max(grace_s, STOP_CLOSE_S))

    # -- ReportSink (the app's own state, from each finished report) --------------------------------
    def emit(self, report: UtteranceReport) -> None:
        if report.heard:  # a bare wake word, or one never taken up, says nothing about the recognizer
            self._recognizer_failing = report.outcome is Outcome.LOST or report.fell_back
        if report.text and report.wake is not None:  # one follow-up per wake word, not a chain
            self.listener.follow_up(self.config.wake.follow_up_s)
        if self.sounds is not None and (
            report.outcome is Outcome.LOST or any(not outcome.ok for outcome in report.handlers)
        ):
            self.sounds.play_soon("error")  # a command that failed: the recognizer lost it or a handler
        if self._open.pop(report.id, None) is not None:
            self._state_changed()

    def _dropped(self, utterance: Utterance, why: str) -> None:
        """The listener discarded an utterance unheard (a live source the pipeline fell behind)."""
        self.unheard(utterance, why)

    def _taken_up(self, utterance: UtteranceLike) -> None:
        """Counted as recognition starts, not when the report is finished: the status line counts the
        utterances still being recognized too."""
        self.metrics.inc("utterances")
        if getattr(utterance, "wake", None) is not None:
            self.metrics.inc("wake_detections")

    def unheard(self, utterance: UtteranceLike, why: str, *, lost: bool = False) -> None:
        if not lost:  # one lost to an internal error was counted when its recognition started
            self.metrics.inc("utterances")
        self.pipeline.unheard(utterance, why, lost=lost)

    # -- the site's state ---------------------------------------------------------------------------
    def site_state(self) -> State:
        """muted, hearing (an utterance's audio is still open), recognizing (the endpoint is past, its
        report is not finished), or listening."""
        if self.site is not None and self.site.muted:
            return "muted"
        if any(not u.ended for u in self._open.values()):
            return "hearing"
        return "recognizing" if self._open else "listening"

    def watch_state(self, changed: Callable[[], None]) -> None:
        self._on_state = changed

    def _state_changed(self) -> None:
        if self._on_state is not None:
            self._on_state()
        if self.site is not None:
            self.site.publish_state(self.site_state(), self)

    def _privacy_changed(self, muted: bool) -> None:
        if muted:
            self.listener.cut()  # what is being heard ends now; its report runs no handler
        self._state_changed()


def check_bindings(config: Config, intents: Sequence[str]) -> None:
    """A binding to an intent no file defines would never run: refuse it like any other config error."""
    known = set(intents)
    for i, binding in enumerate(config.handlers.bindings):
        if binding.intent not in known:
            hint = closest(binding.intent, sorted(known))
            expected = (
                f"expected an intent defined in the intent files (did you mean {hint!r}?)"
                if hint
                else ("expected an intent defined in the intent files")
            )
            raise ConfigError(config.source, f"handlers.bindings[{i}].intent", expected, repr(binding.intent))


def continuous_idle_hold_ms(config: Config) -> int:
    """How much audio a live source may hold while continuous listening hears nothing (listener.py): the
    longer hold costs less idle CPU but starts an utterance up to 330 ms late, which multi-room
    arbitration cannot afford (the rooms' candidates must meet inside its window)."""
    if config.mqtt is not None and config.mqtt.arbitration.enabled:
        return ARBITRATION_IDLE_HOLD_MS
    return IDLE_HOLD_MS


def build_app(
    config: Config,
    metrics: Metrics,
    watchdog: ProgressWatchdog,
    *,
    input_path: str | None = None,
    pace: bool = False,
    report_to: TextIO | None = None,
    source: AudioSource | None = None,
    models: SharedModels | None = None,
    timers: TimerBoard | None = None,
    site: SiteRuntime | None = None,
) -> AssistantApp:
    """Build every collaborator for ``config``. Raises ConfigError/AudioError before anything runs.

    ``source`` is an audio source already made (tests); otherwise it is opened from ``input_path``.
    ``models``: the daemon's models kept across reloads (shared_models.py); None loads fresh ones.
    ``timers``: the daemon's timer board, kept across reloads (timers.py); None makes one for this app.
    ``site``: the daemon's site (site_runtime.py): its gate and voice are shared by every app, its link
    and privacy switch are used when ``config`` has an ``mqtt:`` section.
    """
    gate = site.gate if site is not None else SpeakingGate()
    if source is None:
        source = open_source(config.audio, input_path, pace=pace)
    matcher = load_matcher(config)
    check_bindings(config, matcher.intent_names())
    wake = None
    if config.wake.model is not None:
        from assistantd.endpoint.microwakeword import load_detector  # noqa: PLC0415 - numpy, TFLite

        detector = load_detector(config.wake, config.source)
        wake = WakeStage(detector, config.audio.frame_ms, config.wake.refractory_s)
    site_id = (config.mqtt.site_id if config.mqtt is not None else None) or socket.gethostname()
    sounds = SoundPlayer(
        config.feedback, gate, environ=os.environ, on_played=lambda event: metrics.inc("sounds_played")
    )
    if timers is None:
        timers = TimerBoard()
    # Prepared, not yet swapped in: that waits for the app's start (a reload that fails keeps the old ones).
    setup = site.prepare(config) if site is not None else None
    # The daemon's (kept across reloads, mqtt_connections.py), or this app's own.
    connections = site.connections if site is not None else MqttConnections()
    shared: list[Connection] = []
    publisher = None
    if config.handlers.mqtt is not None:
        publisher = connections.publisher(config.handlers.mqtt, "handlers")
        shared.append(publisher)

    def rung(timer: Timer, late_s: float) -> None:
        metrics.inc("timers_rung")
        if events is not None:
            events.timer_rung(timer, late_s)

    runner = build_runner(
        config.handlers,
        gate,
        timers=timers,
        sounds=sounds,
        on_ring=rung,
        site_id=site_id,
        voice=setup.voice if setup is not None else None,
        publisher=publisher,
    )
    events = None
    arbitration = None
    if config.mqtt is not None:
        # aiomqtt and paho cost ~2.3 MB of RSS: loaded only when events or arbitration are on (issue 6).
        if config.mqtt.events:
            from assistantd.events import MqttEvents  # noqa: PLC0415

            events_publisher = connections.events_publisher(config.mqtt, site_id)
            events = MqttEvents(config.mqtt, site_id, metrics, publisher=events_publisher)
            shared.append(events_publisher)
        if config.mqtt.arbitration.enabled:
            arbitration = connections.arbitration(config.mqtt, site_id, metrics)
            shared.append(arbitration)
    # Last of what may raise: a recognizer borrowed from ``models`` is given back only by the app's aclose.
    recognizer = recognizer_for(config, with_fallback=True, models=models)
    return AssistantApp(
        config,
        metrics,
        source=source,
        recognizer=recognizer,
        matcher=matcher,
        runner=runner,
        # Replies are muted in wall-clock time: that only lines up with audio that arrives in real time.
        gate=gate if source.live else None,
        watchdog=watchdog,
        report_to=report_to if report_to is not None else (sys.stdout if input_path else None),
        wake=wake,
        models=models,
        events=events,
        sounds=sounds,
        timers=timers,
        arbitration=arbitration,
        site=site if site is not None and config.mqtt is not None else None,
        connections=connections,
        shared=tuple(shared),
        on_started=functools.partial(site.adopt, setup) if site is not None and setup is not None else None,
        idle_hold_ms=continuous_idle_hold_ms(config),
    )
