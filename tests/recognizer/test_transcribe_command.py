"""``assistantd transcribe`` end to end against the standalone fake server (a real subprocess on loopback)."""

from __future__ import annotations

import json
import subprocess
import sys
import wave
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from assistantd.cli import main
from assistantd.commands import transcribe
from assistantd.config import EndpointConfig
from tests.recognizer.sauc_support import API_KEY, synth_speech

REPO = Path(__file__).resolve().parents[2]
TEXT = "打开客厅的灯"


@pytest.fixture(scope="module")
def fake_url() -> Iterator[str]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.sauc", "--port", "0", "--transcript", TEXT, "--vendor", "zyun"],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "ws://127.0.0.1:" in line, line
        yield line.split()[-1]
    finally:
        proc.terminate()
        proc.wait(timeout=5)
        if proc.stdout is not None:
            proc.stdout.close()


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    pcm = synth_speech(tmp_path)
    wav = tmp_path / "utt.wav"
    with wave.open(str(wav), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(pcm)
    cfg = tmp_path / "a.yaml"
    cfg.write_text("recognizer:\n  default: zyun\n  fallback: null\n  zyun:\n    api_key: ${ZYUN_API_KEY}\n")
    monkeypatch.setenv("ZYUN_API_KEY", API_KEY)
    return wav, cfg


def test_prints_one_json_line_per_utterance(
    fake_url: str, setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    wav, cfg = setup
    assert main(["transcribe", str(wav), "--config", str(cfg), "--url", fake_url]) == 0
    (line,) = capsys.readouterr().out.splitlines()
    doc = json.loads(line)
    assert doc["text"] == TEXT and doc["recognizer"] == "zyun"
    # One segment found by the endpointer: from (about) the speech onset, pre-roll included, to its end.
    assert 0.0 <= doc["start"] < 0.5 and 1.0 < doc["end"] < 3.0


@dataclass(frozen=True)
class Span:
    start: float
    end: float


def test_each_segment_is_its_own_utterance(
    fake_url: str, setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    wav, cfg = setup

    def two(pcm: bytes, _cfg: EndpointConfig) -> list[Span]:
        return [Span(0.0, 0.6), Span(0.7, 1.2)]

    assert transcribe.run(wav, "zyun", fake_url, cfg, segmenter=two) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [(x["start"], x["end"]) for x in lines] == [(0.0, 0.6), (0.7, 1.2)]


def test_bad_key_is_a_clear_error(
    fake_url: str,
    setup: tuple[Path, Path],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wav, cfg = setup
    monkeypatch.setenv("ZYUN_API_KEY", "not-the-key")
    assert main(["transcribe", str(wav), "--config", str(cfg), "--url", fake_url]) == 2
    err = capsys.readouterr().err
    assert "refused the credentials (HTTP 401)" in err
    assert "not-the-key" not in err


def test_not_a_wav_is_an_audio_error(
    tmp_path: Path, setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    _, cfg = setup
    bogus = tmp_path / "x.wav"
    bogus.write_bytes(b"not a wav")
    assert main(["transcribe", str(bogus), "--config", str(cfg)]) == 2
    assert "not a usable WAV file (file does not start with RIFF id)" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("huawei", "a.yaml: recognizer.huawei: expected a recognizer.huawei block to use 'huawei'"),
        (
            "whisper",
            "a.yaml: recognizer: expected one of huawei, local, volcengine, wyoming, zyun, got 'whisper'",
        ),
    ],
)
def test_unconfigured_recognizer_names_the_config_file(
    setup: tuple[Path, Path], capsys: pytest.CaptureFixture[str], name: str, expected: str
) -> None:
    wav, cfg = setup
    assert main(["transcribe", str(wav), "--config", str(cfg), "--recognizer", name]) == 2
    assert expected in capsys.readouterr().err
