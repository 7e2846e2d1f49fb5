"""Issue 13: the offline decoder, memory and start-up against a Raspberry Pi Zero 2 W's budget, in one table.

    python -m bench.pi_budget [--commands 20] [--paced 20] [--snr-db 20] [--settle-s 60] [--runs 3]

Decoding (in this process): sentences sampled from the shipped intents as bench/command_accuracy.py
samples them, said by the four flite voices in room noise, fed to LocalRecognizer in 30 ms pieces (the
endpointer's frames) with the shipped settings:
- grammar decode, rejection off: the whole process's CPU seconds per audio second (decoder thread,
  event loop and the handoffs between them), against bare pocketsphinx on the same clips and the same
  grammar as JSGF with its defaults (one loop of process_raw, no asyncio, no thread), measured here;
- the phone loop of continuous-mode rejection, on top (the shipped default: the same run with it on);
- endpoint -> text, p50 / p95, over the first ``--paced`` clips fed in real time (rejection on);
- intent accuracy: the daemon's matcher gives the same intent and slots as for the sentence said.

The daemon (``assistantd run --input -`` children, bench/daemon.py's harness): start -> READY=1 (warm
grammar cache and the package byte-compiled, as ``pip install`` leaves it: scripts/install.sh; median of
``--runs``) against ``python -c "import asyncio"``; VmRSS ``--settle-s`` after
start, a few utterances in, for the offline default, cloud with the local fallback and cloud alone.

"On a Pi Zero 2 W" scales a figure measured here by a stated factor: 6.4x for native code (pocketsphinx:
a sysbench single-thread ratio of one Cortex-A53 core at 1 GHz to one core here), 12x for
interpreter-bound Python (start-up); memory and accuracy are taken as they are (the same code and models
on aarch64). Those are estimates, not measurements on a Pi.
"""

from __future__ import annotations

import argparse
import asyncio
import compileall
import copy
import dataclasses
import os
import resource
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pocketsphinx

from assistantd.config import load_config
from assistantd.config.local import LocalRecognizerConfig
from assistantd.recognizer.grammar import build_grammar
from assistantd.recognizer.grammar_cache import read_dictionary_words
from assistantd.recognizer.local import ModelPaths
from bench.command_accuracy import CONFIG, VOICES, Judge, room_clip, shipped, wildcard_intents
from bench.daemon import FAKE_KEYS, bare_python, daemon_configs, stop_daemon
from bench.local_recognizer import Tally, pct, pick_commands, run_mode
from tests.daemon.harness import REPO, Audio, Daemon, fake_sauc_process, write_config

NATIVE = 6.4
"""One Cortex-A53 core (1 GHz) is about this much slower than one core here on native code (sysbench)."""
PYTHON = 12.0
"""... and about this much on interpreter-bound Python (imports, start-up)."""
CHUNK_MS = 30
BARE_CHUNK_MS = 100


@dataclass(frozen=True)
class Row:
    measure: str
    figure: float
    unit: str
    baseline: float | None = None
    target: str = ""
    factor: float | None = None
    """Pi Zero 2 W = figure x factor; None: the figure as it is."""


