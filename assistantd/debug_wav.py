"""Optional saving of utterance audio to a bounded directory, for people tuning their setup."""

from __future__ import annotations

import logging
import re
import time
import wave
from collections.abc import Callable
from pathlib import Path

from assistantd.audio.frames import CHANNELS, SAMPLE_RATE, SAMPLE_WIDTH

log = logging.getLogger(__name__)

_OURS = re.compile(r"^\d{8}T\d{6}-[^/]+\.wav$")


class UtteranceSaver:
    """Writes ``<start time>-<id>.wav`` files and keeps at most ``max_files`` of them (oldest first out).

    Utterance ids restart at 1 with every start of the daemon; the time prefix keeps files apart.
    """

    def __init__(self, directory: Path, max_files: int, clock: Callable[[], float] = time.time) -> None:
        self.directory = directory
        self.max_files = max_files
        self.prefix = time.strftime("%Y%m%dT%H%M%S", time.localtime(clock()))

    def save(self, utterance_id: str, pcm: bytes) -> Path | None:
        """Save one utterance. Disk problems are logged, never raised: debugging must not stop listening."""
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            path = self.directory / f"{self.prefix}-{utterance_id}.wav"
            with wave.open(str(path), "wb") as out:
                out.setnchannels(CHANNELS)
                out.setsampwidth(SAMPLE_WIDTH)
                out.setframerate(SAMPLE_RATE)
                out.writeframes(pcm)
            self._prune()
        except OSError as err:
            log.warning("could not save utterance %s to %s: %s", utterance_id, self.directory, err)
            return None
        return path

    def _prune(self) -> None:
        # Only files this saver names (<start time>-<id>.wav): never a recording the user put there.
        ours = (p for p in self.directory.glob("*.wav") if _OURS.match(p.name))
        files = sorted(ours, key=lambda p: (p.stat().st_mtime_ns, p.name))
        for old in files[: max(0, len(files) - self.max_files)]:
            old.unlink(missing_ok=True)
