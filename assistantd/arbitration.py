"""Several rooms, one broker: which site acts on an utterance that more than one site heard (pure).

Each site that hears an utterance announces a ``Candidate`` (its site id, its session id, the wall-clock
time of the announcement and a score) and keeps listening to the others' announcements for ``window_s``.
When the window closes, the best candidate heard acts and every other site drops the utterance. Nothing
coordinates the sites: each decides alone, on the same rule, from the candidates it has, so they agree
whenever they heard the same ones.

The rule (``best``): the highest score wins; equal scores go to the site id that sorts first, so a tie
has one winner on every site.

Which announcements are the same utterance: those whose times are at most ``window_s`` apart. Times are
the senders' wall clocks (the sites' audio clocks have nothing in common), so the sites' clocks must
agree to well within the window (NTP does: milliseconds). Sites hear one utterance within a few tens of
milliseconds of each other, far less than a window of 100-300 ms, and two commands in a row are seconds
apart, so the pairing is unambiguous in practice. What it cannot fix: an announcement delayed past the
window by the broker reaches the others after they decided (``late``); its sender and the best of the
others may then both act. A site that hears no other announcement within the window acts alone, so a
broker that is down never costs more than the window, and one that cannot take the announcement at all
costs nothing (the exchange decides at once, see arbitration_link.py).

``Arbiter`` keeps the state of one site: its own open rounds and a bounded memory of recent
announcements from the others (an announcement may come before this site's own). It never reads a clock:
``now`` comes in with every call. ``Candidate.to_payload``/``from_payload`` are the wire format (JSON,
README "Several rooms, one broker").
"""

from __future__ import annotations

import json
import math
from collections import deque
from dataclasses import dataclass, field

TOPIC = "assistantd/arbitration/candidate"
"""Where every site announces its candidates (QoS 0, not retained: a stale announcement means nothing)."""

EPSILON_S = 1e-6
"""Times exactly ``window_s`` apart still match (floating-point sums of times are not exact)."""

KEEP_PEERS = 64
"""Announcements from other sites kept for matching (a few seconds' worth in a busy house)."""

LEVEL_FLOOR_DB = -100.0
SNR_CAP_DB = 40.0
"""Signal-to-noise counts up to this much: beyond it, a cleaner room does not beat a louder voice."""
PROBABILITY_WEIGHT_DB = 10.0
"""A wake probability of 1.0 is worth this many dB of score."""


