"""A reload rebuilds only what its config changed: models survive a SIGHUP (issue 10: memory grew on every
reload while each one loaded the Silero model, WebRTC's processor and the pocketsphinx decoder anew).

The offline grammar line in the log is written each time a grammar is installed in the decoder: after a
reload with the same intents there is none, after an edit of the intents there is one, and the decoder
kept across reloads recognizes the edited intents.
"""

from __future__ import annotations

import copy
import signal
from pathlib import Path
from typing import Any

import yaml

from tests.daemon.conftest import StartDaemon
from tests.daemon.harness import Audio, Daemon

GRAMMAR_LINE = "offline grammar:"


def _reload(daemon: Daemon) -> None:
    since = len(daemon.notices)
    daemon.send(signal.SIGHUP)
    reloading = daemon.notice("RELOADING", since=since)
    daemon.notice("READY", since=daemon.notices.index(reloading) + 1)


def _spoken(audio: Audio, text: str) -> bytes:
    return audio.room(0.5) + audio.command(text) + audio.room(1.5)


def test_reloads_keep_the_decoder_and_follow_edited_intents(
    start_daemon: StartDaemon, config: dict[str, Any], audio: Audio, tmp_path: Path
) -> None:
    daemon = start_daemon(config)
    daemon.notice("READY")
    assert [line for line in daemon.stderr if GRAMMAR_LINE in line], "no grammar at start"
    for _ in range(3):
        _reload(daemon)
    daemon.write(_spoken(audio, "turn on the kitchen lights"))
    (first,) = daemon.reports(1)
    assert first["intent"] == "LightOn"
    installs = [line for line in daemon.stderr if GRAMMAR_LINE in line]
    assert len(installs) == 1, f"an unchanged config installed the grammar again: {installs}"

    # An edit of the intents: the kept decoder gets the new grammar and recognizes the new command.
    fan = tmp_path / "fan.yaml"
    fan.write_text(
        yaml.safe_dump(
            {"language": "en", "intents": {"FanOn": {"data": [{"sentences": ["turn on the fan"]}]}}}
        )
    )
    edited = copy.deepcopy(config)
    edited["intents"]["files"].append(str(fan))
    edited["handlers"]["bindings"].append({"intent": "FanOn", "exec": {"argv": ["true"], "timeout_s": 5}})
    daemon.config.write_text(yaml.safe_dump(edited, sort_keys=False))
    _reload(daemon)
    assert len([line for line in daemon.stderr if GRAMMAR_LINE in line]) == 2
    daemon.write(_spoken(audio, "turn on the fan"))
    reports = daemon.reports(2)
    assert (reports[1]["text"], reports[1]["intent"]) == ("turn on the fan", "FanOn")
    daemon.end_input()
    assert daemon.wait() == 0
