"""Self-healing: open failures, busy and missing devices, streams that go quiet or stop.

The injected factory wraps the real pyaudio (reading ALSA's file plugin): PortAudio, the stream and the
capture's reader thread are real; the wrapper only makes chosen opens fail the way ALSA reports them, or
makes a stream's reads stop delivering. Time is the one thing replaced: the backoff sleeps are recorded,
not waited.
"""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pyaudio
import pytest

from assistantd.audio.capture_stream import CaptureState
from assistantd.audio.microphone import MicrophoneSource
from assistantd.config.audio import AudioConfig
from tests.audio.mic import native_input, take
from tests.audio.signals import align, pcm

Read = Callable[..., bytes]
Step = BaseException | Callable[[Any], Read] | None
"""What one open does: raise this error, replace the stream's ``read`` (given the stream), or open
normally."""


class ScriptedPyAudio:
    """A factory of real PyAudio instances whose ``open`` follows a script, then behaves normally."""

    def __init__(
        self, opens: list[Step], inits: list[BaseException] | None = None, gate: threading.Event | None = None
    ) -> None:
        self.opens = list(opens)
        self.inits = list(inits or [])
        self.gate = gate
        """When set, ``open`` waits for it (a slow ALSA open) after raising ``opening``."""
        self.opening = threading.Event()
        self.created = 0
        self.terminated = 0
        self.released = threading.Event()
        """Set whenever a PortAudio instance is terminated."""

    def __call__(self) -> Any:
        if self.inits:
            raise self.inits.pop(0)
        self.created += 1
        return _Wrapped(pyaudio.PyAudio(), self)


class _Wrapped:
    def __init__(self, real: Any, script: ScriptedPyAudio) -> None:
        self._real = real
        self._script = script

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def open(self, *args: Any, **kwargs: Any) -> Any:
        step = self._script.opens.pop(0) if self._script.opens else None
        if self._script.gate is not None:
            self._script.opening.set()
            self._script.gate.wait(10)
        if isinstance(step, BaseException):
            raise step
        stream = self._real.open(*args, **kwargs)
        return stream if step is None else _ScriptedStream(stream, step)

    def terminate(self) -> None:
        self._real.terminate()
        self._script.terminated += 1
        self._script.released.set()


class _ScriptedStream:
    """A real stream whose ``read`` is the script's; ``stop_stream`` also ends a scripted wait."""

    def __init__(self, real: Any, step: Callable[[Any], Read]) -> None:
        self._real = real
        self.stopped = threading.Event()
        self.read = step(self)

    def real_read(self, *args: Any, **kwargs: Any) -> bytes:
        data: bytes = self._real.read(*args, **kwargs)
        return data

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def stop_stream(self) -> None:
        self.stopped.set()
        self._real.stop_stream()


def goes_quiet_after(reads: int, *, fail: bool) -> Callable[[Any], Read]:
    """After ``reads`` reads the device delivers nothing: the next read waits until the stream is
    stopped (fail=False, as a wedged USB device does), or raises the error PortAudio raises when a device
    vanishes (fail=True)."""

    def wrap(stream: Any) -> Read:
        count = 0

        def quiet(*args: Any, **kwargs: Any) -> bytes:
            nonlocal count
            count += 1
            if count <= reads:
                return stream.real_read(*args, **kwargs)
            if fail:
                raise OSError(-9999, "Unanticipated host error")
            stream.stopped.wait(30)
            raise OSError(-9983, "Stream is stopped")

        return quiet

    return wrap


class Recorder:
    """Stands in for asyncio.sleep: records each backoff delay and the state the source was in."""

    def __init__(self) -> None:
        self.source: MicrophoneSource | None = None
        self.delays: list[float] = []
        self.states: list[CaptureState] = []
        self.retrying: list[bool] = []

    async def __call__(self, seconds: float) -> None:
        assert self.source is not None
        self.delays.append(seconds)
        self.states.append(self.source.state)
        self.retrying.append(self.source.retrying(time.monotonic()))


@pytest.fixture
def speech_device(speech, tmp_path: Path, alsa_file_device) -> None:
    infile = tmp_path / "in.raw"
    infile.write_bytes(native_input(speech, tmp_path))
    alsa_file_device(infile)


def make_source(cfg: AudioConfig, script: ScriptedPyAudio) -> tuple[MicrophoneSource, Recorder]:
    sleep = Recorder()
    source = MicrophoneSource(cfg, pyaudio_factory=script, sleep=sleep, rand=lambda: 0.5)
    sleep.source = source
    return source, sleep


BASE = {"device": "default", "sample_rate_hz": 48000, "channels": 2, "channel": 1, "queue_frames": 10000}


async def test_open_failures_back_off_and_capture_resumes(
    speech, speech_device, caplog: pytest.LogCaptureFixture
) -> None:
    busy = OSError(-9985, "Device unavailable")
    script = ScriptedPyAudio(
        opens=[busy, busy, OSError(-9996, "Invalid input device"), RuntimeError("driver exploded")],
        inits=[OSError(-9999, "Unanticipated host error")],
    )
    cfg = AudioConfig(**BASE, retry_initial_s=0.5, retry_max_s=1.5)
    source, sleep = make_source(cfg, script)
    caplog.set_level(logging.DEBUG, logger="assistantd.audio")
    frames = await take(source, math.ceil(len(speech.samples) / 480))

    assert sleep.delays == [0.5, 1.0, 1.5, 1.5, 1.5]
    assert sleep.states == [
        CaptureState.MISSING,
        CaptureState.BUSY,
        CaptureState.BUSY,
        CaptureState.MISSING,
        CaptureState.FAILED,
    ]
    assert source.open_failures == 5
    assert source.restarts == 0
    # While waiting to reopen, the source counts as alive for the watchdog; once open, frames speak for it.
    assert sleep.retrying == [True] * 5
    assert not source.retrying(time.monotonic())
    assert script.terminated == script.created  # every PortAudio made was released, failed or not
    # One warning per distinct problem; the repeated "busy" is logged at debug level only.
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 4, warnings
    assert warnings[1] == (
        "audio busy: cannot open 0 'default': [Errno -9985] Device unavailable; retrying in 1.0 s"
    )
    assert any(r.getMessage() == "audio: capture resumed" for r in caplog.records)
    # The audio that finally arrives is the whole utterance from the start of the clock.
    assert frames[0].t == 0.0
    lag, corr = align(pcm(frames)[: len(speech.samples)], speech.samples)
    assert (abs(lag), corr > 0.98) == (0, True)


