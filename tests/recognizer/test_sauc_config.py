"""recognizer.volcengine and recognizer.zyun: strict parsing of the sauc options (protocols.md §1.1-§1.5)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from assistantd.config import Config, ConfigError

ENV = {"A": "app", "B": "tok", "K": "key"}
REPO = Path(__file__).resolve().parents[2]


def _volc(**kw: object) -> dict[str, object]:
    block = {"app_key": "${A}", "access_key": "${B}", **kw}
    return {"recognizer": {"default": "volcengine", "fallback": None, "volcengine": block}}


def test_mode_picks_the_official_endpoint() -> None:
    cfg = Config.from_dict(_volc(mode="bigmodel_nostream", language="en-US"), env=ENV).recognizer.volcengine
    assert cfg is not None
    assert cfg.url == "wss://openspeech.bytedance.com/api/v3/sauc/bigmodel_nostream"
    assert cfg.nostream and cfg.language == "en-US"


def test_options_are_read() -> None:
    data = _volc(
        hotwords=["客厅"], end_window_size_ms=600, enable_ddc=True, resource_id="volc.seedasr.sauc.duration"
    )
    cfg = Config.from_dict(data, env=ENV).recognizer.volcengine
    assert cfg is not None
    assert cfg.options.hotwords == ("客厅",)
    assert cfg.options.end_window_size_ms == 600 and cfg.options.enable_ddc
    assert cfg.resource_id == "volc.seedasr.sauc.duration"


@pytest.mark.parametrize(
    ("kw", "key", "expected"),
    [
        ({"language": "en-US"}, "language", "bigmodel_nostream"),
        ({"mode": "bigmodel", "url": "wss://x/y"}, "mode", "not both"),
        ({"mode": "streaming"}, "mode", "one of bigmodel"),
        ({"url": "https://x/y"}, "url", "ws:// or wss://"),
        ({"resource_id": "volc.other"}, "resource_id", "volc.bigasr.sauc.duration"),
        ({"end_window_size_ms": 100}, "end_window_size_ms", ">= 200"),
        ({"result_type": "partial"}, "result_type", "full, single"),
        ({"hotwords": "kitchen"}, "hotwords", "list of strings"),
        ({"enable_itm": True}, "enable_itm", "did you mean 'enable_itn'"),
    ],
)
def test_errors_name_the_key(kw: dict[str, object], key: str, expected: str) -> None:
    with pytest.raises(ConfigError) as info:
        Config.from_dict(_volc(**kw), source="a.yaml", env=ENV)
    assert f"a.yaml: recognizer.volcengine.{key}: " in str(info.value)
    assert expected in str(info.value)


def test_zyun_defaults_to_the_published_url() -> None:
    data = {"recognizer": {"default": "zyun", "zyun": {"api_key": "${K}", "enable_punc": False}}}
    cfg = Config.from_dict(data, env=ENV).recognizer.zyun
    assert cfg is not None
    assert cfg.url == "ws://audio-asr.api.zyuncs.com/sauc"
    assert cfg.options.enable_punc is False


def test_the_commented_example_is_valid() -> None:
    """Uncommenting the example's recognizer blocks gives a valid config."""
    lines = (REPO / "config" / "assistant.yaml").read_text().splitlines()
    start = lines.index("recognizer:")
    end = next(i for i in range(start + 1, len(lines)) if lines[i] and not lines[i].startswith((" ", "#")))
    section = [
        line.replace("  # ", "  ", 1) if line.startswith("  # ") else line for line in lines[start:end]
    ]
    data = {"recognizer": yaml.safe_load("\n".join(section))["recognizer"]}
    env = {"VOLC_APP_KEY": "a", "VOLC_ACCESS_KEY": "b", "ZYUN_API_KEY": "c", "HUAWEI_SIS_TOKEN": "d"}
    cfg = Config.from_dict(data, env=env).recognizer
    assert cfg.volcengine is not None and cfg.zyun is not None
    assert cfg.transport.packet_ms == 160
