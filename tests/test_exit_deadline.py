"""The last resort of a stop: past the deadline the process exits, says why, and with its own code."""

from __future__ import annotations

import subprocess
import sys


def test_a_process_held_by_a_stuck_thread_exits_at_the_deadline() -> None:
    # A non-daemon thread that never ends would keep the interpreter waiting at exit for ever.
    script = (
        "import logging, threading\n"
        "from assistantd import exit_deadline\n"
        "logging.basicConfig(format='%(levelname)s %(message)s')\n"
        "threading.Thread(target=threading.Event().wait, name='stuck in C').start()\n"
        "exit_deadline.arm(0.2, 3)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", script], check=False, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 3
    assert proc.stderr.startswith(
        "ERROR stop deadline of 0.2 s passed; exiting now with threads still running:"
    )
    assert "stuck in C" in proc.stderr
