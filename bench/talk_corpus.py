"""The rejection benchmark's corpus: talk that is not meant for the assistant, and commands that are.

Talk: sentences of conversation and TV-like speech that use the command words in other senses ("the
light from distant stars", "I set a timer on my phone"), spoken by flite and espeak-ng voices in room
noise; plus the real human speech that ships in the pocketsphinx source distribution (``test/data``:
LibriVox clips, CMU "cards" and "go forward" recordings; its TIDIGITS file is left out, FACTS.md).
The sdist is fetched with pip (``pip download --no-binary :all: --no-deps pocketsphinx``) into a cache
directory; without it the corpus is synthesized talk only, and the run says so.
"""

from __future__ import annotations

import subprocess
import sys
import tarfile
import wave
from pathlib import Path

import numpy as np

from bench.synth import make_noise, mix_at_snr, speech_level_dbfs, synthesize, to_pcm

RATE = 16000
TALK = (
    "can you pass me the salt please",
    "the light from distant stars takes years to reach us",
    "i set a timer on my phone yesterday",
    "the weather was lovely when we walked to the station",
    "turn left at the next corner and keep going",
    "she turned the music down and went to bed",
    "he says the kitchen needs a new coat of paint",
    "we should play some board games after dinner",
    "what time does the train leave tomorrow morning",
    "the volume of the tank is about five litres",
    "i think the living room looks better with the old lamp",
    "next week the minister will visit the factory",
    "stop the car here and let me out",
    "there was a light rain in the north this afternoon",
    "the band will play their new songs on friday",
    "she paused for a moment and looked out of the window",
    "you can skip the first chapter if you like",
    "it is nearly time for the evening news",
    "the bedroom upstairs is still cold in the morning",
    "turn the page and read the next paragraph aloud",
    "the timer on the oven went off twice",
    "a five minute walk takes you to the beach",
    "prices went up by ten percent last year",
    "the lights of the city were shining in the distance",
    "the next track on the album is my favourite",
    "i can hear the music from next door again",
    "please tell me what you think about the plan",
    "the match starts at seven and ends at nine",
    "our team won the game in the last minute",
    "the weather forecast says it will be windy",
)
TALK_VOICES = ("flite:kal16", "flite:slt", "flite:rms", "flite:awb", "espeak-ng:en-us", "espeak-ng:en+m3")
REAL_SPEECH = ("librivox/*.wav", "cards/*.wav", "forever/*.wav", "goforward.raw", "something.raw")
"""Clips of ``test/data`` in the sdist; ``tidigits/`` and ``numbers.raw`` are left out."""


def room_mix(clip: np.ndarray, snr_db: float, rng: np.random.Generator, pad_s: float = 0.5) -> bytes:
    """The clip with ``pad_s`` lead and tail, in fan + pink room noise at ``snr_db``."""
    pad = np.zeros(int(pad_s * RATE))
    padded = np.concatenate([pad, clip, pad])
    noise = make_noise("fan", len(padded), rng) + 0.5 * make_noise("pink", len(padded), rng)
    return to_pcm(mix_at_snr(padded, noise, snr_db, speech_level=speech_level_dbfs(clip)))


def synthesized_talk(cache: Path, snr_db: float, rng: np.random.Generator) -> list[tuple[str, str, bytes]]:
    """(voice, sentence, audio) for every talk sentence and voice."""
    return [
        (voice, text, room_mix(synthesize(text, voice, cache), snr_db, rng))
        for text in TALK
        for voice in TALK_VOICES
    ]


def fetch_sdist(cache: Path) -> Path | None:
    """The unpacked pocketsphinx sdist's ``test/data`` (downloaded once into ``cache``), or None."""
    found = sorted(cache.glob("pocketsphinx-*/test/data"))
    if found:
        return found[-1]
    cache.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-binary",
            ":all:",
            "--no-deps",
            "-q",
            "-d",
            str(cache),
            "pocketsphinx",
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    archives = sorted(cache.glob("pocketsphinx-*.tar.gz"))
    if result.returncode != 0 or not archives:
        return None
    with tarfile.open(archives[-1]) as tar:
        members = [m for m in tar.getmembers() if "/test/data/" in m.name and m.isfile()]
        tar.extractall(cache, members=members, filter="data")
    found = sorted(cache.glob("pocketsphinx-*/test/data"))
    return found[-1] if found else None


def real_talk(data: Path) -> list[tuple[str, str, bytes]]:
    """(source, file name, 16 kHz s16le) for the sdist's real speech; the .raw files are 16 kHz s16le."""
    clips: list[tuple[str, str, bytes]] = []
    for pattern in REAL_SPEECH:
        for path in sorted(data.glob(pattern)):
            if path.suffix == ".raw":
                clips.append(("cmu", path.name, path.read_bytes()))
                continue
            with wave.open(str(path)) as w:
                if w.getframerate() != RATE or w.getnchannels() != 1 or w.getsampwidth() != 2:
                    continue
                clips.append((path.parent.name, path.name, w.readframes(w.getnframes())))
    return clips
