"""Several rooms, one broker, end to end: three real daemons (``assistantd run --input -``) on one real
Mosquitto hear the same recording of flite commands in room noise at different gains, written to all
three in step and in real time (like three microphones in one house). Each command must be acted on
exactly once, by the site that heard it loudest; with that site killed mid-run, by the next loudest;
with the broker stopped, by every site (nobody waits for it); once it is back, exactly once again. The
same in wake mode, on tests/wake_speech.py's recording ("okay nabu" + command).

What "acted on" means here: the command's exec handler ran, appending the site and the invocation to
one shared file. The report lines say the rest: the other sites' are ``deferred``, naming the winner.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench.synth import to_pcm
from bench.wake_audio import Line, build
from tests.daemon.harness import CHUNK_BYTES, DEADLINE_S, RATE, Daemon, base_config, write_config
from tests.handlers.conftest import MOSQUITTO, Broker
from tests.wake_speech import SCRIPT as WAKE_SCRIPT
from tests.wake_speech import recording as wake_recording

COMMANDS: tuple[tuple[Line, str], ...] = (
    (Line("flite:kal16", "turn on the kitchen lights"), "LightOn"),
    (Line("flite:rms", "set a timer for five minutes"), "TimerStart"),
    (Line("flite:awb", "what time is it"), "TimeGet"),
    (Line("flite:awb", "turn the volume up"), "VolumeUp"),
    (Line("flite:kal16", "turn off the kitchen lights"), "LightOff"),
    (Line("flite:rms", "pause the music"), "MusicPause"),
)
INTENTS = [intent for _, intent in COMMANDS]
GAINS_DB = {"office": 0.0, "hall": -6.0, "attic": -12.0}
"""The loudest sorts last, so a tie broken by site id could never make it win."""
WINDOW_MS = 800
"""Larger than the 200 ms default: three daemons decoding at once share two cores with the rest of the
suite, and a daemon that falls behind announces late (a loaded run saw two sites 1 s apart before play()
kept them in step). The rule, not the speed, is tested here; the benchmark (bench/arbitration.py)
measures the default window."""

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("flite") is None, reason="needs flite (Debian package)"),
]


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, list[tuple[float, float]]]:
    """The commands in fan and pink noise at 20 dB SNR; and where each command is, in seconds."""
    cache = tmp_path_factory.mktemp("arbitration-speech")
    audio, placed = build([line for line, _ in COMMANDS], seed=11, cache=cache)
    return to_pcm(audio), [(p.start, p.end) for p in placed]


@pytest.fixture
def broker(tmp_path: Path) -> Iterator[Broker]:
    if not Path(MOSQUITTO).exists():
        pytest.fail("mosquitto is not installed (apt-get install mosquitto)")
    b = Broker(tmp_path)
    b.start()
    try:
        yield b
    finally:
        b.stop()


def _gain(pcm: bytes, db: float) -> bytes:
    samples = np.frombuffer(pcm, dtype="<i2").astype(np.float64) * 10 ** (db / 20)
    return np.clip(np.round(samples), -32768, 32767).astype("<i2").tobytes()


class House:
    """Three daemons, one broker, one file of actions."""

    def __init__(self, tmp: Path, grammar_cache: Path, broker: Broker, *, wake: bool = False) -> None:
        self.actions = tmp / "actions.jsonl"
        self.daemons: dict[str, Daemon] = {}
        for site in GAINS_DB:
            config = base_config(grammar_cache)
            state_dir = tmp / f"state-{site}"
            state_dir.mkdir()
            config["service"]["state_dir"] = str(state_dir)
            config["recognizer"]["fallback"] = None
            config["wake"] = {"model": "okay_nabu" if wake else None}
            record = f'printf "%s %s\\n" "$0" "$(tr -d "\\n")" >> {self.actions}'
            config["handlers"] = {
                "bindings": [
                    {"intent": intent, "exec": {"argv": ["sh", "-c", record, site], "timeout_s": 10}}
                    for intent in INTENTS
                ]
            }
            config["service"]["watchdog_stall_s"] = 5.0
            config["mqtt"] = {
                "host": "127.0.0.1",
                "port": broker.port,
                "site_id": site,
                "events": False,
                "retry_initial_s": 0.05,
                "retry_max_s": 0.5,
                "arbitration": {"enabled": True, "window_ms": WINDOW_MS},
            }
            path = write_config(tmp / f"{site}.yaml", config)
            self.daemons[site] = Daemon(path, watchdog_usec=None)

    def connected(self, times: int = 1) -> None:
        """Wait until every live daemon's arbitration link has connected ``times`` times."""
        for daemon in self.live():
            daemon.wait_until(
                lambda d=daemon: sum("MQTT arbitration: connected" in line for line in d.stderr) >= times,
                DEADLINE_S,
                f"arbitration connection #{times}",
            )

    def live(self) -> list[Daemon]:
        return [d for d in self.daemons.values() if d.proc.poll() is None]

    def acted(self) -> list[tuple[str, str]]:
        """(site, intent) for every handler run so far, in order."""
        if not self.actions.exists():
            return []
        out = []
        for line in self.actions.read_text().splitlines():
            site, _, invocation = line.partition(" ")
            out.append((site, json.loads(invocation)["intent"]))
        return out

    def play(self, pcm: dict[str, bytes], at: Callable[[float], None] = lambda _s: None) -> None:
        """Write each site's audio to it in step, in real time; ``at(seconds)`` is called before each
        chunk (it may wait: the audio pauses for every site alike). Then end every input.

        In step means no site is more than a chunk behind: a pipe holds 2 s of audio, so a daemon the
        loaded machine starves could otherwise read (and announce) a second after the others, which
        three microphones in one house never do. The next chunk goes out when every live daemon has
        read the last one; the audio slows for all alike."""
        n = len(next(iter(pcm.values())))
        start = time.monotonic()
        for i in range(0, n, CHUNK_BYTES):
            paused = time.monotonic()
            at(i / (2 * RATE))
            start += time.monotonic() - paused
            time.sleep(max(0.0, start + i / (2 * RATE) - time.monotonic()))
            for site, daemon in self.daemons.items():
                if daemon.proc.poll() is None:
                    with contextlib.suppress(BrokenPipeError):
                        daemon.write(pcm[site][i : i + CHUNK_BYTES])
            for daemon in self.live():
                with contextlib.suppress(OSError):  # a daemon killed meanwhile
                    daemon.wait_input_read()
        for daemon in self.daemons.values():
            daemon.end_input()

    def finish(self) -> dict[str, list[dict[str, Any]]]:
        """Wait for every live daemon to exit 0; each one's report lines."""
        reports = {}
        for site, daemon in self.daemons.items():
            if daemon.proc.returncode is not None and daemon.proc.returncode < 0:
                continue  # killed by the test
            assert daemon.wait(DEADLINE_S * 2) == 0, "\n".join(daemon.stderr[-30:])
            reports[site] = [json.loads(line) for line in daemon.stdout]
        return reports

    def story(self) -> str:
        """What each site decided, for an assertion's message."""
        return "\n".join(
            f"{site}: {line}"
            for site, daemon in self.daemons.items()
            for line in daemon.stderr
            if "this site acts" in line or "left to another site" in line or "arbitration" in line
        )

    def close(self) -> None:
        for daemon in self.daemons.values():
            daemon.close()


