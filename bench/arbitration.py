"""Several rooms, one broker: the latency arbitration adds, and whether any command is acted on twice.

``python -m bench.arbitration [--commands 100] [--window-ms 200] [--outage 20]`` starts a real Mosquitto
on 127.0.0.1 and three real ``ArbitrationLink`` objects (the daemon's own exchange and rule, each on its
own connection, in one process), then plays ``--commands`` commands: each site hears each command at a
slightly different moment (0-40 ms apart, seeded) and at a different level (0, -6, -12 dB, plus 1.5 dB of
random spread per site and command, so now and then the nominally quieter site is the louder),
announces its candidate as the pipeline does, and waits for the
decision. It prints:

1. the time from announcement to decision, p50/p95/max over every claim (3 per command): what the window
   costs a recognizer that had its transcript the moment the candidate went out (the worst case), next to
   the baseline of arbitration off (the pipeline never waits: 0);
2. what that adds to a command whose transcript is ready N ms after the announcement (p50/p95 of
   max(0, decision - N) over the measured decisions); in continuous mode the candidate goes out at the
   onset (after the pre-roll and trigger window), so N is at least the rest of the command plus the
   endpointer's hangover, several hundred milliseconds: the window is hidden;
3. duplicates (a command more than one site acted on), misses (no site acted) and commands the loudest
   site did not get;
4. the same with the broker stopped for ``--outage`` commands: every site acts alone, at once.

It measures the exchange and the decision, not recognition: the three full daemons of
tests/daemon/test_arbitration_daemons.py take a real-time minute for six commands.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

from assistantd.arbitration import Decision, score
from assistantd.arbitration_link import ArbitrationLink
from assistantd.config import Config
from assistantd.config.mqtt import MqttConfig
from assistantd.metrics import Metrics
from tests.handlers.conftest import Broker

GAINS_DB = {"office": 0.0, "hall": -6.0, "attic": -12.0}
SPEECH_DB, FLOOR_DB = -26.0, -50.0
OVERLAPS_MS = (0, 100, 200, 400)


def _config(port: int, window_ms: int) -> MqttConfig:
    mqtt = {
        "host": "127.0.0.1",
        "port": port,
        "retry_initial_s": 0.05,
        "retry_max_s": 0.5,
        "arbitration": {"enabled": True, "window_ms": window_ms},
    }
    config = Config.from_dict({"mqtt": mqtt}, source="bench", env={})
    assert config.mqtt is not None
    return config.mqtt


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def _command(
    links: list[ArbitrationLink], n: int, rng: random.Random
) -> tuple[list[Decision], list[float]]:
    async def site(link: ArbitrationLink) -> tuple[Decision, float]:
        await asyncio.sleep(rng.uniform(0.0, 0.04))
        gain = GAINS_DB[link.site_id] + rng.gauss(0.0, 1.5)  # how far the speaker stands varies a little
        started = time.monotonic()
        decision = await link.claim(str(n), score(SPEECH_DB + gain, FLOOR_DB + gain))
        return decision, time.monotonic() - started

    results = await asyncio.gather(*(site(link) for link in links))
    return [d for d, _ in results], [s for _, s in results]


async def _phase(
    links: list[ArbitrationLink], commands: int, first: int, rng: random.Random
) -> dict[str, object]:
    latencies: list[float] = []
    duplicates = misses = not_loudest = alone = 0
    for n in range(first, first + commands):
        decisions, seconds = await _command(links, n, rng)
        latencies += seconds
        winners = [d.own.site_id for d in decisions if d.won]
        alone += sum(bool(d.alone) for d in decisions)
        duplicates += len(winners) > 1
        misses += not winners
        not_loudest += winners != ["office"]
        await asyncio.sleep(0.3)  # the next command comes well after this one's window
    return {
        "latencies": latencies,
        "duplicates": duplicates,
        "misses": misses,
        "not_loudest": not_loudest,
        "alone": alone,
    }


def _print(title: str, result: dict[str, object], commands: int) -> None:
    lat = result["latencies"]
    assert isinstance(lat, list)
    ms = [s * 1000 for s in lat]
    print(f"{title}: {commands} commands, {len(ms)} claims")
    print(
        f"  announcement -> decision: p50 {_pct(ms, 0.5):.0f} ms, p95 {_pct(ms, 0.95):.0f} ms, "
        f"max {max(ms):.0f} ms (baseline, arbitration off: 0 ms)"
    )
    for overlap in OVERLAPS_MS:
        added = [max(0.0, m - overlap) for m in ms]
        print(
            f"  added to a transcript ready {overlap:3d} ms after the announcement: "
            f"p50 {_pct(added, 0.5):.0f} ms, p95 {_pct(added, 0.95):.0f} ms"
        )
    print(
        f"  duplicates (acted on by more than one site): {result['duplicates']}, missed: {result['misses']}, "
        f"not the nominally loudest site (the spread can flip it): {result['not_loudest']}, "
        f"decided alone: {result['alone']}"
    )


async def main_async(commands: int, window_ms: int, outage: int, seed: int) -> None:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory(prefix="bench-arbitration-") as tmp:
        broker = Broker(Path(tmp))
        broker.start()
        links = [ArbitrationLink(_config(broker.port, window_ms), site, Metrics()) for site in GAINS_DB]
        try:
            for link in links:
                link.start()
            async with asyncio.timeout(30):
                for link in links:
                    await link.connected.wait()
            print(f"window {window_ms} ms, three sites at 0 / -6 / -12 dB, Mosquitto on 127.0.0.1")
            _print("broker up", await _phase(links, commands, 0, rng), commands)
            if outage:
                broker.stop()
                async with asyncio.timeout(30):
                    # Polled: the link has an event for "connected", none for "gone" (nothing else needs one).
                    while any(link.connected.is_set() for link in links):  # noqa: ASYNC110
                        await asyncio.sleep(0.01)
                result = await _phase(links, outage, commands, rng)
                _print("broker stopped (every site acts alone: duplicates expected)", result, outage)
        finally:
            for link in links:
                await link.aclose()
            broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--commands", type=int, default=100)
    parser.add_argument("--window-ms", type=int, default=200)
    parser.add_argument("--outage", type=int, default=20, help="commands with the broker stopped (0: none)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    asyncio.run(main_async(args.commands, args.window_ms, args.outage, args.seed))


if __name__ == "__main__":
    main()
