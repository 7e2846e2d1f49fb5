"""The real daemon under a fake service manager: readiness, status, watchdog, signals, reload, metrics.

Each test starts ``python -m assistantd run --input -`` (see harness.py), feeds it flite speech over a room's
noise floor through stdin and watches its notify socket, its JSON reports and its log.
"""

from __future__ import annotations

import contextlib
import copy
import os
import signal
import socket
import threading
import time
import urllib.request
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.daemon.conftest import StartDaemon
from tests.daemon.harness import DEADLINE_S, Audio, fake_sauc_process, free_port, write_config

COMMAND = "turn on the kitchen lights"
PAUSE_S = 1.2
"""Room after a command: more than the default 0.7 s hangover, so the endpoint falls inside it."""


def _spoken(audio: Audio, text: str = COMMAND) -> bytes:
    return audio.room(0.5) + audio.command(text) + audio.room(PAUSE_S)


def test_ready_status_and_a_watchdog_that_follows_the_audio(
    start_daemon: StartDaemon, config: dict[str, Any], audio: Audio
) -> None:
    daemon = start_daemon(config)
    ready = daemon.notice("READY")
    assert ready.fields["STATUS"].startswith("listening; 0 utterances")

    # No frame consumed yet: a daemon that never heard anything is not known to be alive.
    time.sleep(1.2)
    assert not [n for n in daemon.notices if "WATCHDOG" in n.fields]

    flowing = len(daemon.notices)
    daemon.stream(audio.room(2.0))
    daemon.notice("WATCHDOG", since=flowing)  # WATCHDOG=1 once audio flows

    # The writer goes quiet: stdin blocks, no frame is consumed, and after watchdog_stall_s (1 s) the
    # pings stop, so systemd would restart a daemon whose audio loop is stuck.
    daemon.log_line("audio loop made no progress", since=len(daemon.stderr))
    withheld = len([n for n in daemon.notices if "WATCHDOG" in n.fields])
    time.sleep(1.5)
    assert len([n for n in daemon.notices if "WATCHDOG" in n.fields]) == withheld

    # Audio again: pings resume, and the status follows the utterance through the loop.
    resumed = len(daemon.notices)
    daemon.stream(_spoken(audio))
    daemon.notice("WATCHDOG", since=resumed)
    (report,) = daemon.reports(1)
    assert (report["text"], report["intent"]) == (COMMAND, "LightOn")
    daemon.wait_until(
        lambda: daemon.statuses()[-1].startswith("listening; 1 utterances, 1 matched"),
        timeout=DEADLINE_S,
        what="STATUS back to listening with the utterance counted",
    )
    states = [s.split(";")[0] for s in daemon.statuses()]
    assert "hearing" in states[states.index("listening") :]

    daemon.end_input()
    assert daemon.wait() == 0


def test_a_normal_start_logs_no_watchdog_warning(
    start_daemon: StartDaemon, config: dict[str, Any], audio: Audio
) -> None:
    # The first watchdog tick comes before the first frame: that is not a stall (it used to be logged
    # as one at every start). A long stall_s keeps a slow test writer from causing a real one.
    config["service"]["watchdog_stall_s"] = 30.0
    daemon = start_daemon(config)
    daemon.notice("READY")
    daemon.write(_spoken(audio))
    daemon.reports(1)
    daemon.end_input()
    assert daemon.wait() == 0
    assert not [line for line in daemon.stderr if "made no progress" in line]


