"""The privacy switch: listening muted or not, kept in a small file so that it survives restarts.

Muted means the microphone's audio is discarded before the wake stage: no wake word is detected, nothing
is uploaded to a recognizer and no handler runs (app.py). The switch is flipped by a control (site.py)
and read once per frame, so reading it is a plain attribute.

The file is ``<service.state_dir>/privacy.json`` (``{"muted": true}``), written through a temporary file
and renamed, so a power cut leaves the old state or the new one, never half of one. A file that cannot be
read or written is logged; the switch then works for this run only.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

FILE_NAME = "privacy.json"

Listener = Callable[[bool], None]


class PrivacySwitch:
    def __init__(self, state_dir: Path | None) -> None:
        """``state_dir`` None: not kept across restarts (tests, and a daemon without one)."""
        self.path = state_dir / FILE_NAME if state_dir is not None else None
        self.muted = self._load()
        self._listeners: list[Listener] = []

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
        """Mute or unmute; True when it changed. Listeners hear of a change at once, then it is saved."""
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

    def _save(self) -> None:
        if self.path is None:
            return
        temporary = self.path.with_name(f".{FILE_NAME}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with temporary.open("w", encoding="utf-8") as out:
                json.dump({"muted": self.muted}, out)
                out.flush()
                os.fsync(out.fileno())
            os.replace(temporary, self.path)
        except OSError as err:
            log.error(
                "privacy switch: cannot save to %s (%s); it holds until the daemon restarts",
                self.path,
                err.strerror or err,
            )
