"""An adaptive energy gate: a frame counts as speech only if it stands out from the recent noise floor.

webrtcvad judges spectral shape, not loudness, so steady noise with a speech-like spectrum (a fan's rumble,
brown noise) can keep it saying "speech" for minutes. The gate tracks the noise floor as the minimum frame
level over the last ``window_s`` seconds (minimum statistics: speech always has pauses between words, noise
does not) and passes a frame only when it is ``margin_db`` above that floor. A sudden louder noise is absorbed
into the floor after ``window_s``; a quieter room is followed at once. Pure: arithmetic only. The level is
computed without numpy (``math.hypot`` over ``array('h')``: C speed, about 10 us per 30 ms frame, where a
Python-level sum of squares takes 30), so the listening loop does not load numpy, which alone costs ~13 MB
of RSS (issue 6).
"""

from __future__ import annotations

import math
import sys
from array import array
from collections import deque

SILENCE_DB = -100.0
"""Level given to digital silence, dBFS (keeps log10 finite and the floor meaningful)."""


class NoiseFloorGate:
    def __init__(self, margin_db: float, window_s: float, frame_s: float = 0.03) -> None:
        self.margin_db = margin_db
        self.window_s = window_s
        self._levels: deque[float] = deque(maxlen=max(1, round(window_s / frame_s)))
        self.floor_db = SILENCE_DB

    @staticmethod
    def level_db(pcm: bytes) -> float:
        """RMS level of s16le samples in dBFS (full scale sine = -3 dB)."""
        samples = array("h", pcm[: len(pcm) - len(pcm) % 2])
        if not samples:
            return SILENCE_DB
        if sys.byteorder == "big":
            samples.byteswap()
        power = math.hypot(*samples) ** 2 / len(samples) / (32768.0 * 32768.0)
        return max(SILENCE_DB, 10 * math.log10(power)) if power > 0 else SILENCE_DB

    def update(self, level_db: float) -> bool:
        """Feed one frame's level; True when it is margin_db above the floor of the window before it."""
        above = not self._levels or level_db >= min(self._levels) + self.margin_db
        self._levels.append(level_db)
        self.floor_db = min(self._levels)
        return above
