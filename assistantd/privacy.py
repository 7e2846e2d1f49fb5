"""The privacy switch: listening muted or not, kept in a small file so that it survives restarts.

Muted means the microphone's audio is discarded before the wake stage: no wake word is detected, nothing
is uploaded to a recognizer and no handler runs (app.py). The switch is flipped by a control (site.py)
and read once per frame, so reading it is a plain attribute.

The file is ``<service.state_dir>/privacy.json`` (``{"muted": true}``), written through a temporary file
(fsynced) and renamed, then the directory fsynced, so a power cut leaves the old state or the new one,
never half of one. A file that cannot be read or written is logged; the switch then works for this run
only.

Saving is off the event loop: an fsync on a Pi's SD card can take tens of milliseconds (hundreds on a
worn card), and the loop carries the microphone. ``set`` flips the switch at once and hands the save to
one owned thread (owned_threads.py) that writes the newest state until none is left to write, so a burst
of mutes costs at most two writes and the file always ends at the switch's last state. ``flush`` waits
for that (the daemon's stop, through SiteRuntime.aclose).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from assistantd.owned_threads import CallHungError, Job, OwnedThreads, ThreadsExhaustedError

log = logging.getLogger(__name__)

FILE_NAME = "privacy.json"

Listener = Callable[[bool], None]

FLUSH_DEADLINE_S = 5.0
"""At a stop, how long the last save may take before the daemon stops without it (it is logged)."""

STATE_FILES = OwnedThreads("state file", limit=1)
"""The saver's thread (one at a time: a save hung on a dying card holds the only one)."""


class PrivacySwitch:
    def __init__(self, state_dir: Path | None, *, threads: OwnedThreads = STATE_FILES) -> None:
        """``state_dir`` None: not kept across restarts (tests, and a daemon without one)."""
        self.path = state_dir / FILE_NAME if state_dir is not None else None
        self.muted = self._load()
        self._listeners: list[Listener] = []
        self._threads = threads
        self._lock = threading.Lock()
        self._unsaved = False
        """A change the saver has not taken up yet (under ``_lock``)."""
        self._saving = False
        """The saver's thread runs and will take up ``_unsaved`` before it ends (under ``_lock``)."""
        self._saver: Job[None] | None = None

    def _load(self) -> bool:
        if self.path is None:
            return False
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return False
        except (OSError, ValueError) as err:
            log.error("privacy switch: cannot read %s (%s); starting unmuted", self.path, err)
            return False
        muted = data.get("muted") if isinstance(data, dict) else None
        if not isinstance(muted, bool):
            log.error("privacy switch: %s has no true/false 'muted'; starting unmuted", self.path)
            return False
        if muted:
            log.warning("listening is muted (privacy switch, kept in %s)", self.path)
        return muted

    def set(self, muted: bool, why: str) -> bool:
        """Mute or unmute; True when it changed. Listeners hear of a change at once; it is saved on the
        saver's thread."""
        if muted == self.muted:
            return False
        self.muted = muted
        log.warning("listening %s (%s)", "muted" if muted else "unmuted", why)
        for listener in list(self._listeners):
            listener(muted)
        self._save()
        return True

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def unsubscribe(self, listener: Listener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    async def flush(self) -> None:
        """Wait (at most FLUSH_DEADLINE_S) until the file holds the switch's last state."""
        saver = self._saver
        if saver is None:
            return
        try:
            await self._threads.wait(saver, deadline_s=FLUSH_DEADLINE_S)
        except CallHungError:
            log.error("privacy switch: %s not saved within %g s", self.path, FLUSH_DEADLINE_S)

    def _save(self) -> None:
        if self.path is None:
            return
        with self._lock:
            self._unsaved = True
            if self._saving:
                return  # the running saver writes the newest state before it ends
            self._saving = True
        try:
            self._saver = self._threads.start(self._save_newest, what="privacy.json save")
        except ThreadsExhaustedError as err:
            with self._lock:
                self._saving = False
            log.error("privacy switch: not saved (%s); it holds until the daemon restarts", err)

    def _save_newest(self) -> None:
        """The saver's thread: write the newest state until no change is left unsaved."""
        while True:
            with self._lock:
                if not self._unsaved:
                    self._saving = False
                    return
                self._unsaved = False
                muted = self.muted
            self._write(muted)

    def _write(self, muted: bool) -> None:
        assert self.path is not None
        temporary = self.path.with_name(f".{FILE_NAME}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with temporary.open("w", encoding="utf-8") as out:
                json.dump({"muted": muted}, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
            # The rename is only durable once the directory is: without this a power cut may bring back
            # the old state.
            directory = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)
        except OSError as err:
            log.error(
                "privacy switch: cannot save to %s (%s); it holds until the daemon restarts",
                self.path,
                err.strerror or err,
            )