def speech_level(levels_db: list[float]) -> float:
    """The speech level of some frames (their dBFS levels): the power mean of the loudest third. Not of
    all of them: two sites rarely cut an utterance at the same frame (a quieter microphone's VAD starts a
    little later), and the share of pre-roll silence in the frames must not outweigh how loud the voice
    was."""
    loud = sorted(levels_db, reverse=True)[: max(1, len(levels_db) // 3)]
    return 10 * math.log10(sum(10 ** (db / 10) for db in loud) / len(loud))


def score(level_db: float, floor_db: float, probability: float | None = None) -> float:
    """A site's claim to an utterance: how loud it heard the speech (dBFS, ``speech_level``), plus how
    far above its noise floor (dB, capped at SNR_CAP_DB), plus the wake detector's probability (0-1)
    times PROBABILITY_WEIGHT_DB when a wake word opened the utterance. The nearest microphone hears the speech
    loudest and above the least noise, so both terms favour it; the probability breaks near-ties toward
    the site that heard the phrase clearly."""
    level = max(LEVEL_FLOOR_DB, level_db)
    snr = min(SNR_CAP_DB, max(0.0, level - max(LEVEL_FLOOR_DB, floor_db)))
    return round(level + snr + PROBABILITY_WEIGHT_DB * (probability or 0.0), 3)


class CandidateError(ValueError):
    """A payload on the candidate topic that is not a candidate (logged and ignored by the exchange)."""


@dataclass(frozen=True, slots=True)
class Candidate:
    site_id: str
    session_id: str
    """The utterance's id on its site (its report's ``id``)."""
    time: float
    """Wall-clock time of the announcement, seconds since the epoch."""
    score: float

    def to_payload(self) -> bytes:
        return json.dumps(
            {"siteId": self.site_id, "sessionId": self.session_id, "time": self.time, "score": self.score}
        ).encode()

    @classmethod
    def from_payload(cls, payload: bytes) -> Candidate:
        """Raises CandidateError naming what is wrong (never echoing more than a short prefix)."""
        try:
            data = json.loads(payload)
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise CandidateError(f"not JSON ({err.__class__.__name__}): {payload[:60]!r}") from None
        if not isinstance(data, dict):
            raise CandidateError(f"expected a JSON object, got {type(data).__name__}")
        site, session, when, value = (data.get(k) for k in ("siteId", "sessionId", "time", "score"))
        if not isinstance(site, str) or not site:
            raise CandidateError("expected siteId, a non-empty string")
        if not isinstance(session, str):
            raise CandidateError("expected sessionId, a string")
        for name, number in (("time", when), ("score", value)):
            if isinstance(number, bool) or not isinstance(number, int | float) or not math.isfinite(number):
                raise CandidateError(f"expected {name}, a finite number")
        assert isinstance(when, int | float) and isinstance(value, int | float)
        return cls(site, session, float(when), float(value))


def best(candidates: list[Candidate]) -> Candidate:
    """The winner: the highest score; on a tie, the site id that sorts first (the same on every site)."""
    return min(candidates, key=lambda c: (-c.score, c.site_id))


@dataclass(frozen=True, slots=True)
class Decision:
    own: Candidate
    winner: Candidate
    rivals: tuple[Candidate, ...]
    """The other sites' candidates that were matched to this one."""
    alone: str = ""
    """Why the decision did not wait for the others ("" when it did): the announcement was not sent."""

    @property
    def won(self) -> bool:
        return self.winner == self.own

    def reason(self) -> str:
        """Why this site dropped the utterance (for its report), or what it won over (for its log)."""
        if not self.won:
            return (
                f"another site ({self.winner.site_id}) answered: its score {self.winner.score:.1f} "
                f"beat this site's {self.own.score:.1f}"
            )
        if self.alone:
            return f"acted alone: {self.alone}"
        if not self.rivals:
            return "no other site heard it"
        return "won over " + ", ".join(f"{c.site_id} ({c.score:.1f})" for c in self.rivals)


@dataclass
class _Round:
    own: Candidate
    deadline: float
    """Local clock (the same as ``now``) when the window closes."""


@dataclass
class Arbiter:
    """One site's arbitration state. ``announce`` -> (``receive`` ...) -> ``decide`` once ``due``."""

    site_id: str
    window_s: float
    _peers: deque[Candidate] = field(default_factory=lambda: deque(maxlen=KEEP_PEERS))
    _rounds: dict[str, _Round] = field(default_factory=dict)
    _decided: deque[Candidate] = field(default_factory=lambda: deque(maxlen=KEEP_PEERS))
    """Own candidates already decided (to recognise late announcements)."""
    late: int = 0
    """Other sites' announcements that matched a round this site had already decided."""
    _announced: deque[Candidate] = field(default_factory=lambda: deque(maxlen=KEEP_PEERS))
    """This site's recent announcements (to tell their echo from the broker from a namesake's)."""
    ignored: int = 0
    """This site's own announcements, echoed by the broker."""
    namesakes: int = 0
    """Announcements carrying this site's id that it did not make: another daemon with the same site id
    (two Pis left at the default host name). Each acts as if alone; both may act on one utterance."""
    received: int = 0
    """Other sites' announcements kept for matching."""

    def announce(self, session_id: str, score_: float, *, wall: float, now: float) -> Candidate:
        """Open a round for this site's utterance ``session_id``; the candidate to publish."""
        own = Candidate(self.site_id, session_id, wall, score_)
        self._rounds[session_id] = _Round(own, now + self.window_s)
        self._announced.append(own)
        return own

    def due(self, session_id: str) -> float:
        """The local time (``now``'s clock) at which ``decide`` can be called for this round."""
        return self._rounds[session_id].deadline

    def receive(self, candidate: Candidate) -> bool:
        """Another site's announcement; False when it is ignored (own id) or came too late to count."""
        if candidate.site_id == self.site_id:
            if candidate in self._announced:
                self.ignored += 1
            else:
                self.namesakes += 1
            return False
        for own in self._decided:
            if abs(candidate.time - own.time) <= self.window_s + EPSILON_S:
                self.late += 1
                return False
        self._peers.append(candidate)
        self.received += 1
        return True

    def decide(self, session_id: str, *, alone: str = "") -> Decision:
        """Close the round: the best of this site's candidate and every other site's within the window.
        ``alone``: the announcement could not be sent, so the others never saw it; decide on what is in
        hand (normally nothing) and say why."""
        round_ = self._rounds.pop(session_id)
        own = round_.own
        rivals = tuple(
            c
            for c in self._peers
            if abs(c.time - own.time) <= self.window_s + EPSILON_S and c.site_id != own.site_id
        )
        # One candidate per site: a site that announced twice within the window keeps its best.
        by_site: dict[str, Candidate] = {}
        for c in rivals:
            if c.site_id not in by_site or best([c, by_site[c.site_id]]) == c:
                by_site[c.site_id] = c
        rivals = tuple(sorted(by_site.values(), key=lambda c: c.site_id))
        self._decided.append(own)
        return Decision(own, best([own, *rivals]), rivals, alone)

    def forget(self, session_id: str) -> None:
        """Drop a round that will never be decided (the utterance was cancelled)."""
        self._rounds.pop(session_id, None)
