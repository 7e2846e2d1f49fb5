from __future__ import annotations

from pathlib import Path

import pytest

from tests.audio.signals import Speech, synthesize


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Speech:
    """Synthesized once per session: flite speech with noise, 16 kHz mono."""
    return synthesize(tmp_path_factory.mktemp("speech"))


def write_alsa_conf(directory: Path, infile: Path) -> Path:
    """ALSA config whose default PCM captures from ``infile`` (raw, read at whatever rate is asked for)."""
    conf = directory / "asound.conf"
    conf.write_text(
        "pcm.!default {\n"
        "    type file\n"
        "    slave.pcm { type null }\n"
        '    file "/dev/null"\n'
        f'    infile "{infile}"\n'
        '    format "raw"\n'
        "}\n"
    )
    return conf


@pytest.fixture
def alsa_file_device(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    """Point ALSA's default PCM at a raw file. PortAudio reads ALSA_CONFIG_PATH when it initialises, and
    every MicrophoneSource attempt initialises a fresh PyAudio, so setting the variable here is enough."""

    def install(infile: Path) -> Path:
        conf = write_alsa_conf(tmp_path, infile)
        monkeypatch.setenv("ALSA_CONFIG_PATH", str(conf))
        return conf

    return install
