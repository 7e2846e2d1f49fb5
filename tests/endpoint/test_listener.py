"""The live Listener on real speech in noise: streaming before the endpoint, no stalls on a live source,
and no drops on one that is not."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import pytest

from assistantd.audio.frames import Frame, frame_bytes
from assistantd.config.endpoint import EndpointConfig
from assistantd.endpoint.listener import ARBITRATION_IDLE_HOLD_MS, IDLE_HOLD_MS, WAKE_IDLE_HOLD_MS, Listener
from assistantd.endpoint.live_utterance import Utterance
from assistantd.endpoint.offline import segment_pcm
from assistantd.endpoint.vad import build_vad
from assistantd.endpoint.wake import WakeStage
from tests.endpoint.conftest import Float, Mix, mix

CONFIG = EndpointConfig()


class PcmSource:
    """An AudioSource over a PCM buffer that waits a loop turn per frame, as a device read would. ``live``
    says whether it stands for a microphone (True) or a file (False)."""

    def __init__(self, pcm: bytes, frame_ms: int = 30, partial_last: bool = False, *, live: bool) -> None:
        self.frame_ms = frame_ms
        self.live = live
        self.pcm = pcm
        self.position = 0.0
        """Seconds of audio handed out so far."""
        self.exhausted = asyncio.Event()
        self.closed = False
        self.partial_last = partial_last

    async def frames(self) -> AsyncIterator[Frame]:
        size = frame_bytes(self.frame_ms)
        try:
            for i in range(len(self.pcm) // size):
                await asyncio.sleep(0)
                t = i * self.frame_ms / 1000
                self.position = t + self.frame_ms / 1000
                yield Frame(self.pcm[i * size : (i + 1) * size], t)
            if self.partial_last:
                yield Frame(self.pcm[-size // 3 :], len(self.pcm) // size * self.frame_ms / 1000)
            self.exhausted.set()
        finally:
            self.closed = True


@pytest.fixture
def three_phrases(speech: dict[str, Float]) -> Mix:
    clips = [speech["en_espeak"], speech["cmn_espeak"], speech["en_flite"]]
    return mix(clips, gaps_s=[2.5, 2.5], noise="white", snr_db=20)


def _slice(pcm: bytes, start: float, end: float) -> bytes:
    return pcm[round(start * 32000) : round(end * 32000)]


async def test_audio_streams_while_the_person_is_still_talking(three_phrases: Mix) -> None:
    source = PcmSource(three_phrases.pcm, live=True)
    listener = Listener(source, build_vad(CONFIG), CONFIG)
    seen: list[tuple[Utterance, float, bool, bytes]] = []
    async for utt in listener.utterances():
        chunks = []
        first_chunk_at, ended_then = -1.0, True
        async for pcm in utt.audio():
            if not chunks:
                first_chunk_at, ended_then = source.position, utt.ended
            chunks.append(pcm)
        seen.append((utt, first_chunk_at, ended_then, b"".join(chunks)))

    offline = segment_pcm(three_phrases.pcm, CONFIG)
    assert len(seen) == len(three_phrases.truth) == len(offline)
    for (utt, first_chunk_at, ended_then, audio), (start, end), seg in zip(
        seen, three_phrases.truth, offline, strict=True
    ):
        assert first_chunk_at < end  # the first audio came while the phrase was being spoken
        assert ended_then is False
        assert utt.end_reason == "silence"
        assert (utt.start, utt.end) == pytest.approx((seg.start, seg.end))  # live == offline
        assert utt.end is not None
        assert audio == _slice(three_phrases.pcm, utt.start, utt.end)  # pre-roll included, nothing lost
        assert utt.start <= start
        assert utt.chunks > 1 and utt.dropped_chunks == 0


async def test_a_consumer_that_never_reads_does_not_stall_listening(three_phrases: Mix) -> None:
    source = PcmSource(three_phrases.pcm, partial_last=True, live=True)
    listener = Listener(source, build_vad(CONFIG), CONFIG, queue_chunks=5)
    taken = [utt async for utt in listener.utterances()]  # takes each utterance, reads none
    assert source.exhausted.is_set()
    assert listener.short_frames == 1  # skipped, not fed to the VAD
    assert len(taken) == 3
    for utt in taken:
        assert utt.ended and utt.end_reason == "silence"
        assert utt.chunks == 5 and utt.dropped_chunks > 0  # drop-newest beyond the bound
        assert utt.end is not None
        # What is kept is the utterance's contiguous beginning, with the pre-roll.
        audio = b"".join([pcm async for pcm in utt.audio()])
        whole = _slice(three_phrases.pcm, utt.start, utt.end)
        assert whole.startswith(audio)
        assert utt.dropped_s == pytest.approx((len(whole) - len(audio)) / 32000)  # the rest, counted


async def test_utterances_nobody_takes_from_a_live_source_are_dropped_oldest_first_and_told(
    three_phrases: Mix,
) -> None:
    source = PcmSource(three_phrases.pcm, live=True)
    dropped: list[tuple[Utterance, str]] = []
    listener = Listener(
        source, build_vad(CONFIG), CONFIG, max_pending=1, on_drop=lambda u, why: dropped.append((u, why))
    )
    ids = []
    async for utt in listener.utterances():
        ids.append(utt.id)
        if len(ids) == 1:
            await source.exhausted.wait()  # a busy consumer: utterances 2 and 3 come meanwhile
    assert ids == [1, 3]
    assert listener.dropped_utterances == 1
    ((stale, why),) = dropped
    assert stale.id == 2 and stale.ended and "fell behind" in why
    assert [pcm async for pcm in stale.audio()] == []  # released: its audio is not kept


async def test_a_source_that_is_not_live_waits_for_a_slow_consumer_and_drops_nothing(
    three_phrases: Mix,
) -> None:
    """Buffers as small as the ones that drop above: the source is read only as fast as it is consumed."""
    source = PcmSource(three_phrases.pcm, partial_last=True, live=False)
    dropped: list[Utterance] = []
    listener = Listener(
        source,
        build_vad(CONFIG),
        CONFIG,
        queue_chunks=5,
        max_pending=1,
        on_drop=lambda u, _: dropped.append(u),
    )
    seen: list[tuple[Utterance, bytes]] = []
    async for utt in listener.utterances():
        if not seen:
            for _ in range(500):  # busy elsewhere for a while before it takes any audio
                await asyncio.sleep(0)
        chunks = []
        async for pcm in utt.audio():
            chunks.append(pcm)
            for _ in range(3):  # slower than the source, which takes one loop turn per frame
                await asyncio.sleep(0)
        seen.append((utt, b"".join(chunks)))

    assert source.exhausted.is_set()
    assert [utt.id for utt, _ in seen] == [1, 2, 3] and not dropped
    assert listener.dropped_utterances == 0
    for utt, audio in seen:
        assert utt.end_reason == "silence" and utt.dropped_chunks == 0
        assert utt.end is not None
        assert audio == _slice(three_phrases.pcm, utt.start, utt.end)  # every chunk, in order


async def test_a_reader_that_gives_up_early_does_not_hold_up_a_source_that_is_not_live(
    three_phrases: Mix,
) -> None:
    source = PcmSource(three_phrases.pcm, live=False)
    listener = Listener(source, build_vad(CONFIG), CONFIG, queue_chunks=5, max_pending=1)
    ids = []
    async with asyncio.timeout(60):  # bounds a hang only
        async for utt in listener.utterances():
            ids.append(utt.id)
            async for _ in utt.audio():
                break  # a recognizer that failed after its first chunk...
            utt.release()  # ...and says it is done (the pipeline does this for every utterance)
    assert ids == [1, 2, 3] and source.exhausted.is_set()


async def test_closing_the_iterator_stops_listening_and_ends_the_utterance_in_flight(
    three_phrases: Mix,
) -> None:
    source = PcmSource(three_phrases.pcm, live=True)
    listener = Listener(source, build_vad(CONFIG), CONFIG)
    async with contextlib.aclosing(listener.utterances()) as utterances:
        async for utt in utterances:
            first = utt
            break
    assert source.closed and not source.exhausted.is_set()
    assert first.ended and first.end_reason == "end_of_audio"
    async with asyncio.timeout(5):
        assert await first.wait_ended() == "end_of_audio"


async def test_utterances_still_waiting_when_listening_stops_are_told(three_phrases: Mix) -> None:
    source = PcmSource(three_phrases.pcm, live=True)
    dropped: list[tuple[int, str]] = []
    listener = Listener(source, build_vad(CONFIG), CONFIG, on_drop=lambda u, why: dropped.append((u.id, why)))
    taken = []
    async with contextlib.aclosing(listener.utterances()) as utterances:
        async for utt in utterances:
            taken.append(utt.id)
            await source.exhausted.wait()  # utterances 2 and 3 wait in the queue meanwhile
            break
    assert taken == [1]
    assert dropped == [
        (2, "listening stopped before it was taken"),
        (3, "listening stopped before it was taken"),
    ]


class HoldingPcmSource(PcmSource):
    """A live PcmSource that can hold frames like the microphone: it notes what the listener asked for
    and at which point of the audio."""

    def __init__(self, pcm: bytes) -> None:
        super().__init__(pcm, live=True)
        self.holds: list[tuple[int, float]] = []

    def hold(self, frames: int) -> None:
        self.holds.append((frames, self.position))


@pytest.mark.parametrize("hold_ms", [IDLE_HOLD_MS, ARBITRATION_IDLE_HOLD_MS])
async def test_a_live_source_may_hold_frames_only_while_no_utterance_is_in_flight(
    three_phrases: Mix, hold_ms: int
) -> None:
    source = HoldingPcmSource(three_phrases.pcm)
    listener = Listener(source, build_vad(CONFIG), CONFIG, idle_hold_ms=hold_ms)
    utterances = []
    async for utt in listener.utterances():
        async for _ in utt.audio():
            pass
        utterances.append(utt)
    assert len(utterances) == 3
    # Idle at first: hold; each utterance: every frame at once from its first voiced frame to its end.
    held = hold_ms // 30
    assert held > 1
    assert [frames for frames, _ in source.holds] == [held] + [1, held] * 3
    for k, utt in enumerate(utterances):
        (_, opened), (_, closed) = source.holds[2 * k + 1 : 2 * k + 3]
        # The first voiced frame ends the hold, before the start trigger has fired (the trigger, and an
        # arbitration candidate sent with it, must not wait for held frames: listener.py).
        assert opened == pytest.approx(utt.onset + 0.03)
        assert utt.end is not None and utt.end < closed  # held again only once it has ended


class _FiresOn:
    """A wake detector that fires (probability 0.9) on one frame."""

    name = "scripted"

    def __init__(self, frame: int) -> None:
        self.frame = frame
        self.frames = 0

    def process(self, pcm: bytes) -> float | None:
        self.frames += 1
        return 0.9 if self.frames - 1 == self.frame else None

    def reset(self) -> None:
        pass


@pytest.mark.parametrize("hold_ms", [IDLE_HOLD_MS, ARBITRATION_IDLE_HOLD_MS])
async def test_in_wake_mode_the_source_holds_less_while_the_detector_listens(hold_ms: int) -> None:
    # A wake word's detection (and its chime) comes at most WAKE_IDLE_HOLD_MS late, whatever the
    # continuous-mode hold.
    quiet = (30).to_bytes(2, "little", signed=True) * (16000 * 3)
    source = HoldingPcmSource(quiet)
    stage = WakeStage(_FiresOn(20), 30)
    listener = Listener(
        source, build_vad(CONFIG), CONFIG, wake=stage, command_timeout_s=0.5, idle_hold_ms=hold_ms
    )
    reports = [utt async for utt in listener.utterances()]
    assert [utt.end_reason for utt in reports] == ["no_command"]
    held = WAKE_IDLE_HOLD_MS // 30
    assert 1 < held < ARBITRATION_IDLE_HOLD_MS // 30 < IDLE_HOLD_MS // 30
    # Idle: held; the phrase heard: every frame at once until the command window ends; idle again.
    assert [frames for frames, _ in source.holds] == [held, 1, held]
    assert source.holds[1][1] == pytest.approx(21 * 0.03)
