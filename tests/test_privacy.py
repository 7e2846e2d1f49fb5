"""The privacy switch: kept in a file across instances (restarts), bad or unwritable files logged."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from assistantd.privacy import FILE_NAME, PrivacySwitch


def test_a_mute_survives_a_new_instance_and_listeners_hear_changes(tmp_path: Path) -> None:
    heard: list[bool] = []
    switch = PrivacySwitch(tmp_path / "state")
    assert not switch.muted
    switch.subscribe(heard.append)
    assert switch.set(True, "test")
    assert not switch.set(True, "again")  # no change, no news
    assert heard == [True]
    assert PrivacySwitch(tmp_path / "state").muted
    switch.unsubscribe(heard.append)
    assert switch.set(False, "test")
    assert heard == [True]
    assert not PrivacySwitch(tmp_path / "state").muted


@pytest.mark.parametrize("content", ["{", '{"muted": "yes"}', "[]"])
def test_a_bad_file_starts_unmuted_and_says_so(
    tmp_path: Path, content: str, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / FILE_NAME).write_text(content)
    assert not PrivacySwitch(tmp_path).muted
    assert str(tmp_path / FILE_NAME) in caplog.text


def test_an_unwritable_directory_keeps_the_switch_for_this_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    switch = PrivacySwitch(blocker / "state")  # a directory under a file cannot be made
    with caplog.at_level(logging.ERROR):
        assert switch.set(True, "test")
    assert switch.muted
    assert "cannot save" in caplog.text
