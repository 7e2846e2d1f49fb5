"""The pure arbitration rule (arbitration.py): candidates in, decision out, on an injected clock."""

from __future__ import annotations

import json

import pytest

from assistantd.arbitration import (
    SNR_CAP_DB,
    Arbiter,
    Candidate,
    CandidateError,
    best,
    score,
    speech_level,
)

WINDOW = 0.2


def _site(name: str) -> Arbiter:
    return Arbiter(name, WINDOW)


def test_own_candidate_only_wins_alone() -> None:
    kitchen = _site("kitchen")
    own = kitchen.announce("7", -20.0, wall=1000.0, now=5.0)
    assert kitchen.due("7") == pytest.approx(5.2)
    decision = kitchen.decide("7")
    assert decision.won and decision.winner == own and decision.rivals == ()
    assert decision.reason() == "no other site heard it"


def test_the_highest_score_wins_on_every_site() -> None:
    sites = {name: _site(name) for name in ("kitchen", "hall", "office")}
    scores = {"kitchen": 12.0, "hall": 30.0, "office": 25.0}
    candidates = {
        name: arbiter.announce(f"{name}-1", scores[name], wall=1000.0 + i * 0.03, now=0.0)
        for i, (name, arbiter) in enumerate(sites.items())
    }
    for name, arbiter in sites.items():
        for other, candidate in candidates.items():
            if other != name:
                assert arbiter.receive(candidate)
    decisions = {name: arbiter.decide(f"{name}-1") for name, arbiter in sites.items()}
    assert [name for name, d in decisions.items() if d.won] == ["hall"]
    assert {d.winner.site_id for d in decisions.values()} == {"hall"}
    assert (
        decisions["kitchen"].reason() == "another site (hall) answered: its score 30.0 beat this site's 12.0"
    )
    assert decisions["hall"].reason() == "won over kitchen (12.0), office (25.0)"


def test_a_tie_goes_to_the_site_id_that_sorts_first_on_both_sides() -> None:
    a, b = _site("bedroom"), _site("attic")
    ca = a.announce("1", 20.0, wall=50.0, now=0.0)
    cb = b.announce("9", 20.0, wall=50.1, now=0.0)
    a.receive(cb)
    b.receive(ca)
    da, db = a.decide("1"), b.decide("9")
    assert db.won and not da.won
    assert da.winner == db.winner == cb
    assert best([ca, cb]) == best([cb, ca]) == cb


def test_an_announcement_that_came_before_this_sites_own_still_counts() -> None:
    kitchen = _site("kitchen")
    assert kitchen.receive(Candidate("hall", "3", 99.95, 40.0))
    kitchen.announce("8", 10.0, wall=100.0, now=0.0)
    decision = kitchen.decide("8")
    assert not decision.won and decision.winner.site_id == "hall"


def test_only_announcements_within_the_window_are_the_same_utterance() -> None:
    kitchen = _site("kitchen")
    kitchen.receive(Candidate("hall", "1", 99.7, 40.0))  # 0.3 s before: an earlier utterance
    kitchen.receive(Candidate("office", "5", 100.25, 40.0))  # 0.25 s after: a later one
    kitchen.receive(Candidate("den", "2", 100.2, 5.0))  # exactly on the window's edge: counted
    kitchen.announce("4", 10.0, wall=100.0, now=0.0)
    decision = kitchen.decide("4")
    assert decision.won
    assert [c.site_id for c in decision.rivals] == ["den"]


def test_an_announcement_after_the_decision_is_late_and_counted() -> None:
    kitchen = _site("kitchen")
    kitchen.announce("4", 10.0, wall=100.0, now=0.0)
    assert kitchen.decide("4").won
    assert not kitchen.receive(Candidate("hall", "1", 100.1, 40.0))  # its window had closed
    assert kitchen.late == 1
    # A later utterance is not affected by it.
    assert kitchen.receive(Candidate("hall", "2", 103.0, 40.0))
    kitchen.announce("5", 50.0, wall=103.05, now=3.0)
    d = kitchen.decide("5")
    assert d.won and [c.session_id for c in d.rivals] == ["2"]


