"""Credentials never leak: not in logs (any level, websockets' loggers included), output, or exceptions."""

from __future__ import annotations

import logging
import traceback
from collections.abc import Iterator

import pytest
from websockets.asyncio.client import connect

from assistantd.recognizer.base import RecognitionFailed
from assistantd.recognizer.registry import build_recognizer
from tests.fakes.sauc import FakeSauc, Fault
from tests.recognizer.sauc_support import PHRASE, live, recognizer_config

SENTINELS = ("APPKEY-SENTINEL-1b2c", "ACCESS-SENTINEL-9f8e", "APIKEY-SENTINEL-5d6a")
AUDIO = bytes(range(256)) * 125  # 1 s of (non-silent) bytes; the content does not matter here


@pytest.fixture
def all_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    caplog.set_level(logging.DEBUG)  # the root logger: assistantd.*, websockets.*, tests.fakes.*
    for name in ("websockets", "websockets.client", "websockets.server"):
        caplog.set_level(logging.DEBUG, logger=name)
    yield caplog


def _assert_clean(*texts: str) -> None:
    for text in texts:
        for sentinel in SENTINELS:
            assert sentinel not in text


def _everything(caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]) -> str:
    out = capsys.readouterr()
    records = "\n".join(
        f"{r.getMessage()} {r.args!r} {r.exc_text or ''} "
        + ("".join(traceback.format_exception(*r.exc_info)) if r.exc_info and r.exc_info[1] else "")
        for r in caplog.records
    )
    return "\n".join((records, out.out, out.err))


def _fake(vendor: str, faults: list[Fault]) -> FakeSauc:
    app, access, api = SENTINELS
    return FakeSauc(PHRASE, vendor=vendor, app_key=app, access_key=access, api_key=api, faults=faults)


@pytest.mark.parametrize("vendor", ["volcengine", "zyun"])
@pytest.mark.parametrize(
    "faults",
    [
        [],
        [Fault(drop_after=1)],
        [Fault(refuse_status=401)],
        [Fault(refuse_status=503)] * 2,
        [Fault(error_code=45000001, error_after=1)],
        [Fault(no_final=True)] * 2,
    ],
    ids=["ok", "drop-then-ok", "401", "503-twice", "fatal-error-frame", "no-final-twice"],
)
async def test_no_secret_anywhere(
    vendor: str,
    faults: list[Fault],
    all_logs: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    cfg = recognizer_config({"final_timeout_s": 0.2}, keys=SENTINELS)
    failure = ""
    async with _fake(vendor, faults) as fake:
        recognizer = build_recognizer(vendor, cfg, url_override=fake.url)
        try:
            transcript = await recognizer.transcribe(live(AUDIO))
        except RecognitionFailed as err:
            failure = "".join(traceback.format_exception(err)) + repr(err) + repr(err.__dict__)
        else:
            failure = repr(transcript)
    assert fake.connections >= 1
    _assert_clean(failure, repr(recognizer), repr(cfg), _everything(all_logs, capsys))


async def test_unknown_host_is_clean(
    all_logs: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = recognizer_config({"connect_timeout_s": 0.5, "retries": 0}, keys=SENTINELS)
    recognizer = build_recognizer("volcengine", cfg, url_override="ws://127.0.0.1:9/api/v3/sauc/bigmodel")
    with pytest.raises(RecognitionFailed) as info:
        await recognizer.transcribe(live(AUDIO))
    _assert_clean("".join(traceback.format_exception(info.value)), _everything(all_logs, capsys))


async def test_the_capture_would_catch_a_leak(all_logs: pytest.LogCaptureFixture) -> None:
    """Control: websockets' own client logger, left at DEBUG, does print the headers this test looks for."""
    async with _fake("zyun", []) as fake:
        headers = {"Authorization": f"Bearer {SENTINELS[2]}"}
        async with connect(fake.url, additional_headers=headers, compression=None):
            pass
    assert SENTINELS[2] in "\n".join(r.getMessage() for r in all_logs.records)
