"""The daemon as a whole: start-up time, steady memory and memory growth over an hour of audio.

``python -m bench.daemon [--hour-s 3600] [--runs 3]`` runs the real ``assistantd run --input -`` as a child
(tests/daemon/harness.py: a notify socket bound like systemd's, audio on stdin) and prints:

1. start -> READY=1, with the local recognizer and with a cloud one (volcengine, pointed at the loopback
   fake server tests.fakes.sauc, no fallback), against a bare ``python -c "import numpy, webrtcvad"``;
2. steady RSS (VmRSS) with the cloud recognizer after a few utterances, against that bare interpreter's;
3. RSS over an accelerated hour: HOUR_S seconds of room noise with a spoken command every ~30 s, fed as
   fast as the daemon reads it, sampled every minute of audio; growth is counted after a warm-up.

Targets (issue 6): READY <= 1 s with a cloud recognizer, steady RSS <= 45 MB, growth <= 1 MB per hour.
Then the import-time table (``python -X importtime``) says where start-up time goes.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.synth import make_noise, set_level, speech_level_dbfs, synthesize, to_pcm
from tests.daemon.harness import (
    FLOOR_DBFS,
    RATE,
    REPO,
    SPEECH_DBFS,
    Audio,
    Daemon,
    base_config,
    fake_sauc_process,
    write_config,
)

COMMANDS = (
    ("flite:slt", "turn on the kitchen lights"),
    ("flite:rms", "set a timer for five minutes"),
    ("flite:awb", "what time is it"),
    ("flite:slt", "turn the volume up"),
    ("flite:rms", "pause the music"),
    ("flite:awb", "turn off the lights"),
)
MINUTE_S = 60
WARMUP_MIN = 5

RSS_PROBE = "print(open('/proc/self/status').read().split('VmRSS:')[1].split()[0])"


def bare_python(code: str) -> tuple[float, int]:
    """Wall time (s) and VmRSS (kB) of ``python -c CODE`` (measured at its end)."""
    start = time.perf_counter()
    out = subprocess.run(
        [sys.executable, "-c", f"{code}\n{RSS_PROBE}"], capture_output=True, text=True, check=True
    ).stdout
    return time.perf_counter() - start, int(out.split()[-1])


def daemon_configs(work: Path, fake_url: str) -> dict[str, dict[str, Any]]:
    local = base_config(work / "grammar")
    local["handlers"]["bindings"] = [
        {"intent": intent, "exec": {"argv": ["true"], "timeout_s": 5}}
        for intent in ("LightOn", "LightOff", "TimerStart", "TimeGet", "VolumeUp", "MusicPause")
    ]
    local["service"] = {"shutdown_grace_s": 3.0}
    cloud = copy.deepcopy(local)
    cloud["recognizer"] = {
        "default": "volcengine",
        "fallback": None,
        "volcengine": {"app_key": "${BENCH_APP_KEY}", "access_key": "${BENCH_ACCESS_KEY}", "url": fake_url},
    }
    return {"local": local, "cloud": cloud}


FAKE_KEYS = {"BENCH_APP_KEY": "test-app-key", "BENCH_ACCESS_KEY": "test-access-key"}
"""The keys tests.fakes.sauc accepts by default, handed over the way real ones are: in the environment."""


def start_daemon(config_path: Path) -> tuple[Daemon, float]:
    daemon = Daemon(config_path, watchdog_usec=None, env=FAKE_KEYS)
    ready = daemon.notice("READY", timeout=30)
    return daemon, ready.at - daemon.started_at


def stop_daemon(daemon: Daemon) -> None:
    daemon.end_input()
    daemon.wait(15)
    daemon.close()


def _minute_of_audio(bed: np.ndarray, clips: list[np.ndarray], rng: np.random.Generator, index: int) -> bytes:
    """One minute: the room bed (rolled, so minutes differ) with two commands at random times."""
    minute = np.roll(bed, int(rng.integers(0, len(bed))))
    for k in range(2):
        clip = clips[(2 * index + k) % len(clips)]
        at = int(rng.uniform(k * 30 + 2, k * 30 + 28 - len(clip) / RATE) * RATE)
        minute[at : at + len(clip)] += clip
    return to_pcm(minute)


def _hour(daemon: Daemon, hour_s: int, cache: Path) -> list[tuple[int, int]]:
    rng = np.random.default_rng(11)
    bed = set_level(make_noise("pink", MINUTE_S * RATE, rng), FLOOR_DBFS) + set_level(
        make_noise("fan", MINUTE_S * RATE, rng), FLOOR_DBFS
    )
    clips = []
    for voice, text in COMMANDS:
        clip = synthesize(text, voice, cache_dir=cache)
        clips.append(set_level(clip, SPEECH_DBFS, speech_level_dbfs(clip)))
    samples = [(0, daemon.vm_rss_kb())]
    for minute in range(hour_s // MINUTE_S):
        daemon.write(_minute_of_audio(bed, clips, rng, minute))
        samples.append(((minute + 1) * MINUTE_S, daemon.vm_rss_kb()))
    return samples


def _importtime() -> list[tuple[int, str]]:
    """(cumulative microseconds, module) for the heaviest top-level imports of ``assistantd run``."""
    err = subprocess.run(
        [sys.executable, "-X", "importtime", "-c", "import assistantd.commands.run"],
        capture_output=True,
        text=True,
        cwd=REPO,
        check=True,
    ).stderr
    rows = []
    for line in err.splitlines():
        if not line.startswith("import time:") or "|" not in line or "cumulative" in line:
            continue
        _, cumulative, name = line.split("|")
        depth = (len(name) - len(name.lstrip())) // 2
        if depth <= 2:
            rows.append((int(cumulative), name.strip()))
    return sorted(rows, reverse=True)[:10]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--hour-s", type=int, default=3600, help="seconds of audio for the growth run")
    parser.add_argument("--runs", type=int, default=3, help="start-ups per recognizer (median reported)")
    parser.add_argument(
        "--growth-recognizer", choices=("local", "cloud"), default="local", help="recognizer of the hour run"
    )
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench-daemon-"))
    with fake_sauc_process("--transcript", "turn on the kitchen lights") as fake_url:
        configs = daemon_configs(work, fake_url)
        paths = {name: write_config(work / f"{name}.yaml", cfg) for name, cfg in configs.items()}
        audio = Audio(work / "speech")

        bare_start, bare_rss = bare_python("import numpy, webrtcvad")
        empty_start, empty_rss = bare_python("pass")
        print(f"baseline: python -c pass {empty_start * 1000:.0f} ms, {empty_rss / 1024:.1f} MB RSS")
        print(
            f"baseline: python -c 'import numpy, webrtcvad' {bare_start * 1000:.0f} ms, "
            f"{bare_rss / 1024:.1f} MB RSS"
        )

        ready: dict[str, float] = {}
        steady: dict[str, int] = {}
        for name, path in paths.items():
            times = []
            for run in range(args.runs):
                daemon, took = start_daemon(path)
                times.append(took)
                if run == args.runs - 1:
                    # Steady state: a few utterances through the whole pipeline, then the loop idles.
                    for text in ("turn on the kitchen lights", "what time is it", "pause the music"):
                        daemon.write(audio.room(0.5) + audio.command(text) + audio.room(1.5))
                    daemon.reports(3, timeout=30)
                    daemon.write(audio.room(5.0))
                    time.sleep(1.0)
                    steady[name] = daemon.vm_rss_kb()
                stop_daemon(daemon)
            ready[name] = statistics.median(times)

        print()
        print(f"{'measure':<44}{'figure':>12}{'baseline':>12}{'ratio':>8}{'target':>10}")
        for name in ("cloud", "local"):
            print(
                f"{'start -> READY=1, ' + name + ' recognizer':<44}{ready[name] * 1000:>10.0f}ms"
                f"{bare_start * 1000:>10.0f}ms{ready[name] / bare_start:>8.1f}"
                f"{'<= 1000ms' if name == 'cloud' else '':>10}"
            )
        for name in ("cloud", "local"):
            print(
                f"{'steady RSS, ' + name + ' recognizer':<44}{steady[name] / 1024:>10.1f}MB"
                f"{bare_rss / 1024:>10.1f}MB{steady[name] / bare_rss:>8.1f}"
                f"{'<= 45MB' if name == 'cloud' else '':>10}"
            )

        print()
        print(
            f"accelerated hour: {args.hour_s} s of room noise, 2 commands a minute, "
            f"{args.growth_recognizer} recognizer"
        )
        daemon, _ = start_daemon(paths[args.growth_recognizer])
        began = time.perf_counter()
        samples = _hour(daemon, args.hour_s, work / "speech")
        took = time.perf_counter() - began
        reports = daemon.reports(0)
        stop_daemon(daemon)
        recognized = sum(1 for r in reports if r.get("intent"))
        print(
            f"  fed in {took:.0f} s ({args.hour_s / took:.0f}x real time); {len(reports)} utterances "
            f"reported, {recognized} matched an intent (of {2 * (args.hour_s // MINUTE_S)} spoken)"
        )
        shown = samples[:: max(1, len(samples) // 12)]
        if shown[-1] != samples[-1]:
            shown.append(samples[-1])
        for at, kb in shown:
            print(f"  {at:>6} s audio: {kb / 1024:7.2f} MB")
        warm = [kb for at, kb in samples if at >= WARMUP_MIN * MINUTE_S]
        if len(warm) >= 2:
            growth = warm[-1] - warm[0]
            print(
                f"  growth after a {WARMUP_MIN} min warm-up: {growth / 1024:+.2f} MB "
                f"(max {max(warm) / 1024:.2f}, min {min(warm) / 1024:.2f}); target <= 1 MB"
            )

        print()
        print("where `import assistantd.commands.run` spends its time (cumulative, top level):")
        for us, module in _importtime():
            print(f"  {us / 1000:7.1f} ms  {module}")


if __name__ == "__main__":
    main()