def _killed_by_sighup_now(pid: int) -> bool | None:
    """True while the process has started its own imports (webrtcvad's extension is mapped) and SIGHUP
    still has its default action (neither ignored nor caught); None once the process is gone."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
        maps = Path(f"/proc/{pid}/maps").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return None
    masks = dict(line.split(":\t", 1) for line in status.splitlines() if line.startswith("Sig"))
    hup = 1 << (signal.SIGHUP - 1)
    handled = any(int(masks[key], 16) & hup for key in ("SigIgn", "SigCgt"))
    return "_webrtcvad" in maps and not handled


def test_a_sighup_while_starting_cannot_kill_it(
    start_daemon: StartDaemon, config: dict[str, Any], audio: Audio
) -> None:
    # While it imports and loads models (hundreds of ms on a Pi) a SIGHUP (a reload from someone who
    # just edited the config) used to end the process: its handler came only after the imports.
    # Watched from the start until READY: there must be no moment when SIGHUP would kill it.
    daemon = start_daemon(config)
    exposed = 0
    while not [n for n in daemon.notices if "READY" in n.fields] and daemon.proc.poll() is None:
        exposed += bool(_killed_by_sighup_now(daemon.proc.pid))
        time.sleep(0.001)
    assert exposed == 0, f"SIGHUP would have killed the starting daemon ({exposed} samples)"
    ready = len(daemon.notices)
    daemon.send(signal.SIGHUP)  # and now it is a reload
    reloading = daemon.notice("RELOADING", since=ready)
    daemon.notice("READY", since=daemon.notices.index(reloading) + 1)
    daemon.write(_spoken(audio))
    (report,) = daemon.reports(1)
    assert report["intent"] == "LightOn"
    daemon.end_input()
    assert daemon.wait() == 0


def test_sigterm_mid_utterance_lets_it_finish(
    start_daemon: StartDaemon, config: dict[str, Any], audio: Audio
) -> None:
    daemon = start_daemon(config)
    daemon.notice("READY")
    # The whole command and less room after it than the hangover: the endpointer is still waiting for
    # the endpoint. SIGTERM comes once the daemon has read all of it (the last 0.25 s chunk, room, may
    # still be on its way: it must not matter).
    daemon.write(audio.room(0.5) + audio.command(COMMAND) + audio.room(0.3))
    daemon.wait_input_read()
    daemon.wait_until(
        lambda: any(s.startswith("hearing") for s in daemon.statuses()), DEADLINE_S, "STATUS=hearing"
    )
    daemon.send(signal.SIGTERM)
    assert daemon.wait() == 0
    stopping = daemon.notice("STOPPING")
    assert stopping.at > daemon.notice("READY").at
    (report,) = daemon.reports(1)
    assert (report["text"], report["intent"]) == (COMMAND, "LightOn")
    assert report["handlers"] == [
        {"handler": "LightOn[0] exec true", "ok": True, "detail": report["handlers"][0]["detail"]}
    ]
    assert any("assistantd stopped" in line for line in daemon.stderr)


def test_sigterm_while_a_handler_runs_waits_for_it(
    start_daemon: StartDaemon, config: dict[str, Any], audio: Audio, tmp_path: Path
) -> None:
    # The handler runs until the test lets it go, which is only after SIGTERM: a daemon that did not
    # wait for it would report it cancelled, however fast or slow the machine.
    release = tmp_path / f"release-{os.getpid()}"
    wait_for_release = f"while [ ! -e {release} ]; do sleep 0.05; done"
    config["handlers"]["bindings"] = [
        {"intent": "LightOn", "exec": {"argv": ["sh", "-c", wait_for_release], "timeout_s": 600}}
    ]
    daemon = start_daemon(config)
    daemon.notice("READY")
    daemon.write(_spoken(audio))
    daemon.wait_until(lambda: _processes_with(str(release)), DEADLINE_S, "the handler process")
    daemon.send(signal.SIGTERM)
    daemon.notice("STOPPING")
    assert daemon.proc.poll() is None, "SIGTERM waits for the running handler"
    release.touch()
    assert daemon.wait() == 0
    (report,) = daemon.reports(1)
    (outcome,) = report["handlers"]
    assert outcome["ok"], outcome
    daemon.notice("STOPPING")


def test_sighup_with_a_broken_config_keeps_the_running_one(
    start_daemon: StartDaemon, config: dict[str, Any], audio: Audio
) -> None:
    daemon = start_daemon(config)
    ready = daemon.notice("READY")
    broken = copy.deepcopy(config)
    broken["audio"] = {"frame_ms": 25}
    write_config(daemon.config, broken)
    before = daemon.notices.index(ready) + 1
    daemon.send(signal.SIGHUP)
    reloading = daemon.notice("RELOADING", since=before)
    assert "MONOTONIC_USEC" in reloading.fields
    daemon.notice("READY", since=daemon.notices.index(reloading) + 1)
    rejected = daemon.log_line("reload rejected")
    assert "audio.frame_ms" in rejected and str(daemon.config) in rejected

    # Still listening with the first configuration.
    daemon.write(_spoken(audio))
    (report,) = daemon.reports(1)
    assert report["intent"] == "LightOn"
    assert report["handlers"][0]["handler"] == "LightOn[0] exec true"
    daemon.end_input()
    assert daemon.wait() == 0


def test_sighup_with_a_valid_config_applies_it(
    start_daemon: StartDaemon, config: dict[str, Any], audio: Audio
) -> None:
    daemon = start_daemon(config)
    ready = daemon.notice("READY")
    daemon.write(_spoken(audio))
    (first,) = daemon.reports(1)
    changed = copy.deepcopy(config)
    changed["handlers"]["bindings"] = [
        {"intent": "LightOn", "exec": {"argv": ["echo", "reloaded"], "timeout_s": 5}}
    ]
    write_config(daemon.config, changed)
    before = daemon.notices.index(ready) + 1
    daemon.send(signal.SIGHUP)
    reloading = daemon.notice("RELOADING", since=before)
    daemon.notice("READY", since=daemon.notices.index(reloading) + 1)
    daemon.log_line(f"reloaded {daemon.config}")

    daemon.write(_spoken(audio))
    _, report = daemon.reports(2)
    assert report["intent"] == "LightOn"
    assert report["handlers"][0]["handler"] == "LightOn[0] exec echo"
    assert report["handlers"][0]["ok"]
    # Ids and the audio clock carry on across the reload (they restarted at 1 and 0, so two reports
    # shared an id and a time), and the read the old source left waiting on stdin handed its audio
    # over instead of dropping it: the second command starts one spoken block after the first (within
    # the partial frame the old reader left).
    assert (first["id"], report["id"]) == ("1", "2")
    block_s = len(_spoken(audio)) / 32000
    assert abs(report["start"] - first["start"] - block_s) <= 0.03, (first, report, block_s)  # a frame
    daemon.end_input()
    assert daemon.wait() == 0


def test_sighup_over_a_pipe_cuts_drops_and_skips_nothing(
    start_daemon: StartDaemon, config: dict[str, Any], audio: Audio
) -> None:
    # Commands written as fast as the daemon reads them: its listener runs ahead of the recognizer, so at
    # the SIGHUP some are queued, one may be half-heard and one waits for a recognition slot. A pipe loses
    # nothing: every command is recognized once, and its time is where it was said.
    count = 6
    daemon = start_daemon(config)
    ready = daemon.notice("READY")
    writer = threading.Thread(target=daemon.write, args=(_spoken(audio) * count,), daemon=True)
    writer.start()
    daemon.reports(1)
    before = daemon.notices.index(ready) + 1
    daemon.send(signal.SIGHUP)
    reloading = daemon.notice("RELOADING", since=before)
    daemon.notice("READY", since=daemon.notices.index(reloading) + 1)
    writer.join(DEADLINE_S)
    daemon.end_input()
    assert daemon.wait() == 0
    reports = sorted(daemon.reports(count), key=lambda r: r["start"])
    assert [(r["outcome"], r["intent"]) for r in reports] == [("recognized", "LightOn")] * count, reports
    assert sorted(int(r["id"]) for r in reports) == list(range(1, count + 1))
    block_s = len(_spoken(audio)) / 32000
    for i, report in enumerate(reports):
        # Within a frame when the machine is quiet; under heavy load a report after the reload was once
        # seen 0.16 s late (issue 10's note: the clock carried across a pipe reload can still run a few
        # frames ahead, cause not yet found). No audio is lost or repeated either way: the ids, outcomes
        # and count above hold, and each command stays within its own block.
        assert abs(report["start"] - reports[0]["start"] - i * block_s) <= 0.25, (i, reports)


def test_sighup_over_a_wav_file_carries_on_where_it_stopped(
    start_daemon: StartDaemon, config: dict[str, Any], audio: Audio, tmp_path: Path
) -> None:
    # ``run --input FILE.wav`` and a SIGHUP: the new app used to open the file again and play it from the
    # start, so every command before the reload was heard (and acted on) twice. The handler waits on a
    # gate and the runner has room for one, so the file is still being read when the SIGHUP comes.
    count = 12
    wav = tmp_path / "commands.wav"
    with wave.open(str(wav), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(_spoken(audio) * count)
    gate = tmp_path / "gate"
    wait_for_gate = f"while [ ! -e {gate} ]; do sleep 0.05; done"
    config["handlers"] = {
        "max_concurrent": 1,
        "max_pending": 0,
        "bindings": [
            {
                "intent": "LightOn",
                "exec": {"argv": ["sh", "-c", wait_for_gate], "timeout_s": 60},
            }
        ],
    }
    daemon = start_daemon(config, input_path=str(wav))
    ready = daemon.notice("READY")
    daemon.log_line("-> intent LightOn")  # the first command runs its handler, which waits on the gate
    before = daemon.notices.index(ready) + 1
    daemon.send(signal.SIGHUP)
    reloading = daemon.notice("RELOADING", since=before)
    gate.touch()
    daemon.notice("READY", since=daemon.notices.index(reloading) + 1)
    assert daemon.wait() == 0
    reports = sorted(daemon.reports(count), key=lambda r: r["start"])
    assert len(reports) == count, reports  # none twice
    assert [(r["outcome"], r["intent"]) for r in reports] == [("recognized", "LightOn")] * count, reports
    assert sorted(int(r["id"]) for r in reports) == list(range(1, count + 1))
    block_s = len(_spoken(audio)) / 32000
    for i, report in enumerate(reports):
        assert abs(report["start"] - reports[0]["start"] - i * block_s) <= 0.03, (i, reports)  # a frame


def _processes_with(marker: str) -> list[int]:
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            if marker.encode() in cmdline.read_bytes():
                found.append(int(cmdline.parent.name))
        except OSError:
            continue
    return found


def test_second_sigint_forces_exit(start_daemon: StartDaemon, config: dict[str, Any], audio: Audio) -> None:
    # An odd duration names this test's handler process among everything else running here.
    marker = f"900.{os.getpid()}"
    config["handlers"]["bindings"] = [
        {"intent": "LightOn", "exec": {"argv": ["sleep", marker], "timeout_s": 60}}
    ]
    daemon = start_daemon(config)
    daemon.notice("READY")
    daemon.write(_spoken(audio))
    daemon.log_line("-> intent LightOn")
    daemon.wait_until(lambda: _processes_with(marker), DEADLINE_S, "the handler process")

    daemon.send(signal.SIGINT)
    daemon.notice("STOPPING")
    assert daemon.proc.poll() is None, "the first SIGINT waits for the handler's grace period"
    daemon.send(signal.SIGINT)
    assert daemon.wait() == 130
    assert any("second interrupt: forcing exit" in line for line in daemon.stderr)
    daemon.wait_until(
        lambda: not _processes_with(marker), DEADLINE_S, "the handler process gone with the daemon"
    )


def test_metrics_endpoint_counts_an_utterance(
    start_daemon: StartDaemon, config: dict[str, Any], audio: Audio
) -> None:
    port = free_port()
    config["service"]["metrics_port"] = port
    daemon = start_daemon(config)
    daemon.notice("READY")
    daemon.write(_spoken(audio))
    daemon.reports(1)
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=5) as response:
        assert response.status == 200
        body = response.read().decode()
    counters = dict(
        line.rsplit(" ", 1)
        for line in body.splitlines()
        if line.startswith("assistantd_") and "{" not in line
    )
    assert counters["assistantd_utterances_total"] == "1"
    assert counters["assistantd_matched_total"] == "1"
    assert counters["assistantd_handler_runs_total"] == "1"
    assert counters["assistantd_endpoint_to_final_seconds_count"] == "1"
    daemon.end_input()
    assert daemon.wait() == 0


def test_metrics_port_in_use_costs_the_metrics_not_the_daemon(
    start_daemon: StartDaemon, config: dict[str, Any], audio: Audio
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        config["service"]["metrics_port"] = taken.getsockname()[1]
        daemon = start_daemon(config)
        daemon.notice("READY")
        daemon.log_line("metrics endpoint disabled: cannot listen on 127.0.0.1")
        daemon.write(_spoken(audio))
        assert daemon.reports(1)[0]["intent"] is not None
        daemon.end_input()
        assert daemon.wait() == 0


def test_secrets_never_reach_the_output(
    start_daemon: StartDaemon, config: dict[str, Any], audio: Audio
) -> None:
    # A cloud recognizer that refuses our keys (the fake expects others): the failure is logged at debug
    # level, the local fallback recognizes, and the keys appear nowhere.
    with fake_sauc_process("--app-key", "other", "--access-key", "other") as url:
        secrets = {"VOLC_APP_KEY": "SENTINEL-app-4b1e9d", "VOLC_ACCESS_KEY": "SENTINEL-access-77c2af"}
        config["recognizer"].update(
            default="volcengine",
            fallback="local",
            volcengine={"app_key": "${VOLC_APP_KEY}", "access_key": "${VOLC_ACCESS_KEY}", "url": url},
        )
        daemon = start_daemon(config, env=secrets, verbose=True)
        daemon.notice("READY")
        daemon.write(_spoken(audio))
        (report,) = daemon.reports(1)
        # The whole utterance reached the fallback, not just what had arrived when the cloud refused.
        assert (report["recognizer"], report["text"]) == ("local", COMMAND), report
        assert "HTTP 401" in report["note"]
        daemon.end_input()
        assert daemon.wait() == 0
    everything = "\n".join([*daemon.stdout, *daemon.stderr, *(n.text for n in daemon.notices)])
    for value in secrets.values():
        assert value not in everything


CLOUD_KEYS = {"VOLC_APP_KEY": "test-app-key", "VOLC_ACCESS_KEY": "test-access-key"}


@contextlib.contextmanager
def stalled_cloud(config: dict[str, Any], fallback: str | None) -> Iterator[None]:
    """A fake cloud (a subprocess) that takes the audio and never answers; ``config`` is pointed at it
    with a final deadline (60 s) far past the shutdown grace."""
    with fake_sauc_process("--no-final") as url:
        config["recognizer"].update(
            default="volcengine",
            fallback=fallback,
            transport={"final_timeout_s": 60},
            volcengine={"app_key": "${VOLC_APP_KEY}", "access_key": "${VOLC_ACCESS_KEY}", "url": url},
        )
        yield


@pytest.mark.parametrize("fallback", ["local", None])
def test_sigterm_while_the_cloud_stalls_still_reports_the_utterance(
    start_daemon: StartDaemon, config: dict[str, Any], audio: Audio, fallback: str | None
) -> None:
    # The cloud takes the audio and never answers (its final deadline, 60 s, is far past the shutdown
    # grace). On SIGTERM the utterance in flight used to be cancelled with no report at all.
    with stalled_cloud(config, fallback):
        daemon = start_daemon(config, env=CLOUD_KEYS)
        daemon.notice("READY")
        daemon.write(_spoken(audio))
        daemon.wait_until(
            lambda: any(s.startswith("recognizing") for s in daemon.statuses()), DEADLINE_S, "recognizing"
        )
        daemon.send(signal.SIGTERM)
        assert daemon.wait() == 0
    (report,) = daemon.reports(1)
    if fallback:
        # Stopping hurried the recognizer: the stalled cloud was given up for the fallback at once (logged
        # before the local decode starts, however long that then takes).
        daemon.log_line("falling back to local recognizer after a failure: volcengine failed: abandoned")
    if fallback and report["outcome"] == "fell back":
        # Stopping hurries the fallback (tests/recognizer/test_fallback.py): the local recognizer answers.
        assert (report["recognizer"], report["text"], report["intent"]) == ("local", COMMAND, "LightOn")
        assert report["note"] == "volcengine failed: abandoned: the daemon is stopping"
    else:
        # No fallback, or a machine too busy for the local decode to finish within the grace (which
        # stays under the unit's TimeoutStopSec): still its one line, saying what became of it.
        assert report["text"] is None
        assert report["error"] == "lost: the daemon stopped before the recognizer answered"


def test_sigterm_with_commands_queued_behind_a_stalled_cloud_reports_each_once(
    start_daemon: StartDaemon, config: dict[str, Any], audio: Audio
) -> None:
    # Four commands read at once: two are with the cloud (which never answers), one has been taken from
    # the listener and waits for a recognition slot, one waits in the listener. Each gets one line.
    with stalled_cloud(config, "local"):
        daemon = start_daemon(config, env=CLOUD_KEYS)
        daemon.notice("READY")
        daemon.write(_spoken(audio) * 4)
        daemon.wait_input_read()
        daemon.wait_until(
            lambda: any(s.startswith("recognizing") for s in daemon.statuses()), DEADLINE_S, "recognizing"
        )
        daemon.send(signal.SIGTERM)
        assert daemon.wait() == 0
    lines = daemon.reports(1)
    assert sorted(line["id"] for line in lines) == ["1", "2", "3", "4"], lines
    said = [(line["id"], line["outcome"], line.get("error"), line.get("note")) for line in lines]
    # With the cloud: fell back (the hurried local decode finished within the grace) or, on a machine too
    # busy for that, lost past the grace. Not yet recognized: dropped. Each exactly once, in any case.
    daemon.log_line("falling back to local recognizer after a failure: volcengine failed: abandoned")
    past_grace = "lost: the daemon stopped before the recognizer answered"
    for line in lines:
        assert line["outcome"] in ("fell back", "dropped", "lost"), said
        assert line["outcome"] != "lost" or line["error"] == past_grace, said
    assert any(line["outcome"] != "dropped" for line in lines), said  # some were with the cloud


def test_a_bad_config_at_start_exits_2_and_never_reports_ready(
    start_daemon: StartDaemon, config: dict[str, Any]
) -> None:
    config["handlers"]["bindings"] = [{"intent": "LightOnn", "exec": {"argv": ["true"]}}]
    daemon = start_daemon(config)
    assert daemon.wait() == 2
    (line,) = [line for line in daemon.stderr if line.startswith("assistantd run:")]
    assert str(daemon.config) in line and "handlers.bindings[0].intent" in line and "'LightOn'" in line
    assert not [n for n in daemon.notices if "READY" in n.fields]


def test_stdin_that_gives_no_audio_is_one_line_and_exit_2(
    start_daemon: StartDaemon, config: dict[str, Any]
) -> None:
    # The input failed for good: the daemon stops in order and says why in one line (it was a
    # traceback from the task group, exit 1).
    daemon = start_daemon(config)
    daemon.end_input()
    assert daemon.wait() == 2
    assert daemon.stderr[-1] == "assistantd run: stdin: no audio (expected raw 16 kHz mono s16le)"
    assert not [line for line in daemon.stderr if "Traceback" in line]
