"""One finished report as MQTT messages in the Hermes topic layout (Snips / Rhasspy), pure.

Which messages each outcome gives (README, "MQTT events"):

- recognized / retried / fell back, an intent matched: hotword*, textCaptured, intent, utterance
- the same, no intent matched: hotword*, textCaptured, intentNotRecognized, utterance
- rejected (the offline check refused the grammar's nearest command): hotword*, intentNotRecognized,
  utterance (the forced text is not what was said, so no textCaptured)
- silent, no command, lost, dropped, deferred: hotword*, utterance (no words, or nothing acted on)

\\* only when a wake word opened the utterance; the event sink sends it at the detection (``hotword``) and
leaves it out of the report's messages (``with_hotword=False``). Every payload carries ``siteId`` and
``sessionId`` (the report's id, the JSON line's ``id``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from assistantd.config.template import SlotValue
from assistantd.endpoint.wake import Detection
from assistantd.report import Outcome, UtteranceReport

TEXT_OUTCOMES = (Outcome.RECOGNIZED, Outcome.RETRIED, Outcome.FELL_BACK)
"""Outcomes whose text was heard and judged a possible command: textCaptured, then intent or not."""


@dataclass(frozen=True)
class Message:
    topic: str
    payload: bytes


def topic_level(name: str) -> str:
    """``name`` as one topic level: / + # and NUL would reach another level or make a wildcard."""
    return "".join("_" if ch in "/+#\0" else ch for ch in name) or "_"


def hotword(wake: Detection, session_id: str, site_id: str) -> Message:
    """``hermes/hotword/<model>/detected`` for the wake word that opened utterance ``session_id``."""
    payload = {
        "modelId": wake.model,
        "modelVersion": "",
        "modelType": "personal",
        "currentSensitivity": round(wake.probability, 3),
        "siteId": site_id,
        "sessionId": session_id,
    }
    topic = f"hermes/hotword/{topic_level(wake.model)}/detected"
    return Message(topic, json.dumps(payload, ensure_ascii=False).encode())


def messages(report: UtteranceReport, site_id: str, *, with_hotword: bool = True) -> list[Message]:
    """The messages for ``report``, in the order they happened; the last is assistantd's own.
    ``with_hotword=False``: without the wake word's (sent when it was heard)."""
    ids = {"siteId": site_id, "sessionId": report.id}
    out: list[tuple[str, dict[str, object]]] = []
    text = report.text or ""
    if report.outcome in TEXT_OUTCOMES and text:
        captured: dict[str, object] = {"text": text, "seconds": round(report.duration_s, 3), **ids}
        if report.verdict is not None and report.verdict.score is not None:
            # Hermes' likelihood is 0-1; the offline check's score is not (0 = as good as the free
            # phone loop, lower is worse): carried under its own name rather than squeezed into one.
            captured["assistantdScore"] = round(report.verdict.score, 1)
        captured["likelihood"] = 1.0
        out.append(("hermes/asr/textCaptured", captured))
        if report.intent is not None:
            out.append((f"hermes/intent/{topic_level(report.intent)}", _intent(report, text, ids)))
        else:
            out.append(("hermes/nlu/intentNotRecognized", {"input": text, **ids}))
    elif report.outcome is Outcome.REJECTED:
        out.append(("hermes/nlu/intentNotRecognized", {"input": text, **ids}))
    result = [Message(topic, json.dumps(payload, ensure_ascii=False).encode()) for topic, payload in out]
    if report.wake is not None and with_hotword:
        result.insert(0, hotword(report.wake, report.id, site_id))
    line = json.dumps(report.line(), ensure_ascii=False).encode()
    result.append(Message(f"assistantd/{topic_level(site_id)}/utterance", line))
    return result


def _intent(report: UtteranceReport, text: str, ids: dict[str, str]) -> dict[str, object]:
    # The matcher's score is 0-100 (exact matches 100, fuzzy ones rapidfuzz's ratio).
    confidence = 1.0 if report.score is None else round(min(max(report.score / 100, 0.0), 1.0), 3)
    return {
        "input": text,
        "intent": {"intentName": report.intent, "confidenceScore": confidence},
        "slots": [_slot(name, value) for name, value in report.slots.items()],
        **ids,
    }


def _slot(name: str, value: SlotValue) -> dict[str, object]:
    kind = "Number" if isinstance(value, int | float) else "Custom"
    return {
        "entity": name,
        "slotName": name,
        "value": {"kind": kind, "value": value},
        "rawValue": str(value),
        "confidence": 1.0,
    }
