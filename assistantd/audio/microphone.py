"""The microphone source: pyaudio capture at the device's native format, converted to 16 kHz mono frames.

Threads: the stream, the thread that reads it and the bounded hand-off of frames to the loop are in
capture_stream.py.

While no utterance is in flight the listener lets the stream hold frames and wake the loop once for
several (``hold``; capture_stream.py says why).

Self-healing: ``frames()`` never raises for device trouble. A missing device, a busy one (ALSA EBUSY ->
paDeviceUnavailable), an unplugged one, or a stream that delivers nothing for ``audio.stall_timeout_s`` is
closed, logged in one line, and reopened after a backoff delay (``audio.retry_initial_s`` doubling to
``audio.retry_max_s``). Every attempt makes a new PyAudio, because PortAudio scans devices only when it
initialises: that is how a replugged USB microphone is found again. The audio clock (``Frame.t``)
continues across a reopening from the last sample captured; the outage is not counted in it.

Never stuck: listing devices, opening and closing run on owned threads with deadlines (``device_calls``,
owned_threads.py), never on the event loop and never in asyncio's shared executor. A call past its
deadline is abandoned; at most ``device_calls.ABANDONED_LIMIT`` may be stuck at once, and at that limit
the source stops reopening (state ``wedged``, one error line) until one returns, rather than pile up
threads. The watchdog is fed while the
reopen loop keeps to its schedule (``retrying``), not while it is wedged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator

from assistantd.audio.capture_stream import CaptureError, CaptureState, CaptureStream, classify
from assistantd.audio.convert import Framer, ToMono16k
from assistantd.audio.device_calls import DEVICE_CALLS
from assistantd.audio.devices import (
    PA_INT16,
    DeviceInfo,
    PortAudio,
    PortAudioFactory,
    channels_to_open,
    default_input_index,
    find_input_device,
    input_devices,
    pyaudio_factory,
    quiet_stderr,
    release_stderr,
)
from assistantd.audio.frames import AudioSource, Frame, SourceState
from assistantd.backoff import backoff
from assistantd.config.audio import AudioConfig
from assistantd.errors import AudioError
from assistantd.owned_threads import CallHungError, OwnedThreads, ThreadsExhaustedError

OPEN_TIMEOUT_S = 10.0
"""One attempt to open the device (PortAudio initialisation included) is abandoned after this long."""
PREFLIGHT_TIMEOUT_S = 5.0
"""The start-up device check is skipped (capture keeps trying on its own) when listing takes longer."""
SCHEDULE_SLACK_S = 5.0
"""How late the reopen loop may be on its own schedule before the watchdog stops counting it as alive."""

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]
DROP_LOG_INTERVAL_S = 10.0
"""Overflow is reported at most this often, with the count since the last report."""
CLOSE_TIMEOUT_S = 5.0
"""A dead device can hang Pa_StopStream/Pa_CloseStream; after this long the old stream is abandoned."""
STOP_CLOSE_S = 1.0
"""The same when the consumer stops (daemon shutdown, reload): shutdown has its own deadline to keep."""


_TROUBLE = frozenset(
    {CaptureState.MISSING, CaptureState.BUSY, CaptureState.FAILED, CaptureState.STALLED, CaptureState.WEDGED}
)
"""Capture states the status line reports as a problem."""


class MicrophoneSource:
    """Frames from a PortAudio input device; runs until cancelled, healing device trouble on its own.

    Read by a daemon for its status line: ``state`` (a CaptureState), ``device`` (the DeviceInfo in use or
    last used), ``frames_delivered``, ``frames_dropped`` (hand-off overflow), ``input_overflows`` (the
    device overran: PortAudio's error on a read), ``restarts`` (streams lost and reopened),
    ``open_failures`` and ``last_error``. Use ``contextlib.aclosing(source.frames())`` so the stream closes
    when the consumer stops.
    """

    def __init__(
        self,
        cfg: AudioConfig,
        *,
        pyaudio_factory: PortAudioFactory = pyaudio_factory,
        sleep: Sleep = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        clock: Callable[[], float] = time.monotonic,
        quiet: bool = True,
        device_calls: OwnedThreads = DEVICE_CALLS,
    ) -> None:
        self.cfg = cfg
        self.frame_ms = cfg.frame_ms
        self.live = True
        """Speech goes on whether or not the daemon keeps up: what it cannot take is dropped, and reported."""
        self._factory = pyaudio_factory
        self._sleep = sleep
        self._rand = rand
        self._clock = clock
        self._quiet = quiet
        self._calls = device_calls
        self.state = CaptureState.STARTING
        self.device: DeviceInfo | None = None
        self.frames_delivered = 0
        self.frames_dropped = 0
        self.input_overflows = 0
        self.restarts = 0
        self.open_failures = 0
        self.last_error: str | None = None
        self._due: float | None = None
        """When the reopen loop's current step (close, backoff sleep + open) must be over."""
        self._samples = 0
        self.hold_frames = 1
        """Frames the capture reader may collect before waking the loop (see ``hold``)."""
        self._dropped_reported = 0
        self._drop_report_at = clock()

    def hold(self, frames: int) -> None:
        """Let the capture reader collect up to ``frames`` frames before handing them to the loop (never
        more than the hand-off bound allows); 1 hands every frame over as it is captured. The listener asks
        for more while nothing needs the audio at once: fewer wake-ups, the same frames, a little later."""
        self.hold_frames = max(1, min(frames, self.cfg.queue_frames // 2))

    def status(self) -> str:
        """One short line for a STATUS / log line."""
        where = self.device.describe() if self.device else "no device"
        return (
            f"audio {self.state} ({where}): {self.frames_delivered} frames, "
            f"{self.frames_dropped} dropped, {self.restarts} restarts"
        )

    def _quieted(self) -> contextlib.AbstractContextManager[None]:
        return quiet_stderr() if self._quiet else contextlib.nullcontext()

    def _wanted(self) -> str:
        return "the default input" if self.cfg.device is None else f"audio.device {self.cfg.device!r}"

    # -- start-up check ---------------------------------------------------------------------------
    async def preflight(self) -> None:
        """Refuse a config that cannot match the devices present: AudioError, one line.

        Only when PortAudio lists at least one input: with none at all the microphone is simply not
        plugged in yet, and ``frames()`` waits for it. Listing runs on an owned thread: a wedged device
        (an ALSA open that never returns) costs this check, never the event loop.
        """
        try:
            found = await self._calls.call(
                self._list_devices, deadline_s=PREFLIGHT_TIMEOUT_S, what="device scan"
            )
        except CallHungError:
            release_stderr()
            log.warning(
                "audio: listing the input devices did not return in %g s; not checking audio.device",
                PREFLIGHT_TIMEOUT_S,
            )
            return
        except ThreadsExhaustedError as err:
            log.warning("audio: not checking audio.device: %s", err)
            return
        except asyncio.CancelledError:
            release_stderr()
            raise
        if found is None:
            return
        devices, chosen = found
        if not devices:
            return
        if chosen is None:
            present = ", ".join(d.describe() for d in devices)
            raise AudioError(
                f"{self._wanted()} matches no input device (present: {present}); see `assistantd devices`"
            )
        problem = self._channel_problem(chosen)
        if problem is not None:
            raise AudioError(problem)

    def _list_devices(self) -> tuple[list[DeviceInfo], DeviceInfo | None] | None:
        """Runs in a device thread: the inputs present and the one the config means (None: no PortAudio)."""
        try:
            with self._quieted():
                pa = self._factory()
        except OSError:
            return None
        try:
            devices = input_devices(pa)
            return devices, find_input_device(devices, self.cfg.device, default_input_index(pa))
        finally:
            pa.terminate()

    def _channel_problem(self, device: DeviceInfo) -> str | None:
        channels = channels_to_open(device, self.cfg.channels)
        if self.cfg.channel < channels:
            return None
        opened = f"the {channels} channels opened on {device.describe()}"
        return f"audio.channel {self.cfg.channel} is not among {opened}"

    # -- opening ----------------------------------------------------------------------------------
    def _open(self, loop: asyncio.AbstractEventLoop) -> CaptureStream:
        """Runs in a worker thread: PortAudio initialisation and ALSA opens can take a while."""
        try:
            with self._quieted():
                pa = self._factory()
        except OSError as err:
            raise CaptureError(CaptureState.MISSING, f"PortAudio cannot start: {err}") from None
        except Exception as err:  # whatever PortAudio throws, capture retries
            raise CaptureError(CaptureState.FAILED, f"PortAudio cannot start: {err!r}") from None
        try:
            return self._open_stream(pa, loop)
        except CaptureError:
            pa.terminate()
            raise
        except Exception as err:
            pa.terminate()
            raise CaptureError(CaptureState.FAILED, f"cannot open capture: {err!r}") from None
        except BaseException:
            pa.terminate()
            raise

    def _open_stream(self, pa: PortAudio, loop: asyncio.AbstractEventLoop) -> CaptureStream:
        device = find_input_device(input_devices(pa), self.cfg.device, default_input_index(pa))
        if device is None:
            raise CaptureError(CaptureState.MISSING, f"no input device matches {self._wanted()}")
        self.device = device
        problem = self._channel_problem(device)
        if problem is not None:
            raise CaptureError(CaptureState.FAILED, problem)
        channels = channels_to_open(device, self.cfg.channels)
        rate = self.cfg.sample_rate_hz or device.default_rate
        capture = CaptureStream(
            self,
            loop,
            ToMono16k(rate, channels, 2, channel=self.cfg.channel),
            Framer(self.cfg.frame_ms, self._samples),
            self.cfg.queue_frames,
        )
        frames_per_buffer = max(1, rate * self.cfg.frame_ms // 1000)
        try:
            with self._quieted():
                stream = pa.open(
                    format=PA_INT16,
                    channels=channels,
                    rate=rate,
                    input=True,
                    input_device_index=device.index,
                    frames_per_buffer=frames_per_buffer,
                )
        except OSError as err:
            raise CaptureError(classify(err), f"cannot open {device.describe()}: {err}") from None
        except ValueError as err:  # pyaudio's own argument checks
            raise CaptureError(CaptureState.FAILED, f"cannot open {device.describe()}: {err}") from None
        capture.pa = pa
        capture.name = device.describe()
        capture.start(stream, frames_per_buffer)
        log.info(
            "audio: capturing from %s at %d Hz, %d channel(s), keeping channel %d",
            device.describe(),
            rate,
            channels,
            self.cfg.channel,
        )
        return capture

    async def _open_in_thread(self, loop: asyncio.AbstractEventLoop) -> CaptureStream:
        try:
            return await self._calls.call(
                lambda: self._open(loop),
                deadline_s=OPEN_TIMEOUT_S,
                what="device open",
                late=CaptureStream.close,
            )
        except CallHungError:
            release_stderr()  # the hung open may hold fd 2 redirected: the log must not vanish with it
            message = f"opening the device did not return in {OPEN_TIMEOUT_S:g} s; abandoned it"
            raise CaptureError(CaptureState.FAILED, message) from None
        except ThreadsExhaustedError as err:  # another source's calls filled the cap meanwhile
            raise CaptureError(CaptureState.FAILED, str(err)) from None
        except asyncio.CancelledError:
            release_stderr()
            raise

    async def _close(self, capture: CaptureStream, deadline_s: float) -> None:
        self._samples = capture.framer.samples
        try:
            await self._calls.call(capture.close, deadline_s=deadline_s, what="stream close")
        except CallHungError:
            log.warning(
                "audio: closing %s did not return in %g s; abandoned it (%d device call(s) stuck)",
                capture.name,
                deadline_s,
                self._calls.abandoned,
            )
        except ThreadsExhaustedError as err:
            # Every thread the cap allows is stuck in PortAudio already: a close would only join them.
            log.warning("audio: left %s open: %s", capture.name, err)

    async def _wait_for_stuck_calls(self) -> None:
        """At the limit of abandoned calls: say so once and reopen only when one of them returns."""
        self.state = CaptureState.WEDGED
        self.last_error = (
            f"{self._calls.abandoned} device calls are stuck in PortAudio (limit {self._calls.limit}); "
            "not reopening until one returns"
        )
        log.error("audio wedged: %s; the watchdog is no longer fed, a restart frees them", self.last_error)
        await self._calls.freed()
        log.info("audio: a stuck device call returned; reopening")

    def _failed(self, failure: CaptureError, delay: float, repeat: bool) -> None:
        self.state = failure.state
        message = str(failure)
        level = logging.DEBUG if repeat and message == self.last_error else logging.WARNING
        log.log(level, "audio %s: %s; retrying in %.1f s", failure.state, message, delay)
        self.last_error = message

    def _report_drops(self) -> None:
        now = self._clock()
        if self.frames_dropped > self._dropped_reported and now - self._drop_report_at >= DROP_LOG_INTERVAL_S:
            log.warning(
                "audio: dropped %d frames in the last %.0f s: the consumer is slower than capture "
                "(hand-off full at %d frames)",
                self.frames_dropped - self._dropped_reported,
                now - self._drop_report_at,
                self.cfg.queue_frames,
            )
            self._dropped_reported = self.frames_dropped
            self._drop_report_at = now

    def retrying(self, now: float) -> bool:
        """True while the capture loop keeps to its schedule: opening, waiting for the next frame (until
        the stall timeout), closing a stalled stream, backing off, reopening.

        The daemon keeps pinging systemd's watchdog then, frames or not: restarting the service would
        not bring a microphone back, and the loop here will. Every step of the loop has a deadline; a
        loop more than SCHEDULE_SLACK_S past it is stuck (a consumer that stopped taking frames, too),
        and so is a wedged one: then the watchdog may fire.
        """
        waiting = self.state in (
            CaptureState.STARTING,
            CaptureState.OPEN,
            CaptureState.MISSING,
            CaptureState.BUSY,
            CaptureState.FAILED,
            CaptureState.STALLED,
        )
        if self.state is CaptureState.STARTING and self._due is None:
            return True  # built, and its first open is about to start
        return waiting and self._due is not None and now <= self._due + SCHEDULE_SLACK_S

    def state_at(self, now: float) -> SourceState:
        """The AudioSource account: a problem while the device is missing, busy, failing or wedged."""
        trouble = self.state in _TROUBLE
        return SourceState(
            problem=f"microphone {self.state}" if trouble else None,
            retrying=self.retrying(now),
            restarts=self.restarts,
            frames_dropped=self.frames_dropped,
            input_overflows=self.input_overflows,
        )

    def resume_after(self, previous: AudioSource, at_s: float) -> None:
        """A microphone has nothing to resume: speech goes on in real time."""

    # -- the iterator -----------------------------------------------------------------------------
    async def frames(self) -> AsyncIterator[Frame]:
        loop = asyncio.get_running_loop()
        delays: Iterator[float] | None = None
        try:
            while True:
                if self._calls.full():
                    await self._wait_for_stuck_calls()
                capture: CaptureStream | None = None
                try:
                    self._due = self._clock() + OPEN_TIMEOUT_S
                    capture = await self._open_in_thread(loop)
                    if self.state is not CaptureState.STARTING and self.last_error is not None:
                        log.info("audio: capture resumed")
                    self.state = CaptureState.OPEN
                    self._due = self._clock() + self.cfg.stall_timeout_s
                    async for frame in capture.frames(self.cfg.stall_timeout_s):
                        delays = None  # the device works again: the next failure starts the backoff afresh
                        self._due = self._clock() + self.cfg.stall_timeout_s
                        self.frames_delivered += 1
                        self._report_drops()
                        yield frame
                except CaptureError as failure:
                    if capture is not None:
                        self.restarts += 1
                    else:
                        self.open_failures += 1
                    repeat = delays is not None
                    if delays is None:
                        delays = backoff(self.cfg.retry_initial_s, self.cfg.retry_max_s, rand=self._rand)
                    delay = next(delays)
                    self._failed(failure, delay, repeat)
                    # The schedule the watchdog holds the loop to: close, back off, open again.
                    close_s = CLOSE_TIMEOUT_S if capture is not None else 0.0
                    self._due = self._clock() + close_s + delay + OPEN_TIMEOUT_S
                    if capture is not None:
                        await self._close(capture, CLOSE_TIMEOUT_S)
                        capture = None
                    await self._sleep(delay)
                finally:
                    if capture is not None:  # cancelled or closed by the consumer
                        await self._close(capture, STOP_CLOSE_S)
        finally:
            self.state = CaptureState.STOPPED
