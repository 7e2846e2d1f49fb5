"""Sans-I/O codec for a Wyoming speech-to-text server (rhasspy's Wyoming protocol, ``wyoming`` on PyPI).

Wyoming is not WebSocket: it is one TCP stream of events, each a JSON header line
(``{"type", "data"?, "data_length"?, "payload_length"?, "version"}`` then ``\\n``), followed by
``data_length`` bytes of JSON merged into ``data`` and ``payload_length`` bytes of binary payload. The
codec fits the Codec protocol (codec.py) over that stream: what it queues to send are byte strings to
write, and ``receive`` takes whatever the socket read, in any split, and parses complete events from it.
The TCP driver is recognizer/tcp_stream.py; deadlines, retries and fallback are the shared transport's.

One utterance (the ``asr`` domain of the protocol): ``transcribe`` (language, model name), ``audio-start``,
``audio-chunk`` per packet, ``audio-stop``; the server answers ``transcript`` (streaming servers send
``transcript-start`` / ``transcript-chunk`` / ``transcript-stop`` first) or ``error``.

The event classes and ``write_event`` come from the ``wyoming`` library, so the bytes are exactly what its
own clients write. Its ``event`` module imports asyncio for its stream helpers, which this codec never
calls; reading is done here, incrementally, because the library's readers block on a stream and turn a
malformed header into "no event" instead of an error.
"""

from __future__ import annotations

import io
import json

from wyoming.asr import Transcribe, TranscriptChunk
from wyoming.asr import Transcript as WyomingTranscript
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error as WyomingError
from wyoming.event import Event, write_event

from assistantd.audio.frames import BYTES_PER_SECOND
from assistantd.config.wyoming import WyomingConfig
from assistantd.recognizer.codec import Handshake, Message, ProtocolError
from assistantd.recognizer.events import Error, Final, Partial, RecognizerEvent, Started

RATE, WIDTH, CHANNELS = 16000, 2, 1
"""The daemon's audio: 16 kHz mono s16le, announced in audio-start and every audio-chunk."""

MAX_HEADER = 64 * 1024
"""Longest header line accepted (a transcript header is a few hundred bytes)."""
MAX_BODY = 1 << 20
"""Largest data + payload of one event accepted from a server, in bytes."""


def encode(event: Event) -> bytes:
    """One event as the bytes the ``wyoming`` library writes for it."""
    buffer = io.BytesIO()
    write_event(event, buffer)
    return buffer.getvalue()


