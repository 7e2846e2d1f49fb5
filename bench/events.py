"""MQTT events per utterance and their latency, through the real daemon and a real Mosquitto (issue 12).

``python -m bench.events [--rounds 3] [--echoes 20]`` starts ``assistantd run --input -`` in wake mode
(tests/daemon/harness.py) with ``mqtt:`` events on, streams the shared wake recording (tests/wake_speech.py:
"okay nabu" + commands, and the phrase alone, in room noise) into it in real time, and records what a
subscriber on its own thread (tests/mqtt_watch.py) receives. Prints, per utterance, how many events came
and when each arrived:

- the hotword event from the wake word's detection (the report's ``wake.time``),
- every other event from the endpoint: the report's ``end`` (the utterance's audio, which keeps
  ``endpoint.tail_ms`` of the silence after the last voiced frame) plus the rest of the hangover
  (``hangover_ms - tail_ms``, the defaults), when the endpointer decides; for the phrase alone, from
  the moment the listener stops waiting for a command (``wake.time + command_timeout_s``),

all audio-clock times made wall-clock times by the writer's schedule: audio second ``t`` is written at
``t0 + t`` (10 ms chunks) on the benchmark's monotonic clock, the clock the subscriber stamps arrivals
with, and the daemon reads stdin as it comes. Then p50/p95 per event kind, and the
broker's own round trip in the same run (the subscriber publishes to a topic it subscribes to) as the
floor. Mosquitto runs with ``set_tcp_nodelay true`` (bench/site.py shows what its default adds).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from assistantd.config.endpoint import EndpointConfig
from bench.synth import to_pcm
from bench.wake_audio import build
from tests.daemon.harness import DEADLINE_S, Daemon, base_config, write_config
from tests.handlers.conftest import Broker
from tests.mqtt_watch import Seen, Watcher
from tests.wake_speech import SCRIPT

SITE = "bench"
UTTERANCE = f"assistantd/{SITE}/utterance"
RATE = 16000
COMMAND_TIMEOUT_S = 4.0
ENDPOINT_AFTER_END_S = (EndpointConfig.hangover_ms - EndpointConfig.tail_ms) / 1000


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered) * 1000:7.1f} ms  p95 {p95 * 1000:7.1f} ms  (n={len(ordered)})"


def _stream(daemon: Daemon, pcm: bytes, t0: float) -> None:
    """``pcm`` in 10 ms chunks, audio second ``t`` at ``t0 + t``."""
    step = 2 * RATE // 100
    for i in range(0, len(pcm), step):
        time.sleep(max(0.0, t0 + i / (2 * RATE) - time.monotonic()))
        daemon.write(pcm[i : i + step])


def _kind(topic: str) -> str:
    """The topic, with the intent's name as ``*`` (one row for all intents)."""
    return "hermes/intent/*" if topic.startswith("hermes/intent/") else topic


def _session(message: Seen) -> str | None:
    payload = json.loads(message.payload)
    return str(payload.get("sessionId", payload.get("id")))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3, help="times the wake recording is streamed")
    parser.add_argument("--echoes", type=int, default=20, help="broker round trips for the baseline")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-events-"))
    lines = [line for line, _, _ in SCRIPT if line.gap_s is not None]  # what the wake word opens
    audio, _ = build(lines, seed=5, cache=work / "speech")
    pcm = to_pcm(audio)
    broker = Broker(work, "allow_anonymous true\nset_tcp_nodelay true\n")
    broker.start()
    watcher = Watcher(broker.port, ("hermes/#", UTTERANCE, "bench/echo"), client_id="bench-events")
    config = base_config(work / "grammar")
    config["wake"] = {"model": "okay_nabu", "command_timeout_s": COMMAND_TIMEOUT_S}
    config["mqtt"] = {"host": "127.0.0.1", "port": broker.port, "site_id": SITE}
    config["service"]["state_dir"] = str(work / "state")
    config["handlers"]["bindings"] = [
        {"intent": i, "exec": {"argv": ["true"], "timeout_s": 5}}
        for i in ("LightOn", "TimerStart", "TimeGet")
    ]
    daemon = Daemon(write_config(work / "assistant.yaml", config))
    try:
        daemon.notice("READY")
        echo = []
        for i in range(args.echoes):
            mark = watcher.mark()
            sent = watcher.publish("bench/echo", str(i))
            got = watcher.wait_for(lambda m: m.topic == "bench/echo", DEADLINE_S, "echo", since=mark)
            echo.append(got.at - sent)
        t0 = time.monotonic()
        _stream(daemon, pcm * args.rounds + bytes(2 * RATE * 2), t0)  # 2 s more: the last endpoint
        reports = daemon.reports(len(lines) * args.rounds, timeout=DEADLINE_S)
        last = reports[-1]["id"]
        watcher.wait_for(lambda m: m.topic == UTTERANCE and _session(m) == last, DEADLINE_S, "last report")
        by_kind: dict[str, list[float]] = {}
        counts = []
        print(
            f"{len(reports)} utterances; delays from the wake detection (hotword) or the endpoint (others):"
        )
        for report in sorted(reports, key=lambda r: float(r["start"])):
            events = [m for m in watcher.seen if m.topic != "bench/echo" and _session(m) == report["id"]]
            counts.append(len(events))
            shown = []
            for m in events:
                kind = _kind(m.topic)
                if "/hotword/" in kind:
                    origin = report["wake"]["time"]
                elif report["outcome"] == "no command":
                    origin = report["wake"]["time"] + COMMAND_TIMEOUT_S
                else:
                    origin = report["end"] + ENDPOINT_AFTER_END_S
                delay = m.at - (t0 + float(origin))
                by_kind.setdefault(kind, []).append(delay)
                shown.append(f"{kind} {delay * 1000:+.0f}")
            print(
                f"  {report['id']:>3} {report['outcome']:<11} {len(events)} events: {', '.join(shown)} (ms)"
            )
        print(f"events per utterance: {statistics.mean(counts):.2f} (min {min(counts)}, max {max(counts)})")
        for kind, delays in by_kind.items():
            print(f"  {kind:<36} {_ms(delays)}")
        print(f"  {'broker round trip (floor)':<36} {_ms(echo)}")
    finally:
        daemon.close()
        watcher.close()
        broker.stop()


if __name__ == "__main__":
    main()
