"""FallbackRecognizer: the failed cloud utterance's exact audio reaches the local recognizer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator

import pytest

from assistantd.recognizer.base import RecognitionFailed, Transcript
from assistantd.recognizer.fallback import FallbackRecognizer


class Recording:
    """A recognizer double that subclasses nothing but honours the Recognizer protocol exactly."""

    def __init__(self, name: str, *, fail_after: int | None = None) -> None:
        self.name = name
        self.fail_after = fail_after
        self.received: list[bytes] = []

    async def transcribe(self, audio: AsyncIterable[bytes]) -> Transcript:
        async for chunk in audio:
            self.received.append(chunk)
            if self.fail_after is not None and len(self.received) >= self.fail_after:
                raise RecognitionFailed(self.name, "connection dropped")
        return Transcript(text=f"{len(self.received)} chunks", recognizer=self.name)


async def _chunks(n: int, size: int = 3200) -> AsyncIterator[bytes]:
    for i in range(n):
        yield bytes([i % 256]) * size


async def test_primary_success_does_not_touch_fallback() -> None:
    cloud, local = Recording("volcengine"), Recording("local")
    result = await FallbackRecognizer(cloud, local).transcribe(_chunks(5))
    assert result == Transcript(text="5 chunks", recognizer="volcengine")
    assert local.received == []


async def test_failure_mid_utterance_replays_all_audio_to_fallback() -> None:
    cloud, local = Recording("volcengine", fail_after=2), Recording("local")
    result = await FallbackRecognizer(cloud, local).transcribe(_chunks(6))
    assert result.recognizer == "local"
    assert "volcengine failed: connection dropped" in result.note
    expected = [chunk async for chunk in _chunks(6)]
    assert local.received == expected


async def test_buffer_is_bounded_and_the_loss_is_reported() -> None:
    cloud, local = Recording("huawei", fail_after=10), Recording("local")
    # 0.1 s chunks, 1 s bound: 20 chunks keep only the last 10.
    result = await FallbackRecognizer(cloud, local, max_buffer_s=1.0).transcribe(_chunks(20))
    assert len(local.received) == 10
    assert local.received[0] == bytes([10]) * 3200
    assert "first 1.0 s not kept" in result.note


async def test_fallback_failure_propagates() -> None:
    cloud, local = Recording("zyun", fail_after=1), Recording("local", fail_after=1)
    with pytest.raises(RecognitionFailed, match="local"):
        await FallbackRecognizer(cloud, local).transcribe(_chunks(3))


class CancelsItsReader:
    """Reads in its own task and cancels it on failure, as the WebSocket transport's feeder does."""

    name = "volcengine"

    async def transcribe(self, audio: AsyncIterable[bytes]) -> Transcript:
        got = asyncio.Event()

        async def read() -> None:
            async for _ in audio:
                got.set()

        reader = asyncio.create_task(read())
        await got.wait()
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        raise RecognitionFailed(self.name, "cannot connect")


async def _paced_chunks(n: int) -> AsyncIterator[bytes]:
    for i in range(n):
        await asyncio.sleep(0.001)  # the endpointer hands audio over as it is captured
        yield bytes([i]) * 320


async def test_a_primary_cancelling_its_reader_does_not_cut_the_utterance() -> None:
    # Regression: cancelling the primary's reading task used to close the caller's audio iterator, so the
    # fallback heard only the audio read before the failure.
    local = Recording("local")
    result = await FallbackRecognizer(CancelsItsReader(), local).transcribe(_paced_chunks(20))
    assert result.text == "20 chunks"
    assert local.received == [bytes([i]) * 320 for i in range(20)]


class NeverAnswers:
    """Reads the whole utterance, then waits for a final that never comes (a hung cloud, retrying)."""

    name = "huawei"

    def __init__(self) -> None:
        self.cancelled = False
        self.waiting = asyncio.Event()
        """Set once the whole utterance is read and the final is awaited."""

    async def transcribe(self, audio: AsyncIterable[bytes]) -> Transcript:
        async for _ in audio:
            pass
        self.waiting.set()
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.cancelled = True
            raise
        raise AssertionError("unreachable")


async def test_a_primary_silent_past_the_deadline_is_abandoned_for_the_fallback() -> None:
    cloud, local = NeverAnswers(), Recording("local")
    recognizer = FallbackRecognizer(cloud, local, final_deadline_s=0.05)
    result = await asyncio.wait_for(recognizer.transcribe(_paced_chunks(5)), timeout=5)
    assert result.recognizer == "local"
    assert result.text == "5 chunks"
    assert result.note == "huawei failed: no final result within 0.05 s of the endpoint"
    assert cloud.cancelled


async def test_hurry_abandons_a_silent_primary_at_once_for_the_fallback() -> None:
    """Stopping the daemon hurries recognition: a cloud that never answers (deadline an hour away) is
    given up at once, and the fallback hears the whole utterance."""
    cloud, local = NeverAnswers(), Recording("local")
    recognizer = FallbackRecognizer(cloud, local, final_deadline_s=3600)
    task = asyncio.create_task(recognizer.transcribe(_chunks(5)))
    await cloud.waiting.wait()
    recognizer.hurry()
    result = await asyncio.wait_for(task, timeout=30)  # bounds a hang only: the deadline is an hour
    assert (result.recognizer, result.text) == ("local", "5 chunks")
    assert result.note == "huawei failed: abandoned: the daemon is stopping"
    assert result.fell_back and cloud.cancelled


class Lifecycle(Recording):
    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.events: list[str] = []

    async def start(self) -> None:
        self.events.append("start")

    def close(self) -> None:
        self.events.append("close")


async def test_start_and_close_reach_both_recognizers() -> None:
    # The daemon starts and closes only the recognizer it holds: the local fallback must load at start-up
    # (not during the first cloud failure) and its decoder thread must be closed on reload and shutdown.
    cloud, local = Recording("zyun"), Lifecycle("local")
    recognizer = FallbackRecognizer(cloud, local)
    await recognizer.start()
    await recognizer.aclose(1.0)
    assert local.events == ["start", "close"]
