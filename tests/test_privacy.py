"""The privacy switch: kept in a file across instances (restarts), bad or unwritable files logged."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import threading
import time
from pathlib import Path

import pytest

from assistantd.privacy import FILE_NAME, PrivacySwitch

DEADLINE_S = 30.0
"""Bounds waits on the saver's thread: only a hang reaches it."""


def _wait_for_a_thread_opening_a_fifo() -> None:
    """Until a thread of this process waits in open() for a FIFO's other end (Linux names that wait
    ``wait_for_partner``), at most DEADLINE_S: a saver that never gets there fails the assertions."""
    deadline = time.monotonic() + DEADLINE_S
    while time.monotonic() < deadline:
        for task in Path("/proc/self/task").iterdir():
            try:
                if (task / "wchan").read_text() == "wait_for_partner":
                    return
            except OSError:  # the thread ended meanwhile
                continue
        time.sleep(0.001)


async def test_a_mute_survives_a_new_instance_and_listeners_hear_changes(tmp_path: Path) -> None:
    heard: list[bool] = []
    switch = PrivacySwitch(tmp_path / "state")
    assert not switch.muted
    switch.subscribe(heard.append)
    assert switch.set(True, "test")
    assert not switch.set(True, "again")  # no change, no news
    assert heard == [True]
    await switch.flush()
    assert PrivacySwitch(tmp_path / "state").muted
    switch.unsubscribe(heard.append)
    assert switch.set(False, "test")
    assert heard == [True]
    await switch.flush()
    assert not PrivacySwitch(tmp_path / "state").muted


@pytest.mark.parametrize("content", ["{", '{"muted": "yes"}', "[]"])
def test_a_bad_file_starts_unmuted_and_says_so(
    tmp_path: Path, content: str, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / FILE_NAME).write_text(content)
    assert not PrivacySwitch(tmp_path).muted
    assert str(tmp_path / FILE_NAME) in caplog.text


async def test_an_unwritable_directory_keeps_the_switch_for_this_run(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    switch = PrivacySwitch(blocker / "state")  # a directory under a file cannot be made
    with caplog.at_level(logging.ERROR):
        assert switch.set(True, "test")
        await switch.flush()
    assert switch.muted
    assert "cannot save" in caplog.text


async def test_the_save_runs_off_the_loop_and_ends_at_the_last_state(tmp_path: Path) -> None:
    """A save that blocks (here: its temporary file is a FIFO nobody reads yet, as a stuck SD card would
    hold an fsync) holds neither ``set`` nor the loop; changes made meanwhile are saved after it, the
    newest last."""
    state = tmp_path / "state"
    state.mkdir()
    os.mkfifo(state / f".{FILE_NAME}.tmp")
    switch = PrivacySwitch(state)
    drained: list[bytes] = []
    unblocked_late = threading.Event()

    def drain() -> None:
        # Gone from the directory before the held save is let go, so the next save makes a plain file.
        # (The held one fails at its fsync, which a pipe refuses, and is logged; the next writes the
        # newest state.) Unlinked only after the saver has looked the name up: it waits in open().
        # Unlinked after opening instead, a saver quick enough got to its next save while the FIFO was
        # still there and wrote both into it.
        fifo = state / f".{FILE_NAME}.tmp"
        _wait_for_a_thread_opening_a_fifo()
        held = state / "held-fifo"
        os.link(fifo, held)
        fifo.unlink()
        with held.open("rb") as pipe:  # lets the saver's open() return
            drained.append(pipe.read())

    def unblock_if_still_held() -> None:  # bounds a hang: a blocked loop cannot time itself out
        if not drained:
            unblocked_late.set()
            drain()

    timer = threading.Timer(DEADLINE_S, unblock_if_still_held)
    timer.start()
    try:
        assert switch.set(True, "test")  # before the fix: blocked here, on the loop, in open()
        assert not unblocked_late.is_set(), "set() waited for the save"
        await asyncio.sleep(0)  # the loop runs on while the save is held
        assert switch.set(False, "test") and switch.set(True, "again")
        await asyncio.to_thread(drain)
        async with asyncio.timeout(DEADLINE_S):
            await switch.flush()
    finally:
        timer.cancel()
    assert not unblocked_late.is_set()
    assert json.loads(drained[0]) == {"muted": True}
    assert json.loads((state / FILE_NAME).read_text()) == {"muted": True}
    assert not (state / f".{FILE_NAME}.tmp").exists()
