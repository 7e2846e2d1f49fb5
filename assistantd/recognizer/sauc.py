"""Sans-I/O codec for sauc v3 streaming ASR: Volcengine (protocols.md §1) and 360 zyun (§2).

One codec object serves one connection. The sequence scheme of the official demos is used (§1.3): the
config is packet 1, audio packets 2, 3, ... and the last packet carries the negated next number with flags
``0011``. Payloads are gzip, one member each. The server's answers become vendor-neutral events:

* the first full server response (the config's acknowledgement, §1.4) -> ``Started(session_id=X-Tt-Logid)``
* later responses whose text changed -> ``Partial``
* the response with flag bit1 (§1.3: the sign of its sequence is unreliable, the flag is not) -> ``Final``
  with the ``definite`` utterances (§1.6)
* an error frame (§1.7) -> ``Error(code, message, retryable)``; see :func:`is_retryable`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from assistantd.config.volcengine import SaucOptions, VolcengineConfig, ZyunConfig
from assistantd.recognizer.codec import Handshake, Message, ProtocolError
from assistantd.recognizer.events import Error, Final, Partial, RecognizerEvent, Started
from assistantd.recognizer.sauc_frames import (
    COMPRESSION_GZIP,
    FLAG_LAST,
    FLAG_SEQUENCE,
    SERIALIZATION_JSON,
    SERIALIZATION_NONE,
    MessageType,
    decode_frame,
    encode_frame,
)

SUCCESS = 20000000
"""§1.7: the code meaning success; an error frame carrying it is still an error frame."""
WAIT_TIMEOUT = 45000081
"""§1.7: the server waited too long for the next packet."""


def is_retryable(code: int) -> bool:
    """Whether a fresh connection with the same audio may succeed (§1.7).

    Retryable: 550xxxxx internal errors (incl. 55000031 busy, and 55000001/55000030 from 3P enums) and
    45000081 (the server timed out waiting for us: a stall on our side or the network). Fatal for this
    utterance: every other 45xxxxxx (bad parameters, empty audio, bad audio format, resource not granted):
    sending the same request again gets the same answer. Unknown codes follow their class digit (5 = server).
    """
    return code == WAIT_TIMEOUT or code // 10_000_000 == 5


def _full_request(options: SaucOptions, language: str | None) -> dict[str, Any]:
    """The full client request JSON (§1.5)."""
    audio: dict[str, Any] = {"format": "pcm", "codec": "raw", "rate": 16000, "bits": 16, "channel": 1}
    if language is not None:
        audio["language"] = language  # §1.5: bigmodel_nostream only (checked by VolcengineConfig)
    request: dict[str, Any] = {
        "model_name": "bigmodel",
        "enable_itn": options.enable_itn,
        "enable_punc": options.enable_punc,
        "enable_ddc": options.enable_ddc,
        "show_utterances": True,  # §1.6: utterances carry `definite`, which Final reports
        "result_type": options.result_type,
    }
    if options.end_window_size_ms is not None:
        request["end_window_size"] = options.end_window_size_ms
    if options.force_to_speech_time_ms is not None:
        request["force_to_speech_time"] = options.force_to_speech_time_ms
    if options.hotwords:
        # §1.5: corpus.context is a JSON *string*, not an object.
        hotwords = [{"word": w} for w in options.hotwords]
        request["corpus"] = {"context": json.dumps({"hotwords": hotwords}, ensure_ascii=False)}
    return {"user": {"uid": options.uid}, "audio": audio, "request": request}


class SaucCodec:
    """One sauc v3 session. ``headers`` is called once per handshake, so secrets are read at use."""

    def __init__(
        self,
        url: str,
        headers: Callable[[], tuple[tuple[str, str], ...]],
        request: dict[str, Any],
    ) -> None:
        self._url = url
        self._headers = headers
        self._config = json.dumps(request, ensure_ascii=False).encode("utf-8")
        self._outbox: list[Message] = []
        self._events: list[RecognizerEvent] = []
        self._next_seq = 1
        self._session_id = ""
        self._started = False
        self._finished = False
        self._done = False
        self._last_text = ""

    # -- what the transport calls -----------------------------------------------------------------
    def handshake(self) -> Handshake:
        return Handshake(self._url, self._headers())

    def upgrade_response(self, headers: dict[str, str]) -> None:
        # §1.2: X-Tt-Logid identifies the session for the vendor's support; it is not a secret.
        lowered = {k.lower(): v for k, v in headers.items()}
        self._session_id = lowered.get("x-tt-logid", "")

    def start(self) -> None:
        self._outbox.append(self._client_frame(MessageType.FULL_CLIENT_REQUEST, self._config, last=False))

    def send_audio(self, pcm: bytes) -> None:
        if self._finished:
            raise RuntimeError("send_audio() after finish()")
        self._outbox.append(self._client_frame(MessageType.AUDIO_ONLY_REQUEST, pcm, last=False))

    def finish(self) -> None:
        """Queue the last packet: empty payload, flags 0011, negated sequence (§1.3)."""
        if not self._finished:
            self._finished = True
            self._outbox.append(self._client_frame(MessageType.AUDIO_ONLY_REQUEST, b"", last=True))

    def receive(self, message: Message) -> None:
        if isinstance(message, str):
            raise ProtocolError("text frame from the server; sauc frames are binary (§1.3)")
        if self._done:
            return  # §1.4: clients stop reading after the final result or an error
        frame = decode_frame(message)
        if frame.message_type == MessageType.SERVER_ERROR:
            code = frame.error_code or 0
            text = frame.payload.decode("utf-8", errors="replace")
            self._events.append(Error(code, text, is_retryable(code)))
            self._done = True
            return
        if frame.message_type not in (MessageType.FULL_SERVER_RESPONSE, MessageType.SERVER_ACK):
            raise ProtocolError(f"client message type {frame.message_type:#06b} sent by the server")
        text, utterances = _parse_result(frame.payload) if frame.payload else ("", ())
        if not self._started:
            self._started = True
            self._events.append(Started(self._session_id))
        if frame.last:
            self._events.append(Final(text, utterances))
            self._done = True
        elif text != self._last_text:
            self._last_text = text
            self._events.append(Partial(text))

    def events_received(self) -> list[RecognizerEvent]:
        events, self._events = self._events, []
        return events

    def messages_to_send(self) -> list[Message]:
        out, self._outbox = self._outbox, []
        return out

    @property
    def done(self) -> bool:
        return self._done

    # -- internals --------------------------------------------------------------------------------
    def _client_frame(self, message_type: int, payload: bytes, *, last: bool) -> bytes:
        seq = self._next_seq
        self._next_seq += 1
        # §1.3: JSON for the config; raw audio says "none" (the demos' JSON nibble on audio is a slip).
        is_config = message_type == MessageType.FULL_CLIENT_REQUEST
        serialization = SERIALIZATION_JSON if is_config else SERIALIZATION_NONE
        return encode_frame(
            message_type,
            payload,
            flags=FLAG_SEQUENCE | (FLAG_LAST if last else 0),
            sequence=-seq if last else seq,
            serialization=serialization,
            compression=COMPRESSION_GZIP,
        )


def _parse_result(payload: bytes) -> tuple[str, tuple[str, ...]]:
    """``result.text`` and the definite utterances' texts of one response (§1.6)."""
    try:
        doc = json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as err:
        raise ProtocolError(f"response payload is not UTF-8 JSON ({type(err).__name__})") from None
    if not isinstance(doc, dict):
        raise ProtocolError("response payload is not a JSON object (§1.6)")
    result = doc.get("result")
    if isinstance(result, list):  # §1.6 [?]: the doc's table types it as a list (as in v2)
        result = result[0] if result else None
    if result is None:
        return "", ()
    if not isinstance(result, dict):
        raise ProtocolError("response `result` is neither an object nor a list (§1.6)")
    text = result.get("text", "")
    if not isinstance(text, str):
        raise ProtocolError("response `result.text` is not a string (§1.6)")
    raw_utterances = result.get("utterances") or []
    if not isinstance(raw_utterances, list):
        raise ProtocolError("response `result.utterances` is not a list (§1.6)")
    definite: list[str] = []
    for item in raw_utterances:
        if not isinstance(item, dict) or not isinstance(item.get("text", ""), str):
            raise ProtocolError("an utterance is not an object with a string `text` (§1.6)")
        if item.get("definite") is True and item.get("text"):
            definite.append(item["text"])
    return text, tuple(definite)


