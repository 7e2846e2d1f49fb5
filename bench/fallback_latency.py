"""Cloud fallback: endpoint -> final text when the cloud fails, against the local recognizer alone.

    python -m bench.fallback_latency [--clips 4] [--final-timeout-s 5] [--connect-timeout-s 5]

The recognizer is what the daemon builds (registry.recognizer_for with the fallback): volcengine pointed at
a FakeSauc on 127.0.0.1 (tests/fakes/sauc.py) that fails in one way per row, local behind it. Shipped
commands spoken by flite voices in room noise are fed in real time (100 ms chunks), and the time from the
last chunk (the endpoint) to the transcript is recorded, with the recognizer that produced it. The baseline
row is the local recognizer alone on the same clips; "healthy" is the fake answering normally.

With a cloud that accepts audio but never answers, the wait is bounded by final_timeout_s (the fallback
abandons the cloud then, even mid-retry), plus the local decode of the whole utterance.
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import tempfile
import time
from collections.abc import AsyncIterator
from pathlib import Path

import numpy as np

from assistantd.config import Config
from assistantd.recognizer.base import Recognizer
from assistantd.recognizer.registry import recognizer_for
from bench.command_accuracy import ROOT, VOICES, room_clip
from bench.local_recognizer import paced, pct
from tests.fakes.sauc import FakeSauc, Fault

COMMANDS = (
    "turn on the kitchen lights",
    "set a timer for five minutes",
    "what time is it",
    "turn the volume up",
    "pause the music",
    "next song",
)
KEYS = {"VOLC_APP_KEY": "bench-app-key", "VOLC_ACCESS_KEY": "bench-access-key"}
CASES: dict[str, Fault | None] = {
    "healthy": None,
    "HTTP 503": Fault(refuse_status=503),
    "HTTP 401": Fault(refuse_status=401),
    "dropped": Fault(drop_after=3),
    "no final": Fault(no_final=True),
    "unreachable": None,
}


def config(url: str, cache: Path, args: argparse.Namespace) -> Config:
    transport = {
        "connect_timeout_s": args.connect_timeout_s,
        "final_timeout_s": args.final_timeout_s,
        "retries": args.retries,
    }
    data = {
        "recognizer": {
            "default": "volcengine",
            "fallback": "local",
            "transport": transport,
            "volcengine": {"url": url, "app_key": "${VOLC_APP_KEY}", "access_key": "${VOLC_ACCESS_KEY}"},
            "local": {"cache_dir": str(cache)},
        },
        "intents": {"files": [str(ROOT / "config" / "intents" / "*.yaml")]},
    }
    return Config.from_dict(data, env=KEYS, source="<bench>", base_dir=ROOT)


async def timed(recognizer: Recognizer, audio: bytes) -> tuple[float, str]:
    """(seconds from the last chunk to the transcript, recognizer name)."""
    ended = 0.0

    async def live() -> AsyncIterator[bytes]:
        nonlocal ended
        async for chunk in paced(audio):
            yield chunk
        ended = time.perf_counter()

    transcript = await recognizer.transcribe(live())
    return time.perf_counter() - ended, transcript.recognizer


async def measure(recognizer: Recognizer, clips: list[bytes]) -> tuple[list[float], set[str]]:
    start = getattr(recognizer, "start", None)
    if start is not None:
        await start()
    try:
        results = [await timed(recognizer, clip) for clip in clips]
    finally:
        close = getattr(recognizer, "close", None)
        if close is not None:
            result = close()
            if asyncio.iscoroutine(result):
                await result
    return [r[0] for r in results], {r[1] for r in results}


def unused_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def main_async(args: argparse.Namespace) -> None:
    cache = Path(tempfile.mkdtemp(prefix="bench-fallback-"))
    rng = np.random.default_rng(3)
    clips = [
        room_clip(text, VOICES[i % len(VOICES)], cache, 20.0, rng)
        for i, text in enumerate(COMMANDS[: args.clips])
    ]
    print(
        f"{len(clips)} clips in real time; connect_timeout_s {args.connect_timeout_s:g}, "
        f"final_timeout_s {args.final_timeout_s:g}, retries {args.retries}\n"
    )
    print(f"{'cloud':12} {'answered by':12} {'endpoint->text p50':>19} {'max':>8}")
    rows: list[tuple[str, list[float], set[str]]] = []
    base = config("ws://127.0.0.1:9/unused", cache, args)
    rows.append(("(local only)", *await measure(recognizer_for(base, "local"), clips)))
    for case, fault in CASES.items():
        if case == "unreachable":
            url = f"ws://127.0.0.1:{unused_port()}/api/v3/sauc/bigmodel_async"
            rows.append(
                (case, *await measure(recognizer_for(config(url, cache, args), with_fallback=True), clips))
            )
            continue
        faults = [fault] * (len(clips) * (args.retries + 1)) if fault else []
        async with FakeSauc(
            app_key=KEYS["VOLC_APP_KEY"], access_key=KEYS["VOLC_ACCESS_KEY"], faults=faults
        ) as fake:
            recognizer = recognizer_for(config(fake.url, cache, args), with_fallback=True)
            rows.append((case, *await measure(recognizer, clips)))
    for case, latencies, names in rows:
        print(
            f"{case:12} {','.join(sorted(names)):12} {pct(latencies, 0.5) * 1000:17.0f}ms "
            f"{max(latencies) * 1000:6.0f}ms"
        )
    local_p50 = pct(rows[0][1], 0.5)
    worst = max(max(latencies) for _, latencies, _ in rows[1:])
    print(
        f"\nworst endpoint->text with a failing cloud: {worst:.2f} s "
        f"(bound: final_timeout_s {args.final_timeout_s:g} s + local decode; "
        f"local alone p50 {local_p50 * 1000:.0f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clips", type=int, default=4, help=f"commands per row (at most {len(COMMANDS)})")
    parser.add_argument("--connect-timeout-s", type=float, default=5.0)
    parser.add_argument("--final-timeout-s", type=float, default=5.0)
    parser.add_argument("--retries", type=int, default=1)
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
