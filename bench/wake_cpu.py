"""The wake word: detections against bare pymicro-wakeword, and the idle cost of the listening loop.

    python -m bench.wake_cpu [--minutes 10]

1. Detections. "okay nabu" + "turn on the kitchen lights" by five flite voices, the command after 0 (glued),
   0.05, 0.15 and 0.6 s, in fan + pink noise at 20 dB SNR. Counted: phrases bare pymicro-wakeword detects
   (its own loop, 30 ms chunks, reset after each detection) and phrases the daemon's Listener in wake mode
   opens an utterance for, and how many of those utterances begin between the end of the phrase (less
   0.1 s of faint tail) and the first syllable of the command.
2. Idle CPU per audio-hour, all measured in this run on the same audio (conversation by flite voices and
   room noise, no wake phrase: what a wake-mode daemon hears all day):
   - baseline: the bare pymicro-wakeword loop;
   - wake mode: the Listener with the wake stage (mute -> wake; VAD and endpointer stay off until a phrase);
   - continuous mode: the Listener without it (noise suppression + webrtcvad + gate + Silero onset
     checks + endpointer on every frame).
   CPU is process time (time.process_time) over the whole loop, asyncio included.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sized
from pathlib import Path

from assistantd.audio.frames import Frame, frame_bytes
from assistantd.config import EndpointConfig, WakeConfig
from assistantd.endpoint.listener import Listener
from assistantd.endpoint.microwakeword import load_detector
from assistantd.endpoint.vad import build_vad
from assistantd.endpoint.wake import WakeStage
from bench.synth import to_pcm
from bench.wake_audio import Line, build

CACHE = Path(__file__).resolve().parent / ".corpus" / "wake"
FRAME_MS = 30
VOICES = ("flite:kal16", "flite:kal", "flite:rms", "flite:awb", "flite:slt")
GAPS = (0.0, 0.05, 0.15, 0.6)
CHAT = (
    "I have to pick up the kids at five and then we can have dinner together",
    "did you see the game last night, it was a close one until the very end",
    "the weather was lovely this morning so we walked to the bakery",
    "can you believe how expensive the tickets were this year",
    "turn off the kitchen lights",
    "what time is it",
)


class MemorySource:
    """Frames of a PCM buffer as fast as they are taken (a file read faster than real time)."""

    frame_ms = FRAME_MS
    live = False

    def __init__(self, pcm: bytes) -> None:
        self.pcm = pcm

    async def frames(self) -> AsyncIterator[Frame]:
        size = frame_bytes(FRAME_MS)
        for i in range(len(self.pcm) // size):
            yield Frame(self.pcm[i * size : (i + 1) * size], i * FRAME_MS / 1000)


def bare_detections(pcm: bytes) -> list[float]:
    from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model

    model, features = MicroWakeWord.from_builtin(Model.OKAY_NABU), MicroWakeWordFeatures()
    size = frame_bytes(FRAME_MS)
    found = []
    for i in range(len(pcm) // size):
        for step in features.process_streaming(pcm[i * size : (i + 1) * size]):
            if model.process_streaming(step):
                found.append((i + 1) * FRAME_MS / 1000)
                model.reset()
    return found


async def listen(pcm: bytes, wake: bool) -> list[tuple[float | None, float, str]]:
    """(wake time, start, end reason) of each utterance the Listener makes of ``pcm``."""
    config = EndpointConfig()
    stage = WakeStage(load_detector(WakeConfig(model="okay_nabu")), FRAME_MS) if wake else None
    listener = Listener(MemorySource(pcm), build_vad(config, FRAME_MS), config, wake=stage)
    out = []
    async for utt in listener.utterances():
        async for _ in utt.audio():
            pass
        out.append((utt.wake.time if utt.wake else None, utt.start, str(utt.end_reason)))
    return out


def detections() -> None:
    script = [Line(v, "turn on the kitchen lights", gap_s=g) for v in VOICES for g in GAPS]
    audio, placed = build(script, cache=CACHE)
    pcm = to_pcm(audio)
    bare = bare_detections(pcm)
    heard = asyncio.run(listen(pcm, wake=True))
    print(f"detections: {len(script)} phrases ({len(VOICES)} flite voices x gaps {GAPS} s), 20 dB SNR")
    print(
        f"{'voice':<12} {'gap s':>5} {'bare':>5} {'daemon':>6}  upload start - phrase end / - command start"
    )
    n_bare = n_ours = n_clean = 0
    for p in placed:
        assert p.phrase_end is not None
        b = any(p.phrase_end - 0.5 < t < p.phrase_end + 0.6 for t in bare)
        ours = [u for u in heard if u[0] is not None and p.phrase_end - 0.5 < u[0] < p.phrase_end + 0.6]
        n_bare += b
        n_ours += bool(ours)
        where = ""
        if ours:
            start = ours[0][1]
            verdict = "ok"
            if start < p.phrase_end - 0.1:
                verdict = "phrase sent"
            elif start > p.start:
                verdict = "onset cut"
            n_clean += verdict == "ok"
            where = f"{start - p.phrase_end:+.3f} / {start - p.start:+.3f} {verdict}"
        print(f"{p.line.voice:<12} {p.line.gap_s:>5} {b!s:>5} {bool(ours)!s:>6}  {where}")
    total = len(script)
    print(f"detected: bare pymicro-wakeword {n_bare}/{total}, daemon {n_ours}/{total}; ", end="")
    print(f"phrase left out and command onset kept in {n_clean}/{n_ours}")


def idle_cpu(minutes: float) -> None:
    lines = [
        Line(VOICES[i % len(VOICES)], CHAT[i % len(CHAT)], pause_after_s=4.0) for i in range(2 * len(CHAT))
    ]
    one, _ = build(lines, cache=CACHE, seed=9)
    pcm = to_pcm(one)
    reps = max(1, round(minutes * 60 / (len(pcm) / 32000)))
    pcm = pcm * reps
    hours = len(pcm) / 32000 / 3600

    def per_hour(work: Callable[[], Sized]) -> tuple[float, int]:
        """CPU-s per audio-hour of ``work`` and how many things it found."""
        start = time.process_time()
        found = work()
        return (time.process_time() - start) / hours, len(found)

    bare, false_bare = per_hour(lambda: bare_detections(pcm))
    wake, false_wake = per_hour(lambda: asyncio.run(listen(pcm, wake=True)))
    continuous, utterances = per_hour(lambda: asyncio.run(listen(pcm, wake=False)))
    print(f"\nidle CPU-s per audio-hour, {hours * 60:.1f} min of conversation and room noise, no wake phrase")
    print(f"  bare pymicro-wakeword loop (baseline) {bare:7.1f}   x1.00   detections: {false_bare}")
    print(
        f"  listening loop, wake mode             {wake:7.1f}   x{wake / bare:.2f}   utterances: {false_wake}"
    )
    print(
        f"  listening loop, continuous mode       {continuous:7.1f}   x{continuous / bare:.2f}   "
        f"utterances: {utterances}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0, help="idle audio to measure CPU on")
    args = parser.parse_args()
    detections()
    idle_cpu(args.minutes)


if __name__ == "__main__":
    main()
