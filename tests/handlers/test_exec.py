"""exec handlers: hostile transcripts reach the program as data and run nothing; timeouts kill the group."""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import os
import signal
import sys
from pathlib import Path

import pytest

from assistantd.handlers import Invocation, Runner, SpeakingGate, build_runner, process

from .conftest import handlers_config

# Records what the program received: stdin, its argv, and the ASSISTANTD_* environment.
RECORDER = """
import json, os, sys
out = sys.argv[1]
with open(os.path.join(out, "stdin.bin"), "wb") as f:
    f.write(sys.stdin.buffer.read())
with open(os.path.join(out, "argv.json"), "w") as f:
    json.dump([os.fsencode(a).hex() for a in sys.argv[2:]], f)
with open(os.path.join(out, "env.json"), "w") as f:
    json.dump({k: os.fsencode(v).hex() for k, v in os.environ.items()}, f)
"""


def _hostile(marker: Path) -> list[str]:
    m = str(marker)
    return [
        "; rm -rf ~",
        f"; touch {m}",
        f"$(touch {m})",
        f"`touch {m}`",
        f'"quoted" \'single\' \\" && touch {m} || touch {m}',
        f"line one\nline two\r\n; touch {m}\n",
        f"| touch {m} > {m} &",
        "-rf --help",
        "{text} {room} {{braces}} %s %(x)s ${HOME}",
        f"打开客厅的灯 $(touch {m})",
        f"long; touch {m} " + "x$()`;" * 1700,  # about 10 kB
    ]


@pytest.fixture
def recorder(tmp_path: Path) -> Path:
    script = tmp_path / "recorder.py"
    script.write_text(RECORDER)
    return script


def _runner(tmp_path: Path, argv: list[str], **exec_extra: object) -> Runner:
    exec_extra.setdefault("timeout_s", WAIT_S)  # a Python child on a loaded machine may start slowly
    cfg = handlers_config({"bindings": [{"intent": "Do", "exec": {"argv": argv, **exec_extra}}]})
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)
    # HOME points at a scratch directory: even a broken handler could not touch the real one.
    return build_runner(cfg, SpeakingGate(), environ={"PATH": os.environ["PATH"], "HOME": str(home)})


@pytest.mark.parametrize("index", range(11))
async def test_hostile_transcript_arrives_intact_and_runs_nothing(
    tmp_path: Path, recorder: Path, index: int
) -> None:
    marker = tmp_path / "marker"
    text = _hostile(marker)[index]
    room = f"kitchen; touch {marker}"
    out = tmp_path / "out"
    out.mkdir()
    runner = _runner(tmp_path, [sys.executable, str(recorder), str(out), "{text}", "{room}", "{intent}"])
    task = runner.dispatch(Invocation("u1", text, "Do", {"room": room, "level": 7}))
    assert task is not None
    (outcome,) = await task
    assert outcome.ok, outcome.detail

    received = json.loads((out / "stdin.bin").read_bytes().decode("utf-8"))
    assert received == {
        "utterance_id": "u1",
        "text": text,
        "intent": "Do",
        "slots": {"room": room, "level": 7},
    }
    argv = [bytes.fromhex(a) for a in json.loads((out / "argv.json").read_text())]
    assert argv == [text.encode(), room.encode(), b"Do"]
    env = {k: bytes.fromhex(v) for k, v in json.loads((out / "env.json").read_text()).items()}
    assert env["ASSISTANTD_TEXT"] == text.encode()
    assert env["ASSISTANTD_INTENT"] == b"Do"
    assert env["ASSISTANTD_SLOT_ROOM"] == room.encode()
    assert env["ASSISTANTD_SLOT_LEVEL"] == b"7"
    assert json.loads(env["ASSISTANTD_SLOTS_JSON"]) == {"room": room, "level": 7}
    assert not marker.exists()
    assert (tmp_path / "home").exists() and list((tmp_path / "home").iterdir()) == []
    await runner.aclose(1.0)


