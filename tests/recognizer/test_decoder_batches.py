"""Audio reaches the decoder thread in 100 ms batches, however small the pieces the endpointer yields."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from assistantd.config.local import LocalRecognizerConfig
from assistantd.recognizer.local import LocalRecognizer
from assistantd.recognizer.utterance import BATCH_BYTES

SAMPLE = Path(__file__).with_name("commands_en.yaml")
FRAME = 960  # 30 ms at 16 kHz, 16-bit: what the endpointer yields


async def frames(count: int, odd_tail: bool = False) -> AsyncIterator[bytes]:
    for i in range(count):
        yield bytes([i % 7]) * FRAME
    if odd_tail:
        yield b"\x01"  # half a sample: kept back, never split


async def test_thirty_ms_frames_cost_one_handoff_per_100_ms(tmp_path: Path) -> None:
    settings = LocalRecognizerConfig(cache_dir=str(tmp_path))
    rec = LocalRecognizer(settings, [SAMPLE])
    try:
        await rec.start()
        before = (rec.thread.jobs_run, rec.phones.thread.jobs_run if rec.phones else 0)
        await rec.transcribe(frames(100, odd_tail=True))  # 3 s of audio
        timing = rec.last_timing
        assert timing is not None and timing.audio_s == 3.0  # every whole sample reached the decoder
        per_batch = -(-BATCH_BYTES // FRAME)  # 4 frames (120 ms) fill a batch
        batches = 100 // per_batch
        # start_utt, the batches, and what is left (here only the odd byte) together with end_utt: 27
        # jobs where one per frame made 102.
        assert rec.thread.jobs_run - before[0] == 1 + batches + 1
        assert rec.phones is not None
        assert rec.phones.thread.jobs_run - before[1] == 1 + batches + 1
    finally:
        rec.close()
