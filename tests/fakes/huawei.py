"""A faithful fake of Huawei Cloud SIS real-time ASR (RASR) over WebSocket, built from protocols.md §3.

What it checks, as the real service does:
- the upgrade: path ``/v1/{project_id}/rasr/{short-stream|sentence-stream|continue-stream}`` (§3.1), one
  Host header, and either ``X-Auth-Token`` or an SDK-HMAC-SHA256 signature it recomputes with its own AK/SK
  (§3.2); refusals are HTTP errors with a JSON ``error_code``/``error_msg`` body;
- START (§3.3): required fields, "yes"/"no" strings, integer ranges, property rate matching audio_format,
  known vocabulary ids; binary chunk sizes (§3.4); END with boolean or "true"/"false" cancel (§3.5);
  order (audio or END before START, two STARTs); 20 s idle (SIS.0304, FATAL_ERROR, close; §3.8);
  the mode's audio limit (SIS.0309).

What it answers (§3.6): START with a trace_id; interim RESULTs when asked; in sentence-stream an
energy VAD drives VOICE_START / VOICE_END / EXCEEDED_SILENCE with vad_head/vad_tail; final RESULTs with
the transcript it was given (one per sentence in continue-stream), or nothing when no chunk held speech;
END NORMAL / CANCEL / ERROR. Where §3.7 names no code for a violation (wrong order, chunk size, bad value)
the fake uses SIS.0031 ("unsupported parameter"); a missing field is SIS.0012, bad JSON or audio_format
SIS.0032.

Faults to inject: refused upgrade (any HTTP status), delays, an ERROR/FATAL_ERROR code at START or after
N chunks, a dropped TCP connection, no final answer. Every received message is recorded with a monotonic
timestamp for benchmarks.

Standalone: ``python -m tests.fakes.huawei --port P --transcript TEXT`` (credentials from the environment:
HUAWEI_FAKE_TOKEN, or HUAWEI_FAKE_AK and HUAWEI_FAKE_SK).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any

import numpy as np
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from assistantd.recognizer.huawei_sign import verify_request
from tests.fakes.huawei_rules import (
    AUDIO_FORMATS,
    CHUNK_LIMITS,
    MODES,
    PATH,
    SisError,
    cancel_flag,
    check_start_config,
)


class _QuietLog(logging.LoggerAdapter):  # type: ignore[type-arg]
    """websockets logs request headers (tokens, signatures) at DEBUG; test output must not show them."""

    def isEnabledFor(self, level: int) -> bool:
        return level > logging.DEBUG and self.logger.isEnabledFor(level)


_QUIET_LOG = _QuietLog(logging.getLogger("tests.fakes.huawei"), {})


@dataclass
class Faults:
    refuse_upgrade: int | None = None
    """Answer every upgrade with this HTTP status (401, 403, 500 ...)."""
    start_delay_s: float = 0.0
    """Wait before the START reply."""
    final_delay_s: float = 0.0
    """Wait, after END, before the final RESULT and END."""
    error_code: str | None = None
    """Send this error code ..."""
    error_fatal: bool = False
    """... as FATAL_ERROR and close (else ERROR followed by END reason ERROR) ..."""
    error_after_chunks: int = 0
    """... after this many audio chunks (0: instead of the START reply)."""
    drop_after_chunks: int | None = None
    """Abort the TCP connection (no close frame) after this many audio chunks."""
    no_final: bool = False
    """Never answer END: no final RESULT, no END (the client's deadline must fire)."""
    connections: int | None = None
    """Apply the faults to this many connections (upgrade attempts) only, then behave; None: all."""


@dataclass
class Received:
    t: float
    """time.monotonic() on arrival."""
    kind: str
    """"text" or "binary"."""
    size: int


@dataclass
class Session:
    mode: str
    auth: str
    """"token" or "aksk"."""
    faults: Faults = field(default_factory=Faults)
    """The faults in force for this connection."""
    config: dict[str, Any] = field(default_factory=dict)
    trace_id: str = ""
    audio: bytearray = field(default_factory=bytearray)
    chunks: int = 0
    voiced_ms: float = 0.0
    silence_ms: float = 0.0
    """Silence since the last voiced chunk (or since the start)."""
    ended_by_vad: bool = False
    partials_sent: int = 0
    cancel: bool | None = None
    events: list[str] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)


