"""The site link through ``assistantd run``: the retained state topic, the privacy switch across a restart,
the last will on kill -9, say and reload over MQTT, and bad control messages, against a real Mosquitto
with flite commands fed through stdin."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.daemon.conftest import StartDaemon
from tests.daemon.harness import DEADLINE_S, Audio
from tests.handlers.conftest import MOSQUITTO, Broker
from tests.mqtt_certs import OPENSSL, make_pki
from tests.mqtt_watch import Watcher

SITE = "den"
STATE = f"assistantd/{SITE}/state"
COMMAND = "turn on the kitchen lights"
PAUSE_S = 1.2


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    if not Path(MOSQUITTO).exists():
        pytest.fail("mosquitto is not installed (apt-get install mosquitto)")
    b = Broker(tmp_path)
    b.start()
    yield b
    b.stop()


@pytest.fixture
def watcher(broker: Broker) -> Iterator[Watcher]:
    w = Watcher(broker.port, ("assistantd/#", "hermes/#"))
    yield w
    w.close()


@dataclass
class Site:
    config: dict[str, Any]
    """The daemon config with this site's mqtt: section and a state_dir of the test's own."""
    watcher: Watcher
    state_dir: Path
    watcher_port: int
    """The broker's port (for a second client)."""


@pytest.fixture
def site(config: dict[str, Any], broker: Broker, watcher: Watcher, tmp_path: Path) -> Site:
    config["mqtt"] = {"host": "127.0.0.1", "port": broker.port, "site_id": SITE, "retry_initial_s": 0.05}
    config["service"]["state_dir"] = str(tmp_path / "state")
    return Site(config, watcher, tmp_path / "state", broker.port)


def _spoken(audio: Audio) -> bytes:
    return audio.room(0.5) + audio.command(COMMAND) + audio.room(PAUSE_S)


def _state(watcher: Watcher, word: str, since: int) -> None:
    watcher.wait_for(lambda m: m.topic == STATE and m.text == word, DEADLINE_S, f"state {word}", since=since)


def test_mute_holds_across_a_restart_and_kill_9_leaves_the_will(
    start_daemon: StartDaemon, audio: Audio, site: Site
) -> None:
    cfg, watcher, state_dir = site.config, site.watcher, site.state_dir
    daemon = start_daemon(cfg)
    daemon.notice("READY")
    _state(watcher, "listening", 0)

    # Another site's mute, and messages that are not controls, change nothing and cost nothing.
    watcher.publish("hermes/hotword/toggleOff", json.dumps({"siteId": "kitchen"}))
    watcher.publish("hermes/hotword/toggleOff", b"{not json")
    watcher.publish(f"assistantd/{SITE}/mute", b"maybe")
    watcher.publish("hermes/tts/say", json.dumps({"siteId": SITE, "text": 42}))
    watcher.publish("hermes/hotword/toggleOff", b"x" * 100_000)
    daemon.log_line("ignoring the message on hermes/hotword/toggleOff: expected a JSON object")
    daemon.log_line(f"ignoring the message on assistantd/{SITE}/mute: expected on, off, true or false")
    daemon.log_line('ignoring the message on hermes/tts/say: expected "text"')
    daemon.log_line("ignoring the message on hermes/hotword/toggleOff: payload of 100000 bytes")

    # A command while listening: hearing, recognizing, listening again after its report; it acts.
    mark = watcher.mark()
    daemon.stream(_spoken(audio), realtime_factor=2.0)
    (first,) = daemon.reports(1)
    assert first["intent"] == "LightOn" and first["handlers"][0]["ok"], first
    _state(watcher, "listening", mark + 1)
    states = watcher.on(STATE, mark)
    assert states[:3] == ["hearing", "recognizing", "listening"], states

    # Muted by Hermes' toggleOff: a whole command goes by unheard, nothing acts.
    mark = watcher.mark()
    watcher.publish("hermes/hotword/toggleOff", json.dumps({"siteId": SITE, "reason": "test"}))
    _state(watcher, "muted", mark)
    daemon.stream(_spoken(audio), realtime_factor=2.0)
    daemon.wait_input_read()
    assert json.loads((state_dir / "privacy.json").read_text()) == {"muted": True}

    # A clean stop says offline itself.
    mark = watcher.mark()
    daemon.send(signal.SIGTERM)
    assert daemon.wait() == 0
    assert len(daemon.reports(1)) == 1, daemon.stdout  # the muted command gave no report: never heard
    _state(watcher, "offline", mark)

    # Restarted: still muted, and a command still goes unheard.
    mark = watcher.mark()
    again = start_daemon(cfg)
    again.notice("READY")
    _state(watcher, "muted", mark)
    again.stream(_spoken(audio), realtime_factor=2.0)
    again.wait_input_read()
    # Unmuted by assistantd's own topic: the next command is heard and acted on, the muted one never.
    mark = watcher.mark()
    watcher.publish(f"assistantd/{SITE}/mute", b"off")
    _state(watcher, "listening", mark)
    again.stream(_spoken(audio), realtime_factor=2.0)
    (heard,) = again.reports(1)
    assert heard["intent"] == "LightOn" and heard["handlers"][0]["ok"], heard
    assert json.loads((state_dir / "privacy.json").read_text()) == {"muted": False}

    # kill -9: no goodbye from the daemon; the broker publishes its will.
    _state(watcher, "listening", mark + 1)
    mark = watcher.mark()
    again.send(signal.SIGKILL)
    again.wait()
    will = watcher.wait_for(lambda m: m.topic == STATE, DEADLINE_S, "the will", since=mark)
    assert will.text == "offline"
    assert len(again.reports(1)) == 1


