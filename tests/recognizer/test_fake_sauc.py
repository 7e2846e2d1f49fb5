"""The fake server is strict where protocols.md is: it answers violations with §1.7 error frames."""

from __future__ import annotations

import gzip
import json
import struct

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from tests.fakes.sauc import FakeSauc

HEADERS = {
    "X-Api-App-Key": "test-app-key",
    "X-Api-Access-Key": "test-access-key",
    "X-Api-Resource-Id": "volc.bigasr.sauc.duration",
    "X-Api-Connect-Id": "0b8f3c2e-5a1d-4e59-9d33-2f6f0e9a7c11",
}
CONFIG = {
    "audio": {"format": "pcm", "rate": 16000, "bits": 16, "channel": 1},
    "request": {"model_name": "bigmodel"},
}


def _frame(first: int, second: int, third: int, seq: int, payload: bytes) -> bytes:
    body = gzip.compress(payload)
    return bytes((first, second, third, 0)) + struct.pack(">iI", seq, len(body)) + body


def _error_code(frame: bytes | str) -> int:
    assert isinstance(frame, bytes) and frame[:3] == b"\x11\xf0\x10"
    return int(struct.unpack(">I", frame[4:8])[0])


async def _exchange(
    messages: list[bytes | str], *, mode: str = "bigmodel_async", idle_timeout_s: float = 10.0
) -> list[bytes | str]:
    """Send config + messages; return the fake's answers up to its error frame or final response.

    The fake's idle timeout is long (a slow sender on a loaded machine is not silence) except where a
    test is about the silence itself."""
    async with (
        FakeSauc(mode=mode, idle_timeout_s=idle_timeout_s) as fake,
        connect(fake.url, additional_headers=HEADERS) as ws,
    ):
        await ws.send(_frame(0x11, 0x11, 0x11, 1, json.dumps(CONFIG).encode()))
        for m in messages:
            await ws.send(m)
        answers: list[bytes | str] = []
        async for answer in ws:  # until an error frame (the fake closes) or the final (we close, §1.4)
            answers.append(answer)
            if isinstance(answer, bytes) and answer[1] & 0b0010:
                break
        return answers


async def test_go_demo_text_frames_are_refused() -> None:
    answers = await _exchange(["audio as text"])
    assert _error_code(answers[-1]) == 45000001


async def test_a_skipped_sequence_number_is_refused() -> None:
    answers = await _exchange([_frame(0x11, 0x21, 0x01, 3, bytes(320))])
    assert _error_code(answers[-1]) == 45000001


async def test_a_positive_last_sequence_is_refused() -> None:
    answers = await _exchange([_frame(0x11, 0x23, 0x01, 2, bytes(320))])
    assert _error_code(answers[-1]) == 45000001


async def test_silence_between_packets_times_out_with_45000081() -> None:
    answers = await _exchange([_frame(0x11, 0x21, 0x01, 2, bytes(320))], idle_timeout_s=0.3)
    assert _error_code(answers[-1]) == 45000081


async def test_language_outside_nostream_is_refused() -> None:
    cfg = {**CONFIG, "audio": {**CONFIG["audio"], "language": "en-US"}}  # type: ignore[dict-item]
    async with FakeSauc() as fake, connect(fake.url, additional_headers=HEADERS) as ws:
        await ws.send(_frame(0x11, 0x11, 0x11, 1, json.dumps(cfg).encode()))
        assert _error_code(await ws.recv()) == 45000001


async def test_a_well_formed_session_gets_ack_then_final() -> None:
    answers = await _exchange(
        [_frame(0x11, 0x21, 0x01, 2, bytes(3200)), _frame(0x11, 0x23, 0x01, -3, b"")],
        mode="bigmodel_nostream",
    )
    # nostream: the config's ack, then only the final (flags 0011), no partials (§1.1)
    assert [bytes(a[:4]).hex() for a in answers if isinstance(a, bytes)] == ["11911100", "11931100"]


@pytest.mark.parametrize("drop", ["X-Api-Access-Key", "X-Api-Connect-Id"])
async def test_missing_auth_header_is_401(drop: str) -> None:
    headers = {k: v for k, v in HEADERS.items() if k != drop}
    async with FakeSauc() as fake:
        with pytest.raises(InvalidStatus) as info:
            async with connect(fake.url, additional_headers=headers):
                pass
    assert info.value.response.status_code == 401
