"""``assistantd devices`` and ``assistantd capture`` as a user runs them: a subprocess, real PortAudio."""

from __future__ import annotations

import logging
import os
import re
import subprocess
import sys
import wave
from pathlib import Path

import numpy as np
import pytest

from assistantd.audio.devices import quiet_stderr
from assistantd.commands import devices
from assistantd.errors import AudioError
from tests.audio.conftest import write_alsa_conf
from tests.audio.mic import native_input
from tests.audio.signals import align

ROOT = Path(__file__).resolve().parents[2]


def assistantd(*args: str, conf: Path | None = None, stdin: bytes = b"") -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    if conf is not None:
        env["ALSA_CONFIG_PATH"] = str(conf)
    proc = subprocess.run(
        [sys.executable, "-m", "assistantd", *args],
        input=stdin.decode("latin-1"),
        capture_output=True,
        text=True,
        encoding="latin-1",
        env=env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )
    return proc


def test_devices_lists_inputs_without_portaudio_noise(tmp_path: Path) -> None:
    infile = tmp_path / "in.raw"
    infile.write_bytes(bytes(96000))
    conf = write_alsa_conf(tmp_path, infile)
    proc = assistantd("devices", conf=conf)
    assert proc.returncode == 0
    lines = proc.stdout.splitlines()
    assert lines[0].split() == ["index", "channels", "rate", "name"]
    assert lines[1].split() == ["0", "128", "44100", "default", "(default)"]
    assert proc.stderr == ""
    # The control: PortAudio itself is noisy on this machine, so the silence above is the command's doing.
    bare = subprocess.run(
        [sys.executable, "-c", "import pyaudio; pyaudio.PyAudio().terminate()"],
        env={**os.environ, "ALSA_CONFIG_PATH": str(conf)},
        capture_output=True,
        text=True,
        check=True,
    )
    if not bare.stderr:
        pytest.skip("PortAudio printed nothing here; the filtering is shown by test_quiet_stderr_*")


def test_devices_says_so_when_there_are_none(tmp_path: Path) -> None:
    proc = assistantd("devices", conf=write_alsa_conf(tmp_path, tmp_path / "absent.raw"))
    assert proc.returncode == 0
    assert proc.stdout.startswith("No audio input devices found")
    assert proc.stderr == ""


def test_devices_turns_a_portaudio_failure_into_an_audio_error() -> None:
    def broken() -> devices.PortAudio:
        raise OSError(-9999, "Unanticipated host error")

    with pytest.raises(AudioError, match=r"PortAudio cannot list devices: \[Errno -9999\]"):
        devices.run(factory=broken)


def test_quiet_stderr_keeps_real_errors_and_demotes_noise(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG, logger="assistantd.audio")
    with quiet_stderr():
        os.write(2, b"ALSA lib pcm.c:2666:(snd_pcm_open_noupdate) Unknown PCM cards.pcm.rear\n")
        os.write(2, b"jack server is not running or cannot be started\n")
        os.write(2, b"something that really went wrong\n")
    # fd 2 is process-wide: a thread left by an earlier test may write too, so check lines, not the whole.
    err_lines = capfd.readouterr().err.splitlines()
    assert "something that really went wrong" in err_lines
    assert not [line for line in err_lines if "ALSA lib" in line or "jack server" in line]
    debug = [r.getMessage() for r in caplog.records]
    assert "portaudio: ALSA lib pcm.c:2666:(snd_pcm_open_noupdate) Unknown PCM cards.pcm.rear" in debug
    assert "portaudio: jack server is not running or cannot be started" in debug
    assert "portaudio: something that really went wrong" not in debug


def test_capture_of_a_corrupt_wav_exits_2_with_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "corrupt.wav"
    bad.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00")
    out = tmp_path / "out.wav"
    proc = assistantd("capture", "--input", str(bad), str(out))
    assert proc.returncode == 2
    assert proc.stderr == (
        f"assistantd capture: {bad}: not a usable WAV file (truncated header: the 'fmt' chunk at byte 12 "
        "says 16 bytes, past the end of the file at byte 22)\n"
    )
    assert "Traceback" not in proc.stdout + proc.stderr
    assert not out.exists()


def test_capture_of_an_empty_file_exits_2(tmp_path: Path) -> None:
    empty = tmp_path / "empty.wav"
    empty.touch()
    proc = assistantd("capture", "--input", str(empty), str(tmp_path / "out.wav"))
    assert (proc.returncode, proc.stderr.count("\n")) == (2, 1)
    assert "empty or truncated header" in proc.stderr


def test_capture_from_the_microphone_writes_16k_mono(speech, tmp_path: Path) -> None:
    infile = tmp_path / "in.raw"
    infile.write_bytes(native_input(speech, tmp_path))
    config = tmp_path / "assistant.yaml"
    # The file plugin runs far ahead of real time: a queue large enough for the whole take keeps the first
    # frames contiguous; what it produces after the take is dropped, and counted.
    config.write_text(
        "audio:\n  device: default\n  sample_rate_hz: 48000\n  channels: 2\n  channel: 1\n"
        "  queue_frames: 10000\n"
    )
    out = tmp_path / "mic.wav"
    proc = assistantd(
        "capture",
        "--config",
        str(config),
        "--seconds",
        "2.4",
        str(out),
        conf=write_alsa_conf(tmp_path, infile),
    )
    assert proc.returncode == 0, proc.stderr
    assert re.fullmatch(
        r"audio stopped \(0 'default'\): 80 frames, \d+ dropped, 0 restarts", proc.stdout.splitlines()[-1]
    )
    with wave.open(str(out)) as w:
        assert (w.getframerate(), w.getnchannels(), w.getsampwidth(), w.getnframes()) == (16000, 1, 2, 38400)
        got = np.frombuffer(w.readframes(38400), "<i2")
    lag, corr = align(got, speech.samples[:38400])
    assert (abs(lag), corr > 0.98) == (0, True)


def test_capture_from_stdin_is_bit_exact(speech, tmp_path: Path) -> None:
    out = tmp_path / "stdin.wav"
    data = speech.samples[:16000].tobytes()
    proc = assistantd("capture", "--input", "-", str(out), stdin=data)
    assert proc.returncode == 0, proc.stderr
    with wave.open(str(out)) as w:
        assert w.readframes(w.getnframes())[: len(data)] == data


def test_capture_with_a_device_name_matching_nothing_exits_2(tmp_path: Path) -> None:
    infile = tmp_path / "in.raw"
    infile.write_bytes(bytes(9600))
    config = tmp_path / "assistant.yaml"
    config.write_text("audio:\n  device: ReSpeaker 4-Mic\n")
    proc = assistantd(
        "capture", "--config", str(config), str(tmp_path / "out.wav"), conf=write_alsa_conf(tmp_path, infile)
    )
    assert proc.returncode == 2
    assert proc.stderr == (
        "assistantd capture: audio.device 'ReSpeaker 4-Mic' matches no input device "
        "(present: 0 'default'); see `assistantd devices`\n"
    )
