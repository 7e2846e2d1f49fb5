"""The WebSocket transport against the real fake sauc server on 127.0.0.1 (protocols.md §1.4, §2)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Callable, Iterator

import pytest

from assistantd.recognizer.base import RecognitionFailed
from assistantd.recognizer.codec import Codec
from assistantd.recognizer.registry import build_recognizer
from assistantd.recognizer.sauc import volcengine_codec, zyun_codec
from assistantd.recognizer.transport import WebSocketRecognizer
from tests.fakes.sauc import FakeSauc, Fault
from tests.recognizer.sauc_support import PHRASE, live, recognizer_config, synth_speech
from tests.waiting import eventually

FAST = {"connect_timeout_s": 10.0, "final_timeout_s": 10.0, "send_timeout_s": 10.0}
"""Deadlines for tests that are not about them: they only bound a hang (a loaded machine is slow, and an
extra attempt must never come from a slow step)."""


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return synth_speech(tmp_path_factory.mktemp("speech"))


def _no_delays() -> Iterator[float]:
    while True:
        yield 0.0


def _recognizer(
    name: str, url: str, on_partial: Callable[[str], None] | None = None, **transport: object
) -> WebSocketRecognizer:
    """The registry's recognizer, rebuilt with zero retry delays (keeps the suite fast)."""
    cfg = recognizer_config({**FAST, **transport})
    assert isinstance(build_recognizer(name, cfg, url_override=url), WebSocketRecognizer)
    if name == "volcengine":
        assert cfg.volcengine is not None
        volc = dataclasses.replace(cfg.volcengine, url=url)
        factory: Callable[[], Codec] = lambda: volcengine_codec(volc)  # noqa: E731
    else:
        assert cfg.zyun is not None
        zyun = dataclasses.replace(cfg.zyun, url=url)
        factory = lambda: zyun_codec(zyun)  # noqa: E731
    return WebSocketRecognizer(name, factory, cfg.transport, retry_delays=_no_delays, on_partial=on_partial)


@pytest.mark.parametrize("vendor", ["volcengine", "zyun"])
async def test_success_streams_packets_and_returns_the_final(vendor: str, speech: bytes) -> None:
    async with FakeSauc(PHRASE, vendor=vendor) as fake:
        transcript = await _recognizer(vendor, fake.url).transcribe(live(speech))
    assert transcript.text == PHRASE
    assert transcript.utterances == (PHRASE,)
    assert transcript.recognizer == vendor
    assert transcript.attempts == 1
    assert transcript.session_id.startswith("FAKE")
    (session,) = fake.sessions
    assert session.error is None
    assert bytes(session.audio) == speech  # every byte, in order
    sizes = [n for _, n, _ in session.packets]
    assert all(n == 5120 for n in sizes[:-2])  # 160 ms packets (TransportConfig.packet_ms)
    assert sizes[-1] == 0  # the last packet is empty, flags 0011
    assert session.config is not None and session.config["request"]["show_utterances"] is True


async def test_partials_reach_the_callback(speech: bytes) -> None:
    partials: list[str] = []
    async with FakeSauc(PHRASE, mode="bigmodel") as fake:
        rec = _recognizer("volcengine", fake.url, on_partial=partials.append)
        transcript = await rec.transcribe(live(speech))
    assert transcript.text == PHRASE
    assert partials[:2] == ["turn", "turn on"]
    assert partials[-1] == "turn on the kitchen"


async def test_audio_is_sent_live_before_the_endpoint(speech: bytes) -> None:
    """The first packet reaches the server while audio is still being captured.

    The source hands over half the utterance, then waits until the server has audio before it goes on:
    a transport that held the audio back until the endpoint would never get there (the wait times out).
    """
    async with FakeSauc(PHRASE) as fake:

        async def talking() -> AsyncIterator[bytes]:
            half = len(speech) // 2 // 960 * 960
            async for chunk in live(speech[:half]):
                yield chunk
            await eventually(
                lambda: fake.sessions and fake.sessions[0].first_audio_at is not None,
                "audio at the server before the endpoint",
            )
            async for chunk in live(speech[half:]):
                yield chunk

        transcript = await _recognizer("volcengine", fake.url).transcribe(talking())
    assert transcript.text == PHRASE
    (session,) = fake.sessions
    assert bytes(session.audio) == speech


