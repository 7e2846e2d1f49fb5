"""sd_notify through a real AF_UNIX datagram socket, as systemd would receive it."""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistantd.systemd import Notifier, ProgressWatchdog, send_notify


@pytest.fixture
def notify_socket(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[socket.socket]:
    path = tmp_path / "notify"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(str(path))
    sock.settimeout(2)
    monkeypatch.setenv("NOTIFY_SOCKET", str(path))
    yield sock
    sock.close()


def _recv(sock: socket.socket) -> str:
    return sock.recv(4096).decode()


def test_messages_arrive_on_the_notify_socket(notify_socket: socket.socket) -> None:
    notifier = Notifier(env={"NOTIFY_SOCKET": os.environ["NOTIFY_SOCKET"], "WATCHDOG_USEC": "4000000"})
    assert notifier.under_systemd
    assert notifier.watchdog_interval_s == 2.0
    notifier.ready("listening")
    assert _recv(notify_socket) == "READY=1\nSTATUS=listening"
    notifier.status("hearing")
    assert _recv(notify_socket) == "STATUS=hearing"
    notifier.status("hearing")  # unchanged: not sent again
    notifier.watchdog()
    assert _recv(notify_socket) == "WATCHDOG=1"
    notifier.reloading()
    assert _recv(notify_socket).startswith("RELOADING=1\nMONOTONIC_USEC=")
    notifier.stopping()
    assert _recv(notify_socket) == "STOPPING=1"


def test_harmless_without_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    notifier = Notifier(env={})
    assert not notifier.under_systemd
    assert notifier.watchdog_interval_s is None
    notifier.ready("listening")
    notifier.watchdog()


def test_watchdog_for_another_pid_is_ignored() -> None:
    notifier = Notifier(env={"WATCHDOG_USEC": "4000000", "WATCHDOG_PID": str(os.getpid() + 1)})
    assert notifier.watchdog_interval_s is None


def test_progress_watchdog_goes_unhealthy_when_frames_stop() -> None:
    dog = ProgressWatchdog(stall_s=3.0)
    assert not dog.healthy(0.0)
    dog.progress(10.0)
    assert dog.healthy(12.9)
    assert not dog.healthy(13.1)


def test_progress_watchdog_is_overdue_only_stall_s_after_listening_began_or_the_last_frame() -> None:
    dog = ProgressWatchdog(stall_s=3.0)
    dog.begin(100.0)
    # Just started: no frame yet, so no ping (not known to be alive), but not late either.
    assert not dog.healthy(100.0) and not dog.overdue(100.0)
    assert dog.overdue(103.1)
    dog.progress(104.0)
    assert not dog.overdue(106.9)
    assert dog.overdue(107.1)


def test_a_notify_socket_that_is_gone_costs_a_warning_not_the_daemon(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # The manager's socket vanished (a stale NOTIFY_SOCKET, a restarted manager): systemd-python raises
    # FileNotFoundError, which used to end the daemon with a traceback at READY.
    gone = tmp_path / "gone"
    monkeypatch.setenv("NOTIFY_SOCKET", str(gone))
    notifier = Notifier(env={"NOTIFY_SOCKET": str(gone), "WATCHDOG_USEC": "4000000"})
    notifier.ready("listening")
    notifier.watchdog()
    notifier.stopping()
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == [
        f"cannot notify the service manager at {gone} ([Errno 2] No such file or directory); "
        "carrying on without it"
    ]


def test_sd_notify_reaches_a_socket_in_the_abstract_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    # systemd hands some units an abstract socket ("@name"); the daemon's own sd_notify must reach it.
    name = f"assistantd-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as manager:
        manager.bind("\0" + name)
        manager.settimeout(10)
        monkeypatch.setenv("NOTIFY_SOCKET", "@" + name)
        assert send_notify("READY=1\nSTATUS=listening")
        assert manager.recv(4096) == b"READY=1\nSTATUS=listening"
    monkeypatch.delenv("NOTIFY_SOCKET")
    assert not send_notify("WATCHDOG=1")  # not under a manager: nothing sent, nothing raised
