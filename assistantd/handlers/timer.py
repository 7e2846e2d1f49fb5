"""timer handlers (start, cancel, how long is left) and the alarm clock that rings them.

The timers live on the daemon's TimerBoard (timers.py), not here: this app's handlers and clock only
use it, so a reload, which replaces them, keeps every timer. Replies and alarms are spoken through the
shared Voice (handlers.tts), so the microphone is muted for them like any reply.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from assistantd.config.handler_specs import TimerSpec
from assistantd.config.template import SlotValue, Template
from assistantd.errors import HandlerError
from assistantd.handlers.base import Invocation
from assistantd.handlers.say import Voice
from assistantd.handlers.sounds import SoundPlayer
from assistantd.timers import Timer, TimerBoard, TimerLimitError, spoken_duration, timer_label

log = logging.getLogger(__name__)

UNITS_S = (("hours", 3600), ("minutes", 60), ("seconds", 1))
"""The slots a duration is made of (the shipped intents fill minutes or seconds)."""

SENTENCES = {
    "en": {
        "start": "Timer set for {duration}",
        "alarm": "The {timer} is done",
        "cancel": "Timer cancelled",
        "cancel_many": "{count} timers cancelled",
        "status": "{left} left on the {timer}",
        "none": "There is no timer running",
    },
    "zh": {
        "start": "计时器已设定，{duration}",
        "alarm": "{timer}时间到了",
        "cancel": "计时器已取消",
        "cancel_many": "已取消{count}个计时器",
        "status": "{timer}还剩{left}",
        "none": "没有正在运行的计时器",
    },
}
"""The default sentences, per TimerSpec.language; a binding's ``reply`` / ``alarm`` replace them."""


def duration_s(invocation: Invocation) -> float:
    """The sum of the hours, minutes and seconds slots. Raises HandlerError when none is a number > 0."""
    total = 0.0
    for slot, unit in UNITS_S:
        value = invocation.slots.get(slot)
        if value is None:
            continue
        try:
            total += float(value) * unit
        except ValueError:
            raise HandlerError(f"slot {slot} is not a number: {value!r}") from None
    if total <= 0:
        raise HandlerError("no duration: the intent filled no hours, minutes or seconds slot above 0")
    return total


class TimerHandler:
    def __init__(self, spec: TimerSpec, board: TimerBoard, voice: Voice, *, name: str) -> None:
        self.spec = spec
        self._board = board
        self._voice = voice
        self._name = name
        self._sentences = SENTENCES[spec.language]

    @property
    def name(self) -> str:
        return self._name

    def _render(self, template: Template | None, default: str, values: dict[str, SlotValue]) -> str:
        return (template or Template.parse(self._sentences[default])).render(values)

    async def run(self, invocation: Invocation) -> str:
        name = invocation.slots.get("name")
        wanted = None if name is None else str(name)
        match self.spec.action:
            case "start":
                return await self._start(invocation, wanted)
            case "cancel":
                gone = self._board.cancel(wanted)
                if not gone:
                    await self._voice.say(self._sentences["none"])
                    return "no timer to cancel"
                values = {**invocation.values(), "count": len(gone)}
                sentence = "cancel" if len(gone) == 1 else "cancel_many"
                await self._voice.say(self._render(self.spec.reply, sentence, values))
                return f"cancelled timer(s) {', '.join(str(t.id) for t in gone)}"
            case _:  # status
                running = self._board.running(wanted)
                if not running:
                    await self._voice.say(self._sentences["none"])
                    return "no timer running"
                said = []
                for timer in running:
                    values = {
                        **invocation.values(),
                        "left": spoken_duration(self._board.left_s(timer), self.spec.language),
                        "duration": spoken_duration(timer.duration_s, self.spec.language),
                        "timer": timer.label,
                    }
                    said.append(self._render(self.spec.reply, "status", values))
                await self._voice.say(". ".join(said))
                return "; ".join(
                    f"timer {t.id}: {self._board.left_s(t):.0f} s of {t.duration_s:g} s left" for t in running
                )

    async def _start(self, invocation: Invocation, name: str | None) -> str:
        seconds = duration_s(invocation)
        values = {
            **invocation.values(),
            "duration": spoken_duration(seconds, self.spec.language),
            "timer": timer_label(seconds, name, self.spec.language),
        }
        # Rendered now: a slot the alarm names is known only at this moment, and a reload must not
        # change what a running timer will say.
        alarm = self._render(self.spec.alarm, "alarm", values)
        reply = self._render(self.spec.reply, "start", values)
        try:
            timer = self._board.start(seconds, alarm, name=name, label=str(values["timer"]))
        except TimerLimitError as err:
            raise HandlerError(str(err)) from None
        await self._voice.say(reply)
        return f"timer {timer.id} set for {seconds:g} s"


class AlarmClock:
    """Rings this app's share of the board's due timers: the alarm sound, then the spoken alarm.

    A runner service: it starts with the app and is cancelled when the app closes. A timer taken but
    not yet rung when that happens goes back on the board, for the next app's clock (or the restart).
    """

    def __init__(
        self,
        board: TimerBoard,
        voice: Voice,
        sounds: SoundPlayer | None,
        *,
        on_ring: Callable[[Timer, float], None] = lambda timer, late_s: None,
    ) -> None:
        self._board = board
        self._voice = voice
        self._sounds = sounds
        self._on_ring = on_ring

    async def run(self) -> None:
        self._board.claim(self)
        try:
            while True:
                for timer in self._board.take_due(self):
                    await self._ring(timer)
                await self._board.changed_or_due()
        finally:
            self._board.release(self)

    async def _ring(self, timer: Timer) -> None:
        late_s = max(0.0, self._board.now() - timer.due)
        log.info("timer %d (%s) is up, %.1f s late: %s", timer.id, timer.label, late_s, timer.alarm)
        rung = False
        try:
            if self._sounds is not None:
                await self._sounds.play("alarm")
            await self._voice.say(timer.alarm)
            rung = True
        except HandlerError as err:
            rung = True  # the voice failed: said as far as it goes, never rung again and again
            log.warning("timer %d: the spoken alarm failed: %s", timer.id, err)
        except asyncio.CancelledError:
            self._board.put_back(timer)
            raise
        finally:
            if rung:
                self._on_ring(timer, late_s)
