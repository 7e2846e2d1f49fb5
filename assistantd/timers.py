"""Running timers: the board every app shares, how long is left, and the file that outlives a restart.

The board outlives the apps (``assistantd run`` makes one for the daemon's life, as it does its
SharedModels), so a SIGHUP, which replaces the whole app, keeps every timer. Each app runs an alarm
clock (handlers/timer.py) that waits on the board; while a reload overlaps two apps, only the newest
clock that is still running takes due timers (``claim``), so a timer rings once, through the newest
configuration's voice.

Times are on the injected monotonic clock: a wall clock that jumps (a Pi without a real-time clock
sets the date from NTP after boot) must not make a timer ring early. Only the state file holds wall
time, because only wall time means anything to the next process; a restart turns it back into time
left. A timer that came due while the daemon was down rings as soon as it is back, late (and logged so).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

STATE_VERSION = 1
MAX_RESTORED_S = 366 * 86400.0
"""A saved timer longer than this (a year) is not one this daemon set: the entry is skipped."""


class TimerLimitError(Exception):
    """The board holds ``timers.max_running`` timers already."""


@dataclass(frozen=True)
class Timer:
    id: int
    duration_s: float
    due: float
    """When it rings, on the board's monotonic clock."""
    alarm: str
    """What is said when it rings (rendered when it was set, so it needs no config later)."""
    name: str | None = None
    label: str = ""
    """How the replies call it ("5 minute timer", "pasta timer"), in the language it was set in."""


def spoken_duration(seconds: float, language: str = "en") -> str:
    """``125`` -> "2 minutes 5 seconds" (en) or "2分钟5秒" (zh); parts rounded up to whole seconds."""
    total = max(0, math.ceil(seconds - 1e-6))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if language == "zh":
        parts = [f"{n}{unit}" for n, unit in ((hours, "小时"), (minutes, "分钟"), (secs, "秒")) if n]
        return "".join(parts) or "0秒"
    words = [
        f"{n} {unit}{'' if n == 1 else 's'}"
        for n, unit in ((hours, "hour"), (minutes, "minute"), (secs, "second"))
        if n
    ]
    return " ".join(words) or "0 seconds"


def timer_label(duration_s: float, name: str | None, language: str = "en") -> str:
    """What a timer is called in replies: its name, else its length ("5 minute timer")."""
    if language == "zh":
        return f"{name}计时器" if name else f"{spoken_duration(duration_s, 'zh')}的计时器"
    if name:
        return f"{name} timer"
    # "5 minute timer": the unit in the singular, as an adjective.
    return (
        spoken_duration(duration_s)
        .replace("seconds", "second")
        .replace("minutes", "minute")
        .replace("hours", "hour")
        + " timer"
    )


