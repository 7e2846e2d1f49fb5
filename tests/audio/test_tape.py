"""The utterance tape (audio/tape.py): one writer, any number of readers each from the start, two bounds
with their drop policies, release and the writer's failure."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from assistantd.audio.tape import Playback, Tape, tape_of


async def _all(reader: Playback) -> list[bytes]:
    return [chunk async for chunk in reader]


async def test_every_reader_gets_every_chunk_from_the_start_even_one_that_starts_late() -> None:
    tape = Tape(1000)
    live = asyncio.create_task(_all(tape.play()))
    for chunk in (b"ab", b"cd", b"ef"):
        tape.write(chunk)
        await asyncio.sleep(0)
    late = asyncio.create_task(_all(tape.play()))  # a retry or the fallback, while speech goes on
    tape.write(b"gh")
    tape.end()
    assert await live == await late == [b"ab", b"cd", b"ef", b"gh"]
    assert await _all(tape.play()) == [b"ab", b"cd", b"ef", b"gh"]  # and again once it ended
    assert tape.data() == b"abcdefgh" and tape.written_bytes == 8 and tape.ended_at is not None


async def test_past_max_bytes_the_oldest_go_and_a_replay_says_what_it_lacked() -> None:
    tape = Tape(4)
    for chunk in (b"ab", b"cd", b"ef"):
        tape.write(chunk)
    tape.end()
    reader = tape.play()
    assert await _all(reader) == [b"cd", b"ef"]
    assert (tape.dropped, reader.skipped) == (2, 2)
    whole = Tape(1)
    whole.write(b"abcdef")  # the newest chunk is kept whatever its size
    assert whole.data() == b"abcdef" and whole.dropped == 0


async def test_a_reader_overtaken_by_the_front_resumes_at_the_oldest_kept() -> None:
    tape = Tape(4)
    reader = tape.play()
    tape.write(b"ab")
    assert await anext(reader) == b"ab"
    for chunk in (b"cd", b"ef", b"gh"):
        tape.write(chunk)  # "cd" goes before the reader gets to it
    tape.end()
    assert await _all(reader) == [b"ef", b"gh"]
    assert reader.skipped == 2


async def test_the_backlog_bound_counts_from_the_furthest_reader() -> None:
    rooms: list[int] = []
    tape = Tape(1000, backlog_chunks=2, on_room=lambda: rooms.append(1))
    assert tape.write(b"a1") and tape.write(b"a2")
    assert tape.full()
    assert not tape.write(b"a3")  # drop-newest: what readers get stays contiguous
    assert (tape.refused_chunks, tape.refused_bytes) == (1, 2)
    reader = tape.play()
    assert await anext(reader) == b"a1"
    assert rooms == [1] and not tape.full()
    assert tape.write(b"a4")
    slow = tape.play()  # a second reader behind the first does not hold the writer back
    assert await anext(slow) == b"a1"
    assert tape.full() and rooms == [1]


async def test_release_ends_every_reader_refuses_what_comes_and_lets_the_audio_go() -> None:
    rooms: list[int] = []
    tape = Tape(1000, backlog_chunks=1, on_room=lambda: rooms.append(1))
    tape.write(b"ab")
    waiting = asyncio.create_task(_all(tape.play()))
    await asyncio.sleep(0)
    tape.release()
    assert await waiting == [b"ab"]  # it had the first chunk, was waiting for more, and ended
    assert await _all(tape.play()) == []
    assert not tape.full() and rooms  # a writer waiting for room is let go
    assert not tape.write(b"cd") and tape.refused_chunks == 0  # nobody reads it: not a drop
    assert tape.data() == b""


async def test_the_writers_failure_reaches_every_reader_after_the_audio() -> None:
    async def failing() -> AsyncIterator[bytes]:
        yield b"ab"
        raise OSError("the pipe broke")

    tape = Tape(1000)
    await tape.record(failing())
    reader = tape.play()
    assert await anext(reader) == b"ab"
    with pytest.raises(OSError, match="the pipe broke"):
        await anext(reader)


def test_only_a_tapes_reader_has_a_tape_to_read_again() -> None:
    tape = Tape(10)

    async def plain() -> AsyncIterator[bytes]:
        yield b""

    assert tape_of(tape.play()) is tape
    assert tape_of(plain()) is None
