"""The pipeline's last stage: run the handlers bound to a report's intent, then hand the report on.

``run`` returns once the handlers are scheduled, not finished; the report is finished (the handlers'
outcomes, or why none ran, written into it) and passed to ``done`` when they are over. Every report
reaches ``done`` exactly once, whatever happens: nothing to act on, a full backlog, a shutdown.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from assistantd.handlers.base import Invocation
from assistantd.handlers.base import Outcome as HandlerOutcome
from assistantd.handlers.runner import Runner
from assistantd.report import Outcome, UtteranceReport

Done = Callable[[UtteranceReport], None]


class HandlerStage:
    def __init__(self, runner: Runner, *, wait_for_room: bool, run_on_reject: bool) -> None:
        """``wait_for_room``: audio that is not live (a file, a pipe) waits for room in the handlers'
        backlog instead of dropping commands. ``run_on_reject``: a rejected sentence still runs the
        fallback handler (``recognizer.local.reject.run_fallback``)."""
        self.runner = runner
        self.wait_for_room = wait_for_room
        self.run_on_reject = run_on_reject

    async def run(self, report: UtteranceReport, done: Done) -> None:
        if not report.text or (report.rejected and not self.run_on_reject):
            # No words (noise, a cough), a failed recognition, or speech that was not a command: nothing
            # to act on, and the fallback reply would answer every noise and every remark in the room.
            done(report)
            return
        if self.wait_for_room:
            # The service holds this utterance's slot meanwhile, so the listener, and through it the file
            # reader, waits too.
            try:
                await self.runner.room()
            except asyncio.CancelledError:
                done(_dropped(report, "handlers not run: shutting down"))
                raise
        task = self.runner.dispatch(Invocation(report.id, report.text, report.intent, report.slots))
        if task is None:
            why = "shutting down" if self.runner.closing else "the handlers fell behind (backlog full)"
            done(_dropped(report, f"handlers not run: {why}"))
        else:
            task.add_done_callback(lambda t: done(_ran(report, t)))


def _ran(report: UtteranceReport, task: asyncio.Task[list[HandlerOutcome]]) -> UtteranceReport:
    if task.cancelled():
        # Stopped past the grace: the report says the handlers did not finish, not "recognized".
        return _dropped(report, "handlers cancelled: the daemon stopped before they finished")
    report.handlers = task.result()
    return report


def _dropped(report: UtteranceReport, why: str) -> UtteranceReport:
    report.outcome, report.error = Outcome.DROPPED, why
    return report
