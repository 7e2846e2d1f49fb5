"""The sauc v3 codec, pure: bytes in, events out (protocols.md §1.3-§1.7, §2)."""

from __future__ import annotations

import gzip
import json
import struct

import pytest

from assistantd.config.secret import Secret
from assistantd.config.volcengine import SaucOptions, VolcengineConfig, ZyunConfig
from assistantd.recognizer.codec import ProtocolError
from assistantd.recognizer.events import Error, Final, Partial, Started
from assistantd.recognizer.sauc import SaucCodec, is_retryable, volcengine_codec, zyun_codec
from assistantd.recognizer.sauc_frames import decode_frame, encode_error, gunzip_member


def _volc(**kw: object) -> VolcengineConfig:
    base: dict[str, object] = {"app_key": Secret("${A}", "app-1"), "access_key": Secret("${B}", "tok-2")}
    base.update(kw)
    return VolcengineConfig(**base)  # type: ignore[arg-type]


def _response(seq: int, text: str, *, last: bool = False, definite: bool = False) -> bytes:
    body = {"result": {"text": text, "utterances": [{"text": text, "definite": definite}] if text else []}}
    payload = gzip.compress(json.dumps(body).encode())
    flags = 0b0011 if last else 0b0001
    return bytes((0x11, 0x90 | flags, 0x11, 0)) + struct.pack(">iI", seq, len(payload)) + payload


def test_handshake_headers_volcengine() -> None:
    codec = volcengine_codec(_volc(resource_id="volc.seedasr.sauc.concurrent"), new_id=lambda: "uuid-1")
    hs = codec.handshake()
    assert hs.url == "wss://openspeech.bytedance.com/api/v3/sauc/bigmodel_async"
    assert dict(hs.headers) == {
        "X-Api-App-Key": "app-1",
        "X-Api-Access-Key": "tok-2",
        "X-Api-Resource-Id": "volc.seedasr.sauc.concurrent",
        "X-Api-Connect-Id": "uuid-1",
    }
    assert "tok-2" not in repr(hs) and "app-1" not in repr(hs)


def test_each_handshake_gets_a_fresh_connect_id() -> None:
    codec = volcengine_codec(_volc())
    first, second = (dict(codec.handshake().headers)["X-Api-Connect-Id"] for _ in range(2))
    assert first != second and len(first) == 36


def test_handshake_zyun_is_bearer_only() -> None:
    hs = zyun_codec(ZyunConfig(api_key=Secret("${K}", "key-3"))).handshake()
    assert hs.url == "ws://audio-asr.api.zyuncs.com/sauc"
    assert hs.headers == (("Authorization", "Bearer key-3"),)


def test_client_frames_follow_the_sequence_scheme() -> None:
    """§1.3: config seq 1 (11 11 11 00), audio 2.. (11 21 01 00), last negated with flags 0011."""
    codec = volcengine_codec(_volc())
    codec.start()
    codec.send_audio(b"\x01\x00" * 100)
    codec.send_audio(b"\x02\x00" * 100)
    codec.finish()
    codec.finish()  # idempotent
    frames = codec.messages_to_send()
    assert len(frames) == 4
    assert all(isinstance(f, bytes) for f in frames)
    headers = [bytes(f[:4]).hex() for f in frames if isinstance(f, bytes)]
    assert headers == ["11111100", "11210100", "11210100", "11230100"]
    decoded = [decode_frame(f) for f in frames if isinstance(f, bytes)]
    assert [d.sequence for d in decoded] == [1, 2, 3, -4]
    assert decoded[1].payload == b"\x01\x00" * 100
    assert decoded[3].payload == b"" and decoded[3].last
    assert codec.messages_to_send() == []


def test_config_json_carries_the_users_options() -> None:
    options = SaucOptions(
        enable_itn=False,
        enable_ddc=True,
        result_type="single",
        end_window_size_ms=600,
        force_to_speech_time_ms=1000,
        hotwords=("Home Assistant", "客厅"),
    )
    cfg = _volc(url="wss://x/api/v3/sauc/bigmodel_nostream", language="en-US", options=options)
    codec = volcengine_codec(cfg)
    codec.start()
    (frame,) = codec.messages_to_send()
    assert isinstance(frame, bytes)
    doc = json.loads(decode_frame(frame).payload)
    assert doc["audio"] == {
        "format": "pcm",
        "codec": "raw",
        "rate": 16000,
        "bits": 16,
        "channel": 1,
        "language": "en-US",
    }
    req = doc["request"]
    assert req["model_name"] == "bigmodel"
    assert (req["enable_itn"], req["enable_punc"], req["enable_ddc"]) == (False, True, True)
    assert (req["result_type"], req["end_window_size"], req["force_to_speech_time"]) == ("single", 600, 1000)
    assert isinstance(req["corpus"]["context"], str)  # §1.5: a JSON string
    assert json.loads(req["corpus"]["context"]) == {
        "hotwords": [{"word": "Home Assistant"}, {"word": "客厅"}]
    }


