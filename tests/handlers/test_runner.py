"""The runner: order, stop on failure, fallback, bounded concurrency and backlog, errors contained."""

from __future__ import annotations

import asyncio
import logging

import pytest

from assistantd.errors import HandlerError
from assistantd.handlers import Invocation, Runner, SpeakingGate, build_runner
from assistantd.handlers.base import Handler

from .conftest import handlers_config


class Step:
    """A handler that records its runs and does what it is told (a fake of the Handler protocol)."""

    def __init__(
        self, name: str, log: list[str], *, fail: str = "", gate: asyncio.Event | None = None
    ) -> None:
        self._name = name
        self._log = log
        self._fail = fail
        self._gate = gate
        self.running = 0
        self.peak = 0

    @property
    def name(self) -> str:
        return self._name

    async def run(self, invocation: Invocation) -> str:
        self.running += 1
        self.peak = max(self.peak, self.running)
        try:
            self._log.append(f"{self._name}:{invocation.utterance_id}")
            if self._gate is not None:
                await self._gate.wait()
            if self._fail == "handler":
                raise HandlerError("lamp unreachable")
            if self._fail == "bug":
                raise ZeroDivisionError("division by zero")
            return "done"
        finally:
            self.running -= 1


async def test_handlers_run_in_order_and_stop_at_the_first_failure() -> None:
    log: list[str] = []
    bindings: dict[str, list[Handler]] = {
        "A": [Step("a1", log), Step("a2", log, fail="handler"), Step("a3", log)],
    }
    runner = Runner(bindings)
    task = runner.dispatch(Invocation("u1", "x", "A"))
    assert task is not None
    outcomes = await task
    assert log == ["a1:u1", "a2:u1"]
    assert [(o.handler, o.ok, o.detail) for o in outcomes] == [
        ("a1", True, "done"),
        ("a2", False, "lamp unreachable"),
    ]


async def test_a_handler_bug_becomes_a_failed_outcome(caplog: pytest.LogCaptureFixture) -> None:
    runner = Runner({"A": [Step("buggy", [], fail="bug")]})
    task = runner.dispatch(Invocation("u1", "x", "A"))
    assert task is not None
    (outcome,) = await task
    assert not outcome.ok
    assert outcome.detail == "internal error: ZeroDivisionError: division by zero"
    assert "Traceback" in caplog.text


async def test_no_match_runs_the_fallback_and_unbound_intents_run_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log: list[str] = []
    runner = Runner({"A": [Step("a", log)]}, [Step("sorry", log)])
    for inv in (Invocation("u1", "gibberish", None), Invocation("u2", "x", "Unbound")):
        task = runner.dispatch(inv)
        assert task is not None
        await task
    assert log == ["sorry:u1"]
    assert "no handler for intent Unbound" in caplog.text


async def test_concurrency_and_backlog_are_bounded_and_the_newest_is_dropped() -> None:
    gate = asyncio.Event()
    step = Step("slow", [], gate=gate)
    runner = Runner({"A": [step]}, max_concurrent=2, max_pending=3)
    tasks = [runner.dispatch(Invocation(f"u{i}", "x", "A")) for i in range(7)]
    assert [t is not None for t in tasks] == [True] * 5 + [False] * 2
    assert runner.dropped == 2
    await asyncio.sleep(0.01)
    assert step.running == 2
    gate.set()
    results = await asyncio.gather(*(t for t in tasks if t is not None))
    assert all(outcome.ok for outcomes in results for outcome in outcomes)
    assert step.peak == 2


async def test_dispatch_returns_before_any_handler_runs() -> None:
    log: list[str] = []
    runner = Runner({"A": [Step("a", log)]})
    task = runner.dispatch(Invocation("u1", "x", "A"))
    assert log == []  # nothing ran inside dispatch
    assert task is not None
    await task
    assert log == ["a:u1"]


async def test_aclose_waits_for_the_grace_then_cancels_and_is_idempotent(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    finished = Step("quick", [])
    stuck = Step("stuck", [], gate=asyncio.Event())
    runner = Runner({"Q": [finished], "S": [stuck]})
    quick = runner.dispatch(Invocation("u1", "x", "Q"))
    hung = runner.dispatch(Invocation("u2", "x", "S"))
    assert quick is not None and hung is not None
    await runner.aclose(0.05)
    assert quick.done() and not quick.cancelled()
    assert hung.cancelled()
    assert "cancelling 1 handler run(s)" in caplog.text
    await runner.aclose(0.05)
    assert runner.dispatch(Invocation("u3", "x", "Q")) is None


async def test_room_waits_for_a_place_in_the_backlog_instead_of_dropping() -> None:
    log: list[str] = []
    gate = asyncio.Event()
    runner = Runner({"A": [Step("a", log, gate=gate)]}, max_concurrent=1, max_pending=1)
    first, second = (runner.dispatch(Invocation(f"u{i}", "x", "A")) for i in (1, 2))
    assert first is not None and second is not None
    waiting = asyncio.create_task(runner.room())  # full: one running, one waiting for its turn
    gate.set()
    await waiting
    assert first.done()  # the place came when the first invocation finished, not before
    third = runner.dispatch(Invocation("u3", "x", "A"))
    assert third is not None and runner.dropped == 0
    await asyncio.gather(first, second, third)
    assert log == ["a:u1", "a:u2", "a:u3"]


async def test_room_gives_up_when_the_runner_closes() -> None:
    gate = asyncio.Event()
    runner = Runner({"A": [Step("a", [], gate=gate)]}, max_concurrent=1, max_pending=0)
    assert runner.dispatch(Invocation("u1", "x", "A")) is not None
    waiting = asyncio.create_task(runner.room())
    closing = asyncio.create_task(runner.aclose(grace_s=0.0))
    await waiting  # returns although the place never came: dispatch now refuses (shutting down)
    assert runner.closing and runner.dispatch(Invocation("u2", "x", "A")) is None
    await closing


@pytest.mark.parametrize(
    "binding",
    [
        {"exec": {"argv": ["true", "{room}"]}},
        {"say": {"text": "turning on the {room} light"}},
        {"http": {"url": "http://127.0.0.1:9/lights/{room}"}},
    ],
    ids=["exec", "say", "http"],
)
async def test_a_template_naming_an_unfilled_slot_is_a_failed_run_not_a_bug(
    binding: dict[str, object], caplog: pytest.LogCaptureFixture
) -> None:
    """The match did not fill {room}: the run fails with that said plainly, for every handler kind, and
    nothing is sent or run (port 9 would refuse; `true` would succeed)."""
    cfg = handlers_config({"bindings": [{"intent": "LightOn", **binding}]})
    runner = build_runner(cfg, SpeakingGate())
    task = runner.dispatch(Invocation("u1", "turn on the light", "LightOn", {}))
    assert task is not None
    (outcome,) = await task
    assert (outcome.ok, outcome.detail) == (False, "the template needs {room}, which this match did not fill")
    assert "Traceback" not in caplog.text
