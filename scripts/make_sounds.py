"""Write the feedback sounds shipped in config/sounds/ (wake chime, error tone, timer alarm).

    python scripts/make_sounds.py config/sounds

Plain sine tones with 8 ms fades (no clicks), 16 kHz mono 16-bit, at about -12 dBFS peak: small enough to
commit (4-17 kB each), quiet enough not to startle. tests/test_sounds.py checks that the committed files
are what this script writes, so a change here is a change there.
"""

from __future__ import annotations

import math
import sys
import wave
from array import array
from pathlib import Path

RATE = 16000
PEAK = 0.25
FADE_S = 0.008

SOUNDS: dict[str, list[tuple[float, float]]] = {
    # (frequency Hz, seconds); frequency 0 is a pause.
    "chime.wav": [(880.0, 0.06), (1320.0, 0.06)],
    "error.wav": [(440.0, 0.12), (0.0, 0.02), (330.0, 0.12)],
    "alarm.wav": [(1000.0, 0.12), (0.0, 0.08), (1000.0, 0.12), (0.0, 0.08), (1000.0, 0.12)],
}


def tone(frequency: float, seconds: float) -> list[int]:
    n = round(RATE * seconds)
    fade = round(RATE * FADE_S)
    out = []
    for i in range(n):
        envelope = min(1.0, i / fade, (n - 1 - i) / fade)
        value = math.sin(2 * math.pi * frequency * i / RATE) if frequency else 0.0
        out.append(round(32767 * PEAK * envelope * value))
    return out


def pcm(parts: list[tuple[float, float]]) -> bytes:
    samples = array("h")
    for frequency, seconds in parts:
        samples.extend(tone(frequency, seconds))
    if sys.byteorder != "little":
        samples.byteswap()
    return samples.tobytes()


def write(directory: Path) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, parts in SOUNDS.items():
        path = directory / name
        with wave.open(str(path), "wb") as wav:
            wav.setnchannels(1)
            wav.setsampwidth(2)
            wav.setframerate(RATE)
            wav.writeframes(pcm(parts))
        written.append(path)
    return written


if __name__ == "__main__":
    for path in write(Path(sys.argv[1] if len(sys.argv) > 1 else "config/sounds")):
        print(f"{path}: {path.stat().st_size} bytes")
