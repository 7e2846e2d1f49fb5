"""Run one program safely: an argv (never a shell), its own process group, a deadline, bounded output.

The child starts a new session, so it leads its own process group; on timeout the whole group gets
SIGTERM, then SIGKILL after a grace period, which also reaches anything the program spawned. Output
(stdout and stderr together) is read as it comes; past the limit it is counted and discarded, so a chatty
program can neither fill memory nor block on a full pipe.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from assistantd.config.secret import Secret
from assistantd.errors import HandlerError
from assistantd.tasks import cancel_and_reap

# Variables a handler may need to find programs and speak the user's language. Nothing else of the
# daemon's environment is passed on: it may hold recognizer keys (${VOLC_ACCESS_KEY} and the like).
INHERITED_ENV = (
    "PATH",
    "HOME",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "USER",
    "LOGNAME",
    "XDG_RUNTIME_DIR",
)
_EOF_WAIT_S = 0.5
_CHUNK = 65536


@dataclass(frozen=True)
class ProcessResult:
    returncode: int | None
    """Exit status; negative for a signal (-15 after SIGTERM, -9 after SIGKILL)."""
    output: bytes
    """The first ``limit`` bytes of stdout and stderr, interleaved as written."""
    discarded: int
    """Output bytes read past the limit and dropped."""
    timed_out: bool
    duration_s: float

    def summary(self, chars: int = 200) -> str:
        """The last line of output, as one printable line (see ``one_line``)."""
        text = self.output.decode("utf-8", errors="replace").strip()
        last = text.splitlines()[-1] if text else ""
        return one_line(last[-chars:])


def one_line(text: str) -> str:
    """A program's output as one printable log line: newlines become ``\\n`` and other control
    characters (NUL, ESC, CR, ...) ``\\xNN`` / ``\\uNNNN``, so a handler's output can neither break
    a log line nor pass for one, nor drive the terminal that shows the log."""
    out = []
    for ch in text:
        if ch == "\n":
            out.append("\\n")
        elif ch == "\\":
            out.append("\\\\")
        elif ch != "\t" and unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp"):
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")
        else:
            out.append(ch)
    return "".join(out)


def inherited_env(environ: Mapping[str, str]) -> dict[str, str]:
    return {k: environ[k] for k in INHERITED_ENV if k in environ}


async def run_process(
    argv: Sequence[str],
    *,
    stdin: bytes,
    env: Mapping[str, str | Secret],
    timeout_s: float,
    kill_grace_s: float,
    output_limit: int,
    clock: Callable[[], float] = time.monotonic,
) -> ProcessResult:
    """Run ``argv`` to completion or its deadline. Raises HandlerError if it cannot start."""
    started = clock()
    loop = asyncio.get_running_loop()
    try:
        # asyncio.create_subprocess_exec, but keeping the transport: it must be closed here (see below).
        transport, protocol = await loop.subprocess_exec(
            lambda: asyncio.subprocess.SubprocessStreamProtocol(limit=_CHUNK, loop=loop),
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.STDOUT,
            # The point of use: a secret is revealed here, into the child's environment, and nowhere else.
            env={k: v.reveal() if isinstance(v, Secret) else v for k, v in env.items()},
            start_new_session=True,
        )
    except (OSError, ValueError) as err:  # ValueError: a NUL byte in an argument or variable
        raise HandlerError(f"cannot start {argv[0]}: {err}") from None
    proc = asyncio.subprocess.Process(transport, protocol, loop)
    assert proc.stdin is not None and proc.stdout is not None
    kept = bytearray()
    discarded = 0

    async def feed() -> None:
        assert proc.stdin is not None
        # A program that ignores stdin may exit (or close it) before reading: that is not a failure.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            proc.stdin.write(stdin)
            await proc.stdin.drain()
            proc.stdin.close()
            await proc.stdin.wait_closed()

    async def drain_output() -> None:
        nonlocal discarded
        assert proc.stdout is not None
        while chunk := await proc.stdout.read(_CHUNK):
            room = max(0, output_limit - len(kept))
            kept.extend(chunk[:room])
            discarded += max(0, len(chunk) - room)

    feeder = asyncio.create_task(feed())
    reader = asyncio.create_task(drain_output())
    timed_out = False
    try:
        try:
            async with asyncio.timeout(timeout_s):
                await proc.wait()
        except TimeoutError:
            timed_out = True
            await _terminate(proc, kill_grace_s)
        # Output still arriving from a finished program; a pipe held open by a child that left the
        # group must not hold up the outcome.
        await asyncio.wait({reader}, timeout=_EOF_WAIT_S)
    except asyncio.CancelledError:
        _signal_group(proc.pid, signal.SIGKILL)  # shutting down: no grace left to give
        # Reap it (bounded), or its transport is left to the garbage collector with a live pid: a zombie,
        # and a ResourceWarning wherever the collector happens to run.
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            async with asyncio.timeout(_EOF_WAIT_S):
                await proc.wait()
        raise
    finally:
        await cancel_and_reap(feeder, reader)
        # A descendant that left the group (setsid, a daemonizing program) may hold the output pipe open
        # after the leader is gone, so proc.wait() gave up on it above. Left open, the transport would be
        # closed by the garbage collector, which at exit runs after the loop is closed: "Event loop is
        # closed" tracebacks from BaseSubprocessTransport.__del__. Our end of the pipes closes now.
        transport.close()
    return ProcessResult(proc.returncode, bytes(kept), discarded, timed_out, clock() - started)


async def _terminate(proc: asyncio.subprocess.Process, grace_s: float) -> None:
    """SIGTERM the group, SIGKILL it after ``grace_s``, and reap the leader."""
    _signal_group(proc.pid, signal.SIGTERM)
    try:
        async with asyncio.timeout(grace_s):
            await proc.wait()
    except TimeoutError:
        pass
    # Also reaches children that ignored SIGTERM after the leader obeyed it.
    _signal_group(proc.pid, signal.SIGKILL)
    # wait() also waits for the pipes to close (Python 3.11+); a descendant that left the group could hold
    # them forever, so this wait is bounded too. The leader's status is known either way.
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(max(grace_s, _EOF_WAIT_S)):
            await proc.wait()


def _signal_group(pgid: int, sig: signal.Signals) -> None:
    # The group is gone (ESRCH) or already reaped: nothing left to stop.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