class EventReader:
    """Incremental Wyoming event parser: ``feed`` bytes in any split, ``events`` out. Raises ProtocolError."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._header: dict[str, object] | None = None
        self._lengths = (0, 0)

    def feed(self, data: bytes) -> list[Event]:
        self._buffer += data
        events: list[Event] = []
        while True:
            if self._header is None:
                end = self._buffer.find(b"\n")
                if end < 0:
                    if len(self._buffer) > MAX_HEADER:
                        raise ProtocolError(f"an event header longer than {MAX_HEADER} bytes")
                    return events
                self._header, self._lengths = _header(bytes(self._buffer[:end]))
                del self._buffer[: end + 1]
            data_length, payload_length = self._lengths
            if len(self._buffer) < data_length + payload_length:
                return events
            header, self._header = self._header, None
            fields = dict(_object(header.get("data") or {}, "data"))
            if data_length:
                fields.update(_object(_json(bytes(self._buffer[:data_length])), "data"))
            payload = bytes(self._buffer[data_length : data_length + payload_length]) or None
            del self._buffer[: data_length + payload_length]
            events.append(Event(type=str(header["type"]), data=fields, payload=payload))


def _json(raw: bytes) -> object:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise ProtocolError(f"an event that is not JSON ({len(raw)} bytes)") from None


def _object(value: object, what: str) -> dict[str, object]:
    if not isinstance(value, dict):
        raise ProtocolError(f"expected a JSON object as the event's {what}, got {type(value).__name__}")
    return value


def _header(line: bytes) -> tuple[dict[str, object], tuple[int, int]]:
    header = _object(_json(line), "header")
    if not isinstance(header.get("type"), str) or not header["type"]:
        raise ProtocolError("an event header without a type")
    lengths = []
    for key in ("data_length", "payload_length"):
        value = header.get(key) or 0
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise ProtocolError(f"an event header with {key} {value!r}")
        lengths.append(value)
    if sum(lengths) > MAX_BODY:
        raise ProtocolError(f"an event of {sum(lengths)} bytes (more than {MAX_BODY})")
    return header, (lengths[0], lengths[1])


class WyomingCodec:
    """One utterance on one Wyoming connection (see the module docstring)."""

    def __init__(self, cfg: WyomingConfig, url: str) -> None:
        self._cfg = cfg
        self._url = url
        self._reader = EventReader()
        self._outbox: list[Message] = []
        self._events: list[RecognizerEvent] = []
        self._sent = 0
        """Bytes of audio queued so far: the chunks' timestamps (ms) come from it."""
        self._pieces: list[str] = []
        self._done = False

    def handshake(self) -> Handshake:
        return Handshake(self._url)

    def upgrade_response(self, headers: dict[str, str]) -> None:
        # Wyoming acknowledges nothing before the transcript: an open connection is an accepted session.
        self._events.append(Started())

    def start(self) -> None:
        cfg = self._cfg
        self._queue(Transcribe(name=cfg.model, language=cfg.language).event())
        self._queue(AudioStart(rate=RATE, width=WIDTH, channels=CHANNELS, timestamp=0).event())

    def send_audio(self, pcm: bytes) -> None:
        chunk = AudioChunk(rate=RATE, width=WIDTH, channels=CHANNELS, audio=pcm, timestamp=self._ms())
        self._queue(chunk.event())
        self._sent += len(pcm)

    def finish(self) -> None:
        self._queue(AudioStop(timestamp=self._ms()).event())

    def receive(self, message: Message) -> None:
        if isinstance(message, str):
            raise ProtocolError("a text message on a byte stream")
        for event in self._reader.feed(message):
            self._event(event)

    def events_received(self) -> list[RecognizerEvent]:
        events, self._events = self._events, []
        return events

    def messages_to_send(self) -> list[Message]:
        messages, self._outbox = self._outbox, []
        return messages

    @property
    def done(self) -> bool:
        return self._done

    def _event(self, event: Event) -> None:
        try:
            if WyomingTranscript.is_type(event.type):
                text = WyomingTranscript.from_event(event).text
                self._events.append(Final(text=_text(text)))
                self._done = True
            elif TranscriptChunk.is_type(event.type):
                self._pieces.append(_text(TranscriptChunk.from_event(event).text))
                self._events.append(Partial("".join(self._pieces)))
            elif WyomingError.is_type(event.type):
                error = WyomingError.from_event(event)
                # The server looked at this audio and gave up: a new connection would get the same answer.
                self._events.append(Error(error.code or "error", _text(error.text), retryable=False))
                self._done = True
            # Anything else (transcript-start/-stop, events of newer protocol versions) carries nothing
            # this codec needs; the protocol lets a client skip events it does not know.
        except (KeyError, TypeError):
            raise ProtocolError(f"a {event.type} event without its fields") from None

    def _queue(self, event: Event) -> None:
        self._outbox.append(encode(event))

    def _ms(self) -> int:
        return self._sent * 1000 // BYTES_PER_SECOND


def _text(value: object) -> str:
    if not isinstance(value, str):
        raise ProtocolError(f"expected text, got {type(value).__name__}")
    return value


def make_wyoming_codec(cfg: WyomingConfig, *, url_override: str | None = None) -> WyomingCodec:
    """The codec factory named in config/recognizer.py CLOUD_VENDORS (one codec per connection)."""
    return WyomingCodec(cfg, url_override or cfg.url)
