"""SIGHUP with MQTT on: the event publisher, the handlers' publisher and the arbitration link are kept
across reloads (mqtt_connections.py). Against a real Mosquitto, whose log names every client that
connects and every one it disconnects to admit another with the same id (an MQTT takeover), with flite
commands fed through stdin while the daemon reloads."""

from __future__ import annotations

import json
import re
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.daemon.conftest import StartDaemon
from tests.daemon.harness import DEADLINE_S, Audio, Daemon, write_config
from tests.handlers.conftest import MOSQUITTO, Broker
from tests.mqtt_watch import Watcher

SITE = "den"
COMMAND = "turn on the kitchen lights"
LIGHTS = "home/den/lights"
RELOADS = 3


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    if not Path(MOSQUITTO).exists():
        pytest.fail("mosquitto is not installed (apt-get install mosquitto)")
    b = Broker(tmp_path, "allow_anonymous true\nconnection_messages true\n")
    b.start()
    yield b
    b.stop()


@pytest.fixture
def watcher(broker: Broker) -> Iterator[Watcher]:
    w = Watcher(broker.port, ("hermes/#", "home/#"))
    yield w
    w.close()


@pytest.fixture
def cfg(config: dict[str, Any], broker: Broker, tmp_path: Path) -> dict[str, Any]:
    """The daemon's config: events, arbitration and an mqtt handler on the one broker connection."""
    config["mqtt"] = {
        "host": "127.0.0.1",
        "port": broker.port,
        "site_id": SITE,
        "retry_initial_s": 0.05,
        "arbitration": {"enabled": True, "window_ms": 50},
    }
    config["service"]["state_dir"] = str(tmp_path / "state")
    config["handlers"]["bindings"] = [
        {"intent": "LightOn", "mqtt": {"topic": LIGHTS, "payload": "on", "qos": 1, "timeout_s": 10}}
    ]
    return config


def _reload_mid_command(daemon: Daemon, audio: Audio, reports: int) -> None:
    spoken = audio.room(0.5) + audio.command(COMMAND) + audio.room(1.2)
    half = len(spoken) // 2 // 2 * 2
    daemon.write(spoken[:half])
    reloads = len(daemon.notices)
    daemon.send(signal.SIGHUP)
    daemon.notice("RELOADING", since=reloads)
    daemon.write(spoken[half:])
    daemon.reports(reports)
    daemon.notice("READY", since=reloads)


def _connects(broker: Broker) -> Counter[str]:
    """Client ids Mosquitto admitted, with how often (the test's own watcher aside)."""
    ids = re.findall(r"New client connected from \S+ as (\S+)", broker.log.read_text())
    return Counter(i for i in ids if i != "test-watcher")


def test_reloads_while_commands_flow_keep_every_connection(
    start_daemon: StartDaemon, audio: Audio, cfg: dict[str, Any], broker: Broker, watcher: Watcher
) -> None:
    daemon = start_daemon(cfg)
    daemon.notice("READY")
    daemon.log_line("MQTT arbitration: connected")
    for n in range(RELOADS):
        # A reload while a command is being heard: the old app finishes it on its connections while the
        # new app starts on the same ones.
        _reload_mid_command(daemon, audio, n + 1)
    reports = daemon.reports(RELOADS)
    assert [(r["intent"], r["handlers"][0]["ok"]) for r in reports] == [("LightOn", True)] * RELOADS, reports
    for r in reports:
        watcher.wait_for(
            lambda m, r=r: (
                m.topic == "hermes/intent/LightOn" and json.loads(m.payload)["sessionId"] == r["id"]
            ),
            DEADLINE_S,
            f"the intent event of {r['id']}",
        )
    daemon.send(signal.SIGTERM)
    assert daemon.wait() == 0

    log = broker.log.read_text()
    assert "already connected, closing old connection" not in log, log
    connects = _connects(broker)
    # One connection each for the daemon's life: site link, events, handlers, arbitration.
    assert connects == Counter(
        {
            f"assistantd-{SITE}-site": 1,
            f"assistantd-{SITE}-events": 1,
            "assistantd": 1,
            f"assistantd-{SITE}-arbiter": 1,
        }
    ), connects
    # Nothing lost, nothing twice: one command published and one event of each kind per utterance.
    assert watcher.on(LIGHTS) == ["on"] * RELOADS
    ids = [json.loads(t)["sessionId"] for t in watcher.on("hermes/asr/textCaptured")]
    assert sorted(ids) == sorted(r["id"] for r in reports), ids
    assert "Bad file descriptor" not in "\n".join(daemon.stderr)


def test_a_changed_connection_replaces_each_client_without_a_takeover(
    start_daemon: StartDaemon, audio: Audio, cfg: dict[str, Any], broker: Broker, watcher: Watcher
) -> None:
    daemon = start_daemon(cfg)
    daemon.notice("READY")
    daemon.log_line("MQTT arbitration: connected")
    cfg["mqtt"]["keepalive_s"] = 30
    write_config(broker.conf.parent / "assistant.yaml", cfg)  # start_daemon's file, in tmp_path
    # The old app finishes the command on the old connections; the new ones (same client ids) connect
    # once those are closed.
    _reload_mid_command(daemon, audio, 1)
    daemon.wait_until(lambda: _connects(broker).total() == 8, DEADLINE_S, "the new connections")
    _reload_mid_command(daemon, audio, 2)  # and the new ones carry the next command
    reports = daemon.reports(2)
    assert [(r["intent"], r["handlers"][0]["ok"]) for r in reports] == [("LightOn", True)] * 2, reports
    watcher.wait_for(lambda m: m.topic == "hermes/intent/LightOn", DEADLINE_S, "intent", since=0)
    daemon.send(signal.SIGTERM)
    assert daemon.wait() == 0

    log = broker.log.read_text()
    assert "already connected, closing old connection" not in log, log
    assert set(_connects(broker).values()) == {2}, _connects(broker)
    assert len(re.findall(r"New client connected from \S+ as assistantd\S* \(p2, c1, k30\)", log)) == 4, log
    assert watcher.on(LIGHTS) == ["on"] * 2
    assert len(watcher.on("hermes/asr/textCaptured")) == 2
