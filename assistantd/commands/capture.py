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
from assistantd.errors import AudioError


async def _record(
    source: AudioSource, out: wave.Wave_write, seconds: float | None, out_path: Path
) -> tuple[int, int]:
    """Write frames until ``seconds`` of audio (or EOF); returns (frames, peak absolute sample)."""
    count = peak = 0
    frames = source.frames()
    try:
        async for frame in frames:
            try:
                out.writeframes(frame.pcm)
            except OSError as err:  # the disk filled up: a source's own OSError must not read as this
                raise _write_error(out_path, err) from None
            count += 1
            peak = max(peak, int(np.abs(np.frombuffer(frame.pcm, dtype="<i2").astype(np.int32)).max()))
            if seconds is not None and frame.t + source.frame_ms / 1000 >= seconds:
                break
    finally:
        # Sources are async generators; closing one releases its device now rather than at collection.
        aclose = getattr(frames, "aclose", None)
        if aclose is not None:
            await aclose()
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
            frames, peak = asyncio.run(_record(source, out, seconds, out_path))
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