@pytest.mark.parametrize(
    ("fault", "transport"),
    [
        (Fault(drop_after=2), {}),
        (Fault(error_code=55000031, error_after=1), {}),
        (Fault(error_code=45000081, error_after=3), {}),
        (Fault(refuse_status=503), {}),
        # The first final never comes: its deadline always runs out; the retry's comes at once.
        (Fault(no_final=True), {"final_timeout_s": 2.0}),
    ],
    ids=["dropped", "busy", "wait-timeout", "http-503", "no-final"],
)
async def test_one_failure_is_retried_on_a_fresh_connection(
    fault: Fault, transport: dict[str, float], speech: bytes
) -> None:
    async with FakeSauc(PHRASE, faults=[fault]) as fake:
        transcript = await _recognizer("volcengine", fake.url, **transport).transcribe(live(speech))
    assert transcript.text == PHRASE
    assert transcript.attempts == 2
    assert fake.connections == 2
    assert bytes(fake.sessions[-1].audio) == speech  # the retry replayed the whole buffered utterance
    ids = {s.headers.get("X-Api-Connect-Id") for s in fake.sessions}
    assert len(ids) == len(fake.sessions)  # a fresh connect id per connection


async def test_refused_connection_is_retried_then_fails() -> None:
    rec = _recognizer("volcengine", "ws://127.0.0.1:9/api/v3/sauc/bigmodel_async")
    with pytest.raises(RecognitionFailed, match="cannot connect") as info:
        await rec.transcribe(live(bytes(9600)))
    assert not info.value.fatal
    assert "after 2 attempts" in str(info.value)


async def test_double_failure_raises_recognition_failed(speech: bytes) -> None:
    async with FakeSauc(PHRASE, faults=[Fault(drop_after=1), Fault(drop_after=1)]) as fake:
        with pytest.raises(RecognitionFailed, match="dropped the connection") as info:
            await _recognizer("volcengine", fake.url).transcribe(live(speech))
    assert not info.value.fatal
    assert fake.connections == 2


@pytest.mark.parametrize("status", [401, 403])
async def test_bad_credentials_are_fatal_and_not_retried(status: int, speech: bytes) -> None:
    async with FakeSauc(PHRASE, faults=[Fault(refuse_status=status)]) as fake:
        with pytest.raises(RecognitionFailed, match=f"refused the credentials \\(HTTP {status}\\)") as info:
            await _recognizer("volcengine", fake.url).transcribe(live(speech))
    assert info.value.fatal
    assert fake.connections == 1


async def test_wrong_key_is_refused_by_the_fake(speech: bytes) -> None:
    async with FakeSauc(PHRASE, vendor="zyun", api_key="another-key") as fake:
        with pytest.raises(RecognitionFailed) as info:
            await _recognizer("zyun", fake.url).transcribe(live(speech))
    assert info.value.fatal


async def test_fatal_error_frame_is_not_retried(speech: bytes) -> None:
    async with FakeSauc(PHRASE, faults=[Fault(error_code=45000151, error_after=1)]) as fake:
        with pytest.raises(RecognitionFailed, match="45000151"):
            await _recognizer("volcengine", fake.url).transcribe(live(speech))
    assert fake.connections == 1


async def test_empty_utterance_gets_the_servers_empty_audio_error() -> None:
    async with FakeSauc(PHRASE) as fake:
        with pytest.raises(RecognitionFailed, match="45000002"):
            await _recognizer("volcengine", fake.url).transcribe(live(b""))