def volcengine_codec(
    cfg: VolcengineConfig, *, new_id: Callable[[], str] | None = None, url_override: str | None = None
) -> SaucCodec:
    """A codec for one Volcengine connection; ``new_id`` makes X-Api-Connect-Id (default: uuid4);
    ``url_override`` points it elsewhere (a fake, a proxy)."""
    make_id = new_id or (lambda: str(uuid.uuid4()))

    def headers() -> tuple[tuple[str, str], ...]:
        # §1.2; the secrets are revealed here, at the point of use, and live only in the Handshake.
        return (
            ("X-Api-App-Key", cfg.app_key.reveal()),
            ("X-Api-Access-Key", cfg.access_key.reveal()),
            ("X-Api-Resource-Id", cfg.resource_id),
            ("X-Api-Connect-Id", make_id()),
        )

    return SaucCodec(url_override or cfg.url, headers, _full_request(cfg.options, cfg.language))


def zyun_codec(cfg: ZyunConfig, *, url_override: str | None = None) -> SaucCodec:
    """A codec for one 360 zyun connection (§2): Bearer auth, no X-Api-* headers."""

    def headers() -> tuple[tuple[str, str], ...]:
        return (("Authorization", f"Bearer {cfg.api_key.reveal()}"),)

    return SaucCodec(url_override or cfg.url, headers, _full_request(cfg.options, None))