@pytest.fixture
def house(tmp_path: Path, grammar_cache: Path, broker: Broker) -> Iterator[House]:
    h = House(tmp_path, grammar_cache, broker)
    try:
        h.connected()
        yield h
    finally:
        h.close()


@pytest.fixture
def wake_house(tmp_path: Path, grammar_cache: Path, broker: Broker) -> Iterator[House]:
    h = House(tmp_path, grammar_cache, broker, wake=True)
    try:
        h.connected()
        yield h
    finally:
        h.close()


def _audio(pcm: bytes) -> dict[str, bytes]:
    return {site: _gain(pcm, db) for site, db in GAINS_DB.items()}


def _deferred_to(reports: list[dict[str, Any]], winner: str) -> bool:
    return bool(reports) and all(
        r["outcome"] == "deferred" and f"another site ({winner}) answered" in r["note"] and not r["handlers"]
        for r in reports
    )


def test_the_loudest_site_acts_once_per_command(
    house: House, recording: tuple[bytes, list[tuple[float, float]]]
) -> None:
    pcm, _ = recording
    house.play(_audio(pcm))
    reports = house.finish()
    assert house.acted() == [("office", intent) for intent in INTENTS], house.story()
    assert [r["intent"] for r in reports["office"] if r["handlers"]] == INTENTS, reports["office"]
    for quieter in ("hall", "attic"):
        assert _deferred_to(reports[quieter], "office"), reports[quieter]
        assert len(reports[quieter]) >= len(INTENTS)


