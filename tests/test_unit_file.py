"""The shipped unit file passes systemd-analyze verify cleanly and stays well hardened."""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

UNIT = Path(__file__).resolve().parents[1] / "systemd" / "assistantd.service"

pytestmark = pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze missing")


@pytest.fixture
def unit_copy(tmp_path: Path) -> Path:
    # verify fails when ExecStart's binary is missing; point it at this venv's entry point instead of /opt.
    exe = Path(sys.executable).with_name("assistantd")
    text = UNIT.read_text().replace("/opt/assistantd/venv/bin/assistantd", str(exe))
    assert str(exe) in text
    copy = tmp_path / "assistantd.service"
    copy.write_text(text)
    return copy


def test_verify_is_clean(unit_copy: Path) -> None:
    result = subprocess.run(
        ["systemd-analyze", "verify", unit_copy.name],
        cwd=unit_copy.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr


def test_security_exposure_at_most_2_5(unit_copy: Path) -> None:
    result = subprocess.run(
        ["systemd-analyze", "security", "--offline=true", unit_copy.name],
        cwd=unit_copy.parent,
        capture_output=True,
        text=True,
        check=False,
    )
    match = re.search(r"Overall exposure level for assistantd\.service: (\d+\.\d+)", result.stdout)
    assert match, result.stdout + result.stderr
    assert float(match.group(1)) <= 2.5


def test_unit_has_what_the_daemon_relies_on() -> None:
    text = UNIT.read_text()
    for line in (
        "Type=notify",
        "Restart=on-failure",
        "SupplementaryGroups=audio",
        "ExecReload=/bin/kill -HUP $MAINPID",
        "LoadCredential=assistantd:/etc/assistantd/credentials",
    ):
        assert line in text.splitlines()
    assert re.search(r"^WatchdogSec=\d+", text, re.M)
