"""The bundled sample recording: flite voices in room noise, some speaking to the assistant, some not.

``python -m bench.sample_recording [OUT.wav]`` (default samples/wake_commands_in_noise.wav).
Deterministic: the same flite and seed give the same file. scripts/run.sh makes it when missing, so the
main job runs without a microphone.

The shipped config listens for "okay nabu" (wake.model: okay_nabu), so the sample has four commands after
the phrase (in one breath and after a pause), one command said without it and a stretch of conversation:
the main job must act on the first four and on nothing else.
"""

from __future__ import annotations

import argparse
import wave
from pathlib import Path

from bench.synth import to_pcm
from bench.wake_audio import Line, build

RATE = 16000
# Each command is a sentence of config/intents/en.yaml; the voices are ones okay_nabu fires on.
SCRIPT = (
    Line("flite:kal16", "turn on the kitchen lights", gap_s=0.15),
    Line("flite:rms", "set a timer for five minutes", gap_s=0.6),
    Line("flite:awb", "what time is it", gap_s=0.3),
    Line("flite:slt", "turn off the kitchen lights"),  # no wake phrase: ignored
    Line("flite:kal16", "turn the volume up", gap_s=0.8),
    Line("flite:rms", "I have to pick up the kids at five and then we can have dinner together"),
    Line("flite:awb", "did you see the game last night, it was a close one until the very end"),
)
SNR_DB = 20.0
DEFAULT_OUT = Path("samples/wake_commands_in_noise.wav")


def write(path: Path, seed: int = 7) -> Path:
    audio, _ = build(SCRIPT, seed=seed, snr_db=SNR_DB)
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(to_pcm(audio))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(write(args.out, args.seed))


if __name__ == "__main__":
    main()
