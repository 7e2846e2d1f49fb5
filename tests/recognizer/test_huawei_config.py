"""``recognizer.huawei`` parsing: defaults, strict errors naming the key path, secrets by reference."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from assistantd.config import Config, ConfigError
from assistantd.config.huawei import HuaweiConfig

SOURCE = "/etc/assistantd/assistant.yaml"
ENV = {"HW_TOKEN": "tok-SENTINEL-1", "HW_AK": "ak-SENTINEL-2", "HW_SK": "sk-SENTINEL-3"}
REPO = Path(__file__).resolve().parents[2]


def huawei(**block: Any) -> HuaweiConfig:
    data = {"recognizer": {"default": "huawei", "huawei": {"project_id": "p1", **block}}}
    cfg = Config.from_dict(data, source=SOURCE, env=ENV).recognizer.huawei
    assert cfg is not None
    return cfg


def test_defaults_with_a_token() -> None:
    cfg = huawei(token="${HW_TOKEN}")
    assert (cfg.mode, cfg.audio_format, cfg.property, cfg.chunk_ms) == (
        "short-stream",
        "pcm16k16bit",
        "chinese_16k_general",
        100,
    )
    assert (cfg.add_punc, cfg.digit_norm, cfg.interim_results) == (False, True, False)
    assert cfg.base_url() == "wss://sis-ext.cn-north-4.myhuaweicloud.com"
    assert cfg.token is not None and cfg.token.reveal() == ENV["HW_TOKEN"]
    assert "SENTINEL" not in repr(cfg)


def test_every_option() -> None:
    cfg = huawei(
        ak="${HW_AK}",
        sk="${HW_SK}",
        region="ap-southeast-3",
        mode="continue-stream",
        property="english_16k_general",
        add_punc=True,
        digit_norm=False,
        interim_results=True,
        vad_head_ms=0,
        vad_tail_ms=800,
        max_seconds=60,
        vocabulary_id="v-1",
        chunk_ms=200,
        endpoint="wss://sis-ext.example.internal",
        enterprise_project_id="ep",
    )
    assert cfg.base_url() == "wss://sis-ext.example.internal"
    assert (cfg.vad_tail_ms, cfg.max_seconds, cfg.vocabulary_id) == (800, 60, "v-1")
    assert "SENTINEL" not in repr(cfg)


@pytest.mark.parametrize(
    ("block", "key", "expected"),
    [
        ({}, "token", "a token, or both ak and sk"),
        ({"ak": "${HW_AK}"}, "token", "a token, or both ak and sk"),
        ({"token": "${HW_TOKEN}", "ak": "${HW_AK}", "sk": "${HW_SK}"}, "token", "not both"),
        ({"token": "${HW_TOKEN}", "mode": "stream"}, "mode", "short-stream, sentence-stream"),
        ({"token": "${HW_TOKEN}", "property": "chinese_8k_general"}, "property", "16 kHz model"),
        ({"token": "${HW_TOKEN}", "audio_format": "pcm8k16bit"}, "audio_format", "pcm16k16bit"),
        ({"token": "${HW_TOKEN}", "add_punc": "yes"}, "add_punc", "true or false"),
        ({"token": "${HW_TOKEN}", "vad_tail_ms": 5000}, "vad_tail_ms", "<= 3000"),
        ({"token": "${HW_TOKEN}", "chunk_ms": 20}, "chunk_ms", ">= 50"),
        ({"token": "${HW_TOKEN}", "max_seconds": 0}, "max_seconds", ">= 1"),
        ({"token": "${HW_TOKEN}", "region": "North 4"}, "region", "region name"),
        ({"token": "${HW_TOKEN}", "endpoint": "https://x"}, "endpoint", "ws:// or wss:// URL with a host"),
        ({"token": "${HW_TOKEN}", "interim": True}, "interim", "did you mean 'interim_results'"),
        ({"token": "tok-SENTINEL-inline"}, "token", "reference"),
    ],
)
def test_errors_name_the_key(block: dict[str, Any], key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        huawei(**block)
    message = str(info.value)
    assert message.startswith(f"{SOURCE}: recognizer.huawei.{key}: ")
    assert expected in message
    assert "SENTINEL" not in message


def test_project_id_is_checked() -> None:
    with pytest.raises(ConfigError, match=r"recognizer\.huawei\.project_id: expected a project id"):
        huawei(project_id="a/b", token="${HW_TOKEN}")


def test_the_commented_example_in_assistant_yaml_parses() -> None:
    """The example block in config/assistant.yaml, uncommented, is a valid configuration."""
    text = (REPO / "config" / "assistant.yaml").read_text()
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("  # huawei:"))
    block = []
    for line in lines[start:]:
        if not line.startswith("  #"):
            break
        block.append(line.replace("  # ", "  ", 1))
    data = {"recognizer": {"default": "huawei", **yaml.safe_load("\n".join(block))}}
    cfg = Config.from_dict(data, env={"HUAWEI_SIS_TOKEN": "t"}).recognizer.huawei
    assert cfg is not None and cfg.mode == "short-stream"
