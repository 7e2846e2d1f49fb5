"""Fault injection against the real daemon: does every utterance get its report, and does it stop?

``python -m bench.faults [--commands N]`` runs ``assistantd run --input -`` (tests/daemon/harness.py: a
notify socket bound as systemd binds it, flite commands over a room's noise floor on stdin) once per fault,
speaks N commands (default 4, each followed by a pause) and then sends SIGTERM. It prints, per fault family,
one row per fault: tries (commands spoken), survived (the daemon exited 0 by itself, no traceback),
reported (report lines: exactly one per command is the target), lost (commands with no line), the
outcomes seen, and the time from SIGTERM to exit (the unit's TimeoutStopSec is 10 s).

Families here: the cloud recognizer (a fake Volcengine server on 127.0.0.1 that refuses, drops, errors or
stalls, with the local fallback configured), the cloud with no fallback, and handlers (an HTTP server that
trickles its reply forever, a program that hangs past its timeout, one that fails, a TTS device that does
not exist). The SIGTERM comes while the last command is still in the recognizer or its handler when the
fault makes it hang. Capture faults are in bench/capture_faults.py, malformed configs and WAVs in
bench/fuzz_inputs.py, reload memory in bench/reload_memory.py.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import json
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.daemon.harness import DEADLINE_S, Audio, Daemon, base_config, write_config
from tests.fakes.sauc import FakeSauc, Fault
from tests.handlers.conftest import Trickler

COMMAND = "turn on the kitchen lights"
KEYS = {"VOLC_APP_KEY": "test-app-key", "VOLC_ACCESS_KEY": "test-access-key"}


@dataclass
class Row:
    family: str
    fault: str
    tries: int
    survived: bool
    reported: int
    outcomes: str
    stop_s: float | None


@contextlib.contextmanager
def fake_cloud(faults: list[Fault]) -> Iterator[str]:
    """A FakeSauc on its own event loop in a thread; yields its URL."""
    ready: list[str] = []
    started = threading.Event()
    stop: asyncio.Future[None] | None = None
    loop = asyncio.new_event_loop()

    async def serve() -> None:
        nonlocal stop
        stop = loop.create_future()
        async with FakeSauc(COMMAND, faults=faults) as fake:
            ready.append(fake.url)
            started.set()
            await stop

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    started.wait(DEADLINE_S)
    try:
        yield ready[0]
    finally:
        assert stop is not None
        loop.call_soon_threadsafe(stop.set_result, None)
        thread.join(DEADLINE_S)
        loop.close()


Stuck = Callable[[Daemon, int], bool]


def in_recognizer(daemon: Daemon, commands: int) -> bool:
    return bool(daemon.statuses()) and daemon.statuses()[-1].startswith("recognizing")


def in_handler(daemon: Daemon, commands: int) -> bool:
    return sum("-> intent" in line for line in daemon.stderr) >= commands


def run_one(
    family: str,
    fault: str,
    config: dict[str, Any],
    *,
    work: Path,
    audio: Audio,
    commands: int,
    stuck: Stuck | None = None,
) -> Row:
    """``stuck``: wait until the last command is stuck there, then SIGTERM; else SIGTERM comes once
    every line that can come has come (bounded)."""
    name = f"{family}-{fault}".replace(" ", "_").replace("/", "_")
    daemon = Daemon(write_config(work / f"{name}.yaml", config), env=KEYS)
    try:
        daemon.notice("READY")
        for _ in range(commands):
            daemon.write(audio.room(0.5) + audio.command(COMMAND) + audio.room(1.2))
        daemon.wait_input_read()
        with contextlib.suppress(AssertionError):
            if stuck is not None:
                daemon.wait_until(lambda: stuck(daemon, commands), 30.0, "the last command stuck")
            else:
                daemon.wait_until(lambda: len(daemon.stdout) >= commands, 15.0, "reports")
        sent = time.monotonic()
        daemon.send(signal.SIGTERM)
        try:
            code: int | None = daemon.wait(30.0)
            stop_s: float | None = time.monotonic() - sent
        except Exception:
            code, stop_s = None, None
        lines = [json.loads(line) for line in daemon.stdout if line.startswith("{")]
        outcomes = collections.Counter(str(line.get("outcome")) for line in lines)
        traceback = any("Traceback" in line for line in daemon.stderr)
        return Row(
            family,
            fault,
            commands,
            code == 0 and not traceback,
            len(lines),
            ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())),
            stop_s,
        )
    finally:
        daemon.close()


def cloud(config: dict[str, Any], url: str, fallback: str | None) -> dict[str, Any]:
    config = json.loads(json.dumps(config))
    config["recognizer"].update(
        default="volcengine",
        fallback=fallback,
        transport={"final_timeout_s": 5.0, "connect_timeout_s": 5.0},
        volcengine={"app_key": "${VOLC_APP_KEY}", "access_key": "${VOLC_ACCESS_KEY}", "url": url},
    )
    return config


CLOUD_FAULTS: dict[str, Callable[[], Fault]] = {
    "healthy": Fault,
    "401 credentials": lambda: Fault(refuse_status=401),
    "503 refused": lambda: Fault(refuse_status=503),
    "dropped mid-utterance": lambda: Fault(drop_after=2),
    "busy error frame": lambda: Fault(error_code=55000031, error_after=1),
    "fatal error frame": lambda: Fault(error_code=45000151, error_after=1),
    "slow acknowledgement": lambda: Fault(ack_delay_s=8.0),
    "never answers": lambda: Fault(no_final=True),
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--commands", type=int, default=4)
    args = parser.parse_args(argv)
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="assistantd-faults-") as tmp:
        work = Path(tmp)
        audio = Audio(work / "speech")
        base = base_config(work / "grammar")
        for fallback, family in (("local", "cloud + fallback"), (None, "cloud alone")):
            for name, make in CLOUD_FAULTS.items():
                with fake_cloud([make() for _ in range(4 * args.commands)]) as url:
                    config = cloud(base, url, fallback)
                    rows.append(run_one(family, name, config, work=work, audio=audio, commands=args.commands))
                print(_row(rows[-1]), file=sys.stderr, flush=True)
            # SIGTERM while the cloud holds the last command (its final deadline far past the grace).
            with fake_cloud([Fault(no_final=True) for _ in range(4 * args.commands)]) as url:
                config = cloud(base, url, fallback)
                config["recognizer"]["transport"]["final_timeout_s"] = 60.0
                rows.append(
                    run_one(
                        family,
                        "never answers, SIGTERM meanwhile",
                        config,
                        work=work,
                        audio=audio,
                        commands=args.commands,
                        stuck=in_recognizer,
                    )
                )
            print(_row(rows[-1]), file=sys.stderr, flush=True)
        trickler = Trickler()
        try:
            handlers = {
                "http trickles forever": {"http": {"url": trickler.url + "/x", "timeout_s": 1.0}},
                "exec hangs past timeout": {"exec": {"argv": ["sleep", "600"], "timeout_s": 1.0}},
                "exec hangs, SIGTERM meanwhile": {"exec": {"argv": ["sleep", "600"], "timeout_s": 600}},
                "exec fails": {"exec": {"argv": ["false"]}},
                "say to a missing device": {"say": {"text": "okay"}},
            }
            for name, handler in handlers.items():
                config = json.loads(json.dumps(base))
                config["handlers"] = {"bindings": [{"intent": "LightOn", **handler}]}
                if name.startswith("say"):
                    config["handlers"]["tts"] = {"device": "no_such_pcm_device"}
                stuck = in_handler if "SIGTERM" in name else None
                row = run_one(
                    "handlers", name, config, work=work, audio=audio, commands=args.commands, stuck=stuck
                )
                rows.append(row)
                print(_row(rows[-1]), file=sys.stderr, flush=True)
        finally:
            trickler.close()
    print(_table(rows))
    return 0


def _row(r: Row) -> str:
    stop = f"{r.stop_s:.2f}" if r.stop_s is not None else "KILL"
    lost = r.tries - r.reported
    return (
        f"| {r.family} | {r.fault} | {r.tries} | {'yes' if r.survived else 'NO'} | {r.reported} | {lost} | "
        f"{r.outcomes} | {stop} |"
    )


def _table(rows: list[Row]) -> str:
    head = "| family | fault | tries | survived | reported | lost | outcomes | stop s |\n" + "|---" * 8 + "|"
    total = sum(r.tries for r in rows)
    reported = sum(r.reported for r in rows)
    slowest = max((r.stop_s for r in rows if r.stop_s is not None), default=0.0)
    summary = (
        f"\n{len(rows)} faults, {total} utterances, {reported} reported, {total - reported} lost; "
        f"{sum(r.survived for r in rows)} of {len(rows)} survived; slowest stop {slowest:.2f} s"
    )
    return "\n".join([head, *(_row(r) for r in rows)]) + summary


if __name__ == "__main__":
    raise SystemExit(main())