def test_own_echo_is_ignored_and_a_site_counts_once() -> None:
    kitchen = _site("kitchen")
    own = kitchen.announce("4", 10.0, wall=100.0, now=0.0)
    assert not kitchen.receive(own)  # the broker hands our own announcement back
    assert kitchen.ignored == 1
    kitchen.receive(Candidate("hall", "1", 100.05, 8.0))
    kitchen.receive(Candidate("hall", "2", 100.1, 9.0))
    decision = kitchen.decide("4")
    assert decision.won and [(c.session_id, c.score) for c in decision.rivals] == [("2", 9.0)]


def test_a_namesake_is_told_from_the_echo() -> None:
    """Another daemon with this site's id (two Pis left at the default host name): its candidates carry
    our id and a session this site did not announce (or the same session id at another time)."""
    kitchen = _site("kitchen")
    own = kitchen.announce("4", 10.0, wall=100.0, now=0.0)
    assert not kitchen.receive(Candidate("kitchen", "4", 100.01, 10.0))
    assert not kitchen.receive(Candidate("kitchen", "9", 100.02, 3.0))
    assert not kitchen.receive(own)
    assert (kitchen.ignored, kitchen.namesakes) == (1, 2)


def test_a_decision_taken_alone_says_why() -> None:
    kitchen = _site("kitchen")
    kitchen.announce("4", 10.0, wall=100.0, now=0.0)
    decision = kitchen.decide("4", alone="no broker connection")
    assert decision.won and decision.reason() == "acted alone: no broker connection"


def test_rounds_are_independent_and_forget_drops_one() -> None:
    kitchen = _site("kitchen")
    kitchen.announce("1", 10.0, wall=100.0, now=0.0)
    kitchen.announce("2", 10.0, wall=104.0, now=4.0)
    kitchen.forget("1")
    with pytest.raises(KeyError):
        kitchen.decide("1")
    assert kitchen.decide("2").won


def test_score_favours_the_louder_and_cleaner_microphone() -> None:
    assert score(-20.0, -60.0) > score(-26.0, -66.0)  # the same room, 6 dB further away
    assert score(-20.0, -60.0) > score(-20.0, -40.0)  # as loud, but above more noise
    assert score(-20.0, -100.0) == score(-20.0, -70.0)  # the SNR term is capped
    assert score(-20.0, -100.0) == pytest.approx(-20.0 + SNR_CAP_DB)
    assert score(-20.0, -60.0, 0.9) > score(-20.0, -60.0, 0.5)
    assert score(-20.0, -10.0) == -20.0  # a floor above the level (a burst of noise) adds nothing


def test_the_speech_level_is_that_of_the_loudest_third() -> None:
    speech = [-20.0] * 10
    # More silence before the voice (a VAD that started earlier) does not lower it...
    assert speech_level([-60.0] * 5 + speech) == pytest.approx(speech_level([-60.0] * 2 + speech))
    assert speech_level([-60.0] * 5 + speech) == pytest.approx(-20.0)
    # ...while the same frames 6 dB quieter are 6 dB quieter.
    assert speech_level([x - 6 for x in [-60.0] * 5 + speech]) == pytest.approx(-26.0)
    assert speech_level([-30.0]) == -30.0


def test_payload_round_trip() -> None:
    c = Candidate("kitchen", "12", 1700000000.123, 17.5)
    assert json.loads(c.to_payload()) == {
        "siteId": "kitchen",
        "sessionId": "12",
        "time": 1700000000.123,
        "score": 17.5,
    }
    assert Candidate.from_payload(c.to_payload()) == c


@pytest.mark.parametrize(
    ("payload", "why"),
    [
        (b"\xff\xfe", "not JSON"),
        (b"not json", "not JSON"),
        (b"[1, 2]", "expected a JSON object, got list"),
        (b'{"sessionId": "1", "time": 1, "score": 1}', "siteId"),
        (b'{"siteId": "", "sessionId": "1", "time": 1, "score": 1}', "siteId"),
        (b'{"siteId": "a", "sessionId": 1, "time": 1, "score": 1}', "sessionId"),
        (b'{"siteId": "a", "sessionId": "1", "time": "now", "score": 1}', "time"),
        (b'{"siteId": "a", "sessionId": "1", "time": 1, "score": true}', "score"),
        (b'{"siteId": "a", "sessionId": "1", "time": 1, "score": NaN}', "score"),
    ],
)
def test_malformed_payloads_are_refused_with_a_reason(payload: bytes, why: str) -> None:
    with pytest.raises(CandidateError, match=why):
        Candidate.from_payload(payload)