STALL_S = 2.0
"""A working stream never goes this long without a frame, even with its reader thread starved on a
loaded machine: only the scripted silence is taken for a stall (the wait is real time: PortAudio's)."""


@pytest.mark.parametrize(
    ("fail", "state", "why"),
    [
        (False, CaptureState.STALLED, "0 'default': no audio for 2 s"),
        (
            True,
            CaptureState.FAILED,
            "0 'default': capture read failed: OSError(-9999, 'Unanticipated host error')",
        ),
    ],
)
async def test_a_stream_that_stops_delivering_is_reopened(
    speech_device, fail: bool, state: CaptureState, why: str
) -> None:
    script = ScriptedPyAudio(opens=[goes_quiet_after(5, fail=fail)])
    source, sleep = make_source(AudioConfig(**BASE, stall_timeout_s=STALL_S), script)
    frames = await take(source, 30)

    assert sleep.states == [state]
    assert sleep.delays == [0.5]
    assert source.restarts == 1
    assert source.last_error == why
    assert script.created == script.terminated == 2
    # The audio clock carries on across the reopening instead of starting again at zero.
    ticks = [round(f.t / 0.03) for f in frames]
    assert ticks == sorted(set(ticks))
    assert ticks[:4] == [0, 1, 2, 3]


async def test_backoff_restarts_after_the_device_worked_again(speech_device) -> None:
    # quiet -> reopen fails busy -> works -> quiet again: the second outage starts at retry_initial_s.
    busy = OSError(-9985, "Device unavailable")
    script = ScriptedPyAudio(opens=[goes_quiet_after(5, fail=False), busy, goes_quiet_after(5, fail=False)])
    source, sleep = make_source(AudioConfig(**BASE, stall_timeout_s=STALL_S), script)
    await take(source, 15)
    assert sleep.delays == [0.5, 1.0, 0.5]
    assert sleep.states == [CaptureState.STALLED, CaptureState.BUSY, CaptureState.STALLED]
    assert source.restarts == 2
    assert source.status() == "audio stopped (0 'default'): 15 frames, 0 dropped, 2 restarts"


def breaks_after(reads: int) -> Callable[[Any], Read]:
    """After ``reads`` reads PortAudio hands over something the converter cannot take."""

    def wrap(stream: Any) -> Read:
        count = 0

        def broken(*args: Any, **kwargs: Any) -> bytes:
            nonlocal count
            count += 1
            data = stream.real_read(*args, **kwargs)
            return data if count <= reads else 12345  # type: ignore[no-any-return]

        return broken

    return wrap


async def test_an_error_in_the_reader_reopens_the_stream(speech_device) -> None:
    script = ScriptedPyAudio(opens=[breaks_after(3)])
    source, sleep = make_source(AudioConfig(**BASE), script)
    frames = await take(source, 20)
    assert sleep.states == [CaptureState.FAILED]
    assert (source.last_error or "").startswith("0 'default': capture failed: TypeError(")
    assert source.restarts == 1
    assert len(frames) == 20


async def test_cancelled_while_opening_the_late_stream_is_closed(speech_device) -> None:
    script = ScriptedPyAudio(opens=[], gate=threading.Event())
    source, _ = make_source(AudioConfig(**BASE), script)
    task = asyncio.create_task(take(source, 5))
    assert await asyncio.to_thread(script.opening.wait, 10)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert source.state is CaptureState.STOPPED
    assert script.gate is not None
    script.gate.set()  # the open finishes after nobody wants it any more
    assert await asyncio.to_thread(script.released.wait, 10)
    assert script.created == script.terminated == 1


def overflows_on(reads: set[int]) -> Callable[[Any], Read]:
    """The reads numbered in ``reads`` (from 1) report an input overflow, as PortAudio does when the device
    overran; the audio of those reads is gone, as pyaudio throws it away with the error."""

    def wrap(stream: Any) -> Read:
        count = 0

        def overflowing(*args: Any, **kwargs: Any) -> bytes:
            nonlocal count
            count += 1
            data = stream.real_read(*args, **kwargs)
            if count in reads:
                raise OSError(-9981, "Input overflowed")
            return data

        return overflowing

    return wrap


async def test_an_input_overflow_is_counted_and_capture_goes_on(speech_device) -> None:
    script = ScriptedPyAudio(opens=[overflows_on({3, 4, 9})])
    source, sleep = make_source(AudioConfig(**BASE), script)
    frames = await take(source, 20)
    assert source.input_overflows == 3
    assert source.restarts == 0 and sleep.delays == []  # not a failure: the same stream goes on
    assert len(frames) == 20
    assert source.state_at(0.0).input_overflows == 3  # what the daemon's metric reads
