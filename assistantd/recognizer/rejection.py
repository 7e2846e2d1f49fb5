"""Is the grammar's sentence what was said, or only the nearest command to it? (pure)

pocketsphinx in grammar (JSGF) mode always returns some sentence of the grammar: it has no "none of
these". The second opinion is a free phone loop (an ``allphone`` search without a phone language model)
decoded over the same frames: its best path is the best any sequence of sounds can do, so it bounds
every sentence of the grammar. Two figures come out of the pair of paths (bench/rejection.py measured
both on commands, conversation forced into the grammar and real read speech):

- ``score``: (grammar path score - phone loop path score) per 10 ms frame, in pocketsphinx's integer
  log units (senone scores are normalised to the best senone of each frame, so a path's score is how
  far it strays from the best sounds). A command costs the grammar little over the free loop (about -4
  to -10 per frame with flite voices in room noise); conversation forced into a command costs -14 to
  -40.
- ``unexplained``: the share of the phone loop's vowel frames that the grammar path covers with
  silence or noise fillers. The grammar can explain "the light from
  distant stars" as "lights on" followed by a long silence whose score is deceptively good; commands
  leave almost nothing unexplained (<= 0.11), such sentences 0.5-0.85.

pocketsphinx's Python API hands scores back as ``logmath.exp(score)`` (FACTS.md's "0 / -0.1": a long
path underflows or looks like a probability); ``logmath.log`` recovers the integer score, which is what
``Path.score`` holds here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

FRAME_S = 0.01
"""pocketsphinx frames are 10 ms."""
FILLERS = frozenset({"<s>", "</s>", "<sil>", "[NOISE]", "[SPEECH]"})
"""Grammar path entries that are not words (pocketsphinx's silence and the model's noisedict)."""
VOWELS = frozenset({"AA", "AE", "AH", "AO", "AW", "AY", "EH", "ER", "EY", "IH", "IY", "OW", "OY", "UH", "UW"})
"""The phone loop's vowels: what counts as speech for ``unexplained``. Steady room noise (a fan, hiss)
decodes as fricatives (F, V, HH, S) and nasals in the lead and tail of an utterance, rarely as vowels;
a sentence cannot be said without them."""


@dataclass(frozen=True)
class Segment:
    """One entry of a decoder's best path: a word (or phone) over frames ``start..end`` inclusive."""

    word: str
    start: int
    end: int


@dataclass(frozen=True)
class Path:
    """A decoder's best path for one utterance: integer log score and segmentation."""

    score: int
    segments: tuple[Segment, ...]


@dataclass(frozen=True)
class Verdict:
    """The second opinion on one utterance."""

    score: float | None
    """Grammar path minus phone loop path, per frame (0 = as good as the free loop; lower is worse);
    None when the grammar found no path at all."""
    unexplained: float
    """Share (0-1) of the phone loop's speech frames that the grammar covers only with fillers."""
    accepted: bool
    reason: str = ""
    unexplained_s: float = 0.0
    """The same speech in seconds (10 ms frames)."""
    """Why it was rejected ("" when accepted)."""

    def to_dict(self) -> dict[str, object]:
        score = None if self.score is None else round(self.score, 1)
        out: dict[str, object] = {
            "score": score,
            "unexplained": round(self.unexplained, 2),
            "unexplained_s": round(self.unexplained_s, 2),
        }
        if self.reason:
            out["reason"] = self.reason
        return out


def _frames(segments: Sequence[Segment], frames: int, keep: frozenset[str], inside: bool) -> list[bool]:
    """Per frame: is it covered by a segment whose word is (``inside``) or is not in ``keep``?"""
    covered = [False] * frames
    for seg in segments:
        if (_base(seg.word) in keep) == inside:
            for i in range(max(0, seg.start), min(seg.end + 1, frames)):
                covered[i] = True
    return covered


def _base(word: str) -> str:
    """ "for(2)" -> "for": pronunciation variants are the same word."""
    return word.split("(", 1)[0]


def judge(
    grammar: Path | None, phones: Path, frames: int, *, min_score: float, max_unexplained: float
) -> Verdict:
    """Accept the grammar's sentence only if its path is close to the phone loop's and explains its speech.

    ``grammar`` None: the grammar search reached no final state at all (pocketsphinx logs "Final result
    does not match the grammar"), which is a rejection by itself.
    """
    if frames <= 0:
        return Verdict(0.0, 0.0, True)
    if grammar is None:
        return Verdict(None, 1.0, False, "no path through the grammar")
    score = (grammar.score - phones.score) / frames
    words = _frames(grammar.segments, frames, FILLERS, inside=False)
    speech = _frames(phones.segments, frames, VOWELS, inside=True)
    spoken = sum(speech)
    missed = sum(1 for w, s in zip(words, speech, strict=True) if s and not w)
    unexplained = missed / spoken if spoken else 0.0
    seconds = missed * FRAME_S
    if score < min_score:
        return Verdict(score, unexplained, False, f"score {score:.1f} < {min_score:g}", seconds)
    if unexplained > max_unexplained:
        return Verdict(
            score, unexplained, False, f"unexplained {unexplained:.2f} > {max_unexplained:g}", seconds
        )
    return Verdict(score, unexplained, True, "", seconds)
