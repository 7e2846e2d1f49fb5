"""What an exec handler costs over a bare subprocess, and what dispatch() costs the caller.

Run: python -m bench.handlers_exec [--runs N]. Prints figures; the baseline is measured in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import time

from assistantd.config import Config
from assistantd.handlers import Invocation, Runner, SpeakingGate, build_runner


async def _bare(program: str) -> float:
    started = time.perf_counter()
    proc = await asyncio.create_subprocess_exec(program)
    await proc.wait()
    return time.perf_counter() - started


async def _handler(runner: Runner, i: int) -> float:
    started = time.perf_counter()
    task = runner.dispatch(Invocation(f"b{i}", "turn on the kitchen light", "On", {"room": "kitchen"}))
    assert task is not None
    (outcome,) = await task
    assert outcome.ok, outcome.detail
    return time.perf_counter() - started


class _Nothing:
    name = "nothing"

    async def run(self, invocation: Invocation) -> str:
        return ""


async def main(runs: int) -> None:
    program = shutil.which("true") or "/bin/true"
    cfg = Config.from_dict(
        {"handlers": {"bindings": [{"intent": "On", "exec": {"argv": [program, "{room}"]}}]}}
    ).handlers
    runner = build_runner(cfg, SpeakingGate(), environ=dict(os.environ))
    for _ in range(3):  # warm up both paths
        await _bare(program)
        await _handler(runner, -1)
    bare = [await _bare(program) for _ in range(runs)]
    handled = [await _handler(runner, i) for i in range(runs)]
    await runner.aclose(1.0)
    b, h = statistics.median(bare), statistics.median(handled)
    print(f"bare subprocess ({program}):   median {b * 1000:.2f} ms over {runs} runs")
    print(f"exec handler via Runner:  median {h * 1000:.2f} ms over {runs} runs")
    print(f"ratio handler / bare:     {h / b:.2f}x (+{(h - b) * 1000:.2f} ms)")

    quick = Runner({"On": [_Nothing()]}, max_concurrent=4, max_pending=10_000)
    n = 5000
    started = time.perf_counter()
    tasks = [quick.dispatch(Invocation(f"d{i}", "x", "On")) for i in range(n)]
    spent = time.perf_counter() - started
    await asyncio.gather(*(t for t in tasks if t is not None))
    await quick.aclose(1.0)
    print(f"dispatch() cost to the caller: {spent / n * 1e6:.1f} us per call ({n} calls)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=50)
    asyncio.run(main(parser.parse_args().runs))
