"""An adaptive energy gate: a frame counts as speech only if it stands out from the recent noise floor.

webrtcvad judges spectral shape, not loudness, so steady noise with a speech-like spectrum (a fan's rumble,
brown noise) can keep it saying "speech" for minutes. The gate tracks the noise floor as the minimum frame
level over the last ``window_s`` seconds (minimum statistics: speech always has pauses between words, noise
does not) and passes a frame only when it is ``margin_db`` above that floor. A sudden louder noise is absorbed
into the floor after ``window_s``; a quieter room is followed at once. Pure: arithmetic only. The level is
computed without numpy (``math.hypot`` over ``array('h')``: C speed, about 10 us per 30 ms frame, where a
Python-level sum of squares takes 30), so the listening loop does not load numpy, which alone costs ~13 MB
of RSS (issue 6). The floor is a running minimum (a deque of the window's ascending minima: each level is
added and removed once), not ``min()`` over the whole window on every frame (issue 13).
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
        self.window_frames = max(1, round(window_s / frame_s))
        """Frames the floor is the minimum of."""
        self._frame = 0
        """Frames fed so far (the index of the next one)."""
        # Ascending minima of the window: _minima[0] is the floor; _born[k] is the frame _minima[k] came in.
        self._minima: deque[float] = deque()
        self._born: deque[int] = deque()
        self.floor_db = SILENCE_DB

    @staticmethod
    def level_db(pcm: bytes) -> float:
        """RMS level of s16le samples in dBFS (full scale sine = -3 dB)."""
        samples = array("h", pcm if not len(pcm) % 2 else pcm[:-1])
        if not samples:
            return SILENCE_DB
        if sys.byteorder == "big":
            samples.byteswap()
        power = math.hypot(*samples) ** 2 / len(samples) / (32768.0 * 32768.0)
        return max(SILENCE_DB, 10 * math.log10(power)) if power > 0 else SILENCE_DB

    def update(self, level_db: float) -> bool:
        """Feed one frame's level; True when it is margin_db above the floor of the window before it."""
        minima, born = self._minima, self._born
        above = not minima or level_db >= minima[0] + self.margin_db
        while minima and minima[-1] >= level_db:
            minima.pop()
            born.pop()
        minima.append(level_db)
        born.append(self._frame)
        if born[0] <= self._frame - self.window_frames:
            minima.popleft()
            born.popleft()
        self._frame += 1
        self.floor_db = minima[0]
        return above