async def test_final_deadline_bounds_the_wait(speech: bytes) -> None:
    """final_timeout_s ends the wait for a final that never comes, and refuses one that comes too late.

    Shown by what happened, not by a stopwatch. The first attempt's fake stays open and silent after the
    last packet, so only the transport's own deadline can end it. The retry's fake answers 0.6 s after
    the last packet: past the 0.2 s deadline but inside every other timeout (10 s). Both timers start at
    the endpoint on this one event loop, so a slow machine delays them alike and the deadline fires
    first. Accepting that final would mean a longer deadline was applied; the failure must name
    final_timeout_s.
    """
    faults = [Fault(no_final=True), Fault(final_delay_s=0.6)]
    async with FakeSauc(PHRASE, faults=faults) as fake:
        rec = _recognizer("volcengine", fake.url, final_timeout_s=0.2)
        with pytest.raises(RecognitionFailed) as info:
            # A hang guard only (300 times the deadline): a transport that ignored the deadline would
            # otherwise wait forever rather than fail.
            async with asyncio.timeout(60):
                await rec.transcribe(live(speech))
    assert info.value.reason == "no final result within 0.2 s of the endpoint (after 2 attempts)"
    assert not info.value.fatal
    assert fake.connections == 2
    for session in fake.sessions:
        assert bytes(session.audio) == speech
        assert session.last_at is not None  # the endpoint was sent: the wait was for the final alone
        assert session.error is None


async def test_slow_final_within_the_deadline_is_accepted(speech: bytes) -> None:
    async with FakeSauc(PHRASE, faults=[Fault(final_delay_s=0.1)]) as fake:
        transcript = await _recognizer("volcengine", fake.url, final_timeout_s=30).transcribe(live(speech))
    assert transcript.attempts == 1


async def test_max_buffer_bounds_what_a_retry_replays(speech: bytes) -> None:
    async with FakeSauc(PHRASE, faults=[Fault(drop_after=4)]) as fake:
        rec = _recognizer("volcengine", fake.url, max_buffer_s=1.0)
        transcript = await rec.transcribe(live(speech))
    assert transcript.attempts == 2
    replayed = bytes(fake.sessions[-1].audio)
    assert len(replayed) < len(speech)  # the oldest audio was gone...
    assert speech.endswith(replayed)  # ...and the rest arrived whole, in order
    assert "lacked the first" in transcript.note


async def test_a_late_start_acknowledgement_is_retried(speech: bytes) -> None:
    """connect_timeout_s also bounds the wait for the config's acknowledgement (TransportConfig)."""
    # The first acknowledgement would come after a minute, so the deadline always runs out first; the
    # retry is acknowledged at once, well inside it.
    async with FakeSauc(PHRASE, faults=[Fault(ack_delay_s=60)]) as fake:
        rec = _recognizer("volcengine", fake.url, connect_timeout_s=3.0)
        transcript = await rec.transcribe(live(speech))
    assert transcript.attempts == 2


async def test_an_audio_source_failure_is_raised_as_is_not_retried() -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield bytes(960)
        raise OSError("capture device vanished")

    async with FakeSauc(PHRASE) as fake:
        with pytest.raises(OSError, match="capture device vanished"):
            await _recognizer("volcengine", fake.url).transcribe(broken())
    assert fake.connections == 1


async def test_cancelling_an_utterance_cleans_up(speech: bytes) -> None:
    """Shutdown cancels transcribe(): the feeder, sender and receiver go, the connection closes."""
    first_partial = asyncio.Event()
    async with FakeSauc(PHRASE, mode="bigmodel") as fake:
        rec = _recognizer("volcengine", fake.url, on_partial=lambda _: first_partial.set())
        task = asyncio.create_task(rec.transcribe(live(speech, pace_s=0.01)))
        await first_partial.wait()  # mid-utterance: streaming has begun
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert len(asyncio.all_tasks()) == 1  # only this test's task is left
