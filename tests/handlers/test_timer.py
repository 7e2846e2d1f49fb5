"""Timers on an injected clock: the board, the handlers, the alarm clock and the state file.

Only time is doubled (``FakeTime``: a sleep returns when the test moves the clock past it); the voice is
the real Voice running a real TTS process (a shell command that appends what it is told to say to a file).
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
from collections.abc import Awaitable, Callable
from pathlib import Path

import pytest

from assistantd.config.handler_specs import TimerSpec
from assistantd.config.handlers import TtsConfig
from assistantd.config.template import Template
from assistantd.errors import HandlerError
from assistantd.handlers import Invocation, SpeakingGate
from assistantd.handlers.say import Voice
from assistantd.handlers.timer import AlarmClock, TimerHandler, duration_s
from assistantd.timers import Timer, TimerBoard, spoken_duration, timer_label


class FakeTime:
    """Monotonic and wall clocks the test moves; ``sleep`` waits until the clock has moved past it."""

    def __init__(self, wall: float = 1_800_000_000.0) -> None:
        self.now = 100.0
        self.wall_offset = wall - self.now
        self._moved = asyncio.Event()

    def clock(self) -> float:
        return self.now

    def wall(self) -> float:
        return self.now + self.wall_offset

    def sleep(self, seconds: float) -> Awaitable[None]:
        # The deadline is taken when the sleep is asked for, as asyncio.sleep's is, not when its task
        # first runs (the test may have moved the clock in between).
        return self._until(self.now + seconds)

    async def _until(self, until: float) -> None:
        while self.now < until:
            self._moved.clear()
            await self._moved.wait()

    async def advance(self, seconds: float) -> None:
        self.now += seconds
        self._moved.set()
        for _ in range(20):  # let the clock's task run to its next wait
            await asyncio.sleep(0)


class Rung:
    """What the alarm clock reported ringing, with a wait for the n-th."""

    def __init__(self) -> None:
        self.seen: list[tuple[int, float, str]] = []
        self._event = asyncio.Event()

    def hook(self, tag: str = "") -> Callable[[Timer, float], None]:
        def rung(timer: Timer, late_s: float) -> None:
            self.seen.append((timer.id, late_s, tag))
            self._event.set()

        return rung

    async def wait(self, count: int) -> None:
        async with asyncio.timeout(30):  # only bounds a hang
            while len(self.seen) < count:
                self._event.clear()
                await self._event.wait()


def _board(time: FakeTime) -> TimerBoard:
    return TimerBoard(clock=time.clock, wall=time.wall, sleep=time.sleep)


def _voice(tmp_path: Path) -> Voice:
    said = tmp_path / "said.txt"
    command = ("sh", "-c", f'printf "%s\\n" "$1" >> {said}', "sh", "{text}")
    tts = TtsConfig(command=tuple(Template.parse(a) for a in command), tail_ms=0)
    return Voice(tts, SpeakingGate(), base_env={"PATH": "/usr/bin:/bin"}, kill_grace_s=1)


def _said(tmp_path: Path) -> list[str]:
    path = tmp_path / "said.txt"
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def _invocation(intent: str, **slots: str | int) -> Invocation:
    return Invocation("1", "text", intent, slots)


@pytest.mark.parametrize(
    ("seconds", "en", "zh", "label"),
    [
        (5, "5 seconds", "5秒", "5 second timer"),
        (60, "1 minute", "1分钟", "1 minute timer"),
        (125, "2 minutes 5 seconds", "2分钟5秒", "2 minute 5 second timer"),
        (3600 + 1, "1 hour 1 second", "1小时1秒", "1 hour 1 second timer"),
        (59.2, "1 minute", "1分钟", "1 minute timer"),  # rounded up: never "0 seconds left" while it runs
    ],
)
def test_durations_are_spoken(seconds: float, en: str, zh: str, label: str) -> None:
    assert spoken_duration(seconds) == en
    assert spoken_duration(seconds, "zh") == zh
    assert timer_label(seconds, None) == label
    assert timer_label(seconds, "pasta") == "pasta timer"
    assert timer_label(seconds, "鸡蛋", "zh") == "鸡蛋计时器"


def test_the_duration_is_the_sum_of_the_slots() -> None:
    assert duration_s(_invocation("TimerStart", minutes=2, seconds=30)) == 150
    assert duration_s(_invocation("TimerStart", hours=1)) == 3600
    with pytest.raises(HandlerError, match="no duration"):
        duration_s(_invocation("TimerStart", name="pasta"))
    with pytest.raises(HandlerError, match="not a number"):
        duration_s(_invocation("TimerStart", minutes="five"))


async def test_start_status_cancel_and_the_limit(tmp_path: Path) -> None:
    time = FakeTime()
    board = _board(time)
    board.configure(2, None)
    voice = _voice(tmp_path)
    start = TimerHandler(TimerSpec("start"), board, voice, name="start")
    status = TimerHandler(TimerSpec("status"), board, voice, name="status")
    cancel = TimerHandler(TimerSpec("cancel"), board, voice, name="cancel")

    await start.run(_invocation("TimerStart", minutes=5))
    await time.advance(10)
    await start.run(_invocation("TimerStart", name="pasta", seconds=30))
    await time.advance(5)
    await status.run(_invocation("TimerStatus"))
    with pytest.raises(HandlerError, match="2 timers are running already"):
        await start.run(_invocation("TimerStart", seconds=5))
    assert len(board.running()) == 2  # none was dropped to make room
    await cancel.run(_invocation("TimerCancel", name="pasta"))
    await status.run(_invocation("TimerStatus", name="pasta"))
    await cancel.run(_invocation("TimerCancel"))
    await cancel.run(_invocation("TimerCancel"))
    assert _said(tmp_path) == [
        "Timer set for 5 minutes",
        "Timer set for 30 seconds",
        # Soonest first, each with what is left of it.
        "25 seconds left on the pasta timer. 4 minutes 45 seconds left on the 5 minute timer",
        "Timer cancelled",
        "There is no timer running",
        "Timer cancelled",
        "There is no timer running",
    ]


async def test_the_alarm_clock_rings_due_timers_in_order_once(tmp_path: Path) -> None:
    time = FakeTime()
    board = _board(time)
    voice = _voice(tmp_path)
    rung = Rung()
    clock = AlarmClock(board, voice, None, on_ring=rung.hook())
    zh = TimerHandler(TimerSpec("start", language="zh"), board, voice, name="zh")
    custom = TimerHandler(
        TimerSpec("start", alarm=Template.parse("Take the {name} out")), board, voice, name="custom"
    )
    await zh.run(_invocation("TimerStart", minutes=2))
    await custom.run(_invocation("TimerStart", name="bread", seconds=30))
    running = asyncio.create_task(clock.run())
    try:
        await time.advance(29)
        assert rung.seen == []
        await time.advance(1)
        await rung.wait(1)
        await time.advance(120)  # the 2 minute timer is 30 s late when the clock next looks
        await rung.wait(2)
    finally:
        running.cancel()
        await asyncio.gather(running, return_exceptions=True)
    assert [timer_id for timer_id, _, _ in rung.seen] == [2, 1]
    assert rung.seen[1][1] == pytest.approx(30)
    assert _said(tmp_path)[2:] == ["Take the bread out", "2分钟的计时器时间到了"]
    assert board.running() == []


async def test_only_the_newest_clock_rings_and_an_older_one_takes_over(tmp_path: Path) -> None:
    time = FakeTime()
    board = _board(time)
    voice = _voice(tmp_path)
    rung = Rung()
    old = AlarmClock(board, voice, None, on_ring=rung.hook("old"))
    new = AlarmClock(board, voice, None, on_ring=rung.hook("new"))
    old_task = asyncio.create_task(old.run())
    await asyncio.sleep(0)
    new_task = asyncio.create_task(new.run())
    await asyncio.sleep(0)
    board.start(10, "first")
    board.start(20, "second")
    try:
        await time.advance(10)
        await rung.wait(1)
        new_task.cancel()  # a reload rejected after the new app started: the old app rings again
        await asyncio.gather(new_task, return_exceptions=True)
        await time.advance(10)
        await rung.wait(2)
    finally:
        old_task.cancel()
        await asyncio.gather(old_task, return_exceptions=True)
    assert [tag for _, _, tag in rung.seen] == ["new", "old"]
    assert _said(tmp_path) == ["first", "second"]


async def test_a_restart_restores_timers_from_the_state_file(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    state = tmp_path / "timers.json"
    before = FakeTime()
    board = _board(before)
    board.configure(8, state)
    board.start(300, "soup", name="soup", label="soup timer")
    board.start(30, "tea")
    await before.advance(10)
    saved = json.loads(state.read_text(encoding="utf-8"))
    assert [t["alarm"] for t in saved["timers"]] == ["tea", "soup"]

    # 60 s later, a new process whose monotonic clock starts elsewhere.
    after = FakeTime(wall=before.wall() + 60)
    after.now = 5.0
    after.wall_offset = before.wall() + 60 - after.now
    restored = _board(after)
    with caplog.at_level(logging.INFO, logger="assistantd.timers"):
        restored.configure(8, state)
    timers = restored.running()
    assert [(t.alarm, t.name) for t in timers] == [("tea", None), ("soup", "soup")]
    assert restored.left_s(timers[0]) == 0  # came due while stopped: rings at once
    assert restored.left_s(timers[1]) == pytest.approx(300 - 10 - 60)
    assert "restored 2" in caplog.text and "1 came due while stopped" in caplog.text
    # A later config (a reload) does not load the file again.
    restored.cancel("soup")
    restored.configure(8, state)
    assert [t.alarm for t in restored.running()] == ["tea"]


@pytest.mark.parametrize("content", ["{", '{"version": 9, "timers": []}', '{"version": 1, "timers": {}}'])
def test_a_damaged_state_file_costs_the_timers_not_the_start(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, content: str
) -> None:
    state = tmp_path / "timers.json"
    state.write_text(content, encoding="utf-8")
    board = TimerBoard()
    with caplog.at_level(logging.WARNING, logger="assistantd.timers"):
        board.configure(8, state)
    assert board.running() == [] and "not a timers file" in caplog.text


def test_restored_entries_with_impossible_times_are_skipped_not_waited_on(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A NaN due time made the alarm clock wait ``max(0.0, nan)`` (not at all) and spin; each bad entry is
    now logged and skipped, and the good ones still come back."""
    time = FakeTime()
    wall = time.wall()

    def entry(timer_id: object, duration: object, due: object) -> dict[str, object]:
        return {"id": timer_id, "duration_s": duration, "due_unix": due, "alarm": f"a{timer_id}"}

    entries = [
        entry(1, 300, "NaN"),
        entry(2, "Infinity", wall + 60),
        entry(3, 300, "-Infinity"),
        entry(4, -5, wall + 60),
        entry(5, 1e300, wall + 60),
        entry(6, "NaN", wall + 60),
        entry(-7, 300, wall + 60),
        {},
        "soup",
        entry(10, 300, wall + 120),  # good
        entry(11, 60, wall + 86400),  # a wall clock behind: never more left than its length
    ]
    text = json.dumps({"version": 1, "timers": entries}).replace('"NaN"', "NaN")
    text = text.replace('"Infinity"', "Infinity").replace('"-Infinity"', "-Infinity")
    state = tmp_path / "timers.json"
    state.write_text(text, encoding="utf-8")
    board = _board(time)
    with caplog.at_level(logging.WARNING, logger="assistantd.timers"):
        board.configure(8, state)
    running = board.running()
    assert [(t.id, t.alarm) for t in running] == [(11, "a11"), (10, "a10")]
    assert [board.left_s(t) for t in running] == [pytest.approx(60), pytest.approx(120)]
    skipped = [r.getMessage() for r in caplog.records if "skipping entry" in r.getMessage()]
    assert len(skipped) == 9, skipped
    assert all(math.isfinite(t.due) for t in running)
