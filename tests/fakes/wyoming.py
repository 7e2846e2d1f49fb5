"""A Wyoming speech-to-text server on 127.0.0.1, built on the ``wyoming`` library's own server classes.

``AsyncTcpServer`` accepts, ``AsyncEventHandler`` reads events with the library's reader, and replies go
out with the library's writer: the client under test meets the same framing a real Wyoming server
(wyoming-faster-whisper, wyoming-vosk) speaks. Each connection follows one ``Fault`` from the list (then
healthy ones), and the audio it received is kept so tests can compare it with what was sent.

Transcription: with ``sentences`` the server decodes the received audio with pocketsphinx over a JSGF
grammar of those sentences (as a vosk server with a limited vocabulary would), so the transcript is what
was said; otherwise it answers the scripted ``transcript``. Either way the answer comes only after
``audio-stop``, and only when audio arrived.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from wyoming.asr import Transcribe, Transcript, TranscriptChunk, TranscriptStart, TranscriptStop
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.error import Error
from wyoming.event import Event
from wyoming.server import AsyncEventHandler, AsyncTcpServer


@dataclass(frozen=True)
class Fault:
    """How one connection misbehaves (all off: a healthy server)."""

    close_after_chunks: int | None = None
    """Close the connection after this many audio chunks (mid-utterance)."""
    silent: bool = False
    """Take all the audio and never answer."""
    error: str | None = None
    """Answer audio-stop with an ``error`` event of this text instead of a transcript."""
    garbage: bool = False
    """Answer audio-stop with a header line that is not JSON."""


@dataclass
class Session:
    """What one connection received."""

    transcribe: Transcribe | None = None
    start: AudioStart | None = None
    formats: set[tuple[int, int, int]] = field(default_factory=set)
    """(rate, width, channels) of every chunk."""
    timestamps: list[int | None] = field(default_factory=list)
    audio: bytearray = field(default_factory=bytearray)
    first_audio_at: float | None = None
    """time.perf_counter() when the first audio chunk arrived (bench/recognizer.py)."""
    stopped: bool = False
    answer: str | None = None
    order: list[str] = field(default_factory=list)
    """Event types in arrival order."""


def _grammar(sentences: tuple[str, ...], directory: Path) -> Path:
    path = directory / "sentences.gram"
    body = " | ".join(sentence.lower() for sentence in sentences)
    path.write_text(f"#JSGF V1.0;\ngrammar sentences;\npublic <sentence> = {body};\n", encoding="utf-8")
    return path


def _decode(pcm: bytes, grammar: Path) -> str:
    from pocketsphinx import Decoder

    decoder = Decoder(samprate=16000, jsgf=str(grammar), loglevel="FATAL")
    decoder.start_utt()
    decoder.process_raw(pcm, full_utt=True)
    decoder.end_utt()
    hyp = decoder.hyp()
    return hyp.hypstr if hyp is not None else ""


class _Handler(AsyncEventHandler):
    def __init__(
        self, server: FakeWyomingStt, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        super().__init__(reader, writer)
        self._server = server
        self.session = Session()
        server.sessions.append(self.session)
        index = len(server.sessions) - 1
        self._fault = server.faults[index] if index < len(server.faults) else Fault()

    async def handle_event(self, event: Event) -> bool:
        session, fault = self.session, self._fault
        session.order.append(event.type)
        if Transcribe.is_type(event.type):
            session.transcribe = Transcribe.from_event(event)
        elif AudioStart.is_type(event.type):
            session.start = AudioStart.from_event(event)
        elif AudioChunk.is_type(event.type):
            chunk = AudioChunk.from_event(event)
            if session.first_audio_at is None:
                session.first_audio_at = time.perf_counter()
            session.formats.add((chunk.rate, chunk.width, chunk.channels))
            session.timestamps.append(chunk.timestamp)
            session.audio += chunk.audio
            chunks = session.order.count(event.type)
            if fault.close_after_chunks is not None and chunks >= fault.close_after_chunks:
                return False  # AsyncEventHandler.run closes the connection
        elif AudioStop.is_type(event.type):
            session.stopped = True
            return await self._answer()
        return True

    async def _answer(self) -> bool:
        session, fault = self.session, self._fault
        if fault.silent:
            return True
        if fault.garbage:
            self.writer.write(b"this is not a wyoming header\n")
            await self.writer.drain()
            return True
        if fault.error is not None:
            await self.write_event(Error(text=fault.error, code="fake-error").event())
            return True
        if not session.audio:
            await self.write_event(Error(text="no audio", code="no-audio").event())
            return True
        text = await self._server.transcribe(bytes(session.audio))
        session.answer = text
        if self._server.streaming:
            await self.write_event(TranscriptStart(language="en").event())
            for word in text.split(" "):
                await self.write_event(TranscriptChunk(text=word + " ").event())
            await self.write_event(TranscriptStop().event())
        await self.write_event(Transcript(text=text, language="en").event())
        return True


class FakeWyomingStt:
    """``async with FakeWyomingStt(...) as fake``: serving on ``fake.url`` until the block ends."""

    def __init__(
        self,
        transcript: str = "turn on the kitchen light",
        *,
        sentences: tuple[str, ...] = (),
        faults: list[Fault] | None = None,
        streaming: bool = False,
    ) -> None:
        self.transcript = transcript
        self.sentences = sentences
        self.faults = faults or []
        self.streaming = streaming
        self.sessions: list[Session] = []
        self._server = AsyncTcpServer("127.0.0.1", 0)
        self._tmp = tempfile.TemporaryDirectory(prefix="fake-wyoming-")
        self._grammar = _grammar(sentences, Path(self._tmp.name)) if sentences else None
        self.url = ""

    async def transcribe(self, pcm: bytes) -> str:
        if self._grammar is None:
            return self.transcript
        return await asyncio.to_thread(_decode, pcm, self._grammar)

    async def __aenter__(self) -> FakeWyomingStt:
        await self._server.start(lambda reader, writer: _Handler(self, reader, writer))
        listening = self._server._server  # the library keeps the asyncio server; port 0 is known only here
        assert listening is not None
        port = listening.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        self.url = f"tcp://127.0.0.1:{port}"
        return self

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None
    ) -> None:
        handlers = list(self._server._handlers)  # the library's connection tasks, to reap them
        await self._server.stop()
        await asyncio.gather(*handlers, return_exceptions=True)
        self._tmp.cleanup()
