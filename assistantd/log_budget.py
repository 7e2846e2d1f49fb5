"""A budget of log lines per window, for messages a peer can send without end (bad control messages, late
arbitration candidates): each is logged until the budget is spent, the last with a note that the rest are
not, and the budget comes back when the window has passed."""

from __future__ import annotations

from collections.abc import Callable


class LineBudget:
    def __init__(self, lines: int, window_s: float, clock: Callable[[], float]) -> None:
        self.lines = lines
        self.window_s = window_s
        self._clock = clock
        self._window = -window_s
        self._used = 0

    def take(self) -> tuple[bool, bool]:
        """(log this one, this one spends the budget: say that more are not logged for now)."""
        now = self._clock()
        if now - self._window >= self.window_s:
            self._window, self._used = now, 0
        self._used += 1
        return self._used <= self.lines, self._used == self.lines
