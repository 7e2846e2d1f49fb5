"""The site link's latency, through the real daemon and a real Mosquitto.

``python -m bench.site [--runs 20] [--commands 10]`` starts ``assistantd run --input -`` (tests/daemon/
harness.py) with an ``mqtt:`` section and a subscriber on its own thread (tests/mqtt_watch.py), then prints
p50/p95 of:

1. a control's publish -> the state change it causes, seen by the subscriber: ``hermes/hotword/toggleOff``
   -> ``muted`` and ``toggleOn`` -> ``listening``, ``--runs`` of each;
2. the broker's own round trip in the same run (the subscriber publishes to a topic it subscribes to):
   the floor under (1);
3. per spoken command, the utterance's report (``assistantd/<site>/utterance``, the events connection) ->
   ``listening`` on the state topic (the site link's connection). Both are published when the report is
   finished, on two connections, so the figure can be negative.

Each against Mosquitto as installed (``set_tcp_nodelay false``, its default) and with ``set_tcp_nodelay
true``: by default the broker's write of the new state to the subscriber waits behind its own
acknowledgement of the control (Nagle's algorithm and the subscriber's delayed ACK, ~40 ms), which is the
broker's doing, not the daemon's. The daemon's own connections set TCP_NODELAY (mqtt_client.py).
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from tests.daemon.harness import DEADLINE_S, Audio, Daemon, base_config, write_config
from tests.handlers.conftest import Broker
from tests.mqtt_watch import Watcher

SITE = "bench"
STATE = f"assistantd/{SITE}/state"
UTTERANCE = f"assistantd/{SITE}/utterance"


def _ms(values: list[float]) -> str:
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"p50 {statistics.median(ordered) * 1000:7.2f} ms  p95 {p95 * 1000:7.2f} ms  (n={len(ordered)})"


def _state_after(watcher: Watcher, word: str, since: int) -> float:
    return watcher.wait_for(lambda m: m.topic == STATE and m.text == word, DEADLINE_S, word, since=since).at


def measure(work: Path, args: argparse.Namespace, *, nodelay: bool) -> None:
    options = "allow_anonymous true\n" + ("set_tcp_nodelay true\n" if nodelay else "")
    broker = Broker(work, options)
    broker.start()
    watcher = Watcher(broker.port, (STATE, UTTERANCE, "bench/echo"), client_id="bench-watch")
    config = base_config(work / "grammar")
    config["mqtt"] = {"host": "127.0.0.1", "port": broker.port, "site_id": SITE}
    config["service"]["state_dir"] = str(Path(args.state_dir) if args.state_dir else work / "state")
    daemon = Daemon(write_config(work / "assistant.yaml", config))
    try:
        daemon.notice("READY")
        _state_after(watcher, "listening", 0)
        muting, unmuting, echo = [], [], []
        for i in range(args.runs):
            mark = watcher.mark()
            sent = watcher.publish("bench/echo", str(i))
            echo.append(
                watcher.wait_for(lambda m: m.topic == "bench/echo", DEADLINE_S, "echo", since=mark).at - sent
            )
            mark = watcher.mark()
            sent = watcher.publish("hermes/hotword/toggleOff", json.dumps({"siteId": SITE}))
            muting.append(_state_after(watcher, "muted", mark) - sent)
            mark = watcher.mark()
            sent = watcher.publish("hermes/hotword/toggleOn", json.dumps({"siteId": SITE}))
            unmuting.append(_state_after(watcher, "listening", mark) - sent)
        audio = Audio(work / "speech")
        after_report = []
        spoken = audio.room(0.5) + audio.command("turn on the kitchen lights") + audio.room(1.2)
        for _ in range(args.commands):
            mark = watcher.mark()
            daemon.stream(spoken, realtime_factor=3.0)
            report = watcher.wait_for(lambda m: m.topic == UTTERANCE, DEADLINE_S, "report", since=mark)
            listening = _state_after(watcher, "listening", mark)
            after_report.append(listening - report.at)
            time.sleep(0.2)
        print(f"mosquitto set_tcp_nodelay {str(nodelay).lower()}:")
        print(f"  broker round trip (floor)           {_ms(echo)}")
        print(f"  toggleOff publish -> state muted     {_ms(muting)}")
        print(f"  toggleOn publish -> state listening  {_ms(unmuting)}")
        print(f"  report event -> state listening      {_ms(after_report)}")
    finally:
        daemon.close()
        watcher.close()
        broker.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--commands", type=int, default=10)
    parser.add_argument("--state-dir", help="where the privacy switch is saved (default: a temp dir on disk)")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench-site-"))
    for nodelay in (False, True):
        (work / str(nodelay)).mkdir()
        measure(work / str(nodelay), args, nodelay=nodelay)


if __name__ == "__main__":
    main()
