"""Home Assistant MQTT discovery for one site, pure: the retained config messages that make the site a
device in Home Assistant, and the retained "last heard" topics its sensors read.

With ``mqtt.discovery: true`` the site link publishes, at every connect (retained, so Home Assistant finds
them whenever it starts), under ``<discovery_prefix>/<component>/<node_id>/<object>/config`` (node_id:
``assistantd_`` and the site id as a slug, node_id()):

- sensor ``state``: ``assistantd/<site>/state`` (listening / hearing / recognizing / muted / offline);
- sensor ``last_transcript``: ``assistantd/<site>/last_transcript`` (the text of the last utterance
  recognized as a possible command; retained, plain text);
- sensor ``last_intent``: ``assistantd/<site>/last_intent`` (its intent name, or ``none``);
- switch ``mute``: state from the state topic (``muted`` is on), commands to ``assistantd/<site>/mute``
  (``on`` / ``off``).

Every entity is unavailable while the state topic says ``offline`` (the stop, or the will).
"""

from __future__ import annotations

import hashlib
import json
import re

from assistantd.hermes import TEXT_OUTCOMES, Message, topic_level
from assistantd.report import UtteranceReport
from assistantd.site_controls import mute_topic, state_topic

_NOT_SLUG = re.compile(r"[^a-zA-Z0-9_-]+")

AVAILABLE = "{{ 'offline' if value == 'offline' else 'online' }}"
"""Maps the state topic to Home Assistant's availability payloads (online / offline)."""


def transcript_topic(site_id: str) -> str:
    return f"assistantd/{topic_level(site_id)}/last_transcript"


def intent_topic(site_id: str) -> str:
    return f"assistantd/{topic_level(site_id)}/last_intent"


def node_id(site_id: str) -> str:
    """``site_id`` as a Home Assistant node id (also the stem of the device's identifier and its entities'
    unique ids): Home Assistant takes only ``[a-zA-Z0-9_-]`` there and ignores a discovery topic with
    anything else. A site id that is already such a slug is kept as it is; any other has its other
    characters replaced by ``_`` and gets 8 hex digits of its SHA-256, so that "living room", "living_room"
    and "厨房" (all underscores) stay distinct devices. Deterministic: the same id, the same device, at
    every start."""
    slug = _NOT_SLUG.sub("_", site_id).strip("_")
    if slug != site_id or not slug:
        digest = hashlib.sha256(site_id.encode("utf-8")).hexdigest()[:8]
        slug = f"{slug}_{digest}" if slug else digest
    return f"assistantd_{slug}"


def discovery_messages(site_id: str, prefix: str) -> list[Message]:
    """The retained config messages for ``site_id``'s device."""
    node = node_id(site_id)
    device = {
        "identifiers": [node],
        "name": f"assistantd {site_id}",
        "manufacturer": "assistantd",
        "model": "voice assistant",
    }
    common = {
        "device": device,
        "availability": [{"topic": state_topic(site_id), "value_template": AVAILABLE}],
    }
    entities: list[tuple[str, str, dict[str, object]]] = [
        ("sensor", "state", {"name": "State", "state_topic": state_topic(site_id), "icon": "mdi:microphone"}),
        (
            "sensor",
            "last_transcript",
            {"name": "Last transcript", "state_topic": transcript_topic(site_id), "icon": "mdi:text"},
        ),
        (
            "sensor",
            "last_intent",
            {"name": "Last intent", "state_topic": intent_topic(site_id), "icon": "mdi:lightbulb-question"},
        ),
        (
            "switch",
            "mute",
            {
                "name": "Mute",
                "command_topic": mute_topic(site_id),
                "payload_on": "on",
                "payload_off": "off",
                "state_topic": state_topic(site_id),
                "value_template": "{{ 'on' if value == 'muted' else 'off' }}",
                "state_on": "on",
                "state_off": "off",
                "icon": "mdi:microphone-off",
            },
        ),
    ]
    out = []
    for component, object_id, fields in entities:
        config = {**fields, "unique_id": f"{node}_{object_id}", **common}
        topic = f"{prefix}/{component}/{node}/{object_id}/config"
        out.append(Message(topic, json.dumps(config, ensure_ascii=False).encode()))
    return out


def last_heard(report: UtteranceReport, site_id: str) -> list[Message]:
    """The sensors' topics after ``report``: its text and intent, when it had words judged a possible
    command (the outcomes that give hermes/asr/textCaptured); nothing otherwise (a cough changes nothing)."""
    if report.outcome not in TEXT_OUTCOMES or not report.text:
        return []
    return [
        # Home Assistant keeps at most 255 characters of a sensor's state.
        Message(transcript_topic(site_id), report.text[:255].encode()),
        Message(intent_topic(site_id), (report.intent or "none").encode()),
    ]
