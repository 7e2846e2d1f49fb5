"""Values check-config must refuse at load time, each named by key path (review findings)."""

from __future__ import annotations

from pathlib import Path

import pytest

from assistantd.cli import main
from assistantd.config import Config, ConfigError


@pytest.mark.parametrize("device", [-1, -5])
def test_a_negative_device_index_is_refused(device: int) -> None:
    with pytest.raises(ConfigError, match=rf"audio\.device: expected a device index >= 0 .*, got {device}$"):
        Config.from_dict({"audio": {"device": device}}, source="a.yaml")


@pytest.mark.parametrize("device", [0, 3, "USB", None])
def test_indexes_from_zero_and_names_still_load(device: object) -> None:
    assert Config.from_dict({"audio": {"device": device}}).audio.device == device


def test_check_config_reports_the_negative_device(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("audio:\n  device: -5\n")
    assert main(["check-config", "--config", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}: audio.device: expected a device index >= 0" in err and err.count("\n") == 1


def _cloud(vendor: str, **keys: object) -> dict[str, object]:
    auth = {"volcengine": {"app_key": "${K}", "access_key": "${K}"}, "zyun": {"api_key": "${K}"}}
    auth["huawei"] = {"project_id": "p", "token": "${K}"}
    return {"recognizer": {"default": vendor, "fallback": None, vendor: {**auth[vendor], **keys}}}


BAD_WS_URLS = [
    ("ws://[::1", "expected a ws:// or wss:// URL with a host, got 'ws://[::1'"),
    (
        "ws://127.0.0.1:99999/sauc",
        "expected a ws:// or wss:// URL with a host, got 'ws://127.0.0.1:99999/sauc'",
    ),
    ("ws://h:abc/x", "expected a ws:// or wss:// URL with a host, got 'ws://h:abc/x'"),
    ("ws://h:0/x", "expected a ws:// or wss:// URL with a port from 1 to 65535, got 'ws://h:0/x'"),
    ("ws:///sauc", "expected a ws:// or wss:// URL with a host, got 'ws:///sauc'"),
    ("https://h/sauc", "expected a ws:// or wss:// URL with a host, got 'https://h/sauc'"),
]


@pytest.mark.parametrize(("vendor", "key"), [("volcengine", "url"), ("zyun", "url"), ("huawei", "endpoint")])
@pytest.mark.parametrize(
    ("url", "message"), BAD_WS_URLS, ids=["ipv6", "port", "nan-port", "port0", "no-host", "https"]
)
def test_cloud_urls_are_checked_at_load(vendor: str, key: str, url: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Config.from_dict(_cloud(vendor, **{key: url}), source="a.yaml", env={"K": "secret-value"})
    assert str(caught.value) == f"a.yaml: recognizer.{vendor}.{key}: {message}"


@pytest.mark.parametrize("url", ["ws://127.0.0.1:8080/sauc", "wss://[::1]/x", "wss://example.com"])
def test_good_cloud_urls_load(url: str) -> None:
    cfg = Config.from_dict(_cloud("zyun", url=url), env={"K": "k"})
    assert cfg.recognizer.zyun is not None and cfg.recognizer.zyun.url == url


def test_check_config_reports_a_bad_url_by_key(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("recognizer:\n  zyun:\n    api_key: ${K}\n    url: 'ws://[::1'\n")
    assert main(["check-config", "--config", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"assistantd check-config: {path}: recognizer.zyun.url: "
        "expected a ws:// or wss:// URL with a host, got 'ws://[::1'\n"
    )


@pytest.mark.parametrize("url", ["ws://[::1", "ws://127.0.0.1:99999/sauc"])
def test_transcribe_refuses_a_bad_url_in_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str
) -> None:
    # Refused before the file is even opened: the WAV need not exist.
    assert main(["transcribe", str(tmp_path / "x.wav"), "--recognizer", "zyun", "--url", url]) == 2
    err = capsys.readouterr().err
    assert err == f"assistantd transcribe: --url: expected a ws:// or wss:// URL with a host, got {url!r}\n"


@pytest.mark.parametrize(("vendor", "key"), [("volcengine", "url"), ("zyun", "url"), ("huawei", "endpoint")])
@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("ws://user:pw-never-shown@[::1/sauc?token=pw-never-shown", "'ws://[::1/sauc'"),
        ("wss://user:pw-never-shown@h:0/x?token=pw-never-shown", "'wss://h:0/x'"),
    ],
)
def test_a_bad_cloud_url_is_shown_without_secrets(vendor: str, key: str, url: str, shown: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Config.from_dict(_cloud(vendor, **{key: url}), source="a.yaml", env={"K": "secret-value"})
    message = str(caught.value)
    assert "pw-never-shown" not in message and message.endswith(f", got {shown}"), message


def test_transcribe_shows_a_bad_url_without_secrets(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "wss://user:pw-never-shown@h:0/x?token=pw-never-shown"
    assert main(["transcribe", str(tmp_path / "x.wav"), "--recognizer", "zyun", "--url", url]) == 2
    err = capsys.readouterr().err
    assert "pw-never-shown" not in err and err.endswith("got 'wss://h:0/x'\n"), err