def test_responses_become_started_partials_and_a_final() -> None:
    codec = volcengine_codec(_volc())
    codec.upgrade_response({"x-tt-logid": "2024LOGID"})
    codec.receive(_response(1, ""))
    codec.receive(_response(2, "turn on"))
    codec.receive(_response(3, "turn on"))  # unchanged: no new partial
    codec.receive(_response(4, "turn on the"))
    assert not codec.done
    codec.receive(_response(-5, "turn on the light", last=True, definite=True))
    assert codec.events_received() == [
        Started("2024LOGID"),
        Partial("turn on"),
        Partial("turn on the"),
        Final("turn on the light", ("turn on the light",)),
    ]
    assert codec.done


def test_final_flag_not_sign_ends_the_stream() -> None:
    """§1.3 [?]: the doc shows flags 0011 with a positive sequence on the final; the flag decides."""
    codec = volcengine_codec(_volc())
    codec.receive(_response(3, "hello", last=True))
    assert codec.events_received()[-1] == Final("hello", ())


def test_result_as_list_is_tolerated() -> None:
    payload = json.dumps({"result": [{"text": "hi"}]}).encode()
    frame = bytes((0x11, 0x93, 0x10, 0)) + struct.pack(">iI", 2, len(payload)) + payload
    codec = volcengine_codec(_volc())
    codec.receive(frame)
    assert codec.events_received()[-1] == Final("hi", ())


@pytest.mark.parametrize(
    ("code", "retryable"),
    [
        (45000001, False),
        (45000002, False),
        (45000151, False),
        (45000081, True),
        (55000031, True),
        (55012345, True),
        (20000000, False),
    ],
)
def test_error_frames_map_to_error_events(code: int, retryable: bool) -> None:
    codec = volcengine_codec(_volc())
    codec.receive(encode_error(code, "问题 happened"))
    assert codec.events_received() == [Error(code, "问题 happened", retryable)]
    assert codec.done
    assert is_retryable(code) is retryable


@pytest.mark.parametrize(
    "message",
    [
        "text frame",
        b"",
        b"\x11\x91\x11",
        b"\x21\x91\x11\x00" + bytes(8),  # version 2
        b"\x11\x91\x11\x00\x00\x00\x00\x01\x00\x00\x00\x09garbage!!",  # not gzip
        b"\x11\x91\x10\x00\x00\x00\x00\x01\x00\x00\x00\x02[]",  # JSON, not an object
        b"\x11\x91\x10\x00\x00\x00\x00\x01\x00\x00\x00\x02\xff\xfe",  # not UTF-8
        b"\x11\x91\x10\x00\x00\x00\x00\x01\xff\xff\xff\xff",  # size beyond the frame
        b"\x11\x11\x10\x00\x00\x00\x00\x01\x00\x00\x00\x02{}",  # a client message type
        b"\x11\x91\x10\x00\x00\x00\x00\x01\x00\x00\x00\x02{}extra",
        b'\x11\x91\x10\x00\x00\x00\x00\x01\x00\x00\x00\x0e{"result": 5}',
    ],
)
def test_malformed_server_messages_raise_protocol_error(message: bytes | str) -> None:
    with pytest.raises(ProtocolError):
        volcengine_codec(_volc()).receive(message)


def test_gzip_bomb_is_refused() -> None:
    bomb = gzip.compress(bytes(50_000_000))
    with pytest.raises(ProtocolError, match="beyond"):
        gunzip_member(bomb)


def test_two_gzip_members_are_refused() -> None:
    with pytest.raises(ProtocolError, match="one member"):
        gunzip_member(gzip.compress(b"a") + gzip.compress(b"b"))


def test_codec_is_usable_through_the_protocol_type() -> None:
    from assistantd.recognizer.codec import Codec

    codec: Codec = SaucCodec("ws://h/sauc", lambda: (), {"audio": {}, "request": {}})
    codec.start()
    assert len(codec.messages_to_send()) == 1
