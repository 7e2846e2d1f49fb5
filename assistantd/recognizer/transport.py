"""The one asyncio transport: drives any sans-I/O codec (codec.py) over a ``websockets`` client connection.

Per utterance (``transcribe``): the connection opens and the codec's start message goes out at once, while
the audio is read from the utterance's tape (audio/tape.py): the one the listener writes when the audio is
a tape's reader, or else one a feeder task records, bounded by TransportConfig.max_buffer_s. A sender
re-chunks the tape into ``packet_ms`` packets as capture delivers it (no sleeps: the microphone paces
it); when the audio iterator ends (the endpoint) the rest and the codec's last packet go out at once and
the final result is awaited for at most ``final_timeout_s``.

An attempt that fails for a reason a fresh connection may cure (refused or dropped connection, 5xx,
timeouts, a retryable error frame, no final in time, a protocol violation) is retried ``retries`` times on a
new connection from the start of the tape, after a delay from assistantd.backoff. HTTP 401/403 is fatal
and not retried. Messages never contain header values: websockets' exceptions are translated, never chained or
formatted, and its DEBUG logging (which prints request headers) is switched off for our connections.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterable, Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    ConnectionClosed,
    InvalidHandshake,
    InvalidStatus,
    InvalidURI,
    WebSocketException,
)

from assistantd.audio.frames import BYTES_PER_SECOND, frame_bytes
from assistantd.audio.tape import Tape, tape_of
from assistantd.backoff import backoff
from assistantd.config.recognizer import TransportConfig
from assistantd.recognizer.base import RecognitionFailed, Transcript
from assistantd.recognizer.codec import Codec, ProtocolError
from assistantd.recognizer.events import Error, Final, Partial, Started
from assistantd.tasks import cancel_and_reap
from assistantd.urls import public_url

log = logging.getLogger(__name__)

CodecFactory = Callable[[], Codec]
ConnectFn = Callable[..., Any]
"""``websockets.asyncio.client.connect`` or anything with its signature that returns an awaitable."""

MAX_MESSAGE = 1 << 20
"""Largest message accepted from a server, in bytes (a final transcript is a few kB)."""


def _retry_delays() -> Iterator[float]:
    # One retry rarely needs more than a moment; a voice command is stale after a few seconds anyway.
    return backoff(initial_s=0.1, maximum_s=2.0)


class _QuietLogger(logging.LoggerAdapter):  # type: ignore[type-arg]
    """websockets logs every request header (credentials included) at DEBUG: never let it."""

    def isEnabledFor(self, level: int) -> bool:  # noqa: N802 - overrides logging API
        return level > logging.DEBUG and self.logger.isEnabledFor(level)


_WS_LOGGER = _QuietLogger(logging.getLogger("websockets.client"), {})


class _AttemptError(Exception):
    """One connection's failure, with a reason fit for users (no secrets) and whether to retry."""

    def __init__(self, reason: str, *, retryable: bool, fatal: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retryable = retryable and not fatal
        self.fatal = fatal


class _AudioSourceFailed(Exception):  # noqa: N818 - a wrapper, unwrapped before it leaves this module
    """The audio iterator raised: not the server's fault, so never retried; re-raised as the original."""

    def __init__(self, error: BaseException) -> None:
        super().__init__("audio source failed")
        self.error = error


class WebSocketRecognizer:
    """A Recognizer (base.py) for any codec. ``codec_factory`` makes one codec per connection."""

    def __init__(
        self,
        name: str,
        codec_factory: CodecFactory,
        config: TransportConfig,
        *,
        connect: ConnectFn = connect,
        retry_delays: Callable[[], Iterator[float]] = _retry_delays,
        on_partial: Callable[[str], None] | None = None,
    ) -> None:
        self.name = name
        self._codec_factory = codec_factory
        self._cfg = config
        self._connect = connect
        self._retry_delays = retry_delays
        self._on_partial = on_partial
        self._packet = frame_bytes(config.packet_ms)

    async def transcribe(self, audio: AsyncIterable[bytes]) -> Transcript:
        tape = tape_of(audio)
        feeder = None
        if tape is None:  # not a tape's reader: keep a bounded copy for the retries
            tape = Tape(int(self._cfg.max_buffer_s * BYTES_PER_SECOND))
            feeder = asyncio.create_task(tape.record(audio))
        try:
            return await self._attempts(tape)
        except _AudioSourceFailed as failed:
            raise failed.error from None
        finally:
            if feeder is not None:
                await cancel_and_reap(feeder)

    async def _attempts(self, tape: Tape) -> Transcript:
        delays = self._retry_delays()
        attempt = 0
        while True:
            attempt += 1
            try:
                final, session_id = await self._attempt(tape)
            except _AttemptError as failure:
                if not failure.retryable or attempt > self._cfg.retries:
                    tries = f" (after {attempt} attempts)" if attempt > 1 else ""
                    log.warning("%s: utterance failed%s: %s", self.name, tries, failure.reason)
                    raise RecognitionFailed(self.name, failure.reason + tries, fatal=failure.fatal) from None
                delay = next(delays)
                log.warning(
                    "%s: %s; retrying in %.2f s on a fresh connection", self.name, failure.reason, delay
                )
                await asyncio.sleep(delay)
                continue
            latency = ""
            if tape.ended_at is not None:
                latency = f", endpoint->final {1000 * (time.monotonic() - tape.ended_at):.0f} ms"
            log.info("%s: final after %d attempt(s)%s, session %s", self.name, attempt, latency, session_id)
            note = ""
            if tape.dropped and attempt > 1:
                note = f"the retry lacked the first {tape.dropped / BYTES_PER_SECOND:.1f} s of audio"
            return Transcript(
                text=final.text,
                recognizer=self.name,
                utterances=final.utterances,
                session_id=session_id,
                attempts=attempt,
                note=note,
            )

    async def _attempt(self, tape: Tape) -> tuple[Final, str]:
        codec = self._codec_factory()
        try:
            handshake = codec.handshake()
        except ValueError:  # Huawei signing parses the URL for its Host header (protocols.md §3.2)
            raise _AttemptError(
                "invalid URL: cannot build the upgrade request", retryable=False, fatal=True
            ) from None
        where = public_url(handshake.url)
        try:
            async with asyncio.timeout(self._cfg.connect_timeout_s):
                ws: ClientConnection = await self._connect(
                    handshake.url,
                    additional_headers=list(handshake.headers),
                    compression=None,  # payloads are gzip already (protocols.md §1.3)
                    open_timeout=None,  # the asyncio.timeout above is the deadline
                    close_timeout=self._cfg.send_timeout_s,
                    max_size=MAX_MESSAGE,
                    logger=_WS_LOGGER,
                    # websockets honours $https_proxy etc.; a loopback server (a local relay, the fakes) never
                    # goes through one.
                    proxy=None if _is_loopback(handshake.url) else True,
                )
        except InvalidStatus as err:
            raise _refused(err.response.status_code, where) from None
        except InvalidURI:
            raise _AttemptError(f"invalid URL {where}", retryable=False, fatal=True) from None
        except ValueError as err:
            # urllib's parse errors (an unclosed IPv6 bracket, a port out of range) are ValueErrors that
            # websockets lets through. Only the URL's own problem is shown: other ValueErrors could quote
            # a header value.
            problem = _url_problem(handshake.url)
            reason = (
                f"invalid URL: {problem}" if problem else f"invalid request to {where} ({type(err).__name__})"
            )
            raise _AttemptError(reason, retryable=False, fatal=True) from None
        except TimeoutError:
            what = "connection to" if where.startswith("tcp:") else "WebSocket upgrade from"
            raise _AttemptError(f"no {what} {where} in time", retryable=True) from None
        except OSError as err:
            reason = err.strerror or type(err).__name__
            raise _AttemptError(f"cannot connect to {where}: {reason}", retryable=True) from None
        except (InvalidHandshake, WebSocketException) as err:
            raise _AttemptError(
                f"WebSocket upgrade failed at {where} ({type(err).__name__})", retryable=True
            ) from None
        try:
            return await self._session(ws, codec, tape)
        except ConnectionClosed:
            raise _AttemptError(f"{where} dropped the connection mid-utterance", retryable=True) from None
        except ProtocolError as err:
            raise _AttemptError(f"{where} broke the protocol: {err}", retryable=True) from None
        except TimeoutError:
            raise _AttemptError(
                f"{where} did not acknowledge or accept data in time", retryable=True
            ) from None
        except (OSError, WebSocketException) as err:
            raise _AttemptError(
                f"connection to {where} failed ({type(err).__name__})", retryable=True
            ) from None
        finally:
            try:
                async with asyncio.timeout(self._cfg.send_timeout_s):
                    await ws.close()
            except (TimeoutError, OSError, WebSocketException):
                log.debug("%s: closing %s did not finish cleanly", self.name, where)

    async def _session(self, ws: ClientConnection, codec: Codec, tape: Tape) -> tuple[Final, str]:
        codec.upgrade_response({k: v for k, v in ws.response.headers.raw_items()} if ws.response else {})
        codec.start()
        await self._flush(ws, codec)
        session: list[str] = [""]
        receiver = asyncio.create_task(self._receive(ws, codec, session))
        sender = asyncio.create_task(self._send(ws, codec, tape))
        try:
            await asyncio.wait((receiver, sender), return_when=asyncio.FIRST_COMPLETED)
            if not receiver.done():
                sender.result()  # the audio went out (or this raises why it did not)
                await asyncio.wait((receiver,), timeout=self._cfg.final_timeout_s)
                if not receiver.done():
                    raise _AttemptError(
                        f"no final result within {self._cfg.final_timeout_s:g} s of the endpoint",
                        retryable=True,
                    )
            return receiver.result(), session[0]
        finally:
            await cancel_and_reap(receiver, sender)

    async def _send(self, ws: ClientConnection, codec: Codec, tape: Tape) -> None:
        reader = tape.play()  # from the start: a retry sends the utterance again, whole
        pending = bytearray()
        skipped = 0
        while True:
            try:
                data = await anext(reader)
            except StopAsyncIteration:
                break
            except Exception as err:  # the audio source's failure, kept by the tape for its readers
                raise _AudioSourceFailed(err) from None
            if reader.skipped > skipped:
                log.warning(
                    "%s: %d bytes of audio dropped (max_buffer_s)", self.name, reader.skipped - skipped
                )
                skipped = reader.skipped
            pending += data
            while len(pending) >= self._packet:
                codec.send_audio(bytes(pending[: self._packet]))
                del pending[: self._packet]
            await self._flush(ws, codec)
        if pending:
            codec.send_audio(bytes(pending))
        codec.finish()
        await self._flush(ws, codec)

    async def _receive(self, ws: ClientConnection, codec: Codec, session: list[str]) -> Final:
        # Until the server acknowledges the start (Started), connect_timeout_s applies (TransportConfig).
        async with asyncio.timeout(self._cfg.connect_timeout_s) as ack_deadline:
            async for message in ws:
                codec.receive(message)
                for event in codec.events_received():
                    if isinstance(event, Started):
                        ack_deadline.reschedule(None)
                        session[0] = event.session_id
                        log.debug("%s: session %s started", self.name, event.session_id or "(no id)")
                    elif isinstance(event, Partial):
                        if self._on_partial is not None:
                            self._on_partial(event.text)
                    elif isinstance(event, Final):
                        return event
                    elif isinstance(event, Error):
                        raise _AttemptError(
                            f"server error {event.code}: {event.message}", retryable=event.retryable
                        )
                await self._flush(ws, codec)
        raise _AttemptError("the server closed the connection before the final result", retryable=True)

    async def _flush(self, ws: ClientConnection, codec: Codec) -> None:
        for message in codec.messages_to_send():
            async with asyncio.timeout(self._cfg.send_timeout_s):
                await ws.send(message)


def _refused(status: int, where: str) -> _AttemptError:
    if status in (401, 403):
        return _AttemptError(
            f"{where} refused the credentials (HTTP {status}): check the access keys/API key "
            "and that the resource is granted to them",
            retryable=False,
            fatal=True,
        )
    if status == 404:
        return _AttemptError(f"{where} does not exist (HTTP 404): check the url", retryable=False, fatal=True)
    retryable = status == 429 or status >= 500
    return _AttemptError(f"{where} refused the upgrade (HTTP {status})", retryable=retryable)


def _is_loopback(url: str) -> bool:
    try:
        return urlsplit(url).hostname in ("127.0.0.1", "::1", "localhost")
    except ValueError:
        return False


def _url_problem(url: str) -> str | None:
    """urllib's complaint about ``url`` ("Port out of range 0-65535"), or None when it parses."""
    try:
        _ = urlsplit(url).port
    except ValueError as err:
        return str(err)
    return None
