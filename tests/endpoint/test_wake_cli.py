"""``assistantd wake FILE.wav`` (detections as JSON lines, for tuning); ``segments --plot`` marks them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from assistantd.cli import main
from tests.wake_speech import SCRIPT, recording, write_wav

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("flite") is None, reason="needs flite (Debian package)"),
]


@pytest.fixture(scope="module")
def wav(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[float]]:
    tmp = tmp_path_factory.mktemp("wake-cli")
    pcm, placed = recording(tmp)
    return write_wav(tmp / "wake.wav", pcm), [p.phrase_end for p in placed if p.phrase_end is not None]


def test_wake_prints_one_line_per_phrase(
    wav: tuple[Path, list[float]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path, phrase_ends = wav
    config = tmp_path / "assistant.yaml"
    config.write_text("wake: {model: okay_nabu}\n", encoding="utf-8")
    assert main(["wake", str(path), "--config", str(config)]) == 0
    out, err = capsys.readouterr()
    lines = [json.loads(line) for line in out.splitlines()]
    assert len(lines) == len(phrase_ends) == sum(line.gap_s is not None for line, _, _ in SCRIPT)
    for line, end in zip(lines, phrase_ends, strict=True):
        assert line["model"] == "okay_nabu" and line["probability"] > 0.85
        assert abs(line["time"] - end) < 0.5
    assert f"{len(lines)} detection(s) of okay_nabu (cutoff 0.85)" in err


def test_another_model_or_a_cutoff_out_of_reach_hears_nothing(
    wav: tuple[Path, list[float]], capsys: pytest.CaptureFixture[str]
) -> None:
    path, _ = wav
    assert main(["wake", str(path), "--model", "hey_jarvis"]) == 0
    assert main(["wake", str(path), "--model", "okay_nabu", "--cutoff", "0.999"]) == 0
    out, err = capsys.readouterr()
    assert out == ""
    assert "0 detection(s) of hey_jarvis" in err and "0 detection(s) of okay_nabu (cutoff 1.00)" in err


def test_a_bad_model_names_the_key(wav: tuple[Path, list[float]], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["wake", str(wav[0]), "--model", "okay_nabbu"]) == 2
    assert "--model: wake.model: expected one of okay_nabu" in capsys.readouterr().err


def test_segments_plot_marks_the_wake_word(wav: tuple[Path, list[float]], tmp_path: Path) -> None:
    config = tmp_path / "assistant.yaml"
    config.write_text("wake: {model: okay_nabu}\n", encoding="utf-8")
    png = tmp_path / "plot.png"
    assert main(["segments", str(wav[0]), "--config", str(config), "--plot", str(png)]) == 0
    assert png.stat().st_size > 10_000
