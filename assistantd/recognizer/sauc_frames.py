"""The sauc v3 binary frame (protocols.md §1.3), shared by Volcengine and 360 zyun (§2). Pure: bytes only.

Layout: a 4-byte header ``0x11 | type<<4 | flags | serialization<<4 | compression | 0x00``, an optional
int32 sequence (flags bit0), then either ``payload_size uint32 + payload`` or, for a server error,
``code uint32 + size uint32 + message``. Every malformed input ends in :class:`ProtocolError`, never in
IndexError, struct.error or zlib.error: the decoder checks each length before reading it.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from enum import IntEnum

from assistantd.recognizer.codec import ProtocolError

PROTOCOL_VERSION = 0b0001
HEADER_WORDS = 0b0001
"""Header size in 4-byte words; SAUC uses no header extensions (§1.3)."""


class MessageType(IntEnum):
    FULL_CLIENT_REQUEST = 0b0001
    AUDIO_ONLY_REQUEST = 0b0010
    FULL_SERVER_RESPONSE = 0b1001
    SERVER_ACK = 0b1011
    """In some SDKs' constant tables only (§1.3); parsed like a response, never sent by us."""
    SERVER_ERROR = 0b1111


FLAG_SEQUENCE = 0b0001
"""§1.3 flags bit0: an int32 sequence number follows the header."""
FLAG_LAST = 0b0010
"""§1.3 flags bit1: the last packet (client) / the final response (server)."""
FLAG_EVENT = 0b0100
"""§1.3 flags bit2: an int32 event number follows (TTS/dialogue v3; parsed defensively)."""

SERIALIZATION_NONE = 0b0000
SERIALIZATION_JSON = 0b0001
COMPRESSION_NONE = 0b0000
COMPRESSION_GZIP = 0b0001

MAX_PAYLOAD = 1 << 20
"""Largest (de)compressed payload accepted from a peer, in bytes: bounds memory against a gzip bomb."""

_U32 = struct.Struct(">I")
_I32 = struct.Struct(">i")
_GZIP_WBITS = 31  # zlib's "gzip container" window setting


@dataclass(frozen=True, slots=True)
class Frame:
    """One decoded sauc frame. ``payload`` is already decompressed."""

    message_type: int
    flags: int
    serialization: int
    compression: int
    payload: bytes
    sequence: int | None = None
    error_code: int | None = None

    @property
    def last(self) -> bool:
        return bool(self.flags & FLAG_LAST)


def gzip_member(data: bytes, level: int = 1) -> bytes:
    """One independent gzip member (§1.3). Level 1: PCM barely compresses, and the Pi's CPU is dear."""
    comp = zlib.compressobj(level, zlib.DEFLATED, _GZIP_WBITS)
    return comp.compress(data) + comp.flush()


def gunzip_member(data: bytes, limit: int = MAX_PAYLOAD) -> bytes:
    """Inflate exactly one gzip member of at most ``limit`` bytes, or raise ProtocolError."""
    decomp = zlib.decompressobj(_GZIP_WBITS)
    try:
        out = decomp.decompress(data, limit)
    except zlib.error as err:
        raise ProtocolError(f"payload is not valid gzip ({err})") from None
    if decomp.unconsumed_tail:
        raise ProtocolError(f"gzip payload inflates beyond {limit} bytes")
    if not decomp.eof:
        raise ProtocolError("gzip payload is truncated")
    if decomp.unused_data:
        raise ProtocolError("bytes after the gzip member (each payload is one member, §1.3)")
    return out


def encode_frame(
    message_type: int,
    payload: bytes,
    *,
    flags: int = 0,
    sequence: int | None = None,
    serialization: int = SERIALIZATION_NONE,
    compression: int = COMPRESSION_GZIP,
) -> bytes:
    """Build one client/server frame; ``payload`` is compressed here when ``compression`` is gzip."""
    if bool(flags & FLAG_SEQUENCE) != (sequence is not None):
        raise ValueError("flags bit0 and the sequence argument disagree")
    body = gzip_member(payload) if compression == COMPRESSION_GZIP else payload
    header = bytes(
        (
            PROTOCOL_VERSION << 4 | HEADER_WORDS,
            (message_type & 0xF) << 4 | (flags & 0xF),
            (serialization & 0xF) << 4 | (compression & 0xF),
            0,
        )
    )
    seq = _I32.pack(sequence) if sequence is not None else b""
    return header + seq + _U32.pack(len(body)) + body


