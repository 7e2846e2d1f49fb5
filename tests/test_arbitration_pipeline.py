"""The pipeline's side of arbitration, in process: when the candidate goes out, what a site that lost
sends its recognizer and reports, what a winner reports, and that a failing exchange costs no command.

The utterance is the listener's own ``Utterance`` fed chunk by chunk; the claimer is an honest double of
ArbitrationLink (the real rule, ``Arbiter``, decides; the test says when the other site's announcement
arrives); the recognizer reads the audio it is given, as every recognizer does. The exchange over a real
broker is tested in tests/handlers/test_arbitration_link.py and end to end with three daemons in
tests/daemon/test_arbitration_daemons.py.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, Callable

import numpy as np
import pytest

from assistantd.announce import ANNOUNCE_AFTER_ONSET_S
from assistantd.arbitration import Arbiter, Candidate, Decision
from assistantd.endpoint.live_utterance import Utterance
from assistantd.endpoint.machine import UtteranceEnded
from assistantd.pipeline import Pipeline
from assistantd.recognizer.base import Transcript
from assistantd.report import Outcome, UtteranceReport

CHUNK = 960  # 30 ms
WAIT_S = 10.0
"""Bounds waits: only a hang reaches it."""


def _chunk(level: float, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(CHUNK // 2) * level).astype("<i2").tobytes()


class Reader:
    """A recognizer that reads every chunk it is given and says how many."""

    name = "reader"

    def __init__(self) -> None:
        self.chunks = 0

    async def transcribe(self, audio: AsyncIterable[bytes]) -> Transcript:
        async for _ in audio:
            self.chunks += 1
        return Transcript(text="turn on the lights", recognizer=self.name)


class Claimer:
    """ArbitrationLink's contract without the broker: the real Arbiter decides once ``rival_heard`` is
    set (the test plays the other site's announcement)."""

    def __init__(self, site: str, rival: Candidate | None = None, *, fail: bool = False) -> None:
        self.arbiter = Arbiter(site, 0.2)
        self.rival = rival
        self.fail = fail
        self.claimed = asyncio.Event()
        self.rival_heard = asyncio.Event()
        self.scores: list[float] = []

    async def claim(self, session_id: str, score: float) -> Decision:
        self.scores.append(score)
        self.arbiter.announce(session_id, score, wall=100.0, now=0.0)
        self.claimed.set()
        await self.rival_heard.wait()
        if self.fail:
            raise RuntimeError("a bug in the exchange")
        if self.rival is not None:
            self.arbiter.receive(self.rival)
        return self.arbiter.decide(session_id)


class Dispatcher:
    """The handler stage with nothing bound (every report is finished at once) and a sink that keeps the
    finished reports."""

    def __init__(self) -> None:
        self.reports: list[UtteranceReport] = []

    async def run(self, report: UtteranceReport, done: Callable[[UtteranceReport], None]) -> None:
        done(report)

    def emit(self, report: UtteranceReport) -> None:
        self.reports.append(report)


class NoMatch:
    def match(self, text: str) -> None:
        return None


def _utterance(onset: float = 0.0) -> Utterance:
    return Utterance(1, 0.0, onset, queue_chunks=1000, room=asyncio.Event(), keep_bytes=10**7)


def _pipeline(claimer: Claimer, reader: Reader, dispatcher: Dispatcher) -> Pipeline:
    return Pipeline(reader, NoMatch(), dispatcher, [dispatcher], claimer=claimer)


async def _settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def _end(utt: Utterance, chunks: int) -> None:
    end = chunks * CHUNK / 32000
    utt._finish(UtteranceEnded(utt.id, 0.0, end, "silence", end, end))


async def test_a_site_that_lost_stops_sending_audio_and_reports_deferred() -> None:
    reader, dispatcher = Reader(), Dispatcher()
    claimer = Claimer("attic", Candidate("office", "7", 100.05, 99.0))
    utt = _utterance(onset=0.3)  # 0.3 s of pre-roll
    handling = asyncio.create_task(_pipeline(claimer, reader, dispatcher).handle(utt))
    before = round((0.3 + ANNOUNCE_AFTER_ONSET_S) * 32000 / CHUNK)  # the candidate goes out with this chunk
    for i in range(before):
        utt._push(_chunk(1000, i))
    async with asyncio.timeout(WAIT_S):
        await claimer.claimed.wait()
    await _settle()
    assert reader.chunks == before  # announcing holds no audio back
    claimer.rival_heard.set()
    await _settle()
    for i in range(20):
        utt._push(_chunk(1000, 100 + i))
    _end(utt, before + 20)
    async with asyncio.timeout(WAIT_S):
        report = await handling
    assert reader.chunks == before  # nothing after the decision reached the recognizer
    assert report.outcome is Outcome.DEFERRED and report.text is None
    assert report.note.startswith("another site (office) answered")
    assert dispatcher.reports == [report]


async def test_the_winner_reports_as_usual_with_the_wait() -> None:
    reader, dispatcher = Reader(), Dispatcher()
    claimer = Claimer("office", Candidate("attic", "3", 99.98, -50.0))
    utt = _utterance()
    handling = asyncio.create_task(_pipeline(claimer, reader, dispatcher).handle(utt))
    for i in range(40):
        utt._push(_chunk(3000, i))
    _end(utt, 40)
    async with asyncio.timeout(WAIT_S):
        await claimer.claimed.wait()
    await _settle()
    assert not handling.done()  # the transcript waits for the verdict
    claimer.rival_heard.set()
    async with asyncio.timeout(WAIT_S):
        report = await handling
    assert report.outcome is Outcome.RECOGNIZED and report.text == "turn on the lights"
    assert reader.chunks == 40
    assert report.arbitration_wait_ms is not None
    assert dispatcher.reports == [report]


async def test_a_short_utterance_is_announced_at_its_end_and_louder_scores_higher() -> None:
    scores = []
    for level in (1000, 2000):
        reader, dispatcher = Reader(), Dispatcher()
        claimer = Claimer("office")
        claimer.rival_heard.set()
        utt = _utterance()
        handling = asyncio.create_task(_pipeline(claimer, reader, dispatcher).handle(utt))
        for i in range(5):  # 0.15 s: it ends before ANNOUNCE_AFTER_ONSET_S
            utt._push(_chunk(level, i))
        _end(utt, 5)
        async with asyncio.timeout(WAIT_S):
            report = await handling
        assert report.outcome is Outcome.RECOGNIZED
        scores += claimer.scores
    assert len(scores) == 2 and scores[1] == pytest.approx(scores[0] + 6.0, abs=0.1)


async def test_the_announcement_is_anchored_to_the_onset_not_to_an_amount_of_audio() -> None:
    """Two sites, one with a full pre-roll and one whose pre-roll was cut short: both announce with the
    chunk that reaches ANNOUNCE_AFTER_ONSET_S past the onset."""
    for preroll_chunks in (10, 2):
        reader, dispatcher = Reader(), Dispatcher()
        claimer = Claimer("office")
        onset = preroll_chunks * CHUNK / 32000
        utt = _utterance(onset=onset)
        handling = asyncio.create_task(_pipeline(claimer, reader, dispatcher).handle(utt))
        to_announce = preroll_chunks + round(ANNOUNCE_AFTER_ONSET_S * 32000 / CHUNK)
        for i in range(to_announce - 1):
            utt._push(_chunk(1000, i))
        await _settle()
        assert not claimer.claimed.is_set()
        utt._push(_chunk(1000, 99))
        async with asyncio.timeout(WAIT_S):
            await claimer.claimed.wait()
        claimer.rival_heard.set()
        _end(utt, to_announce)
        async with asyncio.timeout(WAIT_S):
            await handling


async def test_a_failing_exchange_costs_no_command(caplog: pytest.LogCaptureFixture) -> None:
    reader, dispatcher = Reader(), Dispatcher()
    claimer = Claimer("office", fail=True)
    claimer.rival_heard.set()
    utt = _utterance()
    handling = asyncio.create_task(_pipeline(claimer, reader, dispatcher).handle(utt))
    for i in range(30):
        utt._push(_chunk(1000, i))
    _end(utt, 30)
    async with asyncio.timeout(WAIT_S):
        report = await handling
    assert report.outcome is Outcome.RECOGNIZED and reader.chunks == 30
    assert "arbitration failed; acting on the utterance alone" in caplog.text


async def test_an_utterance_without_audio_is_not_announced() -> None:
    reader, dispatcher = Reader(), Dispatcher()
    claimer = Claimer("office")
    utt = _utterance()
    handling = asyncio.create_task(_pipeline(claimer, reader, dispatcher).handle(utt))
    _end(utt, 0)
    async with asyncio.timeout(WAIT_S):
        report = await handling
    assert not claimer.claimed.is_set() and report.arbitration_wait_ms is None


async def test_stopped_while_waiting_for_the_verdict_still_reports_once() -> None:
    reader, dispatcher = Reader(), Dispatcher()
    claimer = Claimer("office")  # the verdict never comes
    utt = _utterance()
    handling = asyncio.create_task(_pipeline(claimer, reader, dispatcher).handle(utt))
    for i in range(30):
        utt._push(_chunk(1000, i))
    _end(utt, 30)
    async with asyncio.timeout(WAIT_S):
        await claimer.claimed.wait()
        while reader.chunks < 30:  # noqa: ASYNC110 - the transcript is in hand once all is read
            await asyncio.sleep(0)
    await _settle()
    handling.cancel()
    with pytest.raises(asyncio.CancelledError):
        await handling
    [report] = dispatcher.reports
    assert report.outcome is Outcome.LOST
    assert report.error == "lost: the daemon stopped before the other sites' verdict"