class TimerBoard:
    """The running timers: bounded, ordered by when they ring, saved to a state file on every change."""

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        wall: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._clock = clock
        self._wall = wall
        self._sleep = sleep
        self._timers: dict[int, Timer] = {}
        self._next_id = 1
        self.max_running = 8
        self._state: Path | None = None
        self._loaded = False
        self._changed = asyncio.Event()
        self._ringers: list[object] = []

    def now(self) -> float:
        return self._clock()

    # -- configuration (each app, at build) --------------------------------------------------------
    def configure(self, max_running: int, state_path: Path | None) -> None:
        """Apply a config: the first one with a state file restores the timers saved in it (a restart);
        a later one only moves where they are saved (a reload keeps what runs)."""
        self.max_running = max_running
        if state_path is not None and not self._loaded:
            self._loaded = True
            self._restore(state_path)
        if state_path != self._state:
            self._state = state_path
            self._save()

    # -- the handler's side ------------------------------------------------------------------------
    def start(self, duration_s: float, alarm: str, *, name: str | None = None, label: str = "") -> Timer:
        """Raises TimerLimitError when ``max_running`` run already (none is dropped to make room)."""
        if len(self._timers) >= self.max_running:
            raise TimerLimitError(f"{len(self._timers)} timers are running already (timers.max_running)")
        timer = Timer(self._next_id, duration_s, self._clock() + duration_s, alarm, name, label)
        self._next_id += 1
        self._timers[timer.id] = timer
        self._changed_now()
        return timer

    def running(self, name: str | None = None) -> list[Timer]:
        """Timers soonest first; with ``name``, only those of that name."""
        timers = sorted(self._timers.values(), key=lambda t: (t.due, t.id))
        return [t for t in timers if name is None or t.name == name]

    def left_s(self, timer: Timer) -> float:
        return max(0.0, timer.due - self._clock())

    def cancel(self, name: str | None = None) -> list[Timer]:
        """Cancel the timers of ``name``, or all of them; returns what was cancelled."""
        gone = self.running(name)
        for timer in gone:
            del self._timers[timer.id]
        if gone:
            self._changed_now()
        return gone

    # -- the alarm clocks' side --------------------------------------------------------------------
    def claim(self, ringer: object) -> None:
        """``ringer`` (an app's alarm clock) rings due timers from now on, until it ``release``s."""
        self._ringers.append(ringer)
        self._changed.set()

    def release(self, ringer: object) -> None:
        with contextlib.suppress(ValueError):
            self._ringers.remove(ringer)
        self._changed.set()  # an older clock still running takes over

    def take_due(self, ringer: object) -> list[Timer]:
        """Remove and return the timers due now, if ``ringer`` is the one that rings them."""
        if not self._ringers or self._ringers[-1] is not ringer:
            return []
        now = self._clock()
        due = [t for t in self.running() if t.due <= now]
        for timer in due:
            del self._timers[timer.id]
        if due:
            self._changed_now()
        return due

    def put_back(self, timer: Timer) -> None:
        """A timer taken but not rung (its clock stopped mid-alarm): it rings again, from the next clock
        or after a restart."""
        if timer.id not in self._timers:
            self._timers[timer.id] = timer
            self._changed_now()

    async def changed_or_due(self) -> None:
        """Return when the timers change, a clock claims or releases, or the soonest timer is due."""
        self._changed.clear()
        timers = self.running()
        if not timers:
            await self._changed.wait()
            return
        changed = asyncio.ensure_future(self._changed.wait())
        due = asyncio.ensure_future(self._sleep(max(0.0, timers[0].due - self._clock())))
        try:
            await asyncio.wait({changed, due}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (changed, due):
                task.cancel()
            await asyncio.gather(changed, due, return_exceptions=True)

    def _changed_now(self) -> None:
        self._changed.set()
        self._save()

    # -- the state file ----------------------------------------------------------------------------
    def _save(self) -> None:
        if self._state is None:
            return
        now, wall = self._clock(), self._wall()
        data = {
            "version": STATE_VERSION,
            "timers": [
                {
                    "id": t.id,
                    "duration_s": t.duration_s,
                    "due_unix": wall + (t.due - now),
                    "alarm": t.alarm,
                    "name": t.name,
                    "label": t.label,
                }
                for t in self.running()
            ],
        }
        tmp = self._state.with_name(self._state.name + ".tmp")
        # Atomic and durable: the next start (perhaps after a power cut) reads the old file or the new
        # one, never a torn or empty one. On the loop: a few hundred bytes, written only when a timer
        # is set, cancelled or rings (an fsync on an SD card is milliseconds, not per frame).
        try:
            with tmp.open("w", encoding="utf-8") as out:
                out.write(json.dumps(data, ensure_ascii=False))
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self._state)
            _fsync_directory(self._state.parent)
        except OSError as err:
            log.warning("timers: cannot save %s (%s); a restart will forget them", self._state, err.strerror)

    def _restore(self, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except OSError as err:
            log.warning("timers: cannot read %s (%s); starting with none", path, err.strerror)
            return
        try:
            saved = json.loads(text)
            if saved.get("version") != STATE_VERSION:
                raise ValueError(f"version {saved.get('version')!r}")
            items = saved["timers"]
            if not isinstance(items, list):
                raise TypeError("timers is not a list")
        except (ValueError, KeyError, TypeError, AttributeError) as err:
            # A damaged file costs the saved timers, never the start.
            log.warning("timers: ignoring %s (not a timers file: %s)", path, err)
            return
        now, wall = self._clock(), self._wall()
        timers: list[Timer] = []
        for index, item in enumerate(items):
            try:
                timers.append(_restored(item, now, wall))
            except (ValueError, KeyError, TypeError, AttributeError) as err:
                log.warning("timers: skipping entry %d of %s (%s)", index, path, err)
        for timer in sorted(timers, key=lambda t: t.due)[: self.max_running]:
            self._timers[timer.id] = timer
            self._next_id = max(self._next_id, timer.id + 1)
        if timers:
            late = [t for t in timers if t.due <= now]
            log.info(
                "timers: restored %d from %s (%d came due while stopped; they ring now)",
                len(self._timers),
                path,
                len(late),
            )


def _restored(item: object, now: float, wall: float) -> Timer:
    """One saved entry as a Timer on this process's clock. Raises ValueError/KeyError/TypeError for an
    entry that is not one: a NaN or infinite time would make the alarm clock wait ``max(0, nan)``,
    that is not at all, and spin."""
    if not isinstance(item, dict):
        raise TypeError(f"expected a mapping, got {type(item).__name__}")
    timer_id, duration, due_unix = int(item["id"]), float(item["duration_s"]), float(item["due_unix"])
    if not 1 <= timer_id < 2**31:
        raise ValueError(f"id {timer_id} is not in [1, 2**31)")
    if not (math.isfinite(duration) and 0 < duration <= MAX_RESTORED_S):
        raise ValueError(f"duration_s {duration!r} is not in (0, {MAX_RESTORED_S:g}]")
    if not math.isfinite(due_unix):
        raise ValueError(f"due_unix {due_unix!r} is not a finite time")
    # Never more left than the timer's length: a wall clock still behind after boot (a Pi without a
    # real-time clock, before NTP) would otherwise stretch it. Long overdue rings at once.
    left = min(due_unix - wall, duration)
    return Timer(
        id=timer_id,
        duration_s=duration,
        due=now + left,
        alarm=str(item["alarm"]),
        name=None if item.get("name") is None else str(item["name"]),
        label=str(item.get("label", "")),
    )


def _fsync_directory(directory: Path) -> None:
    """Make a rename in ``directory`` durable (the new name survives a power cut)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
