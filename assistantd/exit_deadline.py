"""The last resort of shutdown: exit when the stop deadline passes, whatever is still running.

Every blocking call the daemon makes has its own deadline (device calls are abandoned, utterances
cancelled, handlers given the grace period), so a stop normally ends well before this fires. It covers
what no deadline can: interpreter teardown waiting on a thread stuck in C that someone else started. A
process that must be SIGKILLed at TimeoutStopSec tells nobody why; this says so in one log line first.
"""

from __future__ import annotations

import logging
import os
import threading

log = logging.getLogger(__name__)


def arm(seconds: float, code: int) -> threading.Timer:
    """After ``seconds``, log one line and ``os._exit(code)``. The timer thread never delays an exit."""

    def fire() -> None:
        stuck = sorted(t.name for t in threading.enumerate() if t is not threading.current_thread())
        log.error(
            "stop deadline of %.1f s passed; exiting now with threads still running: %s",
            seconds,
            ", ".join(stuck) or "none",
        )
        logging.shutdown()
        os._exit(code)

    timer = threading.Timer(seconds, fire)
    timer.name = "exit deadline"
    timer.daemon = True
    timer.start()
    return timer
