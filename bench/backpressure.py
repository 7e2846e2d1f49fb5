"""A recording read faster than real time: every command reported, memory flat.

``python -m bench.backpressure [--commands 32] [--handler-s 0.3]`` synthesizes a recording of flite
commands 3-5 s apart in fan and pink room noise, runs the real ``assistantd run --input REC.wav``
(unpaced: the file is read as fast as the daemon takes it) and prints:

1. commands spoken vs JSON report lines out, and how those lines end (handled, dropped, no text);
2. peak VmRSS of the daemon over the run, against the same daemon on a recording of the first
   ``--short`` commands (measured in the same run): a ratio near 1 means the backlog stayed bounded.

``--handler-s`` makes every bound handler an ``exec sleep`` of that long with one handler slot and no
handler backlog (handlers.max_concurrent 1, max_pending 0), so handlers are the slow stage, as a TTS reply
or a slow HTTP call would be on a Pi.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import wave
from pathlib import Path
from typing import Any

import numpy as np

from bench.synth import make_noise, mix_at_snr, set_level, speech_level_dbfs, synthesize, to_pcm
from tests.daemon.harness import Daemon, base_config, write_config

RATE = 16000
SPEECH_LEVEL_DBFS = -26.0
SNR_DB = 20.0
VOICES = ("flite:slt", "flite:rms", "flite:awb", "flite:kal16")
COMMANDS = (
    ("LightOn", "turn on the kitchen lights"),
    ("TimerStart", "set a timer for five minutes"),
    ("TimeGet", "what time is it"),
    ("VolumeUp", "turn the volume up"),
    ("MusicPause", "pause the music"),
    ("LightOff", "turn off the lights"),
)


def script(count: int) -> list[tuple[str, str, str]]:
    """(voice, intent, text) for ``count`` commands, cycling voices and commands out of step."""
    return [
        (VOICES[i % len(VOICES)], *COMMANDS[(i * 5 + i // len(COMMANDS)) % len(COMMANDS)])
        for i in range(count)
    ]


def recording(lines: list[tuple[str, str, str]], cache: Path, seed: int = 5) -> bytes:
    """The commands 3-5 s apart (onset to onset, roughly), 1 s of room before and 2 s after."""
    rng = np.random.default_rng(seed)
    pieces: list[np.ndarray] = [np.zeros(RATE)]
    for voice, _, text in lines:
        clip = synthesize(text, voice, cache_dir=cache)
        pieces.append(set_level(clip, SPEECH_LEVEL_DBFS, speech_level_dbfs(clip)))
        gap = max(1.2, rng.uniform(3.0, 5.0) - len(clip) / RATE)
        pieces.append(np.zeros(int(RATE * gap)))
    pieces.append(np.zeros(2 * RATE))
    speech = np.concatenate(pieces)
    noise = make_noise("fan", len(speech), rng) + 0.5 * make_noise("pink", len(speech), rng)
    return to_pcm(mix_at_snr(speech, noise, SNR_DB, speech_level=SPEECH_LEVEL_DBFS))


def write_wav(path: Path, pcm: bytes) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(RATE)
        out.writeframes(pcm)
    return path


def config(work: Path, handler_s: float) -> dict[str, Any]:
    cfg = base_config(work / "grammar")
    argv = ["sleep", f"{handler_s:g}"] if handler_s > 0 else ["true"]
    cfg["handlers"] = {
        "bindings": [{"intent": intent, "exec": {"argv": argv, "timeout_s": 30}} for intent, _ in COMMANDS],
    }
    if handler_s > 0:
        cfg["handlers"].update(max_concurrent=1, max_pending=0)
    cfg["service"] = {"shutdown_grace_s": 3.0}
    return cfg


def run(config_path: Path, wav: Path) -> tuple[list[dict[str, Any]], int, float]:
    """Report lines, peak VmRSS (kB, sampled every 50 ms) and wall time of one unpaced run."""
    daemon = Daemon(config_path, input_path=str(wav), watchdog_usec=None)
    peak = 0
    start = time.monotonic()
    try:
        while daemon.proc.poll() is None:
            try:
                peak = max(peak, daemon.vm_rss_kb())
            except (OSError, RuntimeError):  # exiting between poll() and the read
                break
            time.sleep(0.05)
        code = daemon.wait(60)
        if code != 0:
            raise SystemExit(f"daemon exited {code}:\n" + "\n".join(daemon.stderr[-20:]))
        return [json.loads(line) for line in daemon.stdout], peak, time.monotonic() - start
    finally:
        daemon.close()


def describe(reports: list[dict[str, Any]]) -> str:
    dropped = sum(1 for r in reports if r.get("outcome") == "dropped")
    handled = sum(1 for r in reports if r["handlers"] and all(h["ok"] for h in r["handlers"]))
    silent = sum(1 for r in reports if not r["text"] and r.get("outcome") != "dropped")
    return f"{handled} handled, {dropped} reported dropped, {silent} without text"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--commands", type=int, default=32)
    parser.add_argument("--short", type=int, default=4, help="commands in the baseline recording")
    parser.add_argument("--handler-s", type=float, default=0.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-backpressure-") as tmp:
        work = Path(tmp)
        config_path = write_config(work / "assistant.yaml", config(work, args.handler_s))
        lines = script(args.commands)
        rows = []
        for name, count in (("baseline", args.short), ("long", args.commands)):
            pcm = recording(lines[:count], work)
            wav = write_wav(work / f"{name}.wav", pcm)
            reports, peak_kb, wall = run(config_path, wav)
            audio_s = len(pcm) / (2 * RATE)
            rows.append((name, count, audio_s, wall, reports, peak_kb))
        base_peak = rows[0][5]
        slow = f"exec sleep {args.handler_s:g} s, 1 slot, no backlog"
        print(f"handlers: {slow if args.handler_s else 'exec true'}")
        print("| recording | commands | audio | wall | reports | of which | peak RSS | vs baseline |")
        print("|---|---|---|---|---|---|---|---|")
        for name, count, audio_s, wall, reports, peak_kb in rows:
            print(
                f"| {name} | {count} | {audio_s:.0f} s | {wall:.1f} s | {len(reports)} | {describe(reports)} "
                f"| {peak_kb / 1024:.1f} MB | {peak_kb / base_peak:.2f}x |"
            )


if __name__ == "__main__":
    main()
