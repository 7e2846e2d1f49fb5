"""The bundled sample recording: flite voices speaking example commands in room noise.

``python -m bench.sample_recording [OUT.wav]`` (default samples/commands_in_noise.wav).
Deterministic: the same flite and seed give the same file. scripts/run.sh makes it when missing, so the
main job runs without a microphone.
"""

from __future__ import annotations

import argparse
import wave
from pathlib import Path

import numpy as np

from bench.synth import make_noise, mix_at_snr, set_level, speech_level_dbfs, synthesize, to_pcm

RATE = 16000
# (voice, command): each command is a sentence of config/intents/en.yaml.
SCRIPT = (
    ("flite:slt", "turn on the kitchen lights"),
    ("flite:rms", "set a timer for five minutes"),
    ("flite:awb", "what time is it"),
    ("flite:slt", "turn the volume up"),
    ("flite:rms", "pause the music"),
)
SNR_DB = 20.0
SPEECH_LEVEL_DBFS = -26.0
DEFAULT_OUT = Path("samples/commands_in_noise.wav")


def build(seed: int = 7) -> np.ndarray:
    rng = np.random.default_rng(seed)
    pieces: list[np.ndarray] = [np.zeros(RATE)]
    for voice, text in SCRIPT:
        clip = synthesize(text, voice)
        pieces.append(set_level(clip, SPEECH_LEVEL_DBFS, speech_level_dbfs(clip)))
        pieces.append(np.zeros(int(RATE * rng.uniform(1.8, 2.6))))
    speech = np.concatenate(pieces)
    # Room noise: a fan's low rumble under a little pink hiss.
    noise = make_noise("fan", len(speech), rng) + 0.5 * make_noise("pink", len(speech), rng)
    return mix_at_snr(speech, noise, SNR_DB, speech_level=SPEECH_LEVEL_DBFS)


def write(path: Path, seed: int = 7) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(to_pcm(build(seed)))
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("out", nargs="?", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    print(write(args.out, args.seed))


if __name__ == "__main__":
    main()
