"""``assistantd segments``: JSON lines for a real WAV, a PNG with --plot, one clean error line else."""

from __future__ import annotations

import json
import wave
from pathlib import Path

import numpy as np
import pytest
import soxr

from assistantd.cli import main
from tests.endpoint.conftest import RATE, Float, mix


def _write_wav(path: Path, x: Float, rate: int, channels: int) -> None:
    if rate != RATE:
        x = np.asarray(soxr.resample(x, RATE, rate), dtype=np.float64)
    s16 = np.clip(np.round(x * 32768), -32768, 32767).astype("<i2")
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(np.repeat(s16, channels).tobytes())


@pytest.mark.parametrize(("rate", "channels"), [(16000, 1), (22050, 2)])
def test_prints_one_json_object_per_utterance(
    speech: dict[str, Float], tmp_path: Path, capsys: pytest.CaptureFixture[str], rate: int, channels: int
) -> None:
    m = mix([speech["en_flite"], speech["cmn_espeak"]], gaps_s=[3.0], noise="white", snr_db=20)
    path = tmp_path / "two.wav"
    _write_wav(path, np.frombuffer(m.pcm, dtype="<i2") / 32768, rate, channels)
    assert main(["segments", str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    found = [json.loads(line) for line in lines]
    assert len(found) == 2
    for obj, (start, end) in zip(found, m.truth, strict=True):
        assert obj["start"] <= start < end <= obj["end"] + 0.1
        assert obj["start"] == round(obj["start"], 3)


def test_plot_writes_a_png(speech: dict[str, Float], tmp_path: Path) -> None:
    m = mix([speech["en_espeak"]], gaps_s=[], noise="hum", snr_db=10)
    wav, png = tmp_path / "one.wav", tmp_path / "out.png"
    _write_wav(wav, np.frombuffer(m.pcm, dtype="<i2") / 32768, RATE, 1)
    assert main(["segments", str(wav), "--plot", str(png)]) == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def _float_wav(path: Path) -> None:
    # WAVE_FORMAT_IEEE_FLOAT (3): valid WAV, unsupported by the reader.
    data = np.zeros(160, dtype="<f4").tobytes()
    fmt = (3).to_bytes(2, "little") + (1).to_bytes(2, "little") + (16000).to_bytes(4, "little")
    fmt += (64000).to_bytes(4, "little") + (4).to_bytes(2, "little") + (32).to_bytes(2, "little")
    body = (
        b"WAVE" + b"fmt " + len(fmt).to_bytes(4, "little") + fmt + b"data" + len(data).to_bytes(4, "little")
    )
    path.write_bytes(b"RIFF" + (len(body) + len(data)).to_bytes(4, "little") + body + data)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: None, "cannot open: No such file"),
        (lambda p: p.write_bytes(b""), "not a WAV file (empty or truncated header)"),
        (
            lambda p: p.write_text("hello, this is text\n"),
            "not a usable WAV file (file does not start with RIFF id)",
        ),
        (_float_wav, "unsupported WAV encoding (IEEE float)"),
    ],
    ids=["missing", "empty", "text", "float"],
)
def test_bad_input_is_one_clear_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], make: object, message: str
) -> None:
    path = tmp_path / "in.wav"
    make(path)  # type: ignore[operator]
    assert main(["segments", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("assistantd segments: ") and message in err
    assert "\n" not in err and "Traceback" not in err


def test_truncated_wav_is_read_as_far_as_it_goes(
    speech: dict[str, Float],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    path = tmp_path / "cut.wav"
    _write_wav(path, speech["en_espeak"], RATE, 1)
    path.write_bytes(path.read_bytes()[:-1000])
    assert main(["segments", str(path)]) == 0
    out, err = capsys.readouterr()
    assert len(out.splitlines()) == 1
    assert "WARNING" in err and "header says" in err


def test_a_bad_config_is_reported_with_its_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cfg = tmp_path / "a.yaml"
    cfg.write_text("endpoint: {tail_ms: 900}\n")  # longer than the default 700 ms hangover
    wav = tmp_path / "x.wav"
    _write_wav(wav, np.zeros(RATE), RATE, 1)
    assert main(["segments", str(wav), "--config", str(cfg)]) == 2
    assert "endpoint.tail_ms: expected at most the hangover (700 ms)" in capsys.readouterr().err
