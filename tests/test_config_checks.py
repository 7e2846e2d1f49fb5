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
