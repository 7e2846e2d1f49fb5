"""``assistantd transcribe PATH.wav``: cut a recording into utterances and print each one's transcript.

One JSON line per utterance: ``{"start": s, "end": s, "text": ..., "recognizer": name}``; a failed utterance
has ``"text": null`` and an ``"error"``, and the command goes on with the next one (exit 1 at the end).
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Protocol

from assistantd.audio.frames import BYTES_PER_SECOND, SAMPLE_RATE, frame_bytes
from assistantd.audio.wavfile import read_wav_pcm16k
from assistantd.config import EndpointConfig, load_config
from assistantd.config.volcengine import ws_url_problem
from assistantd.endpoint.offline import segment_pcm
from assistantd.errors import ConfigError
from assistantd.recognizer.base import RecognitionFailed, Recognizer
from assistantd.recognizer.registry import recognizer_for
from assistantd.urls import public_url

log = logging.getLogger(__name__)


class _Span(Protocol):
    @property
    def start(self) -> float: ...
    @property
    def end(self) -> float: ...


Segmenter = Callable[[bytes, EndpointConfig], Sequence[_Span]]
"""Cuts a recording into utterances: ``segment_pcm`` (what the daemon would upload) unless injected."""


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
    if url is not None and (problem := ws_url_problem(url)) is not None:
        # Refused before the recording is read and segmented, as a bad config URL is by check-config.
        raise ConfigError("--url", "", problem, repr(public_url(url)))
    cfg = load_config(config_path)
    pcm = read_wav_pcm16k(path)
    spans = (segmenter or segment_pcm)(pcm, cfg.endpoint)
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
