"""``check-config --credentials-dir``: ``credential:`` secrets checked outside systemd, as the unit
loads them.

The unit's ``LoadCredential=assistantd:/etc/assistantd/credentials`` hands the file NAME of that directory
to the daemon as ``$CREDENTIALS_DIRECTORY/assistantd_NAME``; check-config reads the directory itself.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from assistantd.cli import main
from assistantd.config.secret import INSTALLED_CREDENTIALS_DIR, UNIT_CREDENTIAL_PREFIX

REPO = Path(__file__).resolve().parents[2]
SECRET = "s3cr3t-never-printed"


def _config(tmp_path: Path, reference: str) -> Path:
    config = tmp_path / "assistant.yaml"
    config.write_text(
        "recognizer:\n"
        f'  volcengine: {{app_key: "{reference}", access_key: "{reference}"}}\n'
        f'intents:\n  files: ["{REPO / "config" / "intents"}/*.yaml"]\n',
        encoding="utf-8",
    )
    return config


@pytest.fixture(autouse=True)
def _outside_systemd(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CREDENTIALS_DIRECTORY", raising=False)


def test_the_constants_are_the_unit_s() -> None:
    unit = (REPO / "systemd" / "assistantd.service").read_text(encoding="utf-8")
    assert f"LoadCredential={UNIT_CREDENTIAL_PREFIX[:-1]}:{INSTALLED_CREDENTIALS_DIR}\n" in unit


def test_a_credential_in_the_directory_passes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "volc_key").write_text(SECRET + "\n")
    config = _config(tmp_path, "credential:assistantd_volc_key")
    assert main(["check-config", "--config", str(config), "--credentials-dir", str(creds)]) == 0
    out, err = capsys.readouterr()
    assert out.startswith(f"{config}: ok")
    assert SECRET not in out + err


def test_a_missing_credential_names_the_key_and_the_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    creds = tmp_path / "credentials"
    creds.mkdir()
    config = _config(tmp_path, "credential:assistantd_volc_key")
    assert main(["check-config", "--config", str(config), "--credentials-dir", str(creds)]) == 2
    assert capsys.readouterr().err == (
        f"assistantd check-config: {config}: recognizer.volcengine.app_key: expected "
        f"credential:assistantd_volc_key ({creds / 'volc_key'}) to name a readable file "
        "(No such file or directory)\n"
    )


def test_a_name_without_the_unit_s_prefix_is_refused(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """systemd would hand the daemon no credential of that name: say so before a restart finds out."""
    creds = tmp_path / "credentials"
    creds.mkdir()
    (creds / "volc_key").write_text(SECRET)
    config = _config(tmp_path, "credential:volc_key")
    assert main(["check-config", "--config", str(config), "--credentials-dir", str(creds)]) == 2
    err = capsys.readouterr().err
    assert (
        "expected credential:assistantd_<file name>, as the unit's LoadCredential= names the files of" in err
    )
    assert SECRET not in err


def test_without_the_flag_the_installed_directory_is_read(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = _config(tmp_path, "credential:assistantd_fuzz_no_such_key")
    assert main(["check-config", "--config", str(config)]) == 2
    assert f"({INSTALLED_CREDENTIALS_DIR}/fuzz_no_such_key)" in capsys.readouterr().err


def test_under_systemd_the_credentials_directory_wins(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """``systemd-run -p LoadCredential=... assistantd check-config``: names as the daemon sees them."""
    (tmp_path / "assistantd_volc_key").write_text(SECRET)
    monkeypatch.setenv("CREDENTIALS_DIRECTORY", str(tmp_path))
    config = _config(tmp_path, "credential:assistantd_volc_key")
    assert main(["check-config", "--config", str(config)]) == 0
    assert SECRET not in "".join(capsys.readouterr())
