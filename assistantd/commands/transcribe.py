"""``assistantd transcribe PATH.wav``: cut a recording into utterances and print each one's transcript.

One JSON line per utterance: ``{"start": s, "end": s, "text": ..., "recognizer": name}``; a failed utterance
has ``"text": null`` and an ``"error"``, and the command goes on with the next one (exit 1 at the end).
"""

from __future__ import annotations

import asyncio
import importlib
import json
import logging
import wave
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np
import soxr

from assistantd.audio.frames import BYTES_PER_SECOND, SAMPLE_RATE, frame_bytes
from assistantd.config import EndpointConfig, load_config
from assistantd.errors import AudioError
from assistantd.recognizer.base import RecognitionFailed, Recognizer
from assistantd.recognizer.registry import recognizer_for

log = logging.getLogger(__name__)


class _Span(Protocol):
    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...


Segmenter = Callable[[bytes, EndpointConfig], Sequence[_Span]]


@dataclass(frozen=True)
class _WholeFile:
    start: float
    end: float


def _whole_file(pcm: bytes, _config: EndpointConfig) -> list[_WholeFile]:
    """Until the offline endpointer lands: the whole recording is one utterance."""
    return [_WholeFile(0.0, len(pcm) / BYTES_PER_SECOND)]


def _default_segmenter() -> Segmenter:
    # Integrator: once assistantd.endpoint.offline exists, this whole function becomes
    # ``from assistantd.endpoint.offline import segment_pcm`` and SEGMENTER = segment_pcm.
    try:
        module = importlib.import_module("assistantd.endpoint.offline")
    except ImportError:
        return _whole_file
    segmenter: Segmenter = module.segment_pcm
    return segmenter


SEGMENTER: Segmenter = _default_segmenter()


def _read_wav(path: Path) -> bytes:
    """16 kHz mono s16le from a 16-bit PCM WAV (stdlib wave + soxr). The audio file source replaces this."""
    try:
        with wave.open(str(path), "rb") as w:
            if w.getsampwidth() != 2:
                raise AudioError(f"{path}: expected 16-bit PCM WAV, got {8 * w.getsampwidth()}-bit")
            rate, channels = w.getframerate(), w.getnchannels()
            raw = w.readframes(w.getnframes())
    except (OSError, EOFError, wave.Error) as err:
        raise AudioError(f"{path}: expected a readable PCM WAV file ({err})") from None
    samples = np.frombuffer(raw, dtype="<i2").reshape(-1, channels).mean(axis=1)
    if rate != SAMPLE_RATE:
        samples = soxr.resample(samples, rate, SAMPLE_RATE)
    pcm: bytes = np.clip(np.rint(samples), -32768, 32767).astype("<i2").tobytes()
    return pcm


async def _frames(pcm: bytes, frame_ms: int) -> AsyncIterator[bytes]:
    step = frame_bytes(frame_ms)
    for i in range(0, len(pcm), step):
        yield pcm[i : i + step]


async def _transcribe_all(recognizer: Recognizer, pcm: bytes, spans: Sequence[_Span], frame_ms: int) -> int:
    failures = 0
    for span in spans:
        a = int(span.start * SAMPLE_RATE) * 2
        b = int(span.end * SAMPLE_RATE) * 2
        line: dict[str, object] = {"start": round(span.start, 3), "end": round(span.end, 3)}
        try:
            transcript = await recognizer.transcribe(_frames(pcm[a:b], frame_ms))
        except RecognitionFailed as err:
            if err.fatal:
                raise
            failures += 1
            line.update(text=None, recognizer=recognizer.name, error=err.reason)
        else:
            line.update(text=transcript.text, recognizer=transcript.recognizer)
        print(json.dumps(line, ensure_ascii=False), flush=True)
    return 1 if failures else 0


def run(
    path: Path,
    recognizer: str | None,
    url: str | None,
    config_path: Path | None,
    segmenter: Segmenter | None = None,
) -> int:
    cfg = load_config(config_path)
    pcm = _read_wav(path)
    spans = (segmenter or SEGMENTER)(pcm, cfg.endpoint)
    name = recognizer or cfg.recognizer.default
    rec = recognizer_for(cfg, name, url_override=url)
    log.info(
        "%s: %d utterance(s), %.1f s of audio, recognizer %s",
        path,
        len(spans),
        len(pcm) / BYTES_PER_SECOND,
        name,
    )
    return asyncio.run(_transcribe_all(rec, pcm, spans, cfg.audio.frame_ms))