def test_say_reload_and_a_mute_mid_command_over_mqtt(
    start_daemon: StartDaemon, audio: Audio, site: Site, tmp_path: Path
) -> None:
    cfg, watcher = site.config, site.watcher
    said = tmp_path / "said.txt"
    cfg["handlers"]["tts"] = {"command": ["tee", "-a", str(said)]}
    daemon = start_daemon(cfg)
    daemon.notice("READY")
    _state(watcher, "listening", 0)

    mark = watcher.mark()
    watcher.publish("hermes/tts/say", json.dumps({"text": "dinner is ready", "siteId": SITE, "id": "r1"}))
    watcher.publish("hermes/tts/say", json.dumps({"text": "not here", "siteId": "kitchen", "id": "r2"}))
    done = watcher.wait_for(
        lambda m: m.topic == "hermes/tts/sayFinished", DEADLINE_S, "sayFinished", since=mark
    )
    assert json.loads(done.payload) == {"id": "r1", "siteId": SITE}
    assert said.read_text() == "dinner is ready"
    assert watcher.on("hermes/tts/sayFinished", mark) == [done.text]

    # Reload over MQTT is SIGHUP's reload (a retained one is refused: tests/handlers/test_site_link.py).
    reloads = len(daemon.notices)
    watcher.publish(f"assistantd/{SITE}/reload", b"")
    daemon.notice("RELOADING", since=reloads)
    daemon.log_line("reloaded")

    # Muted mid-command: what was heard so far is reported, but no handler runs.
    # The whole command and less room than the hangover: read, but its endpoint not reached (the last
    # 0.25 s chunk, room, may still be on its way).
    daemon.write(audio.room(0.5) + audio.command(COMMAND) + audio.room(0.3))
    daemon.wait_input_read()
    daemon.wait_until(
        lambda: any(s.startswith("hearing") for s in daemon.statuses()), DEADLINE_S, "STATUS=hearing"
    )
    mark = watcher.mark()
    watcher.publish("hermes/hotword/toggleOff", json.dumps({"siteId": SITE}))
    _state(watcher, "muted", mark)
    (cut,) = daemon.reports(1)
    assert cut["intent"] == "LightOn" and cut["handlers"] == [] and cut["outcome"] == "dropped", cut
    assert "muted" in cut["error"], cut
    daemon.write(audio.room(PAUSE_S))
    watcher.publish("hermes/hotword/toggleOn", json.dumps({"siteId": SITE}))
    _state(watcher, "listening", mark)
    daemon.send(signal.SIGTERM)
    assert daemon.wait() == 0


