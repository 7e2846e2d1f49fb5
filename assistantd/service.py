"""The daemon: one TaskGroup owns every long-lived task; signals, reload and ordered shutdown live here.

Life of the service::

    load config -> build app -> READY=1 -> [listen | watchdog | status | metrics] ... SIGTERM
    SIGTERM/SIGINT -> STOPPING=1, stop capture, let the utterance in flight finish within the grace period,
                      close handlers and sessions, cancel stragglers, exit 0. A second SIGINT forces exit.
                      One deadline covers all of it: the grace period (shutdown_grace_s, at most 4.5 s)
                      is shared by utterances and handlers, and STOP_MARGIN_S after it the process exits
                      with EXIT_STOP_DEADLINE whatever is still running (TimeoutStopSec=10 in the unit;
                      ``assistantd run`` arms that exit, see exit_deadline.py).
    SIGHUP         -> RELOADING=1, load + build the new app; on any error keep the old one and log why.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Protocol

from assistantd import owned_executor, owned_threads
from assistantd.config import Config, load_config
from assistantd.config.service import ServiceConfig
from assistantd.errors import AssistantError
from assistantd.memory import release_replaced
from assistantd.metrics import Metrics
from assistantd.metrics_http import serve_metrics
from assistantd.pipeline import UtteranceLike
from assistantd.report import Outcome, UtteranceReport
from assistantd.systemd import Notifier, ProgressWatchdog
from assistantd.tasks import cancel_and_reap, cancel_and_wait

log = logging.getLogger(__name__)

EXIT_FORCED = 130
_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}


def set_log_level(name: str) -> None:
    """Apply ``service.log_level`` to the root logger and its handlers.

    The handlers too: a logger pinned to its own level (websockets stays at INFO so that frames and headers
    never reach a log) hands its records straight to the root's handlers, past the root's level.
    """
    level = _LEVELS[name]
    root = logging.getLogger()
    root.setLevel(level)
    for handler in root.handlers:
        handler.setLevel(level)


EXIT_STOP_DEADLINE = 3
"""The stop deadline passed with something still stuck (logged); the process exited anyway."""
HANDOVER_S = 60.0
"""At a reload over a file or a pipe, how long the old listener may take to reach a pause and hand over
the utterances it found, and the old app to finish them; past it the rest is cancelled (and reported)."""
STOP_MARGIN_S = 3.0
"""Beyond the grace period, for closing capture (a hung close is abandoned after 1 s), the decoder
threads (abandoned after at most 1 s past the grace), recognizer sessions and interpreter teardown."""


class App(Protocol):
    """Everything built from one config: capture + endpointer, recognizer, matcher, handlers."""

    def utterances(self) -> AsyncIterator[UtteranceLike]:
        """Live utterances from the configured source; ends only for a file input at EOF."""
        ...

    async def handle(self, utterance: UtteranceLike) -> UtteranceReport: ...

    def state(self) -> str:
        """One word or two for STATUS=: listening / hearing / recognizing / microphone missing / ..."""
        ...

    def capture_waiting(self, now: float) -> bool:
        """True while the microphone's capture loop keeps to its schedule (no frames, yet alive)."""
        ...

    def totals(self) -> dict[str, int]:
        """Counters its collaborators keep themselves (the capture source's restarts and drops), by
        metric name."""
        ...

    async def start(self) -> None:
        """Open what must be open before READY=1 (recognizer models, broker connections)."""

    async def aclose(self, grace_s: float) -> None:
        """Let running handlers finish within grace_s, then close connections."""

    def hurry(self) -> None:
        """Stopping: answer the utterances in flight as soon as possible (fall back now, not later)."""

    def continue_from(self, previous: App) -> None:
        """Replacing ``previous`` at a reload: carry on its utterance ids and audio clock."""

    def unheard(self, utterance: UtteranceLike, why: str, *, lost: bool = False) -> None:
        """Report an utterance that will not be recognized: dropped (``why``), or lost to an error."""

    def watch_state(self, changed: Callable[[], None]) -> None:
        """Call ``changed`` whenever ``state()`` may have changed (the service then refreshes STATUS=)."""

    def stop_at_pause(self) -> bool:
        """At a reload: over audio that waits for the daemon (a file, a pipe), ask the listener to end
        ``utterances()`` at the next pause and return True; a live source returns False (cancelled)."""

    def input_ended(self) -> bool:
        """The source ran out (a file or a pipe at EOF)."""


BuildApp = Callable[[Config, Metrics, ProgressWatchdog], App]


