"""The continuous-mode recording the tests share: two flite commands and two sentences of conversation
that the grammar would force into commands (the offline check rejects them), in room noise."""

from __future__ import annotations

from pathlib import Path

from bench.synth import to_pcm
from bench.wake_audio import Line, build
from tests.wake_speech import write_wav

# (line, intent, slots) -- intent None: conversation, not a command.
SCRIPT: tuple[tuple[Line, str | None, dict[str, object]], ...] = (
    (Line("flite:kal16", "turn on the kitchen lights"), "LightOn", {"area": "kitchen"}),
    (Line("flite:kal16", "i set a timer on my phone yesterday"), None, {}),
    (Line("flite:awb", "what time is it"), "TimeGet", {}),
    (Line("flite:rms", "turn left at the next corner and keep going"), None, {}),
)


def talk_recording(cache: Path) -> Path:
    """The script as a 16 kHz mono WAV in ``cache`` (flite clips are cached there too)."""
    audio, _ = build([line for line, _, _ in SCRIPT], seed=7, cache=cache)
    return write_wav(cache / "talk.wav", to_pcm(audio))
