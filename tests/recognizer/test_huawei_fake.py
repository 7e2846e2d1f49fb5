"""Huawei SIS end to end: the real transport and codec against the fake server on 127.0.0.1 (§3)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from assistantd.config import Config
from assistantd.config.recognizer import RecognizerConfig
from assistantd.recognizer.base import RecognitionFailed, Transcript
from assistantd.recognizer.huawei import make_huawei_codec
from assistantd.recognizer.registry import build_recognizer
from assistantd.recognizer.transport import WebSocketRecognizer
from tests.fakes.huawei import FakeHuaweiSIS, Faults
from tests.recognizer.sauc_support import live, synth_speech

REPO = Path(__file__).resolve().parents[2]
TOKEN = "hw-token-SENTINEL-5a1f"
AK = "hw-ak-SENTINEL-77c2"
SK = "hw-sk-SENTINEL-90be"
PROJECT = "fakeproject"
SILENCE_1S = bytes(32000)


@pytest.fixture(scope="session")
def speech(tmp_path_factory: pytest.TempPathFactory) -> bytes:
    """Real synthesized speech (flite), 16 kHz mono s16le, generated once per session."""
    return synth_speech(tmp_path_factory.mktemp("huawei-speech"))


def config(*, aksk: bool = False, transport: dict[str, Any] | None = None, **huawei: Any) -> RecognizerConfig:
    auth = {"ak": "${HW_AK}", "sk": "${HW_SK}"} if aksk else {"token": "${HW_TOKEN}"}
    data = {
        "default": "huawei",
        "fallback": None,
        "transport": {"retries": 0, "final_timeout_s": 10.0, **(transport or {})},
        "huawei": {"project_id": PROJECT, **auth, **huawei},
    }
    env = {"HW_TOKEN": TOKEN, "HW_AK": AK, "HW_SK": SK}
    return Config.from_dict({"recognizer": data}, env=env).recognizer


async def transcribe(
    fake: FakeHuaweiSIS, pcm: bytes, cfg: RecognizerConfig, pace_s: float = 0.0
) -> Transcript:
    recognizer = build_recognizer("huawei", cfg, url_override=fake.url)
    return await recognizer.transcribe(live(pcm, pace_s=pace_s))


def binary_sizes(fake: FakeHuaweiSIS, index: int = 0) -> list[int]:
    return [r.size for r in fake.sessions[index].received if r.kind == "binary"]


async def test_token_short_stream(speech: bytes) -> None:
    async with FakeHuaweiSIS(token=TOKEN, transcript=["打开厨房的灯"]) as fake:
        result = await transcribe(fake, speech + SILENCE_1S, config())
    assert (result.text, result.recognizer, result.attempts) == ("打开厨房的灯", "huawei", 1)
    (session,) = fake.sessions
    assert result.session_id == session.trace_id
    assert (session.mode, session.auth) == ("short-stream", "token")
    assert session.config == {
        "audio_format": "pcm16k16bit",
        "property": "chinese_16k_general",
        "add_punc": "no",
        "digit_norm": "yes",
        "interim_results": "no",
    }
    assert bytes(session.audio[: len(speech)]) == speech
    sizes = binary_sizes(fake)
    assert all(320 <= n <= 65536 for n in sizes) and sizes[0] == 3200
    assert fake.errors == []


async def test_aksk_signed_upgrade_is_verified_by_the_server(speech: bytes) -> None:
    async with FakeHuaweiSIS(ak=AK, sk=SK, transcript=["turn on the kitchen light"]) as fake:
        result = await transcribe(fake, speech, config(aksk=True, property="english_16k_general"))
    assert result.text == "turn on the kitchen light"
    assert fake.sessions[0].auth == "aksk"


async def test_wrong_sk_is_refused_and_not_retried(speech: bytes) -> None:
    async with FakeHuaweiSIS(ak=AK, sk="another-secret") as fake:
        with pytest.raises(RecognitionFailed) as info:
            await transcribe(fake, speech, config(aksk=True, transport={"retries": 2}))
    assert info.value.fatal and "HTTP 401" in info.value.reason
    assert fake.upgrades == [(401, "APIG.0301")]


async def test_a_stale_clock_makes_an_expired_signature(speech: bytes) -> None:
    cfg = config(aksk=True)
    assert cfg.huawei is not None
    vendor = cfg.huawei
    async with FakeHuaweiSIS(ak=AK, sk=SK) as fake:
        stale = WebSocketRecognizer(
            "huawei",
            lambda: make_huawei_codec(vendor, url_override=fake.url, clock=lambda: time.time() - 3600),
            cfg.transport,
        )
        with pytest.raises(RecognitionFailed, match="HTTP 401"):
            await stale.transcribe(live(speech))
    assert fake.upgrades == [(401, "APIG.0301")]


@pytest.mark.parametrize(
    ("fake_kwargs", "expected"),
    [
        ({"token": "other-token"}, (401, "SIS.0101")),
        ({"token": TOKEN, "project_id": "otherproject"}, (404, "APIG.0101")),
        ({"token": TOKEN, "faults": Faults(refuse_upgrade=403)}, (403, "SIS.0101")),
    ],
)
async def test_refused_upgrades_are_fatal(
    speech: bytes, fake_kwargs: dict[str, Any], expected: tuple
) -> None:
    async with FakeHuaweiSIS(**fake_kwargs) as fake:
        with pytest.raises(RecognitionFailed) as info:
            await transcribe(fake, speech, config(transport={"retries": 1}))
    assert info.value.fatal
    assert fake.upgrades == [expected]


async def test_continuous_mode_concatenates_sentences(speech: bytes) -> None:
    async with FakeHuaweiSIS(token=TOKEN, transcript=["打开灯", "关闭空调"]) as fake:
        result = await transcribe(fake, speech, config(mode="continue-stream"))
    assert (result.text, result.utterances) == ("打开灯关闭空调", ("打开灯", "关闭空调"))
    assert fake.sessions[0].config["vad_tail"] == 500


async def test_sentence_mode_vad_events_and_partials(speech: bytes) -> None:
    partials: list[str] = []
    cfg = config(mode="sentence-stream", interim_results=True, property="english_16k_general")
    async with FakeHuaweiSIS(token=TOKEN, transcript=["turn on the kitchen light"]) as fake:
        recognizer = build_recognizer("huawei", cfg, url_override=fake.url)
        assert isinstance(recognizer, WebSocketRecognizer)
        recognizer._on_partial = partials.append  # the pipeline's hook; set here to observe it
        result = await recognizer.transcribe(live(SILENCE_1S + speech + SILENCE_1S))
    assert result.text == "turn on the kitchen light"
    assert fake.sessions[0].events == ["VOICE_START", "VOICE_END"]
    assert partials and all("turn on the kitchen light".startswith(p) for p in partials)


async def test_silence_only_gives_an_empty_transcript() -> None:
    async with FakeHuaweiSIS(token=TOKEN) as fake:
        result = await transcribe(fake, SILENCE_1S * 2, config(mode="sentence-stream", vad_head_ms=1000))
    assert result.text == ""
    assert fake.sessions[0].events == ["EXCEEDED_SILENCE"]


@pytest.mark.parametrize(
    "faults",
    [
        Faults(error_code="SIS.0312", connections=1),
        Faults(error_code="SIS.0303", error_after_chunks=3, connections=1),
        Faults(error_code="SIS.0304", error_fatal=True, error_after_chunks=2, connections=1),
        Faults(drop_after_chunks=2, connections=1),
        Faults(refuse_upgrade=503, connections=1),
    ],
    ids=["concurrency-at-start", "engine-error-mid-stream", "fatal-idle", "dropped", "http-503"],
)
async def test_retryable_faults_recover_on_a_fresh_connection(speech: bytes, faults: Faults) -> None:
    async with FakeHuaweiSIS(token=TOKEN, transcript=["打开灯"], faults=faults) as fake:
        result = await transcribe(fake, speech, config(transport={"retries": 1}))
    assert (result.text, result.attempts) == ("打开灯", 2)
    assert len(fake.upgrades) == 2
    retried = fake.sessions[-1]
    assert bytes(retried.audio[: len(speech)]) == speech, "the retry re-sends the whole utterance"


@pytest.mark.parametrize(
    ("huawei", "fake_kwargs", "code"),
    [
        ({"vocabulary_id": "nope"}, {}, "SIS.0201"),
        ({}, {"faults": Faults(error_code="SIS.0309", error_after_chunks=1)}, "SIS.0309"),
    ],
)
async def test_fatal_errors_are_not_retried(
    speech: bytes, huawei: dict[str, Any], fake_kwargs: dict[str, Any], code: str
) -> None:
    async with FakeHuaweiSIS(token=TOKEN, **fake_kwargs) as fake:
        with pytest.raises(RecognitionFailed, match=code):
            await transcribe(fake, speech, config(transport={"retries": 2}, **huawei))
    assert len(fake.upgrades) == 1 and fake.errors == [code]


async def test_no_final_hits_the_deadline(speech: bytes) -> None:
    async with FakeHuaweiSIS(token=TOKEN, faults=Faults(no_final=True)) as fake:
        with pytest.raises(RecognitionFailed, match=r"no final result within 0\.3 s"):
            await transcribe(fake, speech, config(transport={"final_timeout_s": 0.3}))


async def test_idle_connection_gets_sis_0304(speech: bytes) -> None:
    async def stalled() -> AsyncIterator[bytes]:
        yield speech[:6400]
        await asyncio.sleep(0.6)
        yield speech[6400:12800]

    async with FakeHuaweiSIS(token=TOKEN, idle_timeout_s=0.2) as fake:
        recognizer = build_recognizer("huawei", config(), url_override=fake.url)
        with pytest.raises(RecognitionFailed, match=r"SIS\.0304"):
            await recognizer.transcribe(stalled())
    assert fake.errors == ["SIS.0304"]


async def test_slow_start_reply_holds_audio_until_start(speech: bytes) -> None:
    async with FakeHuaweiSIS(token=TOKEN, faults=Faults(start_delay_s=0.3)) as fake:
        result = await transcribe(fake, speech, config())
    assert result.text == "打开灯"
    assert fake.errors == [], "no audio reached the server before the START reply (§3.4)"


# -- the fake's own strictness, driven by a bare websockets client -------------------------------------
async def raw_exchange(
    fake: FakeHuaweiSIS, messages: list[str | bytes], replies: int
) -> list[dict[str, Any]]:
    url = f"{fake.url}/v1/{PROJECT}/rasr/short-stream"
    out = []
    async with connect(url, additional_headers=[("X-Auth-Token", TOKEN)]) as ws:
        for message in messages:
            await ws.send(message)
        for _ in range(replies):
            reply = await asyncio.wait_for(ws.recv(), 30)  # bounds a hang only
            assert isinstance(reply, str)
            out.append(json.loads(reply))
    return out


START = json.dumps(
    {"command": "START", "config": {"audio_format": "pcm16k16bit", "property": "chinese_16k_general"}}
)


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ([b"\x00" * 3200], [("ERROR", "SIS.0031")]),
        (['{"command": "START", "config": {"audio_format": "pcm16k16bit"}}'], [("ERROR", "SIS.0012")]),
        (
            [
                '{"command":"START","config":{"audio_format":"pcm16k16bit","property":"chinese_16k_general",'
                '"add_punc":true}}'
            ],
            [("ERROR", "SIS.0031")],
        ),
        (
            ['{"command":"START","config":{"audio_format":"pcm16k16bit","property":"chinese_8k_general"}}'],
            [("ERROR", "SIS.0031")],
        ),
        (['{"command":"START","config":{"audio_format":"mp3","property":"x"}}'], [("ERROR", "SIS.0032")]),
        (["{not json"], [("ERROR", "SIS.0032")]),
        ([START, b"\x00" * 100], [("START", None), ("ERROR", "SIS.0031"), ("END", None)]),
        ([START, b"\x00" * 70000], [("START", None), ("ERROR", "SIS.0031"), ("END", None)]),
        ([START, START], [("START", None), ("ERROR", "SIS.0031")]),
        ([START, '{"command":"END","cancel":"false"}'], [("START", None), ("END", None)]),
        (
            [START, '{"command":"END","cancel":"maybe"}'],
            [("START", None), ("ERROR", "SIS.0031"), ("END", None)],
        ),
    ],
)
async def test_fake_enforces_the_protocol(messages: list[str | bytes], expected: list[tuple]) -> None:
    async with FakeHuaweiSIS(token=TOKEN) as fake:
        replies = await raw_exchange(fake, messages, len(expected))
    assert [(r["resp_type"], r.get("error_code")) for r in replies] == expected


async def test_fake_answers_cancel_and_allows_a_new_start() -> None:
    async with FakeHuaweiSIS(token=TOKEN) as fake:
        replies = await raw_exchange(fake, [START, '{"command":"END","cancel":true}', START], 3)
    assert [(r["resp_type"], r.get("reason")) for r in replies] == [
        ("START", None),
        ("END", "CANCEL"),
        ("START", None),
    ]


def test_fake_runs_standalone(speech: bytes) -> None:
    env = dict(os.environ, HUAWEI_FAKE_TOKEN=TOKEN)
    command = [sys.executable, "-m", "tests.fakes.huawei", "--port", "0", "--transcript", "打开灯"]
    with subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, text=True) as proc:
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            assert line.startswith("fake Huawei SIS on ws://127.0.0.1:")
            base = line.split()[4].split("/v1/")[0]
            recognizer = build_recognizer("huawei", config(), url_override=base)
            result = asyncio.run(recognizer.transcribe(live(speech)))
            assert result.text == "打开灯"
        finally:
            proc.terminate()
            proc.wait(5)


async def test_secrets_never_reach_logs_or_errors(
    speech: bytes, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    failures: list[str] = []
    async with FakeHuaweiSIS(
        ak=AK, sk=SK, token=TOKEN, faults=Faults(drop_after_chunks=1, connections=1)
    ) as fake:
        for cfg in (config(aksk=True, transport={"retries": 1}), config(transport={"retries": 1})):
            result = await transcribe(fake, speech, cfg)
            failures.append(repr(result))
            failures.append(repr(cfg))
        for bad in (config(aksk=True), config()):
            fake._token, fake._sk = "x", "y"
            with pytest.raises(RecognitionFailed) as info:
                await transcribe(fake, speech, bad)
            failures += [str(info.value), repr(info.value)]
    out = capsys.readouterr()
    seen = caplog.text + out.out + out.err + "".join(failures)
    assert "huawei" in caplog.text  # the capture did record the transport's lines
    for secret in (TOKEN, AK, SK):
        assert secret not in seen


async def test_a_second_host_header_is_refused() -> None:
    """§3.2: the gateway answers 401 when Host is sent twice (a signer that adds its own copy)."""
    async with FakeHuaweiSIS(token=TOKEN) as fake:
        url = f"{fake.url}/v1/{PROJECT}/rasr/short-stream"
        host = fake.url.removeprefix("ws://")
        with pytest.raises(InvalidStatus) as info:
            await connect(url, additional_headers=[("Host", host), ("X-Auth-Token", TOKEN)])
    assert info.value.response.status_code == 401
    assert fake.upgrades == [(401, "APIG.0301")]
