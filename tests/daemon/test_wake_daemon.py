"""Under a service manager, with the wake word on: STATUS says when the phrase was heard."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

from tests.daemon.conftest import StartDaemon
from tests.wake_speech import recording

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("flite") is None, reason="needs flite (Debian package)"),
]


def test_status_says_when_the_phrase_was_heard(
    start_daemon: StartDaemon, config: dict[str, Any], tmp_path_factory: pytest.TempPathFactory
) -> None:
    pcm, placed = recording(tmp_path_factory.mktemp("wake-daemon"))
    config["wake"] = {"model": "okay_nabu"}
    daemon = start_daemon(config)
    daemon.notice("READY")
    assert daemon.statuses()[-1].startswith("listening for okay_nabu;")
    first = placed[0]
    daemon.write(pcm[: round((first.end + 2) * 32000) // 2 * 2])
    (report,) = daemon.reports(1)
    assert report["intent"] == "LightOn" and report["wake"]["model"] == "okay_nabu"
    heard = f"listening for okay_nabu (last heard at {report['wake']['time']:.2f} s, p "
    daemon.wait_until(lambda: daemon.statuses()[-1].startswith(heard), 5, "STATUS with the wake word")
    daemon.end_input()
    assert daemon.wait() == 0
