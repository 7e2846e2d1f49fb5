"""The wake-word recordings the tests share: flite voices saying "okay nabu" + a command (one breath or a
pause), the same kind of command without the phrase, conversation, and the phrase alone.

Voices (bench/wake_audio.py): microWakeWord's okay_nabu fires on flite kal16, rms and awb here.
"""

from __future__ import annotations

import wave
from pathlib import Path

from bench.synth import to_pcm
from bench.wake_audio import Line, Placed, build

# (line, intent, slots) -- intent None: nothing may happen for this line.
SCRIPT: tuple[tuple[Line, str | None, dict[str, object]], ...] = (
    (Line("flite:kal16", "turn on the kitchen lights", gap_s=0.05), "LightOn", {"area": "kitchen"}),
    (Line("flite:rms", "set a timer for five minutes", gap_s=0.6), "TimerStart", {"minutes": 5}),
    (Line("flite:kal16", "turn off the kitchen lights"), None, {}),
    (Line("flite:awb", "what time is it", gap_s=0.15), "TimeGet", {}),
    (Line("flite:slt", "I think we should go to the market tomorrow morning before it gets busy"), None, {}),
    (Line("flite:awb", "turn the volume up"), None, {}),
    (Line("flite:kal16", "", gap_s=0.3, pause_after_s=6.5), None, {}),
)
ONE_BREATH, PAUSED, UNADDRESSED, THIRD, CONVERSATION, UNADDRESSED_2, BARE = range(len(SCRIPT))


def recording(cache: Path) -> tuple[bytes, list[Placed]]:
    """The script in room noise at 20 dB SNR, as 16 kHz mono s16le, and where each line landed."""
    audio, placed = build([line for line, _, _ in SCRIPT], seed=5, cache=cache)
    return to_pcm(audio), placed


def write_wav(path: Path, pcm: bytes) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes(pcm)
    return path
