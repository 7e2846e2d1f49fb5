"""VAD engines by name (config/endpoint.py VAD_ENGINES): picked by endpoint.vad_engine, built by build_vad."""

from __future__ import annotations

import dataclasses

import pytest

from assistantd.audio.frames import frame_bytes
from assistantd.config import Config, ConfigError
from assistantd.config.endpoint import VAD_ENGINE_NAMES, EndpointConfig
from assistantd.endpoint.vad import WebrtcVad, build_vad, vad_engine


@pytest.mark.parametrize("name", VAD_ENGINE_NAMES)
def test_each_engine_builds_and_calls_silence_silence(name: str) -> None:
    config = dataclasses.replace(EndpointConfig(), vad_engine=name)
    engine = vad_engine(config)
    assert engine.is_speech(bytes(frame_bytes(30))) is False


def test_the_default_is_webrtcvad_behind_the_front_end() -> None:
    config = Config.from_dict({"endpoint": {"vad_engine": "webrtcvad"}}).endpoint
    assert config == EndpointConfig()
    assert isinstance(build_vad(config).engine, WebrtcVad)


def test_an_unknown_engine_names_the_key_and_the_choices() -> None:
    with pytest.raises(ConfigError) as info:
        Config.from_dict({"endpoint": {"vad_engine": "silero"}}, source="a.yaml")
    assert str(info.value).startswith("a.yaml: endpoint.vad_engine: expected one of webrtcvad")
