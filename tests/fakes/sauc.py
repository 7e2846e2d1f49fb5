"""A faithful fake sauc v3 server (protocols.md §1, §2) on 127.0.0.1, for tests, the bench and manual runs.

It parses frames with its own code (not the client's), so a framing bug cannot hide by being mirrored. It is
strict where the spec is: header bytes 0x11 / type / flags / serialization / compression / 0x00, sequence
numbers monotonic from 1 with a negated last one (flags 0011), each payload one gzip member, the §1.5 JSON
fields, and the auth headers of the chosen vendor (§1.2 X-Api-* or §2 ``Authorization: Bearer``). Any
violation is answered with the §1.7 error frame (45000001 / 45000151) and a close, as the real service does.

Faults are given per connection, in order (the first connection gets ``faults[0]``, ...), so a test can make
the first attempt fail and the retry succeed.

Standalone: ``python -m tests.fakes.sauc --port P --transcript TEXT [--vendor volcengine|zyun]``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gzip
import json
import logging
import struct
import time
import uuid
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

RESOURCE_IDS = {
    "volc.bigasr.sauc.duration",
    "volc.bigasr.sauc.concurrent",
    "volc.seedasr.sauc.duration",
    "volc.seedasr.sauc.concurrent",
}
INVALID_PARAMS = 45000001
EMPTY_AUDIO = 45000002
WAIT_TIMEOUT = 45000081
BAD_AUDIO = 45000151


@dataclass(frozen=True)
class Fault:
    """What goes wrong on one connection. The default is a connection that behaves."""

    refuse_status: int | None = None
    """Refuse the upgrade with this HTTP status (401, 403, 503)."""
    error_code: int | None = None
    """Send this §1.7 error frame (then close) after ``error_after`` audio packets."""
    error_after: int = 0
    drop_after: int | None = None
    """Abort the TCP connection (no close frame) after this many audio packets."""
    ack_delay_s: float = 0.0
    """Wait this long before acknowledging the config (§1.4 step 2)."""
    final_delay_s: float = 0.0
    """Wait this long after the last packet before the final response."""
    no_final: bool = False
    """Never send the final response (the connection stays open)."""
    hold_final: asyncio.Event | None = None
    """Send the final response only once this is set: a cloud as slow to answer as the test wants."""


@dataclass
class Session:
    """What one connection received, for assertions and the bench."""

    path: str = ""
    headers: dict[str, str] = field(default_factory=dict)
    config: dict[str, Any] | None = None
    packets: list[tuple[int, int, float]] = field(default_factory=list)
    """(sequence, audio bytes, perf_counter at receipt) for each audio-only request."""
    first_audio_at: float | None = None
    """perf_counter when the first audio byte arrived."""
    last_at: float | None = None
    """perf_counter when the last packet arrived."""
    final_sent_at: float | None = None
    audio: bytearray = field(default_factory=bytearray)
    error: tuple[int, str] | None = None
    """The error frame sent, if any (a client violation or an injected fault)."""


class _ViolationError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


class _QuietLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """websockets logs request headers at DEBUG; a test server must not echo credentials either."""

    def isEnabledFor(self, level: int) -> bool:
        return level > logging.DEBUG and self.logger.isEnabledFor(level)


class FakeSauc:
    """``async with FakeSauc(transcript=...) as fake: fake.url`` -> a ws://127.0.0.1:PORT/... URL."""

    def __init__(
        self,
        transcript: str = "turn on the kitchen light",
        *,
        vendor: str = "volcengine",
        mode: str = "bigmodel_async",
        app_key: str = "test-app-key",
        access_key: str = "test-access-key",
        api_key: str = "test-api-key",
        faults: Sequence[Fault] = (),
        idle_timeout_s: float = 10.0,
        port: int = 0,
    ) -> None:
        if vendor not in ("volcengine", "zyun"):
            raise ValueError(f"vendor {vendor!r}")
        self.transcript = transcript
        self.vendor = vendor
        self.mode = "bigmodel_async" if vendor == "zyun" else mode
        self._app_key, self._access_key, self._api_key = app_key, access_key, api_key
        self.faults = list(faults)
        self.idle_timeout_s = idle_timeout_s
        self.sessions: list[Session] = []
        self.connections = 0
        """Upgrade requests seen, refused ones included."""
        self._port = port
        self._server: Server | None = None
        self._conn_faults: dict[uuid.UUID, Fault] = {}

    @property
    def url(self) -> str:
        path = "/sauc" if self.vendor == "zyun" else f"/api/v3/sauc/{self.mode}"
        return f"ws://127.0.0.1:{self.port}{path}"

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.sockets[0].getsockname()[1])

    async def __aenter__(self) -> FakeSauc:
        self._server = await serve(
            self._handle,
            "127.0.0.1",
            self._port,
            process_request=self._process_request,
            process_response=self._process_response,
            compression=None,
            logger=_QuietLogger(logging.getLogger("tests.fakes.sauc.ws"), {}),
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    async def serve_forever(self) -> None:
        assert self._server is not None
        await self._server.serve_forever()

    # -- handshake --------------------------------------------------------------------------------
    def _fault(self, index: int) -> Fault:
        return self.faults[index] if index < len(self.faults) else Fault()

    def _process_request(self, conn: ServerConnection, request: Request) -> Response | None:
        index = self.connections
        self.connections += 1
        fault = self._fault(index)
        self._conn_faults[conn.id] = fault
        if fault.refuse_status is not None:
            return conn.respond(HTTPStatus(fault.refuse_status), "refused by the fake\n")
        expected_path = self.url.split(str(self.port), 1)[1]
        if request.path != expected_path:
            return conn.respond(HTTPStatus.NOT_FOUND, f"no such endpoint {request.path}\n")
        if not self._authorized(request.headers):
            return conn.respond(HTTPStatus.UNAUTHORIZED, "invalid credentials\n")
        return None

    def _authorized(self, headers: Headers) -> bool:
        if self.vendor == "zyun":  # §2: a single Bearer token, with a space
            return headers.get("Authorization") == f"Bearer {self._api_key}"
        connect_id = headers.get("X-Api-Connect-Id", "")
        try:
            uuid.UUID(connect_id)
        except ValueError:
            return False
        return (
            headers.get("X-Api-App-Key") == self._app_key
            and headers.get("X-Api-Access-Key") == self._access_key
            and headers.get("X-Api-Resource-Id") in RESOURCE_IDS
        )

    def _process_response(self, conn: ServerConnection, request: Request, response: Response) -> Response:
        response.headers["X-Tt-Logid"] = f"FAKE{len(self.sessions):04d}{uuid.uuid4().hex[:12].upper()}"
        return response

    # -- session ----------------------------------------------------------------------------------
    async def _handle(self, ws: ServerConnection) -> None:
        fault = self._conn_faults.pop(ws.id, Fault())
        session = Session(path=ws.request.path if ws.request else "")
        if ws.request is not None:
            session.headers = {k: v for k, v in ws.request.headers.raw_items()}
        self.sessions.append(session)
        try:
            await self._run(ws, session, fault)
        except _ViolationError as v:
            session.error = (v.code, str(v))
            await ws.send(_error_frame(v.code, str(v)))
            await ws.close()
        except ConnectionClosed:
            pass

    async def _recv(self, ws: ServerConnection) -> bytes:
        try:
            async with asyncio.timeout(self.idle_timeout_s):
                message = await ws.recv()
        except TimeoutError:
            raise _ViolationError(WAIT_TIMEOUT, "timed out waiting for the next packet") from None
        if isinstance(message, str):
            # §1.4: the vendors' Go demo sends audio as TEXT frames; we require binary.
            raise _ViolationError(INVALID_PARAMS, "text frame: sauc frames are binary")
        return message

    async def _run(self, ws: ServerConnection, session: Session, fault: Fault) -> None:
        seq, cfg = _parse_client(await self._recv(ws), expect_type=0b0001, expect_seq=1)
        session.config = self._check_config(cfg)
        if fault.ack_delay_s:
            await _pause(ws, fault.ack_delay_s)
        await ws.send(_response(1, last=False, text="", utterances=[]))  # §1.4 step 2
        words = self.transcript.split()
        shown = ""
        expected = 2
        audio_packets = 0
        while True:
            raw = await self._recv(ws)
            seq, pcm = _parse_client(raw, expect_type=0b0010, expect_seq=expected)
            now = time.perf_counter()
            audio_packets += 1
            session.packets.append((seq, len(pcm), now))
            if pcm and session.first_audio_at is None:
                session.first_audio_at = now
            session.audio += pcm
            if fault.drop_after is not None and audio_packets >= fault.drop_after:
                ws.transport.abort()
                return
            if fault.error_code is not None and audio_packets >= fault.error_after:
                raise _ViolationError(fault.error_code, "injected fault")
            if seq < 0:
                session.last_at = now
                break
            expected += 1
            partial = " ".join(words[: min(len(words) - 1, audio_packets)])
            # §1.1: bigmodel answers every packet; bigmodel_async only on change; nostream only at the end.
            if self.mode == "bigmodel" or (self.mode == "bigmodel_async" and partial != shown):
                shown = partial
                await ws.send(_response(seq, last=False, text=partial, utterances=[]))
        if not session.audio:
            raise _ViolationError(EMPTY_AUDIO, "empty audio")
        if fault.no_final:
            await ws.wait_closed()
            return
        if fault.final_delay_s:
            await _pause(ws, fault.final_delay_s)
        if fault.hold_final is not None:
            await fault.hold_final.wait()
        duration_ms = len(session.audio) // 32
        utterance = {"text": self.transcript, "start_time": 0, "end_time": duration_ms, "definite": True}
        session.final_sent_at = time.perf_counter()
        await ws.send(_response(-seq, last=True, text=self.transcript, utterances=[utterance]))
        await ws.wait_closed()

    def _check_config(self, cfg: object) -> dict[str, Any]:
        """§1.5: required fields and the values the service accepts."""
        if not isinstance(cfg, dict):
            raise _ViolationError(INVALID_PARAMS, "config is not a JSON object")
        audio, request = cfg.get("audio"), cfg.get("request")
        if not isinstance(audio, dict) or not isinstance(request, dict):
            raise _ViolationError(INVALID_PARAMS, "audio and request objects are required")
        if audio.get("format") not in ("pcm", "wav", "ogg", "mp3"):
            raise _ViolationError(INVALID_PARAMS, "audio.format")
        if audio.get("rate", 16000) != 16000 or audio.get("bits", 16) != 16:
            raise _ViolationError(BAD_AUDIO, "only 16000 Hz 16-bit audio is supported")
        if audio.get("channel", 1) not in (1, 2):
            raise _ViolationError(INVALID_PARAMS, "audio.channel")
        if "language" in audio and self.mode != "bigmodel_nostream":
            raise _ViolationError(INVALID_PARAMS, "audio.language is for bigmodel_nostream only")
        if request.get("model_name") != "bigmodel":
            raise _ViolationError(INVALID_PARAMS, "request.model_name must be bigmodel")
        for key in ("enable_itn", "enable_punc", "enable_ddc", "show_utterances", "enable_nonstream"):
            if key in request and not isinstance(request[key], bool):
                raise _ViolationError(INVALID_PARAMS, f"request.{key} must be a boolean")
        if request.get("result_type", "full") not in ("full", "single"):
            raise _ViolationError(INVALID_PARAMS, "request.result_type")
        ews = request.get("end_window_size")
        if ews is not None and (not isinstance(ews, int) or ews < 200):
            raise _ViolationError(INVALID_PARAMS, "request.end_window_size must be an integer >= 200")
        corpus = request.get("corpus")
        if corpus is not None:
            context = corpus.get("context") if isinstance(corpus, dict) else None
            if context is not None:
                if not isinstance(context, str):  # §1.5: a JSON string, not an object
                    raise _ViolationError(INVALID_PARAMS, "request.corpus.context must be a JSON string")
                try:
                    json.loads(context)
                except ValueError:
                    raise _ViolationError(INVALID_PARAMS, "request.corpus.context is not JSON") from None
        return cfg


def _parse_client(raw: bytes, *, expect_type: int, expect_seq: int) -> tuple[int, bytes]:
    """Check one client frame strictly (§1.3) and return (sequence, decompressed payload)."""
    if len(raw) < 12:
        raise _ViolationError(INVALID_PARAMS, "frame too short")
    if raw[0] != 0x11 or raw[3] != 0x00:
        raise _ViolationError(INVALID_PARAMS, f"bad header bytes {raw[:4].hex()}")
    mtype, flags, ser, comp = raw[1] >> 4, raw[1] & 0xF, raw[2] >> 4, raw[2] & 0xF
    if mtype != expect_type:
        raise _ViolationError(INVALID_PARAMS, f"message type {mtype:#x}, expected {expect_type:#x}")
    if expect_type == 0b0001 and (flags != 0b0001 or ser != 0b0001):
        raise _ViolationError(INVALID_PARAMS, "config frame needs flags 0001 and JSON serialization")
    if expect_type == 0b0010 and flags not in (0b0001, 0b0011):
        raise _ViolationError(INVALID_PARAMS, f"audio flags {flags:#06b}, expected 0001 or 0011")
    if comp not in (0, 1):
        raise _ViolationError(INVALID_PARAMS, f"compression {comp:#06b}")
    seq, size = struct.unpack(">iI", raw[4:12])
    wanted = -expect_seq if flags & 0b0010 else expect_seq
    if seq != wanted:
        raise _ViolationError(INVALID_PARAMS, f"sequence {seq}, expected {wanted}")
    if len(raw) != 12 + size:
        raise _ViolationError(INVALID_PARAMS, f"payload size {size} but {len(raw) - 12} bytes follow")
    payload = raw[12:]
    if comp == 1 and payload:
        try:
            payload = gzip.decompress(payload)
        except (OSError, EOFError, zlib.error):
            raise _ViolationError(INVALID_PARAMS, "payload is not gzip") from None
    if expect_type == 0b0010:
        if len(payload) % 2:
            raise _ViolationError(BAD_AUDIO, "odd number of bytes in s16le audio")
        return seq, payload
    try:
        return seq, json.loads(payload.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        raise _ViolationError(INVALID_PARAMS, "config payload is not UTF-8 JSON") from None


def _response(seq: int, *, last: bool, text: str, utterances: list[dict[str, Any]]) -> bytes:
    """A full server response (§1.3, §1.6): JSON + gzip, with the sequence; flags 0011 on the final."""
    body = json.dumps({"audio_info": {"duration": 0}, "result": {"text": text, "utterances": utterances}})
    payload = gzip.compress(body.encode("utf-8"), mtime=0)
    flags = 0b0011 if last else 0b0001
    return bytes((0x11, 0x90 | flags, 0x11, 0x00)) + struct.pack(">iI", seq, len(payload)) + payload


def _error_frame(code: int, message: str) -> bytes:
    """§1.3 server error: ``11 F0 10 00`` + code + size + UTF-8 message, no sequence."""
    text = message.encode("utf-8")
    return bytes((0x11, 0xF0, 0x10, 0x00)) + struct.pack(">II", code, len(text)) + text


async def _pause(ws: ServerConnection, seconds: float) -> None:
    """Wait ``seconds``, or less if the client leaves first: a server's timer dies with its connection
    (and a long delay does not hold up the fake's shutdown)."""
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(seconds):
            await ws.wait_closed()


async def _main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.sauc", description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--transcript", default="turn on the kitchen light")
    parser.add_argument("--vendor", choices=("volcengine", "zyun"), default="volcengine")
    parser.add_argument("--mode", choices=("bigmodel", "bigmodel_async", "bigmodel_nostream"))
    parser.add_argument("--app-key", default="test-app-key")
    parser.add_argument("--access-key", default="test-access-key")
    parser.add_argument("--api-key", default="test-api-key")
    parser.add_argument("--no-final", action="store_true", help="never send a final result (a stalled cloud)")
    args = parser.parse_args(argv)
    fake = FakeSauc(
        args.transcript,
        vendor=args.vendor,
        mode=args.mode or "bigmodel_async",
        app_key=args.app_key,
        access_key=args.access_key,
        api_key=args.api_key,
        port=args.port,
        faults=[Fault(no_final=True)] * 1000 if args.no_final else (),
    )
    async with fake:
        print(f"fake {args.vendor} sauc server on {fake.url}", flush=True)
        await fake.serve_forever()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main())
