"""The real capture path: pyaudio -> PortAudio -> ALSA, with ALSA's ``file`` PCM reading a raw file.

The file plugin reads the file bit-exactly and faster than real time, which makes an impatient but honest
microphone: 48 kHz stereo with speech on one channel.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import math
from pathlib import Path

import pytest

from assistantd.audio.capture_stream import CaptureState
from assistantd.audio.microphone import MicrophoneSource
from assistantd.audio.sources import open_source
from assistantd.config.audio import AudioConfig
from assistantd.errors import AudioError
from tests.audio.mic import native_input, take
from tests.audio.signals import align, pcm, rms
from tests.waiting import eventually

STEREO_48K = {"device": "default", "sample_rate_hz": 48000, "channels": 2, "queue_frames": 10000}


@pytest.mark.parametrize(
    ("channel", "hold"), [(1, 1), (0, 1), (1, 4)], ids=["speech-channel", "noise-channel", "held-4"]
)
async def test_capture_resamples_to_16k_and_keeps_the_chosen_channel(
    speech, tmp_path: Path, alsa_file_device, channel: int, hold: int
) -> None:
    """Frames held in the capture thread (the listener idle) arrive all the same, none lost or repeated."""
    infile = tmp_path / "in.raw"
    infile.write_bytes(native_input(speech, tmp_path, 48000, speech_channel=1))
    alsa_file_device(infile)
    source = MicrophoneSource(AudioConfig(**STEREO_48K, channel=channel))
    source.hold(hold)
    n = math.ceil(len(speech.samples) / 480)
    frames = await take(source, n)

    # Nothing dropped or repeated: the audio clock advances exactly one frame at a time.
    assert [f.t for f in frames] == [pytest.approx(i * 0.03) for i in range(n)]
    out = pcm(frames)[: len(speech.samples)]
    lag, corr = align(out, speech.samples)
    if channel == 1:
        assert abs(lag) <= 1  # same length and timing as the 16 kHz original, within a sample
        assert corr > 0.98
    else:
        assert corr < 0.2
        assert rms(out) < rms(speech.samples) / 20
    assert source.device is not None
    assert source.device.name == "default"
    assert source.frames_delivered == n
    assert source.state is CaptureState.STOPPED
    assert source.restarts == 0


class ManualClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def test_a_stalled_consumer_drops_the_newest_frames_counted_and_logged_once(
    speech, tmp_path: Path, alsa_file_device, caplog: pytest.LogCaptureFixture
) -> None:
    infile = tmp_path / "in.raw"
    infile.write_bytes(native_input(speech, tmp_path))
    alsa_file_device(infile)
    clock = ManualClock()
    cfg = AudioConfig(**{**STEREO_48K, "queue_frames": 4}, channel=1)
    source = MicrophoneSource(cfg, clock=clock)
    caplog.set_level(logging.WARNING, logger="assistantd.audio")
    frames = []
    async with asyncio.timeout(30), contextlib.aclosing(source.frames()) as it:
        frames.append(await anext(it))
        # The consumer stalls until the file "microphone" has produced past the hand-off (however long
        # the callback thread takes to get there on a busy machine).
        await eventually(lambda: source.frames_dropped > 0, "frames dropped at the hand-off")
        clock.now += 11.0  # the overflow report is due
        for _ in range(12):
            frames.append(await anext(it))

    assert source.frames_dropped > 0
    index = [round(f.t / 0.03) for f in frames]
    steps = [b - a for a, b in itertools.pairwise(index)]
    # The frames waiting when the consumer came back are contiguous, at most queue_frames of them;
    # then the drops show as a jump in the audio clock.
    first_jump = next(i for i, s in enumerate(steps) if s > 1)
    assert 1 <= first_jump <= cfg.queue_frames
    assert all(s >= 1 for s in steps)
    reports = [r.getMessage() for r in caplog.records if "dropped" in r.getMessage()]
    assert len(reports) == 1, reports
    assert "hand-off full at 4 frames" in reports[0]


async def test_a_device_missing_at_start_is_waited_for(speech, tmp_path: Path, alsa_file_device) -> None:
    infile = tmp_path / "plugged-in-later.raw"
    alsa_file_device(infile)  # no file yet: ALSA cannot open the PCM and PortAudio lists no input
    states: list[CaptureState] = []

    async def sleep(seconds: float) -> None:
        states.append(source.state)
        delays.append(seconds)
        if len(delays) == 2:
            infile.write_bytes(native_input(speech, tmp_path))

    delays: list[float] = []
    cfg = AudioConfig(sample_rate_hz=48000, channels=2, channel=1, queue_frames=10000)
    source = MicrophoneSource(cfg, sleep=sleep, rand=lambda: 0.5)
    frames = await take(source, math.ceil(len(speech.samples) / 480))

    assert delays == [0.5, 1.0]
    assert states == [CaptureState.MISSING, CaptureState.MISSING]
    assert source.open_failures == 2
    assert "no input device matches the default input" in (source.last_error or "")
    lag, corr = align(pcm(frames)[: len(speech.samples)], speech.samples)
    assert (abs(lag), corr > 0.98) == (0, True)


async def test_preflight_refuses_a_device_name_matching_nothing(tmp_path: Path, alsa_file_device) -> None:
    infile = tmp_path / "in.raw"
    infile.write_bytes(bytes(9600))
    alsa_file_device(infile)
    with pytest.raises(AudioError) as info:
        await MicrophoneSource(AudioConfig(device="ReSpeaker")).preflight()
    assert str(info.value) == (
        "audio.device 'ReSpeaker' matches no input device (present: 0 'default'); see `assistantd devices`"
    )
    with pytest.raises(
        AudioError, match=r"audio.channel 9 is not among the 8 channels opened on 0 'default'"
    ):
        await MicrophoneSource(AudioConfig(channel=9)).preflight()
    await MicrophoneSource(AudioConfig(device="DEFAU")).preflight()
    assert isinstance(open_source(AudioConfig(device="DEFAU"), None, pace=False), MicrophoneSource)


async def test_preflight_waits_when_no_input_exists_at_all(tmp_path: Path, alsa_file_device) -> None:
    alsa_file_device(tmp_path / "absent.raw")
    source = open_source(AudioConfig(device="ReSpeaker"), None, pace=False)
    assert isinstance(source, MicrophoneSource)
    await source.preflight()
    assert source.state is CaptureState.STARTING