def encode_error(code: int, message: str) -> bytes:
    """A server error frame (§1.3, §1.7): code, size, UTF-8 message, no sequence, uncompressed."""
    text = message.encode("utf-8")
    header = bytes((0x11, MessageType.SERVER_ERROR << 4, SERIALIZATION_JSON << 4, 0))
    return header + _U32.pack(code) + _U32.pack(len(text)) + text


def decode_frame(data: bytes, limit: int = MAX_PAYLOAD) -> Frame:
    """Parse one frame. Raises only ProtocolError."""
    if len(data) < 4:
        raise ProtocolError(f"frame of {len(data)} bytes is shorter than the 4-byte header")
    version, words = data[0] >> 4, data[0] & 0xF
    if version != PROTOCOL_VERSION:
        raise ProtocolError(f"protocol version {version}, expected 1 (§1.3)")
    if words < 1:
        raise ProtocolError("header size 0 words (§1.3)")
    message_type, flags = data[1] >> 4, data[1] & 0xF
    serialization, compression = data[2] >> 4, data[2] & 0xF
    pos = words * 4  # header extensions, if any, are skipped: SAUC defines none
    if message_type == MessageType.SERVER_ERROR:
        code, pos = _read_u32(data, pos, "error code")
        size, pos = _read_u32(data, pos, "error message size")
        raw = _read_bytes(data, pos, size, "error message")
        message = raw.decode("utf-8", errors="replace")
        return Frame(message_type, flags, serialization, compression, message.encode(), error_code=code)
    if message_type not in _KNOWN_TYPES:
        raise ProtocolError(f"unknown message type {message_type:#06b} (§1.3)")
    if compression not in (COMPRESSION_NONE, COMPRESSION_GZIP):
        raise ProtocolError(f"unknown compression {compression:#06b} (§1.3)")
    sequence = None
    if flags & FLAG_SEQUENCE:
        sequence, pos = _read_i32(data, pos, "sequence")
    if flags & FLAG_EVENT:
        _, pos = _read_i32(data, pos, "event number")
    size, pos = _read_u32(data, pos, "payload size")
    if size > limit:
        raise ProtocolError(f"payload size {size} exceeds {limit} bytes")
    body = _read_bytes(data, pos, size, "payload")
    if pos + size != len(data):
        raise ProtocolError(f"{len(data) - pos - size} bytes after the payload")
    if compression == COMPRESSION_GZIP and body:
        body = gunzip_member(body, limit)
    return Frame(message_type, flags, serialization, compression, body, sequence=sequence)


_KNOWN_TYPES = frozenset(
    (
        MessageType.FULL_CLIENT_REQUEST,
        MessageType.AUDIO_ONLY_REQUEST,
        MessageType.FULL_SERVER_RESPONSE,
        MessageType.SERVER_ACK,
    )
)


def _read_u32(data: bytes, pos: int, what: str) -> tuple[int, int]:
    if len(data) < pos + 4:
        raise ProtocolError(f"frame ends inside the {what}")
    return _U32.unpack_from(data, pos)[0], pos + 4


def _read_i32(data: bytes, pos: int, what: str) -> tuple[int, int]:
    if len(data) < pos + 4:
        raise ProtocolError(f"frame ends inside the {what}")
    return _I32.unpack_from(data, pos)[0], pos + 4


def _read_bytes(data: bytes, pos: int, size: int, what: str) -> bytes:
    if len(data) < pos + size:
        raise ProtocolError(f"{what} claims {size} bytes, {max(0, len(data) - pos)} present")
    return data[pos : pos + size]
