"""The Wyoming codec, pure: calls and bytes in, the library's framing and vendor-neutral events out.

What the codec writes is read back with the ``wyoming`` library's own reader, so a change that the
library would not understand fails here.
"""

from __future__ import annotations

import io
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st
from wyoming.asr import Transcript, TranscriptChunk, TranscriptStart, TranscriptStop
from wyoming.error import Error as WyomingError
from wyoming.event import Event, read_event
from wyoming.info import Describe

from assistantd.config.wyoming import WyomingConfig
from assistantd.recognizer.codec import ProtocolError
from assistantd.recognizer.events import Error, Final, Partial, Started
from assistantd.recognizer.wyoming import MAX_BODY, MAX_HEADER, EventReader, encode, make_wyoming_codec

URL = "tcp://127.0.0.1:10300"


def written(messages: list[bytes | str]) -> list[Event]:
    """The library's reading of the bytes the codec queued."""
    stream = io.BytesIO(b"".join(m for m in messages if isinstance(m, bytes)))
    events = []
    while (event := read_event(stream)) is not None:
        events.append(event)
    assert stream.read() == b""
    return events


def test_an_utterance_goes_out_as_transcribe_audio_start_chunks_stop() -> None:
    codec = make_wyoming_codec(WyomingConfig(url=URL, language="de", model="small"))
    assert codec.handshake().url == URL
    codec.upgrade_response({})
    assert codec.events_received() == [Started()]
    codec.start()
    pcm = [bytes(range(256)) * 25, b"\x01\x02" * 1600]
    for packet in pcm:
        codec.send_audio(packet)
    codec.finish()
    events = written(codec.messages_to_send())
    kinds = ["transcribe", "audio-start", "audio-chunk", "audio-chunk", "audio-stop"]
    assert [e.type for e in events] == kinds
    assert events[0].data == {"language": "de", "name": "small"}
    assert events[1].data == {"rate": 16000, "width": 2, "channels": 1, "timestamp": 0}
    assert [e.payload for e in events[2:4]] == pcm
    # Timestamps are the audio's own clock (ms from the start of the utterance).
    assert [e.data["timestamp"] for e in events[2:]] == [0, 200, 300]
    assert codec.messages_to_send() == []


def test_a_null_language_and_model_send_an_empty_transcribe() -> None:
    codec = make_wyoming_codec(WyomingConfig(url=URL, language=None), url_override="tcp://10.0.0.1:1")
    assert codec.handshake().url == "tcp://10.0.0.1:1"
    codec.start()
    assert written(codec.messages_to_send())[0] == Event("transcribe", {})


def test_transcript_split_anywhere_is_one_final() -> None:
    reply = encode(Transcript(text="turn on the kitchen light", language="en").event())
    for cut in range(1, len(reply)):
        codec = make_wyoming_codec(WyomingConfig(url=URL))
        codec.receive(reply[:cut])
        assert codec.events_received() == [] and not codec.done
        codec.receive(reply[cut:])
        assert codec.events_received() == [Final("turn on the kitchen light")]
        assert codec.done


def test_streaming_transcript_gives_partials_then_the_final() -> None:
    codec = make_wyoming_codec(WyomingConfig(url=URL))
    stream = b"".join(
        encode(e.event())
        for e in (
            TranscriptStart(language="en"),
            TranscriptChunk("what "),
            TranscriptChunk("time"),
            TranscriptStop(),
            Describe(),  # an event a transcribing client does not use: skipped
            Transcript("what time"),
        )
    )
    codec.receive(stream)
    assert codec.events_received() == [Partial("what "), Partial("what time"), Final("what time")]


def test_a_server_error_is_final_and_not_retried() -> None:
    codec = make_wyoming_codec(WyomingConfig(url=URL))
    codec.receive(encode(WyomingError(text="model failed", code="oom").event()))
    assert codec.events_received() == [Error("oom", "model failed", retryable=False)]
    assert codec.done


@pytest.mark.parametrize(
    ("data", "why"),
    [
        (b"not json\n", "not JSON"),
        (b"[1, 2]\n", "JSON object"),
        (b'{"data": {}}\n', "without a type"),
        (b'{"type": "transcript", "data_length": -1}\n', "data_length -1"),
        (b'{"type": "transcript", "payload_length": "9"}\n', "payload_length '9'"),
        (b'{"type": "transcript", "data_length": 4}\nnope', "not JSON"),
        (b'{"type": "transcript", "data": {}}\n', "without its fields"),
        (b'{"type": "transcript", "data": {"text": 5}}\n', "expected text"),
        (json.dumps({"type": "x", "payload_length": MAX_BODY + 1}).encode() + b"\n", "more than"),
        (b"{" + b" " * MAX_HEADER + b"x", "longer than"),
    ],
)
def test_malformed_input_is_a_protocol_error(data: bytes, why: str) -> None:
    codec = make_wyoming_codec(WyomingConfig(url=URL))
    with pytest.raises(ProtocolError, match=why):
        codec.receive(data)


def test_text_messages_are_refused() -> None:
    with pytest.raises(ProtocolError, match="text message"):
        make_wyoming_codec(WyomingConfig(url=URL)).receive("{}")


@given(
    st.lists(
        st.tuples(st.text(min_size=1, max_size=8), st.dictionaries(st.text(max_size=5), st.integers())),
        max_size=5,
    ),
    st.lists(st.binary(max_size=40), max_size=5),
    st.integers(min_value=1, max_value=64),
)
def test_the_reader_reads_whatever_the_library_writes(
    heads: list[tuple[str, dict[str, int]]], payloads: list[bytes], step: int
) -> None:
    events = [
        Event(kind, data, payloads[i] if i < len(payloads) and payloads[i] else None)
        for i, (kind, data) in enumerate(heads)
    ]
    stream = b"".join(encode(e) for e in events)
    reader = EventReader()
    got = []
    for start in range(0, len(stream), step):
        got += reader.feed(stream[start : start + step])
    assert got == events
