"""StdinSource across reloads: each SIGHUP cancels the reader and a new source takes over the read still
blocked on a quiet pipe. Taking it over must not leave anything behind (issue 10: reload memory): it used
to hang one more asyncio future on that read per reload, for as long as the pipe stayed quiet."""

from __future__ import annotations

import asyncio
import gc
import os
from typing import BinaryIO

import pytest

from assistantd.audio.filesource import StdinSource
from assistantd.audio.frames import Frame


def _futures() -> int:
    gc.collect()
    return sum(
        1 for o in gc.get_objects() if isinstance(o, asyncio.Future) and not isinstance(o, asyncio.Task)
    )


async def _first_frame(source: StdinSource) -> Frame:
    async for frame in source.frames():
        return frame
    raise AssertionError("no frame")


async def _take_over_and_cancel(reader: BinaryIO) -> None:
    """One reload: a new source waits on the blocked read, then is cancelled."""
    task = asyncio.create_task(_first_frame(StdinSource(reader, frame_ms=20)))
    for _ in range(3):  # the reader runs up to its await on the shared read (no real wait before it)
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_readers_taking_over_a_blocked_read_leave_nothing_behind() -> None:
    r, w = os.pipe()
    reader = os.fdopen(r, "rb")
    try:
        for _ in range(3):
            await _take_over_and_cancel(reader)
        before = _futures()
        for _ in range(30):
            await _take_over_and_cancel(reader)
        assert _futures() == before

        # The read was kept: the next source gets what the writer sends, nothing is lost.
        os.write(w, bytes(640))
        os.close(w)
        w = -1
        frames: list[Frame] = [f async for f in StdinSource(reader, frame_ms=20).frames()]
        assert sum(len(f.pcm) for f in frames) == 640
    finally:
        if w != -1:
            os.close(w)
        reader.close()


async def test_a_source_closed_mid_chunk_leaves_the_rest_to_the_next_one() -> None:
    # A reload closes the old source after the frames its listener used; the rest of the chunk it had
    # read (up to a quarter second) must reach the new source, or the pipe's audio has a hole and every
    # later report time is early by it.
    written = bytes(range(256)) * 125  # 1 s of 16 kHz s16le, every frame different from its neighbours
    r, w = os.pipe()
    os.write(w, written)
    os.close(w)
    with os.fdopen(r, "rb") as reader:
        first = StdinSource(reader, frame_ms=20).frames()
        taken = [await anext(first) for _ in range(5)]  # 0.1 s of the first 0.25 s chunk
        await first.aclose()
        rest = [frame async for frame in StdinSource(reader, frame_ms=20).frames()]
    assert b"".join(f.pcm for f in taken + rest) == written


async def test_a_read_that_finishes_as_its_reader_is_cancelled_goes_to_the_next_one() -> None:
    # The race behind an early clock after a SIGHUP: the reader thread finished a quarter-second read,
    # and the reload cancelled the reader before it resumed. The chunk used to be dropped with the
    # cancelled reader's registration; the next source must get it.
    from assistantd.audio import filesource

    written = bytes(range(256)) * 125  # 1 s, every frame different from its neighbours
    r, w = os.pipe()
    with os.fdopen(r, "rb") as reader:
        old = asyncio.create_task(_first_frame(StdinSource(reader, frame_ms=20)))
        for _ in range(3):  # the old reader runs up to its await on its first read
            await asyncio.sleep(0)
        # Its own stream's read: an earlier test's cancelled reader leaves one registered for its pipe.
        pending = filesource._pending_reads[filesource._stream_key(reader)[0]]
        os.write(w, written)
        os.close(w)
        pending.read.result(
            timeout=30
        )  # the read is done; the loop has not run since, so old has not resumed
        old.cancel()
        with pytest.raises(asyncio.CancelledError):
            await old
        rest = [frame async for frame in StdinSource(reader, frame_ms=20).frames()]
    assert b"".join(f.pcm for f in rest) == written


async def test_a_read_left_for_a_pipe_that_closed_is_forgotten() -> None:
    """A cancelled reader leaves its blocked read registered for the next source on the stream. When the
    pipe ends and is closed instead, the entry must go: it used to stay for good (and a new pipe given the
    same inode would have been handed the dead pipe's read)."""
    from assistantd.audio import filesource

    r, w = os.pipe()
    reader = os.fdopen(r, "rb")
    key = filesource._stream_key(reader)[0]
    await _take_over_and_cancel(reader)
    assert key in filesource._pending_reads  # left for the next reader, by design
    os.close(w)  # EOF: the blocked read returns b""
    filesource._pending_reads[key].read.result(timeout=30)
    reader.close()
    r2, w2 = os.pipe()
    other = os.fdopen(r2, "rb")
    try:
        StdinSource(other, frame_ms=20)  # any new source sweeps what nobody can want
        assert key not in filesource._pending_reads
    finally:
        other.close()
        os.close(w2)
