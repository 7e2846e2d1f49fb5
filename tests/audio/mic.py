"""Helpers for microphone tests: native-format input files and bounded frame collection."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

from assistantd.audio.frames import Frame
from assistantd.audio.microphone import MicrophoneSource
from tests.audio.signals import Speech, interleave, noise, resampled_raw


def native_input(speech: Speech, directory: Path, rate: int = 48000, speech_channel: int = 1) -> bytes:
    """Stereo s16le at ``rate``: the speech (resampled by sox) on one channel, quiet noise on the other."""
    voice = resampled_raw(speech.wav, rate)
    other = noise(len(voice), seed=11, sigma=60)
    return interleave(*([other, voice] if speech_channel == 1 else [voice, other]))


async def take(source: MicrophoneSource, n: int, timeout_s: float = 30.0) -> list[Frame]:
    """The first ``n`` frames; the source is closed afterwards (stream stopped, PortAudio terminated)."""
    out: list[Frame] = []
    async with asyncio.timeout(timeout_s), contextlib.aclosing(source.frames()) as frames:
        async for frame in frames:
            out.append(frame)
            if len(out) >= n:
                break
    return out
