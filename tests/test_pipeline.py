"""``Pipeline`` in process, with real parts: the volcengine transport against the fake sauc server on
127.0.0.1, the local pocketsphinx recognizer as its fallback, the intent matcher of config/intents/en.yaml,
the real handler runner running ``true`` and the real sinks. The utterance is flite speech in room noise,
handed over in 30 ms chunks as the listener hands it on.

Each case checks the one report the pipeline builds and what every sink read from it: the metrics, the
log line (before the handlers ran) and the finished report (after them).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from assistantd.audio.tape import Tape
from assistantd.config import Config
from assistantd.handler_stage import HandlerStage
from assistantd.handlers.build import build_runner
from assistantd.handlers.runner import Runner
from assistantd.handlers.speaking import SpeakingGate
from assistantd.intents.loader import load_matcher
from assistantd.metrics import Metrics
from assistantd.pipeline import Pipeline
from assistantd.recognizer.base import close_recognizer, start_recognizer
from assistantd.recognizer.registry import recognizer_for
from assistantd.report import UtteranceReport
from assistantd.report_sinks import LogLine, MetricsSink
from tests.fakes.sauc import FakeSauc, Fault
from tests.recognizer.speech import have_flite, noisy_command

ROOT = Path(__file__).resolve().parents[1]
SPOKEN = "turn on the kitchen lights"
DEADLINE_S = 60.0
"""Bounds a hang only."""

pytestmark = pytest.mark.skipif(not have_flite(), reason="needs flite (Debian package)")


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    return noisy_command(SPOKEN, "slt", tmp_path_factory.mktemp("pipeline-speech"))


@pytest.fixture(scope="module")
def grammar_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pipeline-grammar")


class Spoken:
    """An utterance as the listener hands it to the pipeline (pipeline.UtteranceLike): its tape, written
    30 ms at a time by a task of its own, as the listener writes it while the person speaks."""

    def __init__(self, pcm: bytes, id: int = 1) -> None:
        self.id, self.start, self.dropped_s = id, 0.5, 0.0
        self.tape = Tape(len(pcm))
        self.released = False
        self._writer = asyncio.create_task(self._speak(pcm))

    async def _speak(self, pcm: bytes) -> None:
        for at in range(0, len(pcm), 960):
            self.tape.write(pcm[at : at + 960])
            await asyncio.sleep(0)
        self.tape.end()

    def release(self) -> None:
        self.released = True
        self.tape.release()


@dataclass
class Finished:
    """A sink that keeps what it read, and when (the handlers' outcomes are in a finished report)."""

    reports: list[UtteranceReport] = field(default_factory=list)
    done: asyncio.Event = field(default_factory=asyncio.Event)

    def emit(self, report: UtteranceReport) -> None:
        self.reports.append(report)
        self.done.set()


@dataclass
class Parts:
    pipeline: Pipeline
    metrics: Metrics
    finished: Finished
    runner: Runner

    def counters(self) -> dict[str, int]:
        return {name: n for name, n in self.metrics.counters.items() if n}


def _config(url: str, *, fallback: str | None, cache: Path) -> Config:
    return Config.from_dict(
        {
            "recognizer": {
                "default": "volcengine",
                "fallback": fallback,
                "transport": {"connect_timeout_s": DEADLINE_S, "final_timeout_s": DEADLINE_S, "retries": 1},
                "volcengine": {"url": url, "app_key": "${APP}", "access_key": "${ACCESS}"},
                "local": {"cache_dir": str(cache)},
            },
            "intents": {"files": [str(ROOT / "config" / "intents" / "en.yaml")]},
            "handlers": {"bindings": [{"intent": "LightOn", "exec": {"argv": ["true"], "timeout_s": 30}}]},
        },
        env={"APP": "test-app-key", "ACCESS": "test-access-key"},
    )


@asynccontextmanager
async def pipeline(url: str, cache: Path, *, fallback: str | None = "local") -> AsyncIterator[Parts]:
    config = _config(url, fallback=fallback, cache=cache)
    metrics = Metrics()
    finished = Finished()
    recognizer = recognizer_for(config, with_fallback=True)
    runner = build_runner(config.handlers, SpeakingGate())
    await start_recognizer(recognizer)
    await runner.start()
    handlers = HandlerStage(runner, wait_for_room=True, run_on_reject=False)
    parts = Parts(
        Pipeline(
            recognizer, load_matcher(config), handlers, [MetricsSink(metrics), finished], heard=[LogLine()]
        ),
        metrics,
        finished,
        runner,
    )
    try:
        yield parts
    finally:
        await runner.aclose(5.0)
        await close_recognizer(recognizer, 5.0)


async def _finished(parts: Parts) -> UtteranceReport:
    async with asyncio.timeout(DEADLINE_S):
        await parts.finished.done.wait()
    (report,) = parts.finished.reports
    return report


async def test_a_healthy_cloud_gives_one_report_read_by_every_sink(
    speech: bytes, grammar_cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="assistantd.pipeline")
    async with FakeSauc(SPOKEN) as fake, pipeline(fake.url, grammar_cache) as parts:
        utterance = Spoken(speech)
        returned = await parts.pipeline.handle(utterance)
        report = await _finished(parts)
    assert returned is report and utterance.released
    assert (report.outcome, report.recognizer, report.text) == ("recognized", "volcengine", SPOKEN)
    assert (report.intent, report.slots) == ("LightOn", {"area": "kitchen"})
    assert [(h.handler, h.ok) for h in report.handlers] == [("LightOn[0] exec true", True)]
    assert report.duration_s == pytest.approx(len(speech) / 32000)
    assert bytes(fake.sessions[0].audio) == speech  # the cloud heard the whole utterance
    assert parts.counters() == {"recognized": 1, "matched": 1, "handler_runs": 1}
    assert parts.metrics.latency["utterance"].count == 1
    assert parts.metrics.latency["endpoint_to_final"].count == 1
    (line,) = [r for r in caplog.records if r.name == "assistantd.pipeline"]
    assert f"'{SPOKEN}' via volcengine -> intent LightOn" in line.getMessage()


async def test_a_retry_is_counted_as_a_retry_not_a_fallback(speech: bytes, grammar_cache: Path) -> None:
    async with (
        FakeSauc(SPOKEN, faults=[Fault(drop_after=2), Fault()]) as fake,
        pipeline(fake.url, grammar_cache) as parts,
    ):
        await parts.pipeline.handle(Spoken(speech))
        report = await _finished(parts)
    assert (report.outcome, report.recognizer, report.retried, report.fell_back) == (
        "retried",
        "volcengine",
        True,
        False,
    )
    assert parts.counters() == {"recognized": 1, "retries": 1, "matched": 1, "handler_runs": 1}
    assert bytes(fake.sessions[1].audio) == speech  # the retry sent the utterance again, whole


async def test_a_failing_cloud_falls_back_to_pocketsphinx_on_the_same_audio(
    speech: bytes, grammar_cache: Path
) -> None:
    async with (
        FakeSauc(faults=[Fault(refuse_status=503)] * 2) as fake,
        pipeline(fake.url, grammar_cache) as parts,
    ):
        await parts.pipeline.handle(Spoken(speech))
        report = await _finished(parts)
    assert (report.outcome, report.recognizer, report.text, report.intent) == (
        "fell back",
        "local",
        SPOKEN,
        "LightOn",
    )
    assert "HTTP 503" in report.note and fake.connections == 2
    assert parts.counters() == {
        "recognized": 1,
        "recognizer_errors": 1,
        "fallbacks": 1,
        "matched": 1,
        "handler_runs": 1,
    }


async def test_no_fallback_and_a_failing_cloud_is_one_lost_report(
    speech: bytes, grammar_cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="assistantd.pipeline")
    async with (
        FakeSauc(faults=[Fault(refuse_status=503)] * 2) as fake,
        pipeline(fake.url, grammar_cache, fallback=None) as parts,
    ):
        await parts.pipeline.handle(Spoken(speech))
        report = await _finished(parts)
    assert report.outcome == "lost" and report.text is None and report.handlers == []
    assert report.error is not None and "HTTP 503" in report.error
    assert parts.counters() == {"recognizer_errors": 1, "lost": 1}
    (line,) = [r for r in caplog.records if r.name == "assistantd.pipeline"]
    assert line.levelno == logging.WARNING and "no text" in line.getMessage()


async def test_handlers_that_cannot_run_make_a_dropped_report_that_keeps_its_text(
    speech: bytes, grammar_cache: Path
) -> None:
    async with FakeSauc(SPOKEN) as fake, pipeline(fake.url, grammar_cache) as parts:
        await parts.runner.aclose(0.0)  # closing: the runner takes nothing more
        await parts.pipeline.handle(Spoken(speech))
        report = await _finished(parts)
    assert (report.outcome, report.text, report.intent) == ("dropped", SPOKEN, "LightOn")
    assert report.error == "handlers not run: shutting down"
    assert parts.counters() == {"recognized": 1, "matched": 1, "dropped": 1}


async def test_a_stop_before_the_cloud_answers_is_one_lost_report(speech: bytes, grammar_cache: Path) -> None:
    held = asyncio.Event()
    async with (
        FakeSauc(SPOKEN, faults=[Fault(hold_final=held)]) as fake,
        pipeline(fake.url, grammar_cache, fallback=None) as parts,
    ):
        utterance = Spoken(speech)
        handling = asyncio.create_task(parts.pipeline.handle(utterance))
        async with asyncio.timeout(DEADLINE_S):
            await utterance.tape.wait_ended()  # it was all said; the cloud holds its answer
        handling.cancel()
        with pytest.raises(asyncio.CancelledError):
            await handling
        held.set()
        report = await _finished(parts)
    assert report.outcome == "lost" and report.error is not None and "stopped" in report.error
    assert report.duration_s == pytest.approx(len(speech) / 32000)
    assert parts.counters() == {"lost": 1}


async def test_an_unheard_utterance_is_reported_dropped(speech: bytes, grammar_cache: Path) -> None:
    async with FakeSauc(SPOKEN) as fake, pipeline(fake.url, grammar_cache) as parts:
        parts.pipeline.unheard(Spoken(speech, id=7), "the pipeline fell behind")
        report = await _finished(parts)
    assert (report.id, report.outcome, report.text) == ("7", "dropped", None)
    assert report.error == "dropped unheard: the pipeline fell behind"
    assert parts.counters() == {"dropped": 1}
    assert fake.connections == 0


class Broken:
    """A sink that fails the way a JSON-lines sink on a closed stdout does (``... | head -1``)."""

    def __init__(self) -> None:
        self.calls = 0

    def emit(self, report: UtteranceReport) -> None:
        self.calls += 1
        raise BrokenPipeError(32, "Broken pipe")


async def test_a_failing_sink_costs_no_other_sink_its_one_report(
    speech: bytes, grammar_cache: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # Both paths to the sinks: the handlers' done-callback (a command ran) and the synchronous one (an
    # utterance never taken up). Before, the first raised inside the callback and the sinks after the
    # broken one never read the report; the second raised up to the service, which reported it again.
    caplog.set_level(logging.INFO, logger="assistantd")
    async with FakeSauc(SPOKEN) as fake, pipeline(fake.url, grammar_cache) as parts:
        broken, after = Broken(), Finished()
        parts.pipeline.sinks = [broken, parts.finished, after]
        await parts.pipeline.handle(Spoken(speech))
        async with asyncio.timeout(DEADLINE_S):
            await after.done.wait()
        for n in range(2, 5):
            parts.pipeline.unheard(Spoken(speech, id=n), "the pipeline fell behind")
    assert [r.id for r in parts.finished.reports] == [r.id for r in after.reports] == ["1", "2", "3", "4"]
    assert after.reports[0].outcome == "recognized" and after.reports[0].handlers[0].ok
    assert broken.calls == 4
    failures = [r for r in caplog.records if "sink" in r.getMessage() and r.levelno >= logging.WARNING]
    assert len(failures) == 1, [r.getMessage() for r in failures]  # once for the burst, not per report
    assert "Broken" in failures[0].getMessage() and failures[0].exc_info is not None