async def test_daemon_environment_is_not_passed_on(tmp_path: Path, recorder: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    cfg = handlers_config(
        {
            "bindings": [
                {
                    "intent": "Do",
                    "exec": {"argv": [sys.executable, str(recorder), str(out)], "env": {"MODE": "x"}},
                }
            ]
        }
    )
    environ = {"PATH": os.environ["PATH"], "VOLC_ACCESS_KEY": "sk-SENTINEL-env"}
    runner = build_runner(cfg, SpeakingGate(), environ=environ)
    task = runner.dispatch(Invocation("u2", "hi", "Do"))
    assert task is not None
    (outcome,) = await task
    assert outcome.ok
    env = json.loads((out / "env.json").read_text())
    assert "VOLC_ACCESS_KEY" not in env
    assert bytes.fromhex(env["MODE"]) == b"x"


async def test_env_secret_reaches_only_the_child(
    tmp_path: Path, recorder: Path, caplog: pytest.LogCaptureFixture
) -> None:
    sentinel = "sk-SENTINEL-exec-env"
    key_file = tmp_path / "key"
    key_file.write_text(sentinel + "-file\n")
    out = tmp_path / "out"
    out.mkdir()
    env_section = {"API_KEY": "${LAMP_KEY}", "FILE_KEY": f"file:{key_file}", "MODE": "x", "LEVEL": 3}
    cfg = handlers_config(
        {
            "bindings": [
                {
                    "intent": "Do",
                    "exec": {"argv": [sys.executable, str(recorder), str(out)], "env": env_section},
                },
                # Fails after the recorder has run: the failure detail must not carry the secret either.
                {"intent": "Do", "exec": {"argv": [sys.executable, "-c", "exit(2)"], "env": env_section}},
            ]
        },
        env={"LAMP_KEY": sentinel},
    )
    caplog.set_level(logging.DEBUG)
    runner = build_runner(cfg, SpeakingGate(), environ={"PATH": os.environ["PATH"]})
    task = runner.dispatch(Invocation("u2s", "hi", "Do"))
    assert task is not None
    recorded, failed = await task
    await runner.aclose(1.0)

    assert recorded.ok, recorded.detail
    assert not failed.ok and failed.detail == "exit status 2"
    env = {k: bytes.fromhex(v).decode() for k, v in json.loads((out / "env.json").read_text()).items()}
    assert env["API_KEY"] == sentinel
    assert env["FILE_KEY"] == sentinel + "-file"
    assert (env["MODE"], env["LEVEL"]) == ("x", "3")
    spec = cfg.handlers_for("Do")[0]
    assert "${LAMP_KEY}" in repr(spec)  # the reference is shown, so the user can tell which key
    for shown in (repr(spec), repr(cfg), caplog.text, recorded.detail, failed.detail):
        assert sentinel not in shown


async def test_nonzero_exit_is_a_failure_with_output_summary(tmp_path: Path) -> None:
    script = "import sys; print('lamp not found', file=sys.stderr); sys.exit(3)"
    runner = _runner(tmp_path, [sys.executable, "-c", script])
    task = runner.dispatch(Invocation("u3", "turn on", "Do"))
    assert task is not None
    (outcome,) = await task
    assert not outcome.ok
    assert outcome.detail == "exit status 3: lamp not found"


async def test_output_is_bounded_and_the_rest_counted(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    script = "import sys; sys.stdout.write('y' * 300000)"
    cfg = handlers_config(
        {
            "output_limit_bytes": 1000,
            "bindings": [{"intent": "Do", "exec": {"argv": [sys.executable, "-c", script]}}],
        }
    )
    runner = build_runner(cfg, SpeakingGate(), environ=dict(os.environ))
    caplog.set_level(logging.INFO, logger="assistantd")
    task = runner.dispatch(Invocation("u4", "x", "Do"))
    assert task is not None
    (outcome,) = await task
    assert outcome.ok
    assert "1000 bytes kept, 299000 discarded" in caplog.text


async def test_output_is_logged_as_one_printable_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A program's output could forge log lines or drive the terminal that shows the log.
    forged = "ok\n2026-01-01 00:00:00,000 INFO assistantd.service: forged\x00\x1b[2J\rend"
    script = f"import sys; sys.stdout.write({forged!r}); sys.exit(1)"
    runner = _runner(tmp_path, [sys.executable, "-c", script])
    caplog.set_level(logging.INFO, logger="assistantd")
    task = runner.dispatch(Invocation("u9", "x", "Do"))
    assert task is not None
    (outcome,) = await task
    (logged,) = [r.getMessage() for r in caplog.records if "output (" in r.getMessage()]
    assert logged.endswith(
        "output (67 bytes kept, 0 discarded): "
        "ok\\n2026-01-01 00:00:00,000 INFO assistantd.service: forged\\x00\\x1b[2J\\x0dend"
    )
    assert "\n" not in logged and "\x00" not in logged and "\x1b" not in logged
    assert "\n" not in outcome.detail and "\x00" not in outcome.detail and "\x1b" not in outcome.detail


async def test_missing_program_is_a_failure(tmp_path: Path) -> None:
    runner = _runner(tmp_path, [str(tmp_path / "no-such-program")])
    task = runner.dispatch(Invocation("u5", "x", "Do"))
    assert task is not None
    (outcome,) = await task
    assert not outcome.ok and "cannot start" in outcome.detail


# Starts a grandchild in the same process group, records its pid, then hangs; optionally ignores SIGTERM
# so only SIGKILL after the grace period stops it.
HANGER = """
import os, signal, subprocess, sys, time
if sys.argv[2] == "stubborn":
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(300)"
child = subprocess.Popen([sys.executable, "-c", code])
with open(sys.argv[1], "w") as f:
    f.write(f"{os.getpid()} {child.pid}")
time.sleep(300)
"""


def _exists(pid: int) -> bool:
    """The process still has a /proc entry: running, dying, or a zombie nobody reaped yet."""
    return Path(f"/proc/{pid}").exists()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"  # a zombie waits for its reaper but runs nothing


WAIT_S = 30.0
"""Bounds a wait for a process to die or write a file: only a hang reaches it."""


async def _wait_dead(pid: int) -> bool:
    for _ in range(int(WAIT_S / 0.01)):
        if not _alive(pid):
            return True
        await asyncio.sleep(0.01)
    return False


def _contents(path: Path) -> str:
    return path.read_text() if path.exists() else ""


async def _wait_for_file(path: Path) -> str:
    for _ in range(int(WAIT_S / 0.01)):
        if text := _contents(path):
            return text
        await asyncio.sleep(0.01)
    raise AssertionError(f"{path} never written")


async def test_a_hanging_handler_does_not_hold_up_the_others(tmp_path: Path) -> None:
    hanger = tmp_path / "hanger.py"
    hanger.write_text(HANGER)
    pids = tmp_path / "pids"
    cfg = handlers_config(
        {
            "bindings": [
                {
                    "intent": "Hang",
                    "exec": {"argv": [sys.executable, str(hanger), str(pids), "polite"], "timeout_s": 600},
                },
                {"intent": "Quick", "exec": {"argv": ["true"]}},
            ],
        }
    )
    runner = build_runner(cfg, SpeakingGate(), environ=dict(os.environ))
    hang = runner.dispatch(Invocation("slow", "x", "Hang"))
    assert hang is not None
    leader, child = (int(p) for p in (await _wait_for_file(pids)).split())
    quick = runner.dispatch(Invocation("fast", "x", "Quick"))
    assert quick is not None
    (quick_outcome,) = await quick
    assert quick_outcome.ok
    assert not hang.done()  # the quick one did not wait behind the hanging one (600 s to go)
    await runner.aclose(0.2)
    assert hang.cancelled()
    assert await _wait_dead(leader)
    assert await _wait_dead(child)


@pytest.mark.parametrize("mode", ["polite", "stubborn"])
async def test_timeout_kills_the_process_group(tmp_path: Path, mode: str) -> None:
    hanger = tmp_path / "hanger.py"
    hanger.write_text(HANGER)
    pids = tmp_path / "pids"
    # 5 s: far more than the hanger needs to start and (stubborn) ignore SIGTERM, so the exit signal
    # says how it was stopped, not how fast the machine was.
    cfg = handlers_config(
        {
            "kill_grace_s": 0.3,
            "bindings": [
                {
                    "intent": "Hang",
                    "exec": {"argv": [sys.executable, str(hanger), str(pids), mode], "timeout_s": 5},
                },
            ],
        }
    )
    runner = build_runner(cfg, SpeakingGate(), environ=dict(os.environ))
    hang = runner.dispatch(Invocation("slow", "x", "Hang"))
    assert hang is not None
    leader, child = (int(p) for p in (await _wait_for_file(pids)).split())
    (outcome,) = await hang
    assert not outcome.ok
    assert "timed out after 5 s" in outcome.detail
    assert f"exit {-9 if mode == 'stubborn' else -15}" in outcome.detail
    assert await _wait_dead(leader)
    assert await _wait_dead(child)  # it ignored SIGTERM; the group SIGKILL reached it
    await runner.aclose(1.0)


async def test_aclose_cancels_a_running_handler_and_kills_its_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The reap after SIGKILL is bounded (0.5 s); here the bound only guards against a hang, so the
    # verdict below says whether aclose waits for the reap, not how fast a loaded machine reaps.
    monkeypatch.setattr(process, "_EOF_WAIT_S", WAIT_S)
    hanger = tmp_path / "hanger.py"
    hanger.write_text(HANGER)
    pids = tmp_path / "pids"
    runner = _runner(tmp_path, [sys.executable, str(hanger), str(pids), "polite"], timeout_s=60)
    task = runner.dispatch(Invocation("u6", "x", "Do"))
    assert task is not None
    leader, child = (int(p) for p in (await _wait_for_file(pids)).split())
    await runner.aclose(0.2)
    assert task.cancelled()
    # aclose returns only once the killed leader is reaped: nothing is left for the garbage collector to
    # find still running (a ResourceWarning in some later test, and a zombie meanwhile).
    assert not _exists(leader)
    assert await _wait_dead(leader)
    assert await _wait_dead(child)
    assert runner.dispatch(Invocation("u7", "x", "Do")) is None


def test_a_handler_whose_descendant_keeps_its_pipe_leaves_nothing_for_after_the_loop(tmp_path: Path) -> None:
    # The program starts a descendant in a session of its own (out of reach of the group kill) that
    # holds the output pipe, and is cancelled as at a stop past the grace period. Once asyncio.run has
    # closed the loop, nothing of it may be left for the garbage collector: a subprocess transport closed
    # there raises "Event loop is closed" (printed at the daemon's exit as a traceback).
    pids = tmp_path / "escaped"
    argv = ["sh", "-c", f"setsid sleep 300 & echo $! > {pids}; exec sleep 300"]
    unraisable: list[str] = []
    hook = sys.unraisablehook
    sys.unraisablehook = lambda u: unraisable.append(f"{u.exc_type.__name__}: {u.exc_value} in {u.object!r}")

    async def cancelled_at_stop() -> None:
        runner = _runner(tmp_path, argv, timeout_s=600)
        task = runner.dispatch(Invocation("u8", "x", "Do"))
        assert task is not None
        await _wait_for_file(pids)
        await runner.aclose(0.2)
        assert task.cancelled()

    try:
        asyncio.run(cancelled_at_stop())
        gc.collect()
    finally:
        sys.unraisablehook = hook
        if escaped := _contents(pids).strip():
            os.kill(int(escaped), signal.SIGKILL)
    assert unraisable == []
