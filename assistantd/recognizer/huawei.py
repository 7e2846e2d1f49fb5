"""Huawei Cloud SIS real-time ASR (RASR) codec, sans-I/O (protocols.md §3; STYLE.md habit 1).

One session per connection, in this order (protocols.md §5):

    start()            -> START text frame (§3.3)                         state STARTING
    server START       -> Started(trace_id); queued audio is released     state STREAMING
    send_audio(pcm)    -> binary frames of ``chunk_ms`` (§3.4)
    finish()           -> rest of the audio, END text frame (§3.5)        state ENDING
    server RESULT      -> Partial (interim) / collected (is_final)        (§3.6)
    server END         -> Final(concatenated is_final texts)              state DONE
    server ERROR / FATAL_ERROR, or END(reason ERROR) -> Error             state DONE

Audio may be given before the START reply (the transport does not wait for it), but §3.4 allows audio only
after that reply, so the codec holds it (bounded) until then. Frames are cut to exactly ``chunk_ms`` and
the last one is padded with silence up to §3.4's minimum, so every frame is within 320-65536 bytes.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from enum import Enum
from typing import Any, ClassVar

from assistantd.config.huawei import HuaweiConfig
from assistantd.recognizer.codec import Handshake, Message, ProtocolError
from assistantd.recognizer.events import Error, Final, Partial, RecognizerEvent, Started
from assistantd.recognizer.huawei_sign import sign_upgrade

log = logging.getLogger(__name__)

BYTES_PER_MS = 32
"""16 kHz mono s16le."""
MIN_CHUNK_BYTES = 320
MAX_CHUNK_BYTES = 65536
"""§3.4: allowed binary frame sizes at 16 kHz."""
MAX_HELD_BYTES = 60 * 1000 * BYTES_PER_MS
"""Audio held while waiting for the START reply: the 60 s a short/sentence session may take (§3.1)."""

# §3.7: codes after which a fresh connection with the same audio may succeed. Everything about
# credentials, the request itself or the audio's length is fatal: retrying cannot change the answer.
RETRYABLE_CODES = frozenset(
    {
        "SIS.0001",  # connection (OBS/redis) error
        "SIS.0003",  # internal
        "SIS.0100",  # internal
        "SIS.0033",  # engine response timeout
        "SIS.0302",  # internal
        "SIS.0303",  # engine connection failed
        "SIS.0304",  # no audio for > 20 s: this connection idled, a new one will not
        "SIS.0305",  # recognition exception
        "SIS.0306",
        "SIS.0307",
        "SIS.0312",  # concurrency limit: a later attempt may get a slot
        "APIG.0201",  # gateway timeout
    }
)
FATAL_CODES = frozenset(
    {
        "SIS.0101",  # token invalid
        "SIS.0102",  # auth info missing
        "SIS.0103",  # real-name verification missing
        "SIS.0012",  # required field missing
        "SIS.0031",  # unsupported parameter
        "SIS.0032",  # invalid JSON / invalid audio_format
        "SIS.0201",  # vocabulary not found
        "SIS.0309",  # audio longer than the mode allows
        "APIG.0101",  # API path does not exist
        "APIG.0301",  # token decryption / signature verification failed
    }
)


def is_retryable(code: str) -> bool:
    """Unknown codes count as retryable: the transport retries a bounded number of times anyway."""
    return code not in FATAL_CODES


class _State(Enum):
    IDLE = "idle"
    STARTING = "starting"
    STREAMING = "streaming"
    ENDING = "ending"
    DONE = "done"


def _yes_no(value: bool) -> str:
    # §3.3: these options are the strings "yes"/"no", not JSON booleans.
    return "yes" if value else "no"


def start_command(cfg: HuaweiConfig) -> dict[str, Any]:
    """The START command for ``cfg`` (§3.3). vad_*/max_seconds only where the mode uses them (§3.1)."""
    config: dict[str, Any] = {
        "audio_format": cfg.audio_format,
        "property": cfg.property,
        "add_punc": _yes_no(cfg.add_punc),
        "digit_norm": _yes_no(cfg.digit_norm),
        "interim_results": _yes_no(cfg.interim_results),
    }
    if cfg.mode != "short-stream":
        config["vad_head"] = cfg.vad_head_ms
        config["vad_tail"] = cfg.vad_tail_ms
        config["max_seconds"] = cfg.max_seconds
    if cfg.vocabulary_id is not None:
        config["vocabulary_id"] = cfg.vocabulary_id
    return {"command": "START", "config": config}


END_COMMAND = json.dumps({"command": "END", "cancel": False})
"""§3.5: cancel false finishes decoding everything sent. The doc types ``cancel`` as a Boolean."""


def session_url(cfg: HuaweiConfig, url_override: str | None = None) -> str:
    """``{base}/v1/{project_id}/rasr/{mode}`` (§3.1). An override with a path is used as it is."""
    path = f"/v1/{cfg.project_id}/rasr/{cfg.mode}"
    if url_override is None:
        return cfg.base_url() + path
    rest = url_override.partition("://")[2]
    if rest.partition("/")[2]:
        return url_override
    return url_override.rstrip("/") + path


class HuaweiCodec:
    """Sans-I/O client of one RASR session; implements assistantd.recognizer.codec.Codec."""

    def __init__(
        self,
        cfg: HuaweiConfig,
        *,
        url_override: str | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._cfg = cfg
        self._url = session_url(cfg, url_override)
        self._clock = clock
        self._chunk_bytes = cfg.chunk_ms * BYTES_PER_MS
        self._state = _State.IDLE
        self._outbox: list[Message] = []
        self._events: list[RecognizerEvent] = []
        self._pcm = bytearray()
        """Audio not yet framed: less than one chunk while streaming, everything before the START reply."""
        self._finish_requested = False
        self._finals: list[str] = []
        self._trace_id = ""
        self.dropped_bytes = 0
        """Audio discarded because the START reply took longer than MAX_HELD_BYTES of speech."""

    def __repr__(self) -> str:
        return f"HuaweiCodec(url={self._url!r}, state={self._state.value})"

    # -- Codec protocol: outgoing ---------------------------------------------------------------------
    def handshake(self) -> Handshake:
        """URL and auth headers (§3.2), signed now with the injected clock when AK/SK are used."""
        extra: list[tuple[str, str]] = []
        if self._cfg.enterprise_project_id is not None:
            extra.append(("Enterprise-Project-Id", self._cfg.enterprise_project_id))
        if self._cfg.token is not None:
            return Handshake(self._url, (("X-Auth-Token", self._cfg.token.reveal()), *extra))
        if self._cfg.ak is None or self._cfg.sk is None:  # HuaweiConfig.from_node refuses this
            raise ValueError("HuaweiConfig needs a token or both ak and sk")
        signed = sign_upgrade(
            self._url, extra, ak=self._cfg.ak.reveal(), sk=self._cfg.sk.reveal(), clock=self._clock
        )
        return Handshake(self._url, (*signed, *extra))

    def upgrade_response(self, headers: dict[str, str]) -> None:
        """Nothing to take from the 101 answer: the session id (trace_id) comes in the START reply."""

    def start(self) -> None:
        if self._state is not _State.IDLE:
            return
        self._outbox.append(json.dumps(start_command(self._cfg), separators=(",", ":")))
        self._state = _State.STARTING

    def send_audio(self, pcm: bytes) -> None:
        if self._state in (_State.ENDING, _State.DONE) or self._finish_requested:
            return
        self._pcm += pcm
        if self._state is _State.STREAMING:
            self._frame_audio(final=False)
        elif len(self._pcm) > MAX_HELD_BYTES:
            excess = len(self._pcm) - MAX_HELD_BYTES
            excess += excess % 2  # keep whole samples
            del self._pcm[:excess]
            if not self.dropped_bytes:
                log.warning("huawei: no START reply yet; dropping the oldest audio beyond 60 s")
            self.dropped_bytes += excess

    def finish(self) -> None:
        if self._finish_requested or self._state is _State.DONE:
            return
        self._finish_requested = True
        if self._state is _State.STREAMING:
            self._send_end()

    def messages_to_send(self) -> list[Message]:
        out, self._outbox = self._outbox, []
        return out

    def events_received(self) -> list[RecognizerEvent]:
        out, self._events = self._events, []
        return out

    @property
    def done(self) -> bool:
        return self._state is _State.DONE

    @property
    def trace_id(self) -> str:
        return self._trace_id

    def _frame_audio(self, *, final: bool) -> None:
        size = self._chunk_bytes
        whole = len(self._pcm) - len(self._pcm) % size
        for offset in range(0, whole, size):
            self._outbox.append(bytes(self._pcm[offset : offset + size]))
        del self._pcm[:whole]
        if final and self._pcm:
            # §3.4 refuses frames under 320 bytes; 10 ms of trailing silence changes no transcript.
            tail = bytes(self._pcm)
            tail += bytes(max(MIN_CHUNK_BYTES - len(tail), len(tail) % 2))
            self._outbox.append(tail)
            self._pcm.clear()

    def _send_end(self) -> None:
        self._frame_audio(final=True)
        self._outbox.append(END_COMMAND)
        self._state = _State.ENDING

    # -- Codec protocol: incoming ---------------------------------------------------------------------
    def receive(self, message: Message) -> None:
        """Parse one server message (§3.6). Raises only ProtocolError."""
        if not isinstance(message, str):
            raise ProtocolError("Huawei SIS sent a binary frame; §3.6 responses are text JSON")
        try:
            data = json.loads(message)
        except (ValueError, RecursionError):
            raise ProtocolError("Huawei SIS sent a text frame that is not JSON") from None
        if not isinstance(data, dict):
            raise ProtocolError("Huawei SIS response is not a JSON object")
        kind = data.get("resp_type")
        handler = self._HANDLERS.get(kind) if isinstance(kind, str) else None
        if handler is None:
            raise ProtocolError(f"Huawei SIS response has an unknown resp_type {_short(kind)}")
        trace = data.get("trace_id", "")
        if not isinstance(trace, str):
            raise ProtocolError("Huawei SIS trace_id is not a string")
        if trace and not self._trace_id:
            self._trace_id = trace
        if self._state is _State.DONE:
            # An END after an ERROR (§3.6), or anything after the session is over, changes nothing.
            return
        handler(self, data)

    def _on_start(self, data: dict[str, Any]) -> None:
        if self._state is not _State.STARTING:
            raise ProtocolError(f"Huawei SIS sent a START reply in state {self._state.value}")
        self._events.append(Started(self._trace_id))
        self._state = _State.STREAMING
        self._frame_audio(final=False)
        if self._finish_requested:
            self._send_end()

    def _on_result(self, data: dict[str, Any]) -> None:
        if self._state not in (_State.STREAMING, _State.ENDING):
            raise ProtocolError(f"Huawei SIS sent a RESULT in state {self._state.value}")
        segments = data.get("segments")
        if not isinstance(segments, list):
            raise ProtocolError("Huawei SIS RESULT has no segments list")
        interim: list[str] = []
        for segment in segments:
            is_final, text = _segment(segment)
            if is_final:
                self._finals.append(text)
            else:
                interim.append(text)
        if interim:
            self._events.append(Partial(join_sentences([*self._finals, *interim])))

    def _on_event(self, data: dict[str, Any]) -> None:
        event = data.get("event")
        if not isinstance(event, str):
            raise ProtocolError("Huawei SIS EVENT has no event name")
        # VOICE_START / VOICE_END / EXCEEDED_SILENCE (§3.6) need no action: the END that follows carries
        # the outcome, and an empty Final is the right answer to silence. Unknown names are logged only.
        log.debug("huawei event %s (trace %s)", _short(event), self._trace_id)

    def _on_error(self, data: dict[str, Any]) -> None:
        # ERROR and FATAL_ERROR end this utterance alike; whether a fresh connection may help depends
        # on the code (§3.7), not on the type: a FATAL SIS.0304 (idle) is worth a retry.
        code = data.get("error_code")
        msg = data.get("error_msg", "")
        if not isinstance(code, str) or not isinstance(msg, str):
            raise ProtocolError("Huawei SIS error without a string error_code/error_msg")
        self._fail(code, msg)

    def _on_end(self, data: dict[str, Any]) -> None:
        reason = data.get("reason", "NORMAL")
        if not isinstance(reason, str):
            raise ProtocolError("Huawei SIS END reason is not a string")
        if reason == "NORMAL":
            if self._state is _State.STARTING:
                raise ProtocolError("Huawei SIS ended a session it never started")
            self._events.append(Final(join_sentences(self._finals), tuple(self._finals)))
            self._state = _State.DONE
        elif reason == "CANCEL":
            self._fail("END.CANCEL", "the server cancelled the session")
        else:
            self._fail(f"END.{_short(reason, 20)}", "the server ended the session")

    def _fail(self, code: str, message: str) -> None:
        self._events.append(Error(code, _short(message, 200), is_retryable(code)))
        self._state = _State.DONE
        self._outbox.clear()
        self._pcm.clear()

    _HANDLERS: ClassVar[dict[str, Callable[[HuaweiCodec, dict[str, Any]], None]]] = {
        "START": _on_start,
        "RESULT": _on_result,
        "EVENT": _on_event,
        "ERROR": _on_error,
        "FATAL_ERROR": _on_error,
        "END": _on_end,
    }


def _segment(segment: object) -> tuple[bool, str]:
    if not isinstance(segment, dict):
        raise ProtocolError("Huawei SIS RESULT segment is not an object")
    is_final = segment.get("is_final", False)
    result = segment.get("result")
    if not isinstance(is_final, bool) or not isinstance(result, dict):
        raise ProtocolError("Huawei SIS RESULT segment needs a boolean is_final and a result object")
    text = result.get("text")
    if not isinstance(text, str):
        raise ProtocolError("Huawei SIS RESULT segment text is not a string")
    return is_final, text


def join_sentences(pieces: list[str]) -> str:
    """§5: the text is the concatenation of the final segments. Chinese needs no separator; a space goes
    between two pieces only where both sides are Latin letters or digits (English sentences)."""
    out = ""
    for piece in (p.strip() for p in pieces):
        if not piece:
            continue
        if out and _latin_end(out[-1]) and piece[0].isascii() and piece[0].isalnum():
            out += " "
        out += piece
    return out


def _latin_end(ch: str) -> bool:
    return ch.isascii() and (ch.isalnum() or ch in ".,;:?!")


def _short(value: object, limit: int = 40) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def make_huawei_codec(
    cfg: HuaweiConfig, *, url_override: str | None = None, clock: Callable[[], float] = time.time
) -> HuaweiCodec:
    """Registry entry point: one fresh codec per connection."""
    return HuaweiCodec(cfg, url_override=url_override, clock=clock)
