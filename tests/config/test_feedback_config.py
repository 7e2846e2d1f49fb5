"""The feedback:, timers: sections and the timer handler family: defaults, paths, and mistakes named by
file and key path. Also: the shipped sounds are what scripts/make_sounds.py writes."""

from __future__ import annotations

import os
import runpy
import threading
from pathlib import Path

import pytest

from assistantd.config import Config, ConfigError, load_config
from assistantd.config.handler_specs import TimerSpec

REPO = Path(__file__).resolve().parents[2]
SOUNDS = REPO / "config" / "sounds"
WAIT_S = 30.0
"""Bounds a config load: only a hang reaches it."""


def test_the_shipped_config_plays_the_shipped_sounds_and_binds_the_timer_intents() -> None:
    cfg = load_config(REPO / "config" / "assistant.yaml", env={})
    assert [cfg.feedback.sound(e) for e in ("wake", "error", "alarm")] == [
        str(SOUNDS / name) for name in ("chime.wav", "error.wav", "alarm.wav")
    ]
    assert cfg.feedback.argv("/x.wav") == ["aplay", "-q", "/x.wav"]
    actions = {b.intent: b.spec.action for b in cfg.handlers.bindings if isinstance(b.spec, TimerSpec)}
    assert actions == {"TimerStart": "start", "TimerCancel": "cancel", "TimerStatus": "status"}


def test_the_player_takes_the_file_where_it_says(tmp_path: Path) -> None:
    cfg = Config.from_dict({"feedback": {"player": ["paplay", "{file}", "--volume=30000"]}})
    assert cfg.feedback.argv("/a.wav") == ["paplay", "/a.wav", "--volume=30000"]


def test_the_state_file_defaults_to_the_services_state_directory(tmp_path: Path) -> None:
    """service.state_dir is the one place that says where state lives: the timers follow it."""
    default = Config.from_dict({})
    assert default.timers.state_path(tmp_path, default.service.state_dir) == Path(
        "/var/lib/assistantd/timers.json"
    )
    moved = Config.from_dict({"service": {"state_dir": "/srv/state"}})
    assert moved.timers.state_path(tmp_path, moved.service.state_dir) == Path("/srv/state/timers.json")
    chosen = Config.from_dict({"timers": {"state_file": "t.json"}}).timers
    assert chosen.state_path(tmp_path, "/srv/state") == tmp_path / "t.json"


@pytest.mark.parametrize(
    ("data", "key_path", "expected"),
    [
        ({"feedback": {"wake": "missing.wav"}}, "feedback.wake", "a WAV file that exists"),
        ({"feedback": {"error": "not.wav"}}, "feedback.error", "a WAV file (RIFF/WAVE)"),
        ({"feedback": {"player": "aplay"}}, "feedback.player", "a non-empty list of strings"),
        ({"feedback": {"player": ["{file}"]}}, "feedback.player[0]", 'exactly "{file}"'),
        ({"feedback": {"player": ["aplay", "--file={file}"]}}, "feedback.player[1]", 'exactly "{file}"'),
        ({"feedback": {"chime": "x.wav"}}, "feedback.chime", "known keys (alarm, error, player"),
        ({"wake": {"chime": "x.wav"}}, "wake.chime", "it moved to feedback.wake"),
        ({"timers": {"max_running": 0}}, "timers.max_running", ">= 1"),
        (
            {"handlers": {"bindings": [{"intent": "TimerStart", "timer": {"action": "begin"}}]}},
            "handlers.bindings[0].timer.action",
            "one of start, cancel, status",
        ),
        (
            {
                "handlers": {
                    "bindings": [{"intent": "TimerCancel", "timer": {"action": "cancel", "alarm": "x"}}]
                }
            },
            "handlers.bindings[0].timer.alarm",
            "only with action: start",
        ),
        (
            {
                "handlers": {
                    "bindings": [{"intent": "TimerStart", "timer": {"action": "start", "reply": "{x"}}]
                }
            },
            "handlers.bindings[0].timer.reply",
            "balanced braces",
        ),
        (
            {"handlers": {"bindings": [{"intent": "T", "timer": {"action": "start", "language": "fr"}}]}},
            "handlers.bindings[0].timer.language",
            "one of en, zh",
        ),
    ],
)
def test_mistakes_name_file_and_key_path(tmp_path: Path, data: object, key_path: str, expected: str) -> None:
    (tmp_path / "not.wav").write_bytes(b"ID3 not a wave file")
    with pytest.raises(ConfigError) as info:
        Config.from_dict(data, source="/etc/assistantd/assistant.yaml", base_dir=tmp_path)
    message = str(info.value)
    assert "/etc/assistantd/assistant.yaml" in message and key_path in message and expected in message


def test_the_shipped_sounds_are_what_the_script_writes(tmp_path: Path) -> None:
    script = runpy.run_path(str(REPO / "scripts" / "make_sounds.py"))
    for path in script["write"](tmp_path):
        shipped = SOUNDS / path.name
        assert shipped.read_bytes() == path.read_bytes(), shipped
        assert shipped.stat().st_size < 20_000


@pytest.mark.parametrize("kind", ["fifo", "directory"])
def test_a_sound_that_is_not_a_regular_file_is_refused_without_reading_it(tmp_path: Path, kind: str) -> None:
    """A FIFO would block the open until a writer came: check-config would hang, a reload would block the
    loop. It is refused at once, naming the key."""
    sound = tmp_path / "chime.wav"
    if kind == "fifo":
        os.mkfifo(sound)
    else:
        sound.mkdir()
    config = tmp_path / "assistant.yaml"
    config.write_text("feedback:\n  wake: chime.wav\n")
    outcome: list[BaseException | None] = []

    def load() -> None:
        try:
            load_config(config, env={})
        except BaseException as err:
            outcome.append(err)
        else:
            outcome.append(None)

    loader = threading.Thread(target=load, daemon=True)
    loader.start()
    loader.join(WAIT_S)
    if loader.is_alive():  # unblock the open so the thread ends, then fail
        with open(sound, "wb"):
            pass
        loader.join(WAIT_S)
        pytest.fail(f"loading a config whose feedback.wake is a {kind} hung")
    assert len(outcome) == 1 and isinstance(outcome[0], ConfigError), outcome
    message = str(outcome[0])
    assert "feedback.wake: expected a WAV file that is a regular file" in message, message
