"""The Huawei RASR codec, bytes in and events out (protocols.md §3), no sockets."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from assistantd.config.huawei import HuaweiConfig
from assistantd.config.secret import Secret
from assistantd.recognizer.codec import ProtocolError
from assistantd.recognizer.events import Error, Final, Partial, Started
from assistantd.recognizer.huawei import (
    END_COMMAND,
    MAX_CHUNK_BYTES,
    MAX_HELD_BYTES,
    MIN_CHUNK_BYTES,
    HuaweiCodec,
    is_retryable,
    join_sentences,
    make_huawei_codec,
    session_url,
)
from assistantd.recognizer.huawei_sign import verify_request

NOW = 1_700_000_000.0
TOKEN = "tok-SENTINEL-3141"
SK = "sk-SENTINEL-2718"
CFG = HuaweiConfig(project_id="proj1", token=Secret("${HW_TOKEN}", TOKEN))
AKSK = HuaweiConfig(project_id="proj1", ak=Secret("${HW_AK}", "AK-1"), sk=Secret("${HW_SK}", SK))


def started(cfg: HuaweiConfig = CFG) -> HuaweiCodec:
    codec = HuaweiCodec(cfg, clock=lambda: NOW)
    codec.start()
    codec.messages_to_send()
    codec.receive(json.dumps({"resp_type": "START", "trace_id": "t-1"}))
    assert codec.events_received() == [Started("t-1")]
    return codec


def result(text: str, *, final: bool = True) -> str:
    segment = {"start_time": 0, "end_time": 900, "is_final": final, "result": {"text": text, "score": 0.9}}
    return json.dumps({"resp_type": "RESULT", "trace_id": "t-1", "segments": [segment]})


def test_token_handshake_and_urls() -> None:
    shake = HuaweiCodec(CFG).handshake()
    assert shake.url == "wss://sis-ext.cn-north-4.myhuaweicloud.com/v1/proj1/rasr/short-stream"
    assert shake.headers == (("X-Auth-Token", TOKEN),)
    assert TOKEN not in repr(shake) and TOKEN not in repr(CFG)
    cont = replace(CFG, mode="continue-stream", region="ap-southeast-3")
    assert session_url(cont) == "wss://sis-ext.ap-southeast-3.myhuaweicloud.com/v1/proj1/rasr/continue-stream"
    assert session_url(cont, "ws://127.0.0.1:5000") == "ws://127.0.0.1:5000/v1/proj1/rasr/continue-stream"
    assert session_url(cont, "ws://127.0.0.1:5000/x/y") == "ws://127.0.0.1:5000/x/y"


def test_aksk_handshake_is_signed_with_the_injected_clock() -> None:
    codec = make_huawei_codec(replace(AKSK, enterprise_project_id="ep9"), clock=lambda: NOW)
    shake = codec.handshake()
    headers = dict(shake.headers)
    assert set(headers) == {"X-Sdk-Date", "Authorization", "Enterprise-Project-Id"}
    assert headers["X-Sdk-Date"] == "20231114T221320Z"
    assert "Host" not in headers
    received = {k.lower(): v for k, v in headers.items()} | {"host": "sis-ext.cn-north-4.myhuaweicloud.com"}
    path = "/v1/proj1/rasr/short-stream"
    assert verify_request("GET", path, received, ak="AK-1", sk=SK, now=NOW).ok
    assert SK not in repr(shake) and SK not in repr(codec)


@pytest.mark.parametrize("mode", ["short-stream", "sentence-stream", "continue-stream"])
def test_start_command_fields_and_types(mode: str) -> None:
    cfg = replace(CFG, mode=mode, interim_results=True, vocabulary_id="voc-1", property="english_16k_general")
    codec = HuaweiCodec(cfg)
    codec.start()
    (message,) = codec.messages_to_send()
    assert isinstance(message, str)
    start = json.loads(message)
    assert start["command"] == "START"
    config = start["config"]
    expected = {
        "audio_format": "pcm16k16bit",
        "property": "english_16k_general",
        "add_punc": "no",
        "digit_norm": "yes",
        "interim_results": "yes",
        "vocabulary_id": "voc-1",
    }
    if mode != "short-stream":  # §3.1: short-stream ignores the VAD settings
        expected |= {"vad_head": 10000, "vad_tail": 500, "max_seconds": 30}
    assert config == expected


def test_audio_waits_for_the_start_reply_then_is_framed_within_limits() -> None:
    codec = HuaweiCodec(CFG)
    codec.start()
    codec.messages_to_send()
    speech = bytes(range(256)) * 40  # 10240 bytes = 320 ms
    codec.send_audio(speech[:5000])
    codec.send_audio(speech[5000:])
    assert codec.messages_to_send() == [], "§3.4: no audio before the START reply"
    codec.receive(json.dumps({"resp_type": "START", "trace_id": "t"}))
    frames = codec.messages_to_send()
    assert [len(f) for f in frames] == [3200, 3200, 3200]
    codec.finish()
    rest = codec.messages_to_send()
    assert rest[-1] == END_COMMAND and json.loads(END_COMMAND) == {"command": "END", "cancel": False}
    audio = b"".join(f for f in [*frames, *rest[:-1]] if isinstance(f, bytes))
    assert audio.startswith(speech) and audio[len(speech) :] == bytes(len(audio) - len(speech))
    assert all(MIN_CHUNK_BYTES <= len(f) <= MAX_CHUNK_BYTES for f in [*frames, *rest[:-1]])


def test_finish_before_the_start_reply_sends_end_after_the_audio() -> None:
    codec = HuaweiCodec(replace(CFG, chunk_ms=1000))
    codec.start()
    codec.messages_to_send()
    codec.send_audio(b"\x01\x00" * 100)  # 200 bytes: below the 320-byte minimum
    codec.finish()
    codec.send_audio(b"late")
    assert codec.messages_to_send() == []
    codec.receive(json.dumps({"resp_type": "START", "trace_id": "t"}))
    tail, end = codec.messages_to_send()
    assert tail == b"\x01\x00" * 100 + bytes(120) and end == END_COMMAND


def test_held_audio_is_bounded() -> None:
    codec = HuaweiCodec(CFG)
    codec.start()
    codec.send_audio(bytes(MAX_HELD_BYTES))
    codec.send_audio(b"\x07" * 3200)
    assert codec.dropped_bytes == 3200


def test_interim_and_final_results_make_partial_and_final() -> None:
    codec = started(replace(CFG, interim_results=True))
    codec.receive(result("turn on", final=False))
    codec.receive(result("turn on the light"))
    codec.receive(json.dumps({"resp_type": "EVENT", "trace_id": "t-1", "event": "VOICE_END", "timestamp": 0}))
    codec.finish()
    assert not codec.done
    codec.receive(json.dumps({"resp_type": "END", "trace_id": "t-1", "reason": "NORMAL"}))
    assert codec.events_received() == [Partial("turn on"), Final("turn on the light", ("turn on the light",))]
    assert codec.done


def test_continuous_sentences_are_concatenated() -> None:
    codec = started(replace(CFG, mode="continue-stream"))
    codec.receive(result("打开灯"))
    codec.receive(result("关闭空调"))
    codec.receive(json.dumps({"resp_type": "END", "trace_id": "t-1", "reason": "NORMAL"}))
    assert codec.events_received() == [Final("打开灯关闭空调", ("打开灯", "关闭空调"))]


def test_silence_gives_an_empty_final() -> None:
    codec = started(replace(CFG, mode="sentence-stream"))
    codec.receive(json.dumps({"resp_type": "EVENT", "trace_id": "t-1", "event": "EXCEEDED_SILENCE"}))
    codec.receive(json.dumps({"resp_type": "END", "trace_id": "t-1", "reason": "NORMAL"}))
    assert codec.events_received() == [Final("", ())]


@pytest.mark.parametrize(
    ("resp_type", "code", "retryable"),
    [
        ("ERROR", "SIS.0031", False),
        ("ERROR", "SIS.0201", False),
        ("FATAL_ERROR", "SIS.0304", True),
        ("FATAL_ERROR", "SIS.0101", False),
        ("ERROR", "SIS.0312", True),
        ("ERROR", "SIS.0309", False),
        ("ERROR", "SIS.9999", True),
    ],
)
def test_errors_map_to_retryable_or_fatal(resp_type: str, code: str, retryable: bool) -> None:
    codec = started()
    codec.send_audio(bytes(3200))
    codec.receive(
        json.dumps({"resp_type": resp_type, "trace_id": "t-1", "error_code": code, "error_msg": "m"})
    )
    assert codec.events_received() == [Error(code, "m", retryable)]
    assert codec.done
    codec.receive(json.dumps({"resp_type": "END", "trace_id": "t-1", "reason": "ERROR"}))
    codec.finish()
    assert codec.events_received() == []
    assert all(not isinstance(m, bytes) for m in codec.messages_to_send())


def test_end_with_error_reason_alone_is_an_error() -> None:
    codec = started()
    codec.receive(json.dumps({"resp_type": "END", "trace_id": "t-1", "reason": "ERROR"}))
    (event,) = codec.events_received()
    assert isinstance(event, Error) and event.code == "END.ERROR"


@pytest.mark.parametrize(
    "message",
    [
        b"\x00\x01",
        "not json",
        "[1, 2]",
        '{"trace_id": "x"}',
        '{"resp_type": "WHAT"}',
        '{"resp_type": 5}',
        '{"resp_type": "RESULT", "segments": {}}',
        '{"resp_type": "RESULT", "segments": [{"is_final": "yes", "result": {"text": "a"}}]}',
        '{"resp_type": "RESULT", "segments": [{"is_final": true, "result": {"text": 3}}]}',
        '{"resp_type": "ERROR", "error_code": 101}',
        '{"resp_type": "START", "trace_id": 7}',
        '{"resp_type": "START"}',
        '{"resp_type": "END", "reason": null}',
        "[" * 100000,
    ],
)
def test_malformed_messages_raise_protocol_error_only(message: str | bytes) -> None:
    codec = started()
    with pytest.raises(ProtocolError):
        codec.receive(message)


def test_result_before_start_is_a_protocol_error() -> None:
    codec = HuaweiCodec(CFG)
    codec.start()
    with pytest.raises(ProtocolError, match="RESULT in state starting"):
        codec.receive(result("x"))
    with pytest.raises(ProtocolError, match="never started"):
        codec.receive(json.dumps({"resp_type": "END", "reason": "NORMAL"}))


def test_retryable_table() -> None:
    assert is_retryable("SIS.0033") and not is_retryable("APIG.0301")


def test_join_sentences() -> None:
    assert join_sentences(["Turn on the light.", "Then play music"]) == "Turn on the light. Then play music"
    assert join_sentences(["打开灯", "", " 关闭 "]) == "打开灯关闭"
    assert join_sentences(["打开", "TV"]) == "打开TV"
