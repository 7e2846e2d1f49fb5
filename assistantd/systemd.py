"""sd_notify and journald glue. Everything here is harmless when not running under systemd."""

from __future__ import annotations

import logging
import os
import socket
import sys
import time
from collections.abc import Callable, Mapping

Notify = Callable[[str], bool]
log = logging.getLogger(__name__)
_unreachable: set[str] = set()
"""NOTIFY_SOCKET values already reported unreachable (one warning each, not one per ping)."""


def send_notify(message: str) -> bool:
    """sd_notify(3) itself: one datagram to ``$NOTIFY_SOCKET`` (a path, or ``@name`` in the abstract
    namespace); False when no manager asked for it. Written here rather than imported from systemd-python,
    whose module loads libsystemd and its libraries (about 1 MB of RSS, issue 13) for these few lines.
    (systemd's AF_VSOCK addresses, for virtual machines, are not supported.)"""
    where = os.environ.get("NOTIFY_SOCKET", "")
    if not where:
        return False
    address = "\0" + where[1:] if where.startswith("@") else where
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
        sock.connect(address)
        sock.sendall(message.encode())
    return True


def _default_notify(message: str) -> bool:
    """Send ``message`` to the service manager; a socket that is gone or refuses costs the notification,
    never the daemon."""
    try:
        return send_notify(message)
    except OSError as err:
        where = os.environ.get("NOTIFY_SOCKET", "")
        if where not in _unreachable:
            _unreachable.add(where)
            log.warning("cannot notify the service manager at %s (%s); carrying on without it", where, err)
        return False


class Notifier:
    """Typed sd_notify messages. ``notify`` is injected (tests pass their own or use a real socket)."""

    def __init__(self, notify: Notify = _default_notify, env: Mapping[str, str] | None = None) -> None:
        self._notify = notify
        environ = os.environ if env is None else env
        self.under_systemd = bool(environ.get("NOTIFY_SOCKET"))
        usec = environ.get("WATCHDOG_USEC", "")
        pid = environ.get("WATCHDOG_PID", "")
        watchdog_for_us = usec.isdigit() and (not pid or pid == str(os.getpid()))
        self.watchdog_interval_s: float | None = int(usec) / 2e6 if watchdog_for_us else None
        """How often to send WATCHDOG=1 (half of WatchdogSec), or None when no watchdog is armed."""
        self._last_status = ""

    def ready(self, status: str) -> None:
        self._last_status = status
        self._notify(f"READY=1\nSTATUS={status}")

    def status(self, status: str) -> None:
        """Send STATUS= only when it changed, so a busy loop does not flood the manager."""
        if status != self._last_status:
            self._last_status = status
            self._notify(f"STATUS={status}")

    def watchdog(self) -> None:
        self._notify("WATCHDOG=1")

    def reloading(self) -> None:
        # MONOTONIC_USEC lets systemd >= 253 (Type=notify-reload) match the reload; older ones ignore it.
        usec = time.clock_gettime_ns(time.CLOCK_MONOTONIC) // 1000
        self._notify(f"RELOADING=1\nMONOTONIC_USEC={usec}")

    def stopping(self) -> None:
        self._notify("STOPPING=1")


class ProgressWatchdog:
    """Decides whether WATCHDOG=1 may be sent: only while audio frames are really flowing and consumed.

    The audio loop calls ``progress(now)`` per consumed frame; the watchdog task asks ``healthy(now)``.
    A wedged loop stops calling progress, so pings stop and systemd restarts the service.
    """

    def __init__(self, stall_s: float) -> None:
        self.stall_s = stall_s
        self._last: float | None = None
        self._since: float | None = None

    def begin(self, now: float) -> None:
        """Listening starts now: the first frame is due within ``stall_s`` of it."""
        if self._since is None:
            self._since = now

    def progress(self, now: float) -> None:
        self._last = now

    def healthy(self, now: float) -> bool:
        return self._last is not None and now - self._last <= self.stall_s

    def overdue(self, now: float) -> bool:
        """No frame for longer than ``stall_s``: since the last one, or since listening began. (Before
        the first frame the loop is not known to be alive, so no ping, but not yet late either.)"""
        since = self._last if self._last is not None else self._since
        return since is not None and now - since > self.stall_s


def under_journald(env: Mapping[str, str] | None = None) -> bool:
    """True when stderr is connected to journald (systemd sets JOURNAL_STREAM to its device:inode)."""
    environ = os.environ if env is None else env
    stream = environ.get("JOURNAL_STREAM", "")
    if not stream:
        return False
    try:
        st = os.fstat(sys.stderr.fileno())
    except (OSError, ValueError):
        return False
    return stream == f"{st.st_dev}:{st.st_ino}"


def journal_handler() -> logging.Handler:
    """A handler that sends records to journald with their ``extra`` fields (UTTERANCE_ID=..., ...)."""
    from systemd.journal import JournalHandler  # noqa: PLC0415 - only needed under systemd

    handler: logging.Handler = JournalHandler(SYSLOG_IDENTIFIER="assistantd")
    return handler