def bare_python_cpu(code: str) -> tuple[float, float]:
    """Wall and CPU (user + system) seconds of ``python -c CODE``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    wall, _ = bare_python(code)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime


def child_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a running process has used so far (/proc/PID/stat fields 14, 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def bare_pocketsphinx(jsgf: str, clips: list[tuple[str, str, bytes]]) -> float:
    """Process CPU seconds per audio second of pocketsphinx alone on ``jsgf`` (its defaults: whole
    dictionary, bestpath), 100 ms pieces in one loop."""
    model = ModelPaths.bundled()
    decoder = pocketsphinx.Decoder(hmm=str(model.hmm), dict=str(model.dictionary), lm=None, loglevel="ERROR")
    decoder.add_jsgf_string("bare", jsgf)
    decoder.activate_search("bare")
    step = 32 * BARE_CHUNK_MS
    cpu = audio_s = 0.0
    for _, _, audio in clips:
        began = time.process_time()
        decoder.start_utt()
        for at in range(0, len(audio), step):
            decoder.process_raw(audio[at : at + step], False, False)
        decoder.end_utt()
        decoder.hyp()
        cpu += time.process_time() - began
        audio_s += len(audio) / 32000
    return cpu / audio_s


async def decode_rows(args: argparse.Namespace) -> tuple[list[Row], list[str]]:
    config = load_config(CONFIG, env={})
    files, intents, matcher = shipped(config)
    judge = Judge(matcher)
    commands = pick_commands(intents, args.commands, args.seed, exclude=wildcard_intents(intents))
    rng = np.random.default_rng(args.seed)
    speech = Path(tempfile.mkdtemp(prefix="bench-pi-"))
    clips = [
        (voice, text, room_clip(text, voice, speech, args.snr_db, rng))
        for i, text in enumerate(commands)
        for voice in VOICES[i % len(VOICES) :] + VOICES[: i % len(VOICES)]
    ]
    settings = config.recognizer.local
    plain = dataclasses.replace(settings, reject=dataclasses.replace(settings.reject, enabled=False))
    grammar = build_grammar(files, read_dictionary_words(ModelPaths.bundled().dictionary))
    bare = bare_pocketsphinx(grammar.jsgf, clips)

    async def tally(local: LocalRecognizerConfig, paced: int) -> Tally:
        return await run_mode(
            "grammar", clips, judge.same, paced, intent_files=files, settings=local, chunk_ms=CHUNK_MS
        )

    off = await tally(plain, 0)
    on = await tally(settings, args.paced)
    audio_s = off.audio_s
    decode = off.process_cpu_s / audio_s
    loop = (on.process_cpu_s - off.process_cpu_s) / audio_s
    rows = [
        Row("offline decode, CPU-s per audio-s", decode, "", bare, "<= 0.05", NATIVE),
        Row("  + rejection phone loop (shipped)", loop, "", None, "", NATIVE),
        Row("endpoint -> text p50 (rejection on)", pct(on.latencies, 0.5) * 1000, "ms", None, "", NATIVE),
        Row(
            "endpoint -> text p95 (rejection on)",
            pct(on.latencies, 0.95) * 1000,
            "ms",
            None,
            "<= 20ms",
            NATIVE,
        ),
        Row("intent accuracy, rejection off", off.meaning / off.clips * 100, "%", None, "unchanged"),
        Row("intent accuracy, rejection on", on.meaning / on.clips * 100, "%", None, "unchanged"),
    ]
    notes = [
        f"{len(clips)} clips ({len(commands)} sentences x {len(VOICES)} flite voices), {audio_s:.0f} s of "
        f"audio at {args.snr_db:g} dB SNR, {CHUNK_MS} ms pieces; baseline: bare pocketsphinx on the same "
        f"JSGF ({BARE_CHUNK_MS} ms pieces, whole dictionary, bestpath), {args.paced} clips paced",
        *(f"miss: {m}" for m in off.misses),
    ]
    return rows, notes


def byte_compile_package() -> None:
    """Write assistantd's bytecode (``__pycache__``, gitignored), as pip does when it installs the package.
    Without it a start compiles the package's ~80 modules from source first (about 80 ms of CPU here):
    an editable checkout run with PYTHONDONTWRITEBYTECODE set never caches them, an installed daemon always
    has them. The baseline's standard library is byte-compiled too."""
    compileall.compile_dir(str(REPO / "assistantd"), quiet=1)


