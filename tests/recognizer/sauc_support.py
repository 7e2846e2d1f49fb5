"""Shared helpers for the sauc tests: real synthesized speech (flite) and configs pointing at the fake."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np

from assistantd.config import Config
from assistantd.config.recognizer import RecognizerConfig
from bench.synth import synthesize

PHRASE = "turn on the kitchen light"
APP_KEY, ACCESS_KEY, API_KEY = "test-app-key", "test-access-key", "test-api-key"


def synth_speech(cache: Path, text: str = PHRASE) -> bytes:
    """16 kHz mono s16le speech from flite's kal16 voice, mixed with low noise (seeded); cached on disk."""
    samples = synthesize(text, "flite:kal16", cache).astype(np.float32)
    noise = np.random.default_rng(7).normal(0, 200, len(samples)).astype(np.float32)
    pcm: bytes = np.clip(samples + noise, -32768, 32767).astype("<i2").tobytes()
    return pcm


async def live(pcm: bytes, frame_ms: int = 30, pace_s: float = 0.0) -> AsyncIterator[bytes]:
    """Yield ``pcm`` in capture-sized frames, as the endpointer would hand them over."""
    step = 16000 * frame_ms // 1000 * 2
    for i in range(0, len(pcm), step):
        yield pcm[i : i + step]
        await asyncio.sleep(pace_s)


def recognizer_config(
    transport: dict[str, object] | None = None,
    *,
    keys: tuple[str, str, str] = (APP_KEY, ACCESS_KEY, API_KEY),
    **volc: object,
) -> RecognizerConfig:
    env = dict(zip(("VOLC_APP", "VOLC_ACCESS", "ZYUN_KEY"), keys, strict=True))
    data = {
        "default": "volcengine",
        "fallback": None,
        "transport": transport or {},
        "volcengine": {"app_key": "${VOLC_APP}", "access_key": "${VOLC_ACCESS}", **volc},
        "zyun": {"api_key": "${ZYUN_KEY}"},
    }
    return Config.from_dict({"recognizer": data}, env=env).recognizer
