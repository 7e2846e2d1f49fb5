"""site_controls.py, pure: each control topic's payload in, one Control (or why it is ignored) out."""

from __future__ import annotations

import json
import re

import pytest

from assistantd.config import Config
from assistantd.errors import ConfigError
from assistantd.ha_discovery import discovery_messages, last_heard, node_id
from assistantd.report import Outcome, UtteranceReport
from assistantd.site_controls import (
    MAX_PAYLOAD_BYTES,
    MAX_SAY_CHARS,
    Control,
    Ignored,
    Mute,
    Reload,
    Say,
    control_topics,
    parse_control,
    say_finished,
    state_topic,
)

SITE = "den"


def _json(**body: object) -> bytes:
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("topic", "payload", "expected"),
    [
        ("hermes/hotword/toggleOff", _json(siteId=SITE), Mute(True, "hermes/hotword/toggleOff")),
        ("hermes/hotword/toggleOn", _json(siteId=SITE, reason="x"), Mute(False, "hermes/hotword/toggleOn")),
        ("assistantd/den/mute", b"on", Mute(True, "assistantd/den/mute")),
        ("assistantd/den/mute", b" TRUE\n", Mute(True, "assistantd/den/mute")),
        ("assistantd/den/mute", b"Off", Mute(False, "assistantd/den/mute")),
        ("assistantd/den/mute", b"false", Mute(False, "assistantd/den/mute")),
        ("assistantd/den/reload", b"", Reload()),
        ("hermes/tts/say", _json(siteId=SITE, text="hi", id="r1", lang="en"), Say("hi", "r1", "en")),
        ("hermes/tts/say", _json(siteId=SITE, text="hi"), Say("hi", "", None)),
        # Another site's message: ignored without a word.
        ("hermes/hotword/toggleOff", _json(siteId="kitchen"), Ignored(None)),
        ("hermes/tts/say", _json(siteId="kitchen", text="hi"), Ignored(None)),
    ],
)
def test_controls(topic: str, payload: bytes, expected: Control) -> None:
    assert parse_control(SITE, topic, payload) == expected


@pytest.mark.parametrize(
    ("topic", "payload", "why"),
    [
        ("hermes/hotword/toggleOff", b"{not json", "not JSON"),
        ("hermes/hotword/toggleOff", b"\xff\xfe", "not JSON"),
        ("hermes/hotword/toggleOff", b"[1, 2]", "expected a JSON object"),
        ("hermes/hotword/toggleOff", _json(site="den"), '"siteId"'),
        ("hermes/hotword/toggleOff", _json(siteId=7), '"siteId"'),
        ("assistantd/den/mute", b"maybe", "expected on, off, true or false"),
        ("hermes/tts/say", _json(siteId=SITE), '"text"'),
        ("hermes/tts/say", _json(siteId=SITE, text="   "), '"text"'),
        ("hermes/tts/say", _json(siteId=SITE, text=["a"]), '"text"'),
        ("hermes/tts/say", _json(siteId=SITE, text="x" * (MAX_SAY_CHARS + 1)), "at most"),
        ("hermes/tts/say", _json(siteId=SITE, text="hi", id=5), '"id"'),
        ("hermes/tts/say", _json(siteId=SITE, text="hi", lang=5), '"lang"'),
        ("hermes/hotword/toggleOff", b"x" * (MAX_PAYLOAD_BYTES + 1), "bytes"),
        ("assistantd/kitchen/mute", b"on", "not a control topic"),
    ],
)
def test_bad_messages_say_why(topic: str, payload: bytes, why: str) -> None:
    control = parse_control(SITE, topic, payload)
    assert isinstance(control, Ignored) and control.why is not None and why in control.why, control


def test_retained_controls_are_refused() -> None:
    """A broker hands a retained control over again at every reconnect: a retained mute would undo a
    later unmute after a broker restart (the switch is kept in privacy.json instead)."""
    retained = [
        ("assistantd/den/reload", b""),
        ("hermes/tts/say", _json(siteId=SITE, text="hi")),
        ("assistantd/den/mute", b"on"),
        ("assistantd/den/mute", b"off"),
        ("hermes/hotword/toggleOff", _json(siteId=SITE)),
        ("hermes/hotword/toggleOn", _json(siteId=SITE)),
    ]
    for topic, payload in retained:
        control = parse_control(SITE, topic, payload, retained=True)
        assert isinstance(control, Ignored) and control.why is not None and "retained" in control.why
        assert not isinstance(parse_control(SITE, topic, payload), Ignored)
    # Another site's retained toggle is not ours to mention; an emptied retained mute is no message.
    other = parse_control(SITE, "hermes/hotword/toggleOff", _json(siteId="hall"), retained=True)
    assert other == Ignored(None)
    assert parse_control(SITE, "assistantd/den/mute", b"") == Ignored(None)


def test_topics_keep_the_site_to_one_level() -> None:
    assert state_topic("a/b#") == "assistantd/a_b_/state"
    assert all("#" not in t and "+" not in t for t in control_topics("den"))
    assert json.loads(say_finished(SITE, "r1")) == {"id": "r1", "siteId": SITE}


def test_home_assistant_last_heard_only_for_words_and_discovery_prefix_checked() -> None:
    heard = UtteranceReport(id="3", start_s=0.0, text="turn on the light", intent="LightOn")
    assert [(m.topic, m.payload) for m in last_heard(heard, SITE)] == [
        ("assistantd/den/last_transcript", b"turn on the light"),
        ("assistantd/den/last_intent", b"LightOn"),
    ]
    unmatched = UtteranceReport(id="4", start_s=0.0, text="hello there")
    assert last_heard(unmatched, SITE)[1].payload == b"none"
    cough = UtteranceReport(id="5", start_s=0.0, outcome=Outcome.SILENT)
    assert last_heard(cough, SITE) == []
    rejected = UtteranceReport(id="6", start_s=0.0, text="turn on the light", outcome=Outcome.REJECTED)
    assert last_heard(rejected, SITE) == []
    for bad in ("", "home/#", "/homeassistant"):
        with pytest.raises(ConfigError, match=r"mqtt\.discovery_prefix"):
            Config.from_dict({"mqtt": {"host": "b", "discovery_prefix": bad}}, source="t.yaml", env={})


def test_home_assistant_node_ids_are_slugs_distinct_and_stable() -> None:
    """Home Assistant ignores a discovery topic whose node id has more than ``[a-zA-Z0-9_-]``."""
    sites = ["den", "living room", "living_room", "living-room", "厨房", "卧室", "pi.lan", "pi_lan", "a/b#"]
    nodes = [node_id(site) for site in sites]
    assert all(re.fullmatch(r"[a-zA-Z0-9_-]+", node) for node in nodes), nodes
    assert len(set(nodes)) == len(sites), nodes
    assert nodes[:4:3] == ["assistantd_den", "assistantd_living-room"]  # a slug already: kept as it is
    assert nodes == [node_id(site) for site in sites]
    assert node_id("pi.lan").startswith("assistantd_pi_lan_")
    for site in ("living room", "厨房", "pi.lan"):
        for message in discovery_messages(site, "homeassistant"):
            prefix, _, node, object_id, config = message.topic.split("/")
            assert (prefix, node, config) == ("homeassistant", node_id(site), "config")
            body = json.loads(message.payload)
            assert body["unique_id"] == f"{node}_{object_id}"
            assert body["device"]["identifiers"] == [node]
            assert body["device"]["name"] == f"assistantd {site}"  # the name is free text: kept
            assert body["availability"][0]["topic"] == state_topic(site)
