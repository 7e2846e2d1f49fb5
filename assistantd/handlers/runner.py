"""The runner: dispatch an Invocation to its bound handlers without ever blocking the caller.

``dispatch`` returns at once with a task (or None when the backlog is full). Each invocation's handlers
run in order, stopping at the first failure (a reply saying "done" after a failed action would lie), and
at most ``max_concurrent`` invocations run at once. Up to ``max_pending`` more wait for a slot; beyond
that a new invocation is dropped and logged, and the older ones keep their place (they were said first).
A caller that must not drop (audio read from a file) awaits ``room()`` first and dispatches right after.
Every run is logged with its outcome and duration; no handler exception reaches the caller.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Mapping, Sequence
from typing import Any, Protocol

from assistantd.config.template import MissingValueError
from assistantd.errors import HandlerError
from assistantd.handlers.base import Handler, Invocation, Outcome
from assistantd.tasks import cancel_and_reap

log = logging.getLogger(__name__)


class Service(Protocol):
    """A long-lived helper the runner starts and stops (the MQTT connection)."""

    def run(self) -> Coroutine[Any, Any, None]: ...


class Runner:
    def __init__(
        self,
        bindings: Mapping[str, Sequence[Handler]],
        fallback: Sequence[Handler] = (),
        *,
        max_concurrent: int = 4,
        max_pending: int = 16,
        services: Sequence[Service] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._bindings = {intent: tuple(handlers) for intent, handlers in bindings.items()}
        self._fallback = tuple(fallback)
        self._slots = asyncio.Semaphore(max_concurrent)
        self._capacity = max_concurrent + max_pending
        self._services = tuple(services)
        self._clock = clock
        self._tasks: set[asyncio.Task[list[Outcome]]] = set()
        self._service_tasks: list[asyncio.Task[None]] = []
        self._closing = False
        self._freed = asyncio.Event()
        self.dropped = 0
        """Invocations refused because the backlog was full (or the runner was closing)."""

    async def start(self) -> None:
        """Start the long-lived services (connections). Call once, inside the daemon's loop."""
        for service in self._services:
            task = asyncio.create_task(service.run(), name=f"handlers:{type(service).__name__}")
            self._service_tasks.append(task)

    def handlers_for(self, invocation: Invocation) -> tuple[Handler, ...]:
        if invocation.intent is None:
            return self._fallback
        return self._bindings.get(invocation.intent, ())

    @property
    def closing(self) -> bool:
        return self._closing

    async def room(self) -> None:
        """Wait until ``dispatch`` would accept an invocation (or the runner is closing, when it never will).
        Dispatch in the same step, without awaiting anything in between, to be sure of the place."""
        while len(self._tasks) >= self._capacity and not self._closing:
            self._freed.clear()
            await self._freed.wait()

    def _done(self, task: asyncio.Task[list[Outcome]]) -> None:
        self._tasks.discard(task)
        self._freed.set()

    def dispatch(self, invocation: Invocation) -> asyncio.Task[list[Outcome]] | None:
        """Schedule the invocation's handlers and return at once.

        Returns the task (its result is the list of Outcomes; it never raises except when cancelled at
        shutdown), or None when the invocation was dropped: runner closing, or the backlog full.
        """
        if self._closing or len(self._tasks) >= self._capacity:
            self.dropped += 1
            log.warning(
                "utterance %s: dropped (%s; %d dropped so far)",
                invocation.utterance_id,
                "shutting down" if self._closing else f"{len(self._tasks)} already running or waiting",
                self.dropped,
            )
            return None
        task = asyncio.create_task(self._run(invocation), name=f"utterance:{invocation.utterance_id}")
        self._tasks.add(task)
        task.add_done_callback(self._done)
        return task

    async def _run(self, invocation: Invocation) -> list[Outcome]:
        handlers = self.handlers_for(invocation)
        if not handlers:
            what = f"intent {invocation.intent}" if invocation.intent else "unmatched text"
            log.warning("utterance %s: no handler for %s", invocation.utterance_id, what)
            return []
        outcomes: list[Outcome] = []
        async with self._slots:
            for i, handler in enumerate(handlers):
                outcome = await self._run_one(handler, invocation)
                outcomes.append(outcome)
                if not outcome.ok and i + 1 < len(handlers):
                    log.warning(
                        "utterance %s: skipping %d later handler(s) after a failure",
                        invocation.utterance_id,
                        len(handlers) - i - 1,
                    )
                    break
        return outcomes

    async def _run_one(self, handler: Handler, invocation: Invocation) -> Outcome:
        started = self._clock()
        try:
            detail = await handler.run(invocation)
            ok = True
        except (HandlerError, MissingValueError) as err:
            # A template naming a slot the match did not fill is the config's mistake, not a handler bug.
            detail, ok = str(err), False
        except Exception as err:  # a bug in a handler must not take the daemon down
            log.exception("utterance %s: %s raised", invocation.utterance_id, handler.name)
            detail, ok = f"internal error: {type(err).__name__}: {err}", False
        outcome = Outcome(ok, handler.name, detail, self._clock() - started)
        log.log(
            logging.INFO if ok else logging.WARNING,
            "utterance %s: %s %s in %.3f s: %s",
            invocation.utterance_id,
            handler.name,
            "ok" if ok else "FAILED",
            outcome.duration_s,
            detail,
        )
        return outcome

    async def aclose(self, grace_s: float) -> None:
        """Refuse new work, let running handlers finish for ``grace_s``, cancel the rest, stop services.

        Idempotent. Cancelled exec handlers have their process groups killed.
        """
        self._closing = True
        self._freed.set()
        pending = set(self._tasks)
        if pending:
            _, late = await asyncio.wait(pending, timeout=grace_s)
            if late:
                log.warning("cancelling %d handler run(s) still going after %.1f s", len(late), grace_s)
            for task in late:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await cancel_and_reap(*self._service_tasks)
        self._service_tasks.clear()
