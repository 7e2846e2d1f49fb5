"""scripts/install.sh into a staging root: idempotent, never overwrites the user's config, uninstalls."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(root: Path, *args: str) -> str:
    env = {**os.environ, "ROOT": str(root)}
    result = subprocess.run(
        ["bash", str(REPO / "scripts" / "install.sh"), "--no-venv", *args],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout


def test_install_is_idempotent_and_keeps_user_config(tmp_path: Path) -> None:
    _run(tmp_path)
    config = tmp_path / "etc/assistantd/assistant.yaml"
    unit = tmp_path / "etc/systemd/system/assistantd.service"
    assert config.read_bytes() == (REPO / "config/assistant.yaml").read_bytes()
    assert unit.read_bytes() == (REPO / "systemd/assistantd.service").read_bytes()
    assert (tmp_path / "etc/assistantd/credentials").stat().st_mode & 0o777 == 0o700

    config.write_text("service: {log_level: debug}\n")
    out = _run(tmp_path)
    assert config.read_text() == "service: {log_level: debug}\n"
    assert "kept your" in out
    assert (tmp_path / "etc/assistantd/assistant.yaml.example").is_file()

    _run(tmp_path, "--uninstall")
    assert not unit.exists()
    assert not (tmp_path / "opt/assistantd").exists()
    assert config.read_text() == "service: {log_level: debug}\n"

    _run(tmp_path, "--purge")
    assert not (tmp_path / "etc/assistantd").exists()
