"""``assistantd capture``: record frames from the configured source into a 16 kHz mono WAV file.

The quickest check that a microphone, its channel and the resampling work on a Pi (listen to the file),
and with ``--input`` a converter of any WAV or raw stdin into the house format.
"""

from __future__ import annotations

import asyncio
import math
import wave
from pathlib import Path

import numpy as np

from assistantd.audio.frames import CHANNELS, SAMPLE_RATE, SAMPLE_WIDTH, AudioSource
from assistantd.audio.microphone import MicrophoneSource
from assistantd.audio.sources import open_source
from assistantd.config import load_config
from assistantd.config.audio import AudioConfig
from assistantd.errors import AudioError
from assistantd.tasks import aclose_iterator

FIRST_AUDIO_MIN_S = 5.0
"""The least time the microphone gets to deliver its first frame before ``capture`` gives up."""


def first_audio_deadline_s(cfg: AudioConfig) -> float:
    """How long an interactive capture waits for the first frame: the daemon would wait for a microphone
    forever, but a person at a terminal wants to hear that none is there. Two stall timeouts let the
    source's own healing (close, back off, reopen) have a go first."""
    return max(FIRST_AUDIO_MIN_S, 2 * cfg.stall_timeout_s)


async def _record(
    source: AudioSource,
    out: wave.Wave_write,
    seconds: float | None,
    out_path: Path,
    first_audio_s: float | None = None,
) -> tuple[int, int]:
    """Write frames until ``seconds`` of audio (or EOF); returns (frames, peak absolute sample).

    With ``first_audio_s`` the first frame must arrive within that many seconds, else AudioError.
    """
    count = peak = 0
    frames = source.frames()
    try:
        async with asyncio.timeout(first_audio_s) as first_audio:
            async for frame in frames:
                if count == 0:
                    first_audio.reschedule(None)
                try:
                    out.writeframes(frame.pcm)
                except OSError as err:  # the disk filled up: a source's own OSError must not read as this
                    raise _write_error(out_path, err) from None
                count += 1
                peak = max(peak, int(np.abs(np.frombuffer(frame.pcm, dtype="<i2").astype(np.int32)).max()))
                if seconds is not None and frame.t + source.frame_ms / 1000 >= seconds:
                    break
    except TimeoutError:
        if not first_audio.expired():
            raise
        why = getattr(source, "last_error", None)
        raise AudioError(
            f"no audio arrived from the input device in {first_audio_s:g} s"
            + (f" ({why})" if why else "")
            + "; see `assistantd devices`"
        ) from None
    finally:
        # Sources are async generators; closing one releases its device now rather than at collection.
        await aclose_iterator(frames)
    return count, peak


def _write_error(out_path: Path, err: OSError) -> AudioError:
    return AudioError(f"{out_path}: cannot write: {err.strerror or err}")


def run(
    out_path: Path, config_path: Path | None, input_path: str | None, seconds: float | None, pace: bool
) -> int:
    if seconds is not None and not seconds > 0:  # also refuses nan
        raise AudioError(f"--seconds: expected a positive number of seconds, got {seconds:g}")
    cfg = load_config(config_path)
    source = open_source(cfg.audio, input_path, pace=pace)
    if isinstance(source, MicrophoneSource):
        asyncio.run(source.preflight())
    if input_path is None and seconds is None:
        seconds = 5.0
    # The output is opened before any audio is taken, so an unwritable path fails at once. It is opened
    # here rather than by wave.open(str): when wave opens the file itself and that fails, its half-built
    # Wave_write raises a second time from __del__.
    try:
        f = out_path.open("wb")
    except OSError as err:
        raise _write_error(out_path, err) from None
    with f:
        out = wave.open(f, "wb")  # noqa: SIM115 - closed below, where a full disk is reported
        out.setnchannels(CHANNELS)
        out.setsampwidth(SAMPLE_WIDTH)
        out.setframerate(SAMPLE_RATE)
        try:
            first_audio_s = (
                first_audio_deadline_s(cfg.audio) if isinstance(source, MicrophoneSource) else None
            )
            frames, peak = asyncio.run(_record(source, out, seconds, out_path, first_audio_s))
        finally:
            try:
                out.close()  # patches the header's sizes and flushes: the disk may fill up here too
            except OSError as err:
                raise _write_error(out_path, err) from None
    duration = frames * cfg.audio.frame_ms / 1000
    dbfs = 20 * math.log10(peak / 32768) if peak else -math.inf
    print(f"{out_path}: {duration:.2f} s in {frames} frames, peak {dbfs:.1f} dBFS")
    if isinstance(source, MicrophoneSource):
        print(source.status())
    return 0