def test_with_the_loudest_site_killed_mid_run_the_next_acts_once_per_command(
    house: House, recording: tuple[bytes, list[tuple[float, float]]]
) -> None:
    pcm, places = recording
    office = house.daemons["office"]
    killed_before = 2  # commands the office acts on before it is killed

    def kill_after_second_command(seconds: float) -> None:
        if office.proc.poll() is None and seconds >= places[killed_before][0] - 1.0:
            # In the pause before the third command: the office has acted on the first two.
            office.wait_until(lambda: len(house.acted()) >= killed_before, DEADLINE_S, "two actions")
            office.proc.send_signal(signal.SIGKILL)
            office.proc.wait(DEADLINE_S)

    house.play(_audio(pcm), kill_after_second_command)
    reports = house.finish()
    expected = [("office", i) for i in INTENTS[:killed_before]] + [
        ("hall", i) for i in INTENTS[killed_before:]
    ]
    assert house.acted() == expected, house.story()
    assert [r["intent"] for r in reports["hall"] if r["handlers"]] == INTENTS[killed_before:]
    assert _deferred_to(reports["attic"][:killed_before], "office"), reports["attic"]
    assert _deferred_to(reports["attic"][killed_before:], "hall"), reports["attic"]


def test_a_stopped_broker_costs_no_command_and_arbitration_resumes(
    house: House, broker: Broker, recording: tuple[bytes, list[tuple[float, float]]]
) -> None:
    pcm, places = recording
    # The broker is away for commands 3 and 4 (stopped and started in the pauses around them).
    stop_at, start_at = places[2][0] - 1.0, places[4][0] - 1.5
    state = {"stopped": False, "started": False}

    def outage(seconds: float) -> None:
        if not state["stopped"] and seconds >= stop_at:
            state["stopped"] = True
            broker.stop()
        elif state["stopped"] and not state["started"] and seconds >= start_at:
            state["started"] = True
            broker.start()
            house.connected(times=2)  # the audio pauses until every site is back on the broker

    house.play(_audio(pcm), outage)
    reports = house.finish()
    acted = house.acted()
    by_intent = {intent: sorted(site for site, i in acted if i == intent) for intent in INTENTS}
    for intent in INTENTS[:2] + INTENTS[4:]:
        assert by_intent[intent] == ["office"], acted
    for intent in INTENTS[2:4]:
        assert by_intent[intent], acted  # at least one site, without waiting for the broker
        assert set(by_intent[intent]) <= set(GAINS_DB)
    alone = [r for site in reports for r in reports[site] if r["intent"] in INTENTS[2:4] and r["handlers"]]
    assert len(alone) == sum(len(by_intent[i]) for i in INTENTS[2:4])
    for daemon in house.daemons.values():
        assert any("acted alone" in line or "every site acts alone" in line for line in daemon.stderr)


def test_in_wake_mode_the_loudest_acts_once_per_command(wake_house: House, tmp_path: Path) -> None:
    """tests/wake_speech.py: "okay nabu" + three commands (one breath, a pause), commands and talk nobody
    addressed to the assistant, and the phrase alone."""
    pcm, _ = wake_recording(tmp_path)
    wake_house.play(_audio(pcm))
    reports = wake_house.finish()
    commands = [intent for _, intent, _ in WAKE_SCRIPT if intent is not None]
    assert wake_house.acted() == [("office", intent) for intent in commands], wake_house.story()
    for quieter in ("hall", "attic"):
        deferred = [r for r in reports[quieter] if r["outcome"] != "no command"]
        assert len(deferred) == len(commands) and _deferred_to(deferred, "office"), reports[quieter]
    # The phrase alone: no audio to announce; every site says so in its own report, nobody acts.
    assert all([r["outcome"] for r in reports[site]][-1] == "no command" for site in reports)