class FakeHuaweiSIS:
    """``async with FakeHuaweiSIS(token="t", transcript=["打开灯"]) as fake: fake.url`` -> ws://127.0.0.1:P."""

    def __init__(
        self,
        *,
        project_id: str = "fakeproject",
        token: str | None = None,
        ak: str | None = None,
        sk: str | None = None,
        transcript: Sequence[str] = ("打开灯",),
        faults: Faults | None = None,
        vocabularies: Sequence[str] = (),
        idle_timeout_s: float = 20.0,
        speech_rms: float = 300.0,
        clock: Callable[[], float] = time.time,
        port: int = 0,
    ) -> None:
        self.project_id = project_id
        self._token, self._ak, self._sk = token, ak, sk
        self.transcript = list(transcript)
        self.faults = faults or Faults()
        self.vocabularies = set(vocabularies)
        self.idle_timeout_s = idle_timeout_s
        self.speech_rms = speech_rms
        self._clock = clock
        self._port = port
        self._server: Server | None = None
        self._traces = itertools.count(1)
        self.sessions: list[Session] = []
        self.upgrades: list[tuple[int, str]] = []
        """(HTTP status, error code or "") of every upgrade attempt."""
        self.errors: list[str] = []
        """Codes of every ERROR / FATAL_ERROR sent."""

    @property
    def url(self) -> str:
        assert self._server is not None, "use the fake as an async context manager"
        port = self._server.sockets[0].getsockname()[1]
        return f"ws://127.0.0.1:{port}"

    async def __aenter__(self) -> FakeHuaweiSIS:
        self._server = await serve(
            self._session, "127.0.0.1", self._port, process_request=self._upgrade, logger=_QUIET_LOG
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    # -- upgrade (§3.1, §3.2) ---------------------------------------------------------------------------
    def _upgrade(self, connection: ServerConnection, request: Request) -> Response | None:
        limit = self.faults.connections
        faults = self.faults if limit is None or len(self.upgrades) < limit else Faults()
        try:
            mode, auth = self._check_upgrade(request, faults)
        except _RefusedError as refusal:
            self.upgrades.append((refusal.status, refusal.code))
            body = json.dumps({"error_code": refusal.code, "error_msg": refusal.message}).encode()
            headers = Headers([("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return Response(refusal.status, HTTPStatus(refusal.status).phrase, headers, body)
        self.upgrades.append((101, ""))
        connection.huawei_session = Session(mode=mode, auth=auth, faults=faults)  # type: ignore[attr-defined]
        return None

    def _check_upgrade(self, request: Request, faults: Faults) -> tuple[str, str]:
        if faults.refuse_upgrade is not None:
            raise _RefusedError(faults.refuse_upgrade, "SIS.0101", "refused by fault injection")
        path = request.path.split("?", 1)[0]
        match = PATH.match(path)
        if match is None or match["mode"] not in MODES or match["project"] != self.project_id:
            raise _RefusedError(404, "APIG.0101", "The API does not exist or has not been published")
        if len(request.headers.get_all("Host")) != 1:
            raise _RefusedError(401, "APIG.0301", "Incorrect IAM authentication information: duplicate Host")
        headers = {name.lower(): value for name, value in request.headers.raw_items()}
        if "x-auth-token" in headers:
            if self._token is None or headers["x-auth-token"] != self._token:
                raise _RefusedError(401, "SIS.0101", "the token is invalid or expired")
            return match["mode"], "token"
        if "authorization" in headers:
            if self._ak is None or self._sk is None:
                raise _RefusedError(401, "APIG.0301", "AK/SK authentication is not enabled")
            verdict = verify_request(
                "GET", request.path, headers, ak=self._ak, sk=self._sk, now=self._clock()
            )
            if not verdict.ok:
                raise _RefusedError(
                    401, "APIG.0301", f"Incorrect IAM authentication information: {verdict.reason}"
                )
            return match["mode"], "aksk"
        raise _RefusedError(401, "SIS.0102", "authentication information is missing (X-Auth-Token)")

    # -- one connection (§3.3-§3.6) ---------------------------------------------------------------------
    async def _session(self, ws: ServerConnection) -> None:
        template: Session = ws.huawei_session  # type: ignore[attr-defined]
        session: Session | None = None
        started = False
        try:
            while True:
                try:
                    async with asyncio.timeout(self.idle_timeout_s):
                        message = await ws.recv()
                except TimeoutError:
                    # §3.8: 20 s without data is fatal and the server hangs up.
                    await self._send(
                        ws,
                        session or template,
                        "FATAL_ERROR",
                        error_code="SIS.0304",
                        error_msg="no data received for too long",
                    )
                    await ws.close()
                    return
                now = time.monotonic()
                kind, size = (
                    ("binary", len(message)) if isinstance(message, bytes) else ("text", len(message))
                )
                (session or template).received.append(Received(now, kind, size))
                try:
                    if isinstance(message, bytes):
                        if session is None and started:
                            continue  # §3.6: after a session's END, audio is ignored until the next START
                        await self._audio(ws, session, message)
                    else:
                        session = await self._command(ws, template, session, message)
                        started = started or session is not None
                except SisError as err:
                    target = session or template
                    await self._send(ws, target, "ERROR", error_code=err.code, error_msg=err.message)
                    if session is not None:
                        await self._send(ws, session, "END", reason="ERROR")
                        session = None
                except _DropError:
                    ws.transport.abort()
                    return
                except _FatalError as fatal:
                    target = session or template
                    await self._send(ws, target, "FATAL_ERROR", error_code=fatal.code, error_msg="injected")
                    await ws.close()
                    return
        except ConnectionClosed:
            return

    async def _command(
        self, ws: ServerConnection, template: Session, session: Session | None, text: str
    ) -> Session | None:
        try:
            command = json.loads(text)
        except ValueError:
            raise SisError("SIS.0032", "invalid JSON") from None
        if not isinstance(command, dict) or not isinstance(command.get("command"), str):
            raise SisError("SIS.0012", "'command' is required")
        if command["command"] == "START":
            if session is not None:
                raise SisError("SIS.0031", "START received while a session is running")
            config = command.get("config")
            check_start_config(config, self.vocabularies)
            assert isinstance(config, dict)
            session = Session(
                mode=template.mode,
                auth=template.auth,
                faults=template.faults,
                config=config,
                received=template.received,
            )
            session.trace_id = f"fake-trace-{next(self._traces)}"
            self.sessions.append(session)
            if session.faults.error_code is not None and session.faults.error_after_chunks == 0:
                self._inject_error(session)
            await asyncio.sleep(session.faults.start_delay_s)
            await self._send(ws, session, "START")
            return session
        if command["command"] == "END":
            if session is None:
                raise SisError("SIS.0031", "END received without START")
            session.cancel = cancel_flag(command)
            if session.cancel:
                await self._send(ws, session, "END", reason="CANCEL")
                return None
            if session.faults.no_final:
                return session
            await asyncio.sleep(session.faults.final_delay_s)
            if not session.ended_by_vad:
                await self._final(ws, session)
            await self._send(ws, session, "END", reason="NORMAL")
            return None
        raise SisError("SIS.0031", f"unsupported command {command['command'][:20]!r}")

    async def _audio(self, ws: ServerConnection, session: Session | None, chunk: bytes) -> None:
        if session is None:
            raise SisError("SIS.0031", "audio received before START")
        rate, width = AUDIO_FORMATS[session.config["audio_format"]]
        low, high = CHUNK_LIMITS[rate]
        if not low <= len(chunk) <= high:
            raise SisError("SIS.0031", f"audio chunk of {len(chunk)} bytes, expected {low}-{high}")
        session.chunks += 1
        faults = session.faults
        if faults.drop_after_chunks is not None and session.chunks >= faults.drop_after_chunks:
            raise _DropError
        if faults.error_code is not None and session.chunks == faults.error_after_chunks:
            self._inject_error(session)
        if session.ended_by_vad:
            return  # §3.1: after VOICE_END / EXCEEDED_SILENCE further audio is ignored
        session.audio += chunk
        if len(session.audio) / (rate * width) > MODES[session.mode]:
            raise SisError("SIS.0309", "the audio is longer than this mode allows")
        await self._listen(ws, session, chunk, 1000 * len(chunk) / (rate * width), width)

    async def _listen(self, ws: ServerConnection, s: Session, chunk: bytes, ms: float, width: int) -> None:
        """An energy VAD, enough to drive §3.6's events and interim results from real audio."""
        samples = np.frombuffer(chunk[: len(chunk) // 2 * 2], dtype="<i2").astype(np.float64)
        voiced = width == 2 and samples.size > 0 and float(np.sqrt(np.mean(samples**2))) >= self.speech_rms
        if voiced:
            if s.voiced_ms == 0 and s.mode == "sentence-stream":
                await self._event(ws, s, "VOICE_START")
            s.voiced_ms += ms
            s.silence_ms = 0.0
        else:
            s.silence_ms += ms
        if s.config.get("interim_results") == "yes" and voiced and s.voiced_ms >= 300 * (s.partials_sent + 1):
            s.partials_sent += 1
            await self._result(ws, s, _prefix(" ".join(self.transcript), s.partials_sent), final=False)
        if s.mode != "sentence-stream":
            return
        head = s.config.get("vad_head", 10000) or 60000
        if s.voiced_ms == 0 and s.silence_ms >= head:
            s.ended_by_vad = True
            await self._event(ws, s, "EXCEEDED_SILENCE")
        elif s.voiced_ms > 0 and s.silence_ms >= s.config.get("vad_tail", 500):
            s.ended_by_vad = True
            await self._event(ws, s, "VOICE_END")
            await self._final(ws, s)

    async def _final(self, ws: ServerConnection, s: Session) -> None:
        if s.voiced_ms == 0:
            return  # nothing but silence: nothing recognized
        if s.mode == "continue-stream":
            for sentence in self.transcript:
                await self._result(ws, s, sentence, final=True)
        else:
            await self._result(ws, s, " ".join(self.transcript), final=True)

    async def _result(self, ws: ServerConnection, s: Session, text: str, *, final: bool) -> None:
        rate, width = AUDIO_FORMATS[s.config["audio_format"]]
        end_ms = int(1000 * len(s.audio) / (rate * width))
        result: dict[str, Any] = {"text": text, "score": 0.93 if final else 0.0}
        if s.config.get("need_word_info") == "yes":
            result["word_info"] = [{"start_time": 0, "end_time": end_ms, "word": w} for w in text.split()]
        segment = {"start_time": 0, "end_time": end_ms, "is_final": final, "result": result}
        await self._send(ws, s, "RESULT", segments=[segment])

    async def _event(self, ws: ServerConnection, s: Session, name: str) -> None:
        s.events.append(name)
        await self._send(ws, s, "EVENT", event=name, timestamp=0)

    def _inject_error(self, session: Session) -> None:
        code = session.faults.error_code or "SIS.0003"
        if session.faults.error_fatal:
            raise _FatalError(code)
        raise SisError(code, "injected fault")

    async def _send(self, ws: ServerConnection, s: Session, resp_type: str, **fields: Any) -> None:
        message: dict[str, Any] = {"resp_type": resp_type}
        if s.trace_id:
            message["trace_id"] = s.trace_id
        message.update(fields)
        if resp_type in ("ERROR", "FATAL_ERROR"):
            self.errors.append(fields["error_code"])
        await ws.send(json.dumps(message, ensure_ascii=False))


def _prefix(text: str, units: int) -> str:
    """The first ``units`` words (or characters, for text without spaces), never the whole text."""
    words = text.split(" ") if " " in text else list(text)
    shown = words[: min(units, max(len(words) - 1, 1))]
    return (" " if " " in text else "").join(shown)


class _RefusedError(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


class _DropError(Exception):
    pass


class _FatalError(Exception):
    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


async def _main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Fake Huawei SIS RASR server on 127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--transcript", action="append", help="text to return (repeat for sentences)")
    parser.add_argument("--project-id", default="fakeproject")
    parser.add_argument("--vocabulary", action="append", default=[])
    args = parser.parse_args(argv)
    token = os.environ.get("HUAWEI_FAKE_TOKEN")
    ak, sk = os.environ.get("HUAWEI_FAKE_AK"), os.environ.get("HUAWEI_FAKE_SK")
    if token is None and (ak is None or sk is None):
        parser.error("set HUAWEI_FAKE_TOKEN, or HUAWEI_FAKE_AK and HUAWEI_FAKE_SK")
    fake = FakeHuaweiSIS(
        project_id=args.project_id,
        token=token,
        ak=ak,
        sk=sk,
        transcript=args.transcript or ["打开灯"],
        vocabularies=args.vocabulary,
        port=args.port,
    )
    async with fake:
        print(f"fake Huawei SIS on {fake.url}/v1/{fake.project_id}/rasr/<mode>", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_main())
