"""Property tests: whatever a server sends, receive() raises nothing but ProtocolError (protocols.md §1.3)."""

from __future__ import annotations

import contextlib
import gzip
import json
import struct

from hypothesis import given, settings
from hypothesis import strategies as st

from assistantd.config.secret import Secret
from assistantd.config.volcengine import VolcengineConfig
from assistantd.recognizer.codec import ProtocolError
from assistantd.recognizer.events import Error, Final, Partial, Started
from assistantd.recognizer.sauc import SaucCodec, volcengine_codec

_CFG = VolcengineConfig(app_key=Secret("${A}", "a"), access_key=Secret("${B}", "b"))

_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)
_results = st.fixed_dictionaries(
    {},
    optional={
        "result": st.one_of(
            _json_values,
            st.fixed_dictionaries(
                {},
                optional={
                    "text": st.one_of(st.text(max_size=30), _json_values),
                    "utterances": st.one_of(
                        _json_values,
                        st.lists(
                            st.fixed_dictionaries(
                                {}, optional={"text": _json_values, "definite": _json_values}
                            ),
                            max_size=3,
                        ),
                    ),
                },
            ),
        ),
        "audio_info": _json_values,
    },
)


def _receive_all(codec: SaucCodec, messages: list[bytes | str]) -> None:
    for message in messages:
        with contextlib.suppress(ProtocolError):
            codec.receive(message)
        for event in codec.events_received():
            assert isinstance(event, Started | Partial | Final | Error)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.binary(max_size=64) | st.text(max_size=8), max_size=4))
def test_arbitrary_bytes(messages: list[bytes | str]) -> None:
    _receive_all(volcengine_codec(_CFG), messages)


@settings(max_examples=300, deadline=None)
@given(
    header=st.tuples(st.integers(0, 255), st.integers(0, 255), st.integers(0, 255), st.integers(0, 255)),
    seq=st.integers(-(2**31), 2**31 - 1),
    body=_results,
    gz=st.booleans(),
    size_delta=st.integers(-3, 3),
    tail=st.binary(max_size=4),
)
def test_structured_frames(  # noqa: PLR0917 - hypothesis passes each strategy by name
    header: tuple[int, int, int, int], seq: int, body: object, gz: bool, size_delta: int, tail: bytes
) -> None:
    """Plausible frames with every header nibble, JSON shape and length lie hypothesis can think of."""
    payload = json.dumps(body).encode()
    if gz:
        payload = gzip.compress(payload)
    size = max(0, len(payload) + size_delta)
    frame = bytes(header) + struct.pack(">iI", seq, size) + payload + tail
    _receive_all(volcengine_codec(_CFG), [frame])


@settings(max_examples=300, deadline=None)
@given(
    body=_results,
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 255)), max_size=4),
    cut=st.integers(0, 10_000),
)
def test_mutated_valid_responses(body: object, flips: list[tuple[int, int]], cut: int) -> None:
    """A valid gzip response (§1.3) with bytes flipped and truncated."""
    payload = gzip.compress(json.dumps(body).encode())
    frame = bytearray(bytes((0x11, 0x91, 0x11, 0)) + struct.pack(">iI", 2, len(payload)) + payload)
    for pos, xor in flips:
        frame[pos % len(frame)] ^= xor
    _receive_all(volcengine_codec(_CFG), [bytes(frame[: max(1, cut % (len(frame) + 1))])])
