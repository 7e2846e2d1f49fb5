"""hermes.py: which messages each outcome gives, and every payload field (pure)."""

from __future__ import annotations

import json

import pytest

from assistantd.endpoint.wake import Detection
from assistantd.hermes import hotword, messages
from assistantd.recognizer.rejection import Verdict
from assistantd.report import Outcome, UtteranceReport


def _report(outcome: Outcome, **kw: object) -> UtteranceReport:
    report = UtteranceReport(id="7", start_s=1.0, duration_s=1.5, outcome=outcome)
    for key, value in kw.items():
        setattr(report, key, value)
    return report


def _decoded(report: UtteranceReport, site: str = "hall") -> list[tuple[str, dict[str, object]]]:
    return [(m.topic, json.loads(m.payload)) for m in messages(report, site)]


WAKE = Detection(time=0.9, model="okay_nabu", probability=0.97)


def test_an_intent_after_a_wake_word_gives_hotword_text_intent_and_the_report_line() -> None:
    report = _report(
        Outcome.RECOGNIZED,
        text="set a timer for five minutes",
        intent="TimerStart",
        slots={"minutes": 5, "label": "tea"},
        method="exact",
        score=100.0,
        wake=WAKE,
        verdict=Verdict(score=-6.04, unexplained=0.0, accepted=True),
    )
    out = _decoded(report)
    assert [t for t, _ in out] == [
        "hermes/hotword/okay_nabu/detected",
        "hermes/asr/textCaptured",
        "hermes/intent/TimerStart",
        "assistantd/hall/utterance",
    ]
    hotword, captured, intent, line = (p for _, p in out)
    assert hotword == {
        "modelId": "okay_nabu",
        "modelVersion": "",
        "modelType": "personal",
        "currentSensitivity": 0.97,
        "siteId": "hall",
        "sessionId": "7",
    }
    assert captured == {
        "text": "set a timer for five minutes",
        "seconds": 1.5,
        "likelihood": 1.0,
        "assistantdScore": -6.0,
        "siteId": "hall",
        "sessionId": "7",
    }
    assert intent["intent"] == {"intentName": "TimerStart", "confidenceScore": 1.0}
    assert intent["slots"] == [
        {
            "entity": "minutes",
            "slotName": "minutes",
            "value": {"kind": "Number", "value": 5},
            "rawValue": "5",
            "confidence": 1.0,
        },
        {
            "entity": "label",
            "slotName": "label",
            "value": {"kind": "Custom", "value": "tea"},
            "rawValue": "tea",
            "confidence": 1.0,
        },
    ]
    assert (intent["input"], intent["siteId"], intent["sessionId"]) == (report.text, "hall", "7")
    assert line == json.loads(json.dumps(report.line()))


def test_text_that_matched_nothing_gives_intent_not_recognized() -> None:
    out = _decoded(_report(Outcome.FELL_BACK, text="sing a song"))
    assert [t for t, _ in out][1:3] == ["hermes/nlu/intentNotRecognized", "assistantd/hall/utterance"]
    assert out[1][1] == {"input": "sing a song", "siteId": "hall", "sessionId": "7"}


def test_a_fuzzy_match_carries_its_score_as_confidence() -> None:
    out = _decoded(_report(Outcome.RETRIED, text="lite on", intent="LightOn", method="fuzzy", score=87.5))
    assert out[1][1]["intent"] == {"intentName": "LightOn", "confidenceScore": 0.875}


def test_a_rejected_utterance_gives_intent_not_recognized_and_no_text_captured() -> None:
    out = _decoded(_report(Outcome.REJECTED, text="lights on"))
    assert [t for t, _ in out] == ["hermes/nlu/intentNotRecognized", "assistantd/hall/utterance"]


@pytest.mark.parametrize("outcome", [Outcome.SILENT, Outcome.NO_COMMAND, Outcome.LOST, Outcome.DROPPED])
def test_outcomes_without_a_heard_command_give_only_the_wake_word_and_the_report(outcome: Outcome) -> None:
    # A dropped report may carry text and an intent (its handlers did not run): still no intent event.
    report = _report(outcome, text="turn on the lights", intent="LightOn", wake=WAKE)
    assert [t for t, _ in _decoded(report)] == [
        "hermes/hotword/okay_nabu/detected",
        "assistantd/hall/utterance",
    ]
    assert [t for t, _ in _decoded(_report(outcome))] == ["assistantd/hall/utterance"]


def test_names_that_would_leave_their_topic_level_are_made_safe() -> None:
    report = _report(Outcome.RECOGNIZED, text="x", intent="a/b#", wake=Detection(0.1, "my+model", 0.9))
    topics = [t for t, _ in _decoded(report, site="a/b")]
    assert topics == [
        "hermes/hotword/my_model/detected",
        "hermes/asr/textCaptured",
        "hermes/intent/a_b_",
        "assistantd/a_b/utterance",
    ]


def test_the_hotword_sent_at_the_detection_is_the_reports_own_and_left_out_of_it() -> None:
    report = _report(Outcome.NO_COMMAND, wake=WAKE)
    full = messages(report, "hall")
    assert hotword(WAKE, "7", "hall") == full[0]
    without = messages(report, "hall", with_hotword=False)
    assert without == full[1:] and [m.topic for m in without] == ["assistantd/hall/utterance"]
