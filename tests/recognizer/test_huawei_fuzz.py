"""Property tests: whatever a server sends, HuaweiCodec.receive raises nothing but ProtocolError (§3.6)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from assistantd.config.huawei import HuaweiConfig
from assistantd.config.secret import Secret
from assistantd.recognizer.codec import ProtocolError
from assistantd.recognizer.events import Error, Final, Partial, Started
from assistantd.recognizer.huawei import HuaweiCodec

CFG = HuaweiConfig(project_id="p", token=Secret("${T}", "t"), interim_results=True)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)

SEGMENT = {"start_time": 0, "end_time": 10, "is_final": True, "result": {"text": "开灯", "score": 0.5}}
TEMPLATES: list[dict[str, Any]] = [
    {"resp_type": "START", "trace_id": "a"},
    {"resp_type": "RESULT", "trace_id": "a", "segments": [SEGMENT, SEGMENT | {"is_final": False}]},
    {"resp_type": "EVENT", "trace_id": "a", "event": "VOICE_START", "timestamp": 1},
    {"resp_type": "ERROR", "trace_id": "a", "error_code": "SIS.0031", "error_msg": "bad"},
    {"resp_type": "FATAL_ERROR", "trace_id": "a", "error_code": "SIS.0304", "error_msg": "idle"},
    {"resp_type": "END", "trace_id": "a", "reason": "NORMAL"},
]
FIELDS = [
    "resp_type",
    "trace_id",
    "segments",
    "event",
    "error_code",
    "error_msg",
    "reason",
    "is_final",
    "result",
]


@st.composite
def mutated(draw: st.DrawFn) -> str:
    """A valid §3.6 response with a field replaced, removed or added, sometimes inside a segment."""
    message = json.loads(json.dumps(draw(st.sampled_from(TEMPLATES))))
    target = message
    if "segments" in message and draw(st.booleans()):
        target = message["segments"][0]
        if draw(st.booleans()):
            target = target["result"]
    key = draw(st.sampled_from([*target.keys(), *FIELDS, "text"]))
    if draw(st.booleans()):
        target.pop(key, None)
    else:
        target[key] = draw(json_values)
    return json.dumps(message)


messages = (
    mutated()
    | st.text(max_size=200)
    | st.binary(max_size=200)
    | json_values.map(json.dumps)
    | st.sampled_from([json.dumps(t) for t in TEMPLATES])
)


@settings(max_examples=400, deadline=None)
@given(st.lists(messages, min_size=1, max_size=8), st.integers(min_value=0, max_value=3))
def test_only_protocol_error_escapes(batch: list[str | bytes], prelude: int) -> None:
    codec = HuaweiCodec(CFG)
    codec.start()
    if prelude >= 1:
        codec.receive(json.dumps(TEMPLATES[0]))
    if prelude >= 2:
        codec.send_audio(bytes(4000))
    if prelude >= 3:
        codec.finish()
    for message in batch:
        try:
            codec.receive(message)
        except ProtocolError as err:
            assert str(err)
        for event in codec.events_received():
            assert isinstance(event, Started | Partial | Final | Error)
        for out in codec.messages_to_send():
            assert isinstance(out, str | bytes)
    codec.finish()
    for out in codec.messages_to_send():
        assert isinstance(out, str) or 320 <= len(out) <= 65536