def watchdog_stall_s(config: Config) -> float:
    """How long the audio loop may make no progress before WATCHDOG=1 is withheld."""
    if config.service.watchdog_stall_s is not None:
        return config.service.watchdog_stall_s
    return max(5.0, config.audio.stall_timeout_s * 2)


STATUS_POLL_S = 2.0
"""STATUS= is brought up to date at least this often, besides at once when the app's state changes."""


class Service:
    def __init__(
        self,
        config_path: Path | None,
        build: BuildApp,
        *,
        load: Callable[[Path | None], Config] = load_config,
        notifier: Notifier | None = None,
        clock: Callable[[], float] = time.monotonic,
        max_in_flight: int = 2,
        follow_log_level: bool = True,
        arm_exit: Callable[[float], object] | None = None,
        on_ready: Callable[[], object] | None = None,
    ) -> None:
        """``follow_log_level=False`` keeps the logging as the command line set it (``-v``) instead of
        applying each accepted config's ``service.log_level``."""
        self.config_path = config_path
        self.build = build
        self.load = load
        self.notifier = notifier or Notifier()
        self.clock = clock
        self.metrics = Metrics()
        self.config: Config | None = None
        self.app: App | None = None
        self._stop = asyncio.Event()
        self._reload = asyncio.Event()
        self._sigints = 0
        self._in_flight: set[asyncio.Task[UtteranceReport]] = set()
        self._slots = asyncio.Semaphore(max_in_flight)
        self.watchdog = ProgressWatchdog(stall_s=5.0)
        self.input_finished = asyncio.Event()
        """The input (a file or a pipe) ended: a reload waiting for a pause has nothing left to hand over."""
        self._status_stale = asyncio.Event()
        """Set when the app's state changes or an utterance is counted: STATUS= is refreshed at once."""
        self._replaced: App | None = None
        """The app a reload is replacing, while its listener finishes at a pause."""
        self._failure: AssistantError | None = None
        """What ended listening for good, raised once the daemon has stopped in order."""
        self._follow_log_level = follow_log_level
        self.arm_exit = arm_exit
        self.on_ready = on_ready
        """Called once, right after the first READY=1."""
        self._deadline_armed = False
        """Called with the stop deadline (s) when shutdown starts; the CLI exits the process at it."""

    # -- signals ----------------------------------------------------------------------------------
    def request_stop(self) -> None:
        self._stop.set()
        # From the signal on, not from when shutdown gets going: a stop during start-up or during a
        # reload's build is bounded too.
        self._arm_stop_deadline()

    def _arm_stop_deadline(self) -> None:
        if self.arm_exit is not None and not self._deadline_armed:
            self._deadline_armed = True
            # Before any config was loaded: the default grace, from the one place it is written.
            service = self.config.service if self.config is not None else ServiceConfig()
            self.arm_exit(service.shutdown_grace_s + STOP_MARGIN_S)

    def request_reload(self) -> None:
        self._reload.set()

    def _on_sigint(self, main: asyncio.Task[int]) -> None:
        self._sigints += 1
        if self._sigints > 1:
            log.warning("second interrupt: forcing exit")
            main.cancel()
        else:
            self.request_stop()

    # -- life -------------------------------------------------------------------------------------
    async def run(self) -> int:
        """Run until stopped. Raises ConfigError (exit 2 in the CLI) when the first config is invalid."""
        main = asyncio.current_task()
        assert main is not None
        loop = asyncio.get_running_loop()
        # Library calls in the default executor (aiomqtt's connect, host name lookups) on owned threads.
        owned_executor.install(loop)
        # Handlers first: a SIGHUP or SIGTERM while models load must not kill the process outright.
        # A stop requested during start-up is honoured as soon as start-up is done.
        for sig, handler in (
            (signal.SIGTERM, self.request_stop),
            (signal.SIGINT, lambda: self._on_sigint(main)),
            (signal.SIGHUP, self.request_reload),
        ):
            loop.add_signal_handler(sig, handler)
        try:
            self.config = self.load(self.config_path)
            self._apply_log_level(self.config)
            self.watchdog = ProgressWatchdog(stall_s=watchdog_stall_s(self.config))
            self.app = self._build(self.config)
            await self.app.start()
            self._reload.clear()  # the config just loaded is the newest one
            return await self._supervise()
        except asyncio.CancelledError:
            if self._sigints > 1:
                return EXIT_FORCED
            raise
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
                loop.remove_signal_handler(sig)

    def _build(self, config: Config) -> App:
        """An app for ``config`` whose state changes refresh STATUS= (the first one and each reload's)."""
        app = self.build(config, self.metrics, self.watchdog)
        app.watch_state(self._status_stale.set)
        return app

    async def _supervise(self) -> int:
        assert self.config is not None and self.app is not None
        metrics_server = await self._serve_metrics(self.config.service.metrics_port)
        self.notifier.ready(self._status())
        if self.on_ready is not None:
            self.on_ready()
        log.info("assistantd ready (%s)", self.config.source)
        async with asyncio.TaskGroup() as tg:
            listen = tg.create_task(self._listen(self.app), name="listen")
            side = [
                tg.create_task(self._watchdog_loop(), name="watchdog"),
                tg.create_task(self._status_loop(), name="status"),
            ]
            while True:
                stop = asyncio.ensure_future(self._stop.wait())
                reload = asyncio.ensure_future(self._reload.wait())
                await asyncio.wait({stop, reload, listen}, return_when=asyncio.FIRST_COMPLETED)
                stop.cancel()
                reload.cancel()
                if self._stop.is_set() or listen.done():
                    break
                self._reload.clear()
                listen = await self._do_reload(tg, listen)
            await self._shutdown(listen, side)
        if metrics_server is not None:
            metrics_server.close()
            await metrics_server.wait_closed()
        log.info("assistantd stopped")
        if self._failure is not None:
            raise self._failure
        return 0

    async def _serve_metrics(self, port: int | None) -> asyncio.Server | None:
        """The optional metrics endpoint; a port in use costs the metrics, never the daemon."""
        if port is None:
            return None
        try:
            return await serve_metrics(self.metrics.prometheus, port)
        except OSError as err:
            log.error("metrics endpoint disabled: cannot listen on 127.0.0.1:%d (%s)", port, err.strerror)
            return None

    async def _listen(self, app: App) -> None:
        try:
            async for utterance in app.utterances():
                try:
                    await self._slots.acquire()
                except asyncio.CancelledError:
                    # Taken from the listener but stopped before a recognition slot was free: still told.
                    app.unheard(utterance, "listening stopped before it was recognized")
                    raise
                task = asyncio.create_task(self._handle(app, utterance), name=f"utterance-{utterance.id}")
                self._in_flight.add(task)
                task.add_done_callback(self._in_flight.discard)
        except AssistantError as err:
            # The input failed for good (stdin that never gave audio): stop in order, then say it in one
            # line (the CLI exits 2). Raised into the TaskGroup it became a traceback.
            self._failure = err
            self._stop.set()
            return
        if app is self._replaced and not app.input_ended():
            return  # stopped at a pause for a reload: the new app listens on
        self.input_finished.set()
        if self._in_flight:
            await asyncio.wait(set(self._in_flight))

    async def _handle(self, app: App, utterance: UtteranceLike) -> UtteranceReport:
        try:
            return await app.handle(utterance)
        except Exception:
            # A bug in one utterance's path must not end the daemon: log it, count it, keep listening.
            log.exception("utterance %s failed", utterance.id)
            app.unheard(utterance, "internal error (see the log)", lost=True)
            return UtteranceReport(
                id=str(utterance.id), start_s=utterance.start, error="internal error", outcome=Outcome.LOST
            )
        finally:
            self._slots.release()
            self._status_stale.set()  # recognition is over: the app no longer counts it as recognizing

    async def _do_reload(self, tg: asyncio.TaskGroup, listen: asyncio.Task[None]) -> asyncio.Task[None]:
        self.notifier.reloading()
        candidate: list[App] = []
        """The only reference to the new app until it is adopted: one not adopted is freed at once."""
        adopted = await self._reload_into(tg, listen, candidate)
        if candidate:  # rejected, or the input ended meanwhile: the running app stays
            with contextlib.suppress(Exception):
                await candidate.pop().aclose(0.0)
            release_replaced()
        self.notifier.ready(self._status())
        return adopted or listen

    async def _reload_into(
        self, tg: asyncio.TaskGroup, listen: asyncio.Task[None], candidate: list[App]
    ) -> asyncio.Task[None] | None:
        """Build the new app into ``candidate`` and, unless it fails or the input ends first, replace the
        running one with it (taken out of ``candidate``); returns its listening task, or None."""
        assert self.app is not None
        try:
            config = self.load(self.config_path)
            candidate.append(self._build(config))
            await candidate[0].start()
        except Exception as err:
            # Whatever went wrong with the new config, the running one stays: a reload must never kill
            # a daemon that works.
            if isinstance(err, AssistantError):
                # The message, not the error: a record kept by a handler (a buffer, a test's capture)
                # would keep the error's traceback, and through its frames the rejected app, alive.
                log.error("reload rejected, keeping the running configuration: %s", str(err))
            else:
                log.exception("reload failed unexpectedly, keeping the running configuration")
            return None
        old = self.app
        if old.stop_at_pause():
            # A file or a pipe waits for us: the old listener reads on to the next pause and hands over
            # what it found, so no utterance is cut in two or dropped, and no audio is skipped.
            self._replaced = old
            stopping = asyncio.ensure_future(self._stop.wait())
            await asyncio.wait({listen, stopping}, timeout=HANDOVER_S, return_when=asyncio.FIRST_COMPLETED)
            await cancel_and_reap(stopping)
            self._replaced = None
            if self.input_finished.is_set():  # the input ended meanwhile: nothing is left to listen to
                return None
        # Stop capturing with the old app; its utterances in flight finish on the old collaborators.
        await cancel_and_wait(listen)
        app = candidate.pop()
        app.continue_from(old)
        self.config, self.app = config, app
        grace = config.service.shutdown_grace_s
        tg.create_task(self._close_when_idle(old, set(self._in_flight), grace), name="close-old-app")
        self.watchdog.stall_s = watchdog_stall_s(config)
        self._apply_log_level(config)
        log.info("reloaded %s", config.source)
        return tg.create_task(self._listen(app), name="listen")

    def _apply_log_level(self, config: Config) -> None:
        if self._follow_log_level:
            set_log_level(config.service.log_level)

    async def _close_when_idle(
        self, app: App, utterances: set[asyncio.Task[UtteranceReport]], grace_s: float
    ) -> None:
        """Close a replaced app once its utterances are done (each is bounded by its recognizer's and
        handlers' deadlines). One deadline, HANDOVER_S (or the grace, if longer), bounds the whole close:
        the utterances, then the handlers and sessions, which get the grace at most. A stop meanwhile
        cancels the utterances past its grace."""
        loop = asyncio.get_running_loop()
        ends = loop.time() + max(grace_s, HANDOVER_S)
        if utterances:
            await asyncio.wait(utterances, timeout=ends - loop.time())
        await app.aclose(min(grace_s, max(0.0, ends - loop.time())))
        del app
        release_replaced()

    async def _shutdown(self, listen: asyncio.Task[None], side: list[asyncio.Task[None]]) -> None:
        assert self.config is not None and self.app is not None
        grace = self.config.service.shutdown_grace_s
        self._arm_stop_deadline()
        ends = asyncio.get_running_loop().time() + grace
        self.notifier.stopping()
        log.info("stopping: %d utterance(s) in flight, %.1f s grace", len(self._in_flight), grace)
        await cancel_and_wait(listen)  # stops capture; the utterance in flight keeps its own task
        self.app.hurry()
        if self._in_flight:
            _, pending = await asyncio.wait(set(self._in_flight), timeout=grace)
            for task in pending:
                task.cancel()
            if pending:
                log.warning("cancelled %d utterance(s) still running after %.1f s", len(pending), grace)
                await asyncio.wait(pending)
        await self.app.aclose(max(0.0, ends - asyncio.get_running_loop().time()))
        for periodic in side:
            periodic.cancel()

    # -- periodic tasks ---------------------------------------------------------------------------
    def _status(self) -> str:
        self.metrics.set_total("abandoned_calls", owned_threads.abandoned_total())
        if self.app is not None:
            for name, value in self.app.totals().items():
                self.metrics.set_total(name, value)
        state = self.app.state() if self.app is not None else "starting"
        return f"{state}; {self.metrics.summary()}"

    async def _watchdog_loop(self) -> None:
        interval = self.notifier.watchdog_interval_s
        if interval is None:
            return
        withheld = False
        self.watchdog.begin(self.clock())
        while True:
            now = self.clock()
            waiting = self.app is not None and self.app.capture_waiting(now)
            if self.watchdog.healthy(now) or waiting:
                self.notifier.watchdog()
                withheld = False
            elif not withheld and self.watchdog.overdue(now):
                withheld = True
                log.warning("audio loop made no progress: withholding the watchdog ping")
            await asyncio.sleep(interval)

    async def _status_loop(self) -> None:
        assert self.config is not None
        last_log = self.clock()
        while True:
            # State changes refresh it at once (App.watch_state); the poll catches the rest (a wedged
            # microphone, drops). Polled every 0.5 s, the wake-ups alone cost the idle daemon about 2.5 CPU-s
            # per hour here, a fifth of its whole listening loop (issue 13).
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(STATUS_POLL_S):
                    await self._status_stale.wait()
            self._status_stale.clear()
            self.notifier.status(self._status())
            if self.clock() - last_log >= self.config.service.status_interval_s:
                last_log = self.clock()
                log.info("status: %s", self._status())