def test_home_assistant_discovery_makes_the_site_a_device(
    start_daemon: StartDaemon, audio: Audio, site: Site
) -> None:
    cfg, watcher = site.config, site.watcher
    cfg["mqtt"]["discovery"] = True
    daemon = start_daemon(cfg)
    daemon.notice("READY")
    _state(watcher, "listening", 0)
    mark = watcher.mark()
    daemon.stream(_spoken(audio), realtime_factor=2.0)
    daemon.reports(1)
    _state(watcher, "listening", mark + 1)
    last = watcher.wait_for(
        lambda m: m.topic == f"assistantd/{SITE}/last_intent", DEADLINE_S, "last intent", since=mark
    )
    assert last.text == "LightOn"
    assert watcher.on(f"assistantd/{SITE}/last_transcript", mark) == [COMMAND]

    # What Home Assistant finds when it starts later: retained configs, one device, four entities.
    home = Watcher(site.watcher_port, ("homeassistant/#",), client_id="home-assistant")
    try:
        seen = [
            home.wait_for(lambda m, t=topic: m.topic == t, DEADLINE_S, topic)
            for topic in (
                f"homeassistant/sensor/assistantd_{SITE}/state/config",
                f"homeassistant/sensor/assistantd_{SITE}/last_transcript/config",
                f"homeassistant/sensor/assistantd_{SITE}/last_intent/config",
                f"homeassistant/switch/assistantd_{SITE}/mute/config",
            )
        ]
    finally:
        home.close()
    configs = [json.loads(m.payload) for m in seen]
    assert all(m.retain for m in seen)
    assert len({c["unique_id"] for c in configs}) == 4
    assert all(c["device"]["identifiers"] == [f"assistantd_{SITE}"] for c in configs)
    assert all(
        c["availability"]
        == [{"topic": STATE, "value_template": configs[0]["availability"][0]["value_template"]}]
        for c in configs
    )
    assert [c["state_topic"] for c in configs] == [
        STATE,
        f"assistantd/{SITE}/last_transcript",
        f"assistantd/{SITE}/last_intent",
        STATE,
    ]
    switch = configs[3]
    assert (switch["command_topic"], switch["payload_on"], switch["payload_off"]) == (
        f"assistantd/{SITE}/mute",
        "on",
        "off",
    )
    # The switch's command works as Home Assistant sends it.
    mark = watcher.mark()
    watcher.publish(switch["command_topic"], switch["payload_on"])
    _state(watcher, "muted", mark)
    daemon.send(signal.SIGTERM)
    assert daemon.wait() == 0
    _state(watcher, "offline", mark)


def test_tls_and_refused_credentials_through_the_daemon(
    start_daemon: StartDaemon, config: dict[str, Any], tmp_path: Path
) -> None:
    if OPENSSL is None:
        pytest.fail("openssl is not installed (apt-get install openssl)")
    pki = make_pki(tmp_path / "pki")
    passwords = tmp_path / "passwords"
    passwd = shutil.which("mosquitto_passwd") or "/usr/bin/mosquitto_passwd"
    subprocess.run([passwd, "-b", "-c", str(passwords), "pi", "the-old-password"], check=True, timeout=30)
    broker = Broker(
        tmp_path,
        f"allow_anonymous false\npassword_file {passwords}\n"
        f"cafile {pki.ca}\ncertfile {pki.server_cert}\nkeyfile {pki.server_key}\n",
    )
    broker.start()
    secret = "daemon-password-never-logged"
    config["mqtt"] = {
        "host": "127.0.0.1",
        "port": broker.port,
        "site_id": SITE,
        "username": "pi",
        "password": "${MQTT_PASSWORD}",
        "tls": {"ca_file": str(pki.ca)},
        "retry_initial_s": 0.05,
        "retry_max_s": 0.3,
    }
    config["service"]["state_dir"] = str(tmp_path / "state")
    try:
        daemon = start_daemon(config, env={"MQTT_PASSWORD": secret}, verbose=True)  # -v: the retries show
        daemon.notice("READY")
        daemon.wait_until(
            lambda: (
                sum(f"site {SITE}: MQTT broker" in line and "retrying in" in line for line in daemon.stderr)
                >= 3
            ),
            DEADLINE_S,
            "the site link retrying",
        )
        # The broker learns the daemon's password (mosquitto rereads its password file on SIGHUP).
        subprocess.run([passwd, "-b", str(passwords), "pi", secret], check=True, timeout=30)
        assert broker.proc is not None
        broker.proc.send_signal(signal.SIGHUP)
        watcher = Watcher(broker.port, (STATE,), ca_file=str(pki.ca), credentials=("pi", secret))
        try:
            _state(watcher, "listening", 0)
        finally:
            watcher.close()
        # Each connection (events, handlers, site) kept trying until the broker let it in.
        daemon.wait_until(
            lambda: sum("failed attempt(s)" in line for line in daemon.stderr) == 3,
            DEADLINE_S,
            "three connections in after failed attempts",
        )
        daemon.send(signal.SIGTERM)
        assert daemon.wait() == 0
    finally:
        broker.stop()
    refusals = [line for line in daemon.stderr if "not authorised" in line and " WARNING " in line]
    # Three connections (events, handlers, site) lost one broker: one line for the outage.
    assert len(refusals) == 1 and f"127.0.0.1:{broker.port}" in refusals[0], refusals
    assert not any(secret in line or "the-old-password" in line for line in daemon.stderr + daemon.stdout)
