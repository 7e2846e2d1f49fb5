"""The site's MQTT topics and what their messages mean, pure: a message in, one Control (or why it was
ignored) out. site.py does the I/O. Every topic and field is listed in README, "MQTT controls".
Retained controls are refused (a broker hands them over again at every reconnect).

Topics this site listens to (``<site>`` is its ``site_id`` as one topic level):

- ``hermes/hotword/toggleOff`` / ``toggleOn``: JSON ``{"siteId": ...}``; mute / unmute listening.
- ``assistantd/<site>/mute``: ``on`` / ``off`` / ``true`` / ``false`` (any case); ``on`` mutes.
- ``hermes/tts/say``: JSON ``{"text", "siteId", "id"?, "lang"?}``; speak ``text`` here.
- ``assistantd/<site>/reload``: any payload; reload the configuration (as SIGHUP).

And publishes: ``assistantd/<site>/state`` (retained; one word, STATES) and ``hermes/tts/sayFinished``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

from assistantd.hermes import topic_level

State = Literal["listening", "hearing", "recognizing", "muted", "offline"]
STATES: tuple[State, ...] = ("listening", "hearing", "recognizing", "muted", "offline")

MAX_PAYLOAD_BYTES = 16 * 1024
"""A control larger than this is refused unread (a say text is at most MAX_SAY_CHARS)."""
MAX_SAY_CHARS = 2000

TOGGLE_OFF = "hermes/hotword/toggleOff"
TOGGLE_ON = "hermes/hotword/toggleOn"
SAY = "hermes/tts/say"
SAY_FINISHED = "hermes/tts/sayFinished"


RETAINED_MUTE = "a retained mute or unmute (publish it without retain; the switch is kept in privacy.json)"
"""A retained mute would be applied again at every reconnect, overriding any unmute sent since (after a
broker restart the site would be muted again): like a retained reload or say, it is refused. The switch
survives restarts on its own (privacy.py)."""


def state_topic(site_id: str) -> str:
    return f"assistantd/{topic_level(site_id)}/state"


def mute_topic(site_id: str) -> str:
    return f"assistantd/{topic_level(site_id)}/mute"


def reload_topic(site_id: str) -> str:
    return f"assistantd/{topic_level(site_id)}/reload"


def control_topics(site_id: str) -> tuple[str, ...]:
    """What the site subscribes to (exact topics, no wildcard: its own publications never come back)."""
    return (TOGGLE_OFF, TOGGLE_ON, mute_topic(site_id), SAY, reload_topic(site_id))


@dataclass(frozen=True)
class Mute:
    muted: bool
    via: str
    """The topic it came by (for the log line)."""


@dataclass(frozen=True)
class Say:
    text: str
    request_id: str
    """The request's ``id``, echoed in sayFinished ("" when it had none)."""
    lang: str | None


@dataclass(frozen=True)
class Reload:
    pass


@dataclass(frozen=True)
class Ignored:
    """Not for us, or not understood. ``why`` None: silently (another site's message); else logged."""

    why: str | None


Control = Mute | Say | Reload | Ignored


def parse_control(site_id: str, topic: str, payload: bytes, *, retained: bool = False) -> Control:
    """What the message on ``topic`` asks of this site. Never raises."""
    if len(payload) > MAX_PAYLOAD_BYTES:
        return Ignored(f"payload of {len(payload)} bytes (at most {MAX_PAYLOAD_BYTES})")
    if topic == mute_topic(site_id):
        if not payload:
            return Ignored(None)  # a retained mute being cleared (README)
        if retained:
            return Ignored(RETAINED_MUTE)
        word = payload.decode("utf-8", "replace").strip().lower()
        if word in ("on", "true"):
            return Mute(True, topic)
        if word in ("off", "false"):
            return Mute(False, topic)
        return Ignored(f"expected on, off, true or false, got {_show(word)}")
    if topic == reload_topic(site_id):
        # A retained reload would reload the daemon at every reconnect: only a fresh one counts.
        return Ignored("a retained reload request (publish it without retain)") if retained else Reload()
    if topic not in (TOGGLE_OFF, TOGGLE_ON, SAY):
        return Ignored(f"not a control topic of site {site_id!r}")
    try:
        body = json.loads(payload)
    except (ValueError, UnicodeDecodeError):
        return Ignored("expected a JSON object (the payload is not JSON)")
    if not isinstance(body, dict):
        return Ignored("expected a JSON object")
    site = body.get("siteId")
    if not isinstance(site, str):
        return Ignored('expected "siteId" (a string)')
    if site != site_id:
        return Ignored(None)
    if topic != SAY:
        return Ignored(RETAINED_MUTE) if retained else Mute(topic == TOGGLE_OFF, topic)
    if retained:
        return Ignored("a retained say request (publish it without retain)")
    text = body.get("text")
    if not isinstance(text, str) or not text.strip():
        return Ignored('expected "text" (a non-empty string)')
    if len(text) > MAX_SAY_CHARS:
        return Ignored(f'expected "text" of at most {MAX_SAY_CHARS} characters, got {len(text)}')
    request_id = body.get("id", "")
    if request_id is None:
        request_id = ""
    if not isinstance(request_id, str) or len(request_id) > 200:
        return Ignored('expected "id" to be a string of at most 200 characters')
    lang = body.get("lang")
    if lang is not None and not isinstance(lang, str):
        return Ignored('expected "lang" to be a string')
    return Say(text, request_id, lang)


def say_finished(site_id: str, request_id: str) -> bytes:
    return json.dumps({"id": request_id, "siteId": site_id}).encode()


def _show(word: str) -> str:
    return repr(word if len(word) <= 40 else word[:37] + "...")