def daemon_rows(args: argparse.Namespace) -> list[Row]:
    byte_compile_package()
    work = Path(tempfile.mkdtemp(prefix="bench-pi-daemon-"))
    with fake_sauc_process("--transcript", "turn on the kitchen lights") as fake_url:
        configs = daemon_configs(work, fake_url)
        fallback = copy.deepcopy(configs["cloud"])
        fallback["recognizer"]["fallback"] = "local"
        fallback["recognizer"]["local"] = configs["local"]["recognizer"]["local"]
        named = {
            "offline default": configs["local"],
            "cloud + local fallback": fallback,
            "cloud alone": configs["cloud"],
        }
        paths = {name: write_config(work / f"{i}.yaml", cfg) for i, (name, cfg) in enumerate(named.items())}
        audio = Audio(work / "speech")
        bare = [bare_python_cpu("import asyncio") for _ in range(args.runs)]
        asyncio_s = statistics.median(wall for wall, _ in bare)
        asyncio_cpu = statistics.median(cpu for _, cpu in bare)
        rows: list[Row] = []
        ready: list[tuple[float, float]] = []
        for _ in range(args.runs + 1):  # the first start warms the grammar cache, uncounted
            daemon = Daemon(paths["offline default"], watchdog_usec=None, env=FAKE_KEYS)
            at = daemon.notice("READY", timeout=60).at - daemon.started_at
            ready.append((at, child_cpu_s(daemon.proc.pid)))
            stop_daemon(daemon)
        warm = ready[1:]
        rows.append(
            Row(
                "start -> READY=1, offline default (warm)",
                statistics.median(wall for wall, _ in warm) * 1000,
                "ms",
                asyncio_s * 1000,
                "<= 3x",
                PYTHON,
            )
        )
        rows.append(
            Row(
                "  its CPU time (steadier on a busy machine)",
                statistics.median(cpu for _, cpu in warm) * 1000,
                "ms",
                asyncio_cpu * 1000,
                "",
                PYTHON,
            )
        )
        targets = {
            "offline default": "<= 60MB",
            "cloud + local fallback": "<= 65MB",
            "cloud alone": "<= 40MB",
        }
        for name, path in paths.items():
            daemon = Daemon(path, watchdog_usec=None, env=FAKE_KEYS)
            daemon.notice("READY", timeout=60)
            for text in ("turn on the kitchen lights", "what time is it", "pause the music"):
                daemon.write(audio.room(0.5) + audio.command(text) + audio.room(1.5))
            daemon.reports(3, timeout=60)
            time.sleep(max(0.0, daemon.started_at + args.settle_s - time.monotonic()))
            rows.append(
                Row(
                    f"RSS {args.settle_s:g} s after start, {name}",
                    daemon.vm_rss_kb() / 1024,
                    "MB",
                    None,
                    targets[name],
                )
            )
            stop_daemon(daemon)
        return rows


def render(rows: list[Row]) -> None:
    print(f"{'measure':<42}{'here':>10}{'baseline':>10}{'ratio':>7}{'target':>10}{'Pi Zero 2 W':>13}  factor")
    for row in rows:
        base = f"{row.baseline:.4g}" if row.baseline is not None else ""
        ratio = f"{row.figure / row.baseline:.2f}x" if row.baseline else ""
        pi = row.figure * row.factor if row.factor is not None else row.figure
        factor = f"x{row.factor:g}" if row.factor is not None else "same"
        print(
            f"{row.measure:<42}{row.figure:>8.4g}{row.unit:<2}{base:>10}{ratio:>7}{row.target:>10}"
            f"{pi:>11.4g}{row.unit:<2}  {factor}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--commands", type=int, default=20, help="distinct sentences (each said by 4 voices)")
    parser.add_argument("--paced", type=int, default=20, help="clips fed in real time for endpoint -> text")
    parser.add_argument("--snr-db", type=float, default=20.0)
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--settle-s", type=float, default=60.0, help="RSS is read this long after start")
    parser.add_argument("--runs", type=int, default=3, help="start-ups (median)")
    parser.add_argument("--skip-daemon", action="store_true", help="decoding rows only")
    args = parser.parse_args()
    rows, notes = asyncio.run(decode_rows(args))
    if not args.skip_daemon:
        rows += daemon_rows(args)
    print()
    render(rows)
    print()
    for note in notes:
        print(note)


if __name__ == "__main__":
    main()
