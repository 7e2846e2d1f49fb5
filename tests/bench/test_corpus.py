"""The endpointing corpus: its cache key and where it places utterances."""

from __future__ import annotations

from itertools import pairwise
from pathlib import Path

import numpy as np
import pytest

from bench import corpus, synth

pytestmark = pytest.mark.slow


def test_recipe_hash_follows_the_recipe() -> None:
    a = corpus.recipe(1, quick=True)

    assert corpus.recipe_hash(a) == corpus.recipe_hash(corpus.recipe(1, quick=True))
    assert corpus.recipe_hash(a) != corpus.recipe_hash(corpus.recipe(2, quick=True))
    assert corpus.recipe_hash(a) != corpus.recipe_hash({**a, "speech_level_dbfs": -20.0})


def test_utterances_are_placed_with_gaps_and_truth_on_the_voiced_region(tmp_path: Path) -> None:
    r = {**corpus.recipe(1, quick=True), "utterances_per_condition": 4}

    track, truth = corpus._place_utterances(r, np.random.default_rng(5), tmp_path)

    sr = synth.SAMPLE_RATE
    lo, hi = r["gap_s"]
    assert lo * sr <= truth[0][0] <= hi * sr
    for (_, end), (nxt, _) in pairwise(truth):
        assert lo * sr - 1 <= nxt - end <= hi * sr + 1
    assert lo * sr - 1 <= len(track) - truth[-1][1] <= hi * sr + 1
    for a, b in truth:
        # Each clip sits at the speech level over its voiced region, and the gaps are (near) silent.
        assert synth.rms_dbfs(track[a:b]) == pytest.approx(r["speech_level_dbfs"], abs=0.01)
    gaps = np.concatenate([track[b + 1600 : a - 1600] for (_, b), (a, _) in pairwise(truth)])
    assert synth.rms_dbfs(gaps) < r["speech_level_dbfs"] - 50
