"""bench.modes: its machinery on a tiny corpus (the bench runs ~100 lines and 10 minutes of room noise).

One command by the 4 flite voices, bare and after "okay nabu", and two lines of talk, through the real
daemon in both modes: each line's reports are attributed to it, and the upload is what each mode must do
with speech nobody addressed to the assistant (wake mode: nothing; continuous mode: all of it).
"""

from __future__ import annotations

import argparse
import shutil
from pathlib import Path

import pytest

from bench import modes
from bench.modes_corpus import KINDS

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        shutil.which("flite") is None or shutil.which("espeak-ng") is None, reason="needs flite and espeak-ng"
    ),
]


async def test_a_tiny_run_counts_every_line_and_the_upload_of_each_mode(tmp_path: Path) -> None:
    args = argparse.Namespace(
        commands=1,
        talk=2,
        real=0,
        idle_s=5.0,
        idle_runs=1,
        seed=9,
        snr_db=20.0,
        synth_cache=str(tmp_path),
        sdist_cache="",
    )
    figs, rec, baseline, notes = await modes.measure(args)
    assert baseline > 0
    assert sorted(i.kind for i in rec.items) == sorted(["talk"] * 2 + ["bare"] * 4 + ["addressed"] * 4)
    assert set(KINDS) == {i.kind for i in rec.items}
    wake, continuous = figs["wake"], figs["continuous"]
    # Wake mode: the addressed commands are its commands; continuous mode: the bare ones.
    assert wake.commands == continuous.commands == 4
    assert wake.uploaded_bytes == 0
    # Continuous mode uploads the speech it hears: at least the voiced time of the bare commands.
    assert continuous.uploaded_bytes >= rec.hours("bare") * 3600 * 32000
    assert wake.bare_detections <= wake.bare_total and wake.bare_turned <= wake.bare_detections
    # CPU figures are the benchmark's to print (on 15 s of noise they are mostly start-up jitter).
    assert "2 talk lines" in notes[0]
    assert len(modes.table(figs, rec, baseline)) == 10
