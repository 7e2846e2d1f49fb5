"""Huawei SIS client cost and latency, against the fake server on 127.0.0.1.

    python -m bench.huawei_stream [--utterances N]

Prints, each with a baseline measured in the same run:
1. codec CPU per second of audio (framing + START/END + parsing results) vs. a bare slicing loop over the
   same bytes (the least any client must do);
2. endpoint -> final latency through the real transport and the fake vs. one bare WebSocket round trip
   on the same loopback (what the network path alone costs);
3. how evenly audio reached the server (inter-arrival of binary frames, from the fake's receive timestamps).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import statistics
import time
from collections.abc import AsyncIterator

import numpy as np
from websockets.asyncio.client import connect
from websockets.asyncio.server import ServerConnection, serve

from assistantd.config import Config
from assistantd.recognizer.huawei import HuaweiCodec
from assistantd.recognizer.registry import build_recognizer
from tests.fakes.huawei import FakeHuaweiSIS

PACKET = 5120  # 160 ms, the transport's default packet


def speechlike(seconds: float) -> bytes:
    """Loud band-limited noise in 300 ms bursts: enough for the fake's energy VAD (no synthesis needed)."""
    rng = np.random.default_rng(3)
    n = int(seconds * 16000)
    envelope = (np.arange(n) // 4800 % 2).astype(np.float32)
    return (rng.normal(0, 3000, n) * envelope).astype("<i2").tobytes()


def codec_cost(audio: bytes, rounds: int) -> tuple[float, float]:
    cfg = Config.from_dict(
        {"recognizer": {"huawei": {"project_id": "p", "token": "${T}"}}}, env={"T": "t"}
    ).recognizer.huawei
    assert cfg is not None
    result = json.dumps(
        {"resp_type": "RESULT", "segments": [{"is_final": True, "result": {"text": "打开灯"}}]}
    )
    t0 = time.process_time()
    for _ in range(rounds):
        codec = HuaweiCodec(cfg)
        codec.start()
        codec.receive('{"resp_type":"START","trace_id":"x"}')
        for i in range(0, len(audio), PACKET):
            codec.send_audio(audio[i : i + PACKET])
            codec.messages_to_send()
        codec.finish()
        codec.messages_to_send()
        codec.receive(result)
        codec.receive('{"resp_type":"END","reason":"NORMAL"}')
        codec.events_received()
    codec_s = time.process_time() - t0
    t0 = time.process_time()
    for _ in range(rounds):
        frames = [audio[i : i + 3200] for i in range(0, len(audio), 3200)]
        assert frames
    base_s = time.process_time() - t0
    seconds = rounds * len(audio) / 32000
    return codec_s / seconds, base_s / seconds


async def one_round_trip_ms(samples: int) -> float:
    async def echo(ws: ServerConnection) -> None:
        async for message in ws:
            await ws.send(message)

    times = []
    async with serve(echo, "127.0.0.1", 0) as server:
        port = server.sockets[0].getsockname()[1]
        async with connect(f"ws://127.0.0.1:{port}") as ws:
            for _ in range(samples):
                t0 = time.perf_counter()
                await ws.send('{"command":"END","cancel":false}')
                await ws.recv()
                times.append(1000 * (time.perf_counter() - t0))
    return statistics.median(times)


async def _paced(audio: bytes, ended: list[float]) -> AsyncIterator[bytes]:
    """30 ms capture frames, about 10x faster than real time; records when the audio ended."""
    for i in range(0, len(audio), 960):
        yield audio[i : i + 960]
        await asyncio.sleep(0.003)
    ended.append(time.perf_counter())


async def end_to_end(utterances: int, audio: bytes) -> tuple[list[float], list[float]]:
    latencies: list[float] = []
    gaps: list[float] = []
    env = {"T": "tok"}
    async with FakeHuaweiSIS(token="tok", transcript=["打开灯"]) as fake:
        data = {"recognizer": {"huawei": {"project_id": "fakeproject", "token": "${T}"}}}
        cfg = Config.from_dict(data, env=env).recognizer
        for _ in range(utterances):
            ended: list[float] = []
            recognizer = build_recognizer("huawei", cfg, url_override=fake.url)
            result = await recognizer.transcribe(_paced(audio, ended))
            assert result.text == "打开灯"
            latencies.append(1000 * (time.perf_counter() - ended[0]))
        for session in fake.sessions:
            arrivals = [r.t for r in session.received if r.kind == "binary"]
            gaps += [1000 * (b - a) for a, b in itertools.pairwise(arrivals)]
    return latencies, gaps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--utterances", type=int, default=20)
    args = parser.parse_args()
    audio = speechlike(3.0)
    codec_s, base_s = codec_cost(speechlike(60.0), rounds=20)
    print(
        f"codec CPU per audio second: {1e6 * codec_s:.1f} us (slicing baseline {1e6 * base_s:.1f} us, "
        f"ratio {codec_s / base_s:.1f}x); {1e2 * codec_s:.4f} % of one core in real time"
    )
    rtt = asyncio.run(one_round_trip_ms(200))
    latencies, gaps = asyncio.run(end_to_end(args.utterances, audio))
    p50 = statistics.median(latencies)
    p90 = statistics.quantiles(latencies, n=10)[-1]
    print(
        f"endpoint->final over loopback: median {p50:.2f} ms, p90 {p90:.2f} ms "
        f"(bare WebSocket round trip {rtt:.2f} ms, ratio {p50 / rtt:.1f}x), {args.utterances} utterances"
    )
    print(
        f"binary frame inter-arrival at the server: median {statistics.median(gaps):.1f} ms, "
        f"max {max(gaps):.1f} ms (100 ms frames; capture fed at ~10x real time, so >= 10 ms)"
    )


if __name__ == "__main__":
    main()
