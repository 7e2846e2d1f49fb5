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


async def _record(source: AudioSource, out: wave.Wave_write, seconds: float | None) -> tuple[int, int]:
    """Write frames until ``seconds`` of audio (or EOF); returns (frames, peak absolute sample)."""
    count = peak = 0
    frames = source.frames()
    try:
        async for frame in frames:
            out.writeframes(frame.pcm)
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


def run(
    out_path: Path, config_path: Path | None, input_path: str | None, seconds: float | None, pace: bool
) -> int:
    cfg = load_config(config_path)
    source = open_source(cfg.audio, input_path, pace=pace)
    if input_path is None and seconds is None:
        seconds = 5.0
    with wave.open(str(out_path), "wb") as out:
        out.setnchannels(CHANNELS)
        out.setsampwidth(SAMPLE_WIDTH)
        out.setframerate(SAMPLE_RATE)
        frames, peak = asyncio.run(_record(source, out, seconds))
    duration = frames * cfg.audio.frame_ms / 1000
    dbfs = 20 * math.log10(peak / 32768) if peak else -math.inf
    print(f"{out_path}: {duration:.2f} s in {frames} frames, peak {dbfs:.1f} dBFS")
    if isinstance(source, MicrophoneSource):
        print(source.status())
    return 0
