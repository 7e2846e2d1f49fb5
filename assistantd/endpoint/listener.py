"""The live side of endpointing: frames from an AudioSource in, a stream of live Utterances out
(live_utterance.py).

``Listener.utterances()`` runs one background task that reads the source, asks the VAD about each frame and
feeds the pure Endpointer; the events it returns are turned into ``Utterance`` objects, each writing its
audio onto a tape (audio/tape.py) that every reader of the utterance shares. The audio of an utterance is
readable while the person is still talking, so a recognizer can stream it. The tape and the queue of
utterances are bounded; what happens when one is full depends on the source (``AudioSource.live``):

* A source that is not live (a file, a pipe) is read only as fast as it is consumed: before each frame the
  listener waits until the utterance being heard has room for a chunk (its furthest reader is less than
  ``queue_chunks`` behind) and the queue has room for an utterance. Nothing is dropped, and memory stays
  bounded because the reader waits.
* A live source (a microphone) never waits for a consumer: speech goes on regardless. Per utterance, the
  writer may run ``queue_chunks`` chunks ahead of its furthest reader (by default a whole max-length
  utterance); past that, new chunks are dropped (drop-newest: what the recognizer has is a contiguous
  prefix of the utterance, never audio with a hole in the middle) and counted in ``dropped_chunks``. The
  end of the stream is always delivered. Utterances not yet taken from ``utterances()`` wait in a queue
  of ``max_pending``; when it overflows, the oldest waiting utterance is discarded (a stale command is
  worth less than the newest), counted in ``Listener.dropped_utterances`` and handed to ``on_drop`` so
  that it is reported like any other utterance.

Utterances still waiting when listening stops (shutdown, reload, a failed source) go to ``on_drop`` too.

While no utterance is in flight, a live source may hand frames over several at a time (``hold_frames``):
``idle_hold_ms`` in continuous mode while the endpointer is at rest (no voiced frame in its trigger
window), ``WAKE_IDLE_HOLD_MS`` in wake mode's ``idle``. Waking the loop for every 30 ms frame cost more
than the listening itself (issue 13; bench/idle_cpu.py measured continuous mode at 1.54x its bare loop
with 120 ms, 1.31x with 240 and 1.12x with 480). Nothing is lost, but what the held frames hold is
handled late. In continuous mode the first voiced frame ends the hold, and the start trigger needs
``start_voiced_frames`` (6) of them, so it ends 150 ms after the first at the soonest: the trigger comes
at most ``idle_hold_ms`` - 150 ms late, and with it the utterance's start: the state ``hearing`` (the
site's state topic, the LED), the recognizer's connection (it then catches up from the tape: the pre-roll
and the held audio are all there) and the arbitration candidate sent then. The app picks the hold
(``continuous_idle_hold_ms``, app.py): ``IDLE_HOLD_MS`` (480 ms: at most 330 ms late) without
multi-room arbitration, ``ARBITRATION_IDLE_HOLD_MS`` (240 ms: at most 90 ms late) with it, since the
candidates of two rooms must fall within ``mqtt.arbitration.window_ms`` (200 by default) of each other.
In wake mode a detection (and its chime) comes at most WAKE_IDLE_HOLD_MS late, whatever the
arbitration. Once an utterance is in flight every frame comes at once, so where it ends, and with it the
recognizer's result, is decided without delay.

With a wake stage (wake.py) the chain is source -> wake -> VAD -> endpointer, and listening has modes:

* ``idle``: only the wake detector runs (no VAD, no endpointer): speech nobody addressed to the assistant
  never becomes an utterance, and the idle cost is the detector's alone.
* ``handoff``: the phrase was heard. The utterance is yielded at once, so a cloud recognizer connects while
  the person is still talking; a few more frames are collected, then the audio from the phrase/command
  split on goes to the VAD and the endpointer.
* ``armed``: waiting for the command to start. If the endpointer has not started an utterance within
  ``command_timeout_s`` of the detection, the utterance ends as ``no_command`` with no audio.
* ``command``: the endpointer's utterance is streaming; when it ends, back to ``idle``.
* ``follow_up``: after a reply (``follow_up()``), the VAD and endpointer listen without the phrase for a
  while, as in continuous mode; if nobody speaks, back to ``idle`` silently.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Callable
from typing import Literal

from assistantd.audio.frames import BYTES_PER_SECOND, AudioSource, Frame, frame_bytes, hold_frames
from assistantd.config.endpoint import EndpointConfig
from assistantd.endpoint.live_utterance import Utterance
from assistantd.endpoint.machine import (
    Endpointer,
    Event,
    OnsetCheck,
    UtteranceAudio,
    UtteranceEnded,
    UtteranceStarted,
)
from assistantd.endpoint.vad import FrontEndVad, Vad, check_frame_ms
from assistantd.endpoint.wake import Detection, WakeStage
from assistantd.tasks import aclose_iterator, cancel_and_wait

WakeMode = Literal["idle", "handoff", "armed", "command", "follow_up"]

KEEP_MARGIN_S = 1.0
"""An utterance's tape keeps this much more than endpoint.max_utterance_s and the pre-roll."""

IDLE_HOLD_MS = 480
"""In continuous mode, while the endpointer is at rest (no voiced frame in its trigger window), a live
source may collect this much audio before handing it over (module docstring); the Listener's default."""
ARBITRATION_IDLE_HOLD_MS = 240
"""The same with multi-room arbitration on: the utterance's start (and this site's candidate) comes at
most 90 ms late, well inside the arbitration window."""
WAKE_IDLE_HOLD_MS = 120
"""The same in wake mode while only the detector listens: a detection (and its chime) is heard at most
this much late."""

log = logging.getLogger(__name__)

OnDrop = Callable[["Utterance", str], None]
"""Told about an utterance the listener discarded, and why (one short phrase)."""
OnEnd = Callable[["Utterance"], None]
"""Told when an utterance has ended (its endpoint: from then on the recognizer has all of it)."""


class Listener:
    """Endpoints the audio of one source. ``utterances()`` may be iterated once."""

    def __init__(
        self,
        source: AudioSource,
        vad: Vad,
        config: EndpointConfig,
        *,
        onset_check: OnsetCheck | None = None,
        queue_chunks: int | None = None,
        max_pending: int = 4,
        wake: WakeStage | None = None,
        command_timeout_s: float = 5.0,
        on_drop: OnDrop | None = None,
        on_end: OnEnd | None = None,
        idle_hold_ms: int = IDLE_HOLD_MS,
    ) -> None:
        """``onset_check`` defaults to the one a FrontEndVad carries (build_vad makes it from the config).
        With ``wake``, only speech after the wake phrase (or in a follow-up window) becomes an utterance.
        ``on_drop`` hears of every utterance discarded unheard (only a live source discards any).
        ``idle_hold_ms``: how much audio a live source may hold in continuous mode while nothing is heard
        (module docstring)."""
        if max_pending < 1:
            raise ValueError("max_pending must be at least 1")
        check_frame_ms(source.frame_ms)
        self.source = source
        self.vad = vad
        self.config = config
        if onset_check is None and isinstance(vad, FrontEndVad):
            onset_check = vad.onset_check
        self.endpointer = Endpointer(config, source.frame_ms, onset_check)
        if queue_chunks is None:
            # A whole max-length utterance plus pre-roll fits: only a consumer that stops reading loses audio.
            total_ms = config.max_utterance_s * 1000 + config.preroll_ms
            queue_chunks = int(total_ms // source.frame_ms) + config.start_window_frames + 2
        self.queue_chunks = queue_chunks
        self.keep_bytes = int(
            (config.max_utterance_s + config.preroll_ms / 1000 + KEEP_MARGIN_S) * BYTES_PER_SECOND
        )
        """What each utterance's tape keeps: all of a max-length one (the endpointer ends it there)."""
        self.max_pending = max_pending
        self.idle_hold_ms = idle_hold_ms
        self.on_drop = on_drop
        self.on_end = on_end
        self.dropped_utterances = 0
        self.short_frames = 0
        """Frames of the wrong length that were skipped (a source's partial last frame)."""
        self._pending: deque[Utterance] = deque()
        self._pending_changed = asyncio.Event()
        self._room = asyncio.Event()
        """Set when an utterance is taken from the queue or a chunk from a buffer (see _wait_for_room)."""
        self._current: Utterance | None = None
        self._started = False
        self._next_id = 1
        self.wake = wake
        self.command_timeout_s = command_timeout_s
        self.mode: WakeMode = "idle"
        self._armed: Utterance | None = None
        """Yielded at the detection, waiting for the endpointer to start the command."""
        self._deadline = 0.0
        """Audio-clock end of the command or follow-up window, seconds."""
        self._stop_at_pause = False
        self._reading = False
        """The pump waits for the source's next frame."""
        self._read_cut = False
        self._pump: asyncio.Task[None] | None = None
        self.source_ended = False
        """The source ran out (end of a file or a pipe)."""
        self._last_end = 0.0
        self._holding = False
        """The source was asked to hold frames (see idle_hold_ms)."""

    def follow_up(self, seconds: float) -> None:
        """After a reply: the next ``seconds`` of speech are a command without the phrase (wake mode)."""
        if self.wake is None or self.mode != "idle" or seconds <= 0:
            return
        self.endpointer.rearm(self._last_end)
        self._deadline = self._last_end + seconds
        self.mode = "follow_up"

    async def utterances(self) -> AsyncIterator[Utterance]:
        """Live utterances in order, each yielded at its onset (in wake mode at the wake word). Ends when
        the source ends (after the last utterance has ended); closing the iterator stops listening."""
        if self._started:
            raise RuntimeError("Listener.utterances() can be iterated only once")
        self._started = True
        pump = self._pump = asyncio.create_task(self._pump_frames(), name="listener-pump")
        try:
            while True:
                while self._pending:
                    utterance = self._pending.popleft()
                    self._room.set()
                    yield utterance
                if pump.done():
                    pump.result()  # re-raise a failure of the source
                    if not self._pending:
                        return
                    continue
                self._pending_changed.clear()
                waiter = asyncio.ensure_future(self._pending_changed.wait())
                try:
                    await asyncio.wait({pump, waiter}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    waiter.cancel()
        finally:
            await cancel_and_wait(pump)
            # Stopped (shutdown, reload, a failed source) with utterances nobody took: each is still told.
            while self._pending:
                self._drop(self._pending.popleft(), "listening stopped before it was taken")

    def stop_at_pause(self) -> None:
        """Stop reading at the next frame where nothing is being said (a reload over a recording or a
        pipe): no utterance is cut in two, the source keeps what it has not handed out for whoever reads
        it next, and ``utterances()`` ends once the utterances already found are taken."""
        self._stop_at_pause = True
        if self._reading and self._at_rest() and self._pump is not None:
            # Waiting for audio that may be long in coming (a quiet pipe): stop now. Nothing is lost by
            # it: the source hands what it read and the read still waiting to whoever reads next.
            self._read_cut = True
            self._pump.cancel()

    def _at_rest(self) -> bool:
        if self.wake is not None:
            return self.mode == "idle"
        return self._current is None and self.endpointer.at_rest()

    async def _pump_frames(self) -> None:
        last_end = 0.0
        size = frame_bytes(self.source.frame_ms)
        live = self.source.live
        idle_hold_ms = self.idle_hold_ms if self.wake is None else WAKE_IDLE_HOLD_MS
        frames = self.source.frames()
        try:
            while not (self._stop_at_pause and self._at_rest()):
                if not live:
                    # Before the frame is taken, not after: a pump stopped while it waits has taken
                    # nothing it did not use (the source keeps what it has not handed out).
                    await self._wait_for_room()
                self._reading = True
                try:
                    frame = await anext(frames)
                except StopAsyncIteration:
                    self.source_ended = True
                    break
                except asyncio.CancelledError:
                    task = asyncio.current_task()
                    if not self._read_cut or task is None:
                        raise
                    task.uncancel()  # stop_at_pause() ended a wait for audio: stopped, not cancelled
                    break
                finally:
                    self._reading = False
                if len(frame.pcm) != size:
                    # A short last frame at the end of a file: the VADs only take whole frames.
                    self.short_frames += 1
                    continue
                last_end = self._last_end = frame.t + self.source.frame_ms / 1000
                changed = self._endpoint(frame) if self.wake is None else self._wake_step(frame)
                idle = self.endpointer.at_rest() if self.wake is None else self.mode == "idle"
                if idle is not self._holding:
                    self._holding = idle
                    hold_frames(self.source, max(1, idle_hold_ms // self.source.frame_ms) if idle else 1)
                if changed:
                    # Let consumers see the new audio now, even if the source never has to wait (a file).
                    await asyncio.sleep(0)
        finally:
            # At the end of the audio, and also when cancelled or failed: a consumer reading the utterance
            # in flight must not wait forever.
            if self.mode == "handoff" and self.wake is not None:
                self._hand_over(self.wake)
            self._dispatch(self.endpointer.finish(last_end))
            if self._armed is not None:
                self._no_command(last_end)
            # Close the source (a device stream) now when listening stops, not whenever GC gets to it.
            await aclose_iterator(frames)

    def _endpoint(self, frame: Frame) -> bool:
        """VAD -> endpointer for one frame; True when something happened."""
        speech = self.vad.is_speech(frame.pcm)
        events = self.endpointer.process(frame.pcm, speech, frame.t)
        self._dispatch(events)
        return bool(events)

    def _wake_step(self, frame: Frame) -> bool:
        """One frame in wake mode (the module docstring lists the modes)."""
        wake = self.wake
        assert wake is not None
        if self.mode == "idle":
            detection = wake.listen(frame)
            if detection is None:
                return False
            self._arm(detection)
            return True
        if self.mode == "handoff":
            if wake.collect(frame):
                self._hand_over(wake)
            return False
        changed = self._endpoint(frame)
        if self.endpointer.utterance_id is None and self._last_end >= self._deadline - 1e-9:
            if self.mode == "armed":
                self._no_command(self._last_end)
                return True
            if self.mode == "follow_up":
                log.debug("follow-up window ended without speech")
                self._to_idle()
        return changed

    def _arm(self, detection: Detection) -> None:
        log.info("wake word %s", detection.describe())
        utt = Utterance(
            self._new_id(),
            detection.time,
            detection.time,
            queue_chunks=self.queue_chunks,
            room=self._room,
            keep_bytes=self.keep_bytes,
        )
        utt.wake = detection
        self._armed = self._current = utt
        self._deadline = detection.time + self.command_timeout_s
        self.mode = "handoff"
        self._enqueue(utt)

    def _hand_over(self, wake: WakeStage) -> None:
        handoff = wake.handoff()
        for frame in handoff.warm:
            self.vad.is_speech(frame.pcm)  # the noise suppressor and floor learn the room; nothing is sent
        self.mode = "armed"
        if handoff.command:
            self.endpointer.rearm(handoff.command[0].t)
            for frame in handoff.command:
                self._endpoint(frame)

    def _no_command(self, now: float) -> None:
        utt = self._armed
        assert utt is not None
        self._armed = self._current = None
        utt._finish(UtteranceEnded(utt.id, utt.start, utt.start, "no_command", 0.0, now))
        log.info("utterance %d: no command within %.1f s of the wake word", utt.id, self.command_timeout_s)
        self._to_idle()
        if self.on_end is not None:
            self.on_end(utt)

    def cut(self) -> None:
        """End what is being heard now, at the end of the last frame read (listening was muted): the
        utterance in flight ends as ``end_of_audio``, a wake word still waiting for its command as
        ``no_command``, and the endpointer forgets its pre-roll, so audio from before the cut never
        opens a later utterance."""
        if self.wake is not None and self.mode == "handoff":
            self.mode = "armed"  # the phrase's collected frames are dropped with the stage's reset below
        self._dispatch(self.endpointer.finish(self._last_end))
        if self._armed is not None:
            self._no_command(self._last_end)
        if self.wake is not None and self.mode != "idle":
            self._to_idle()
        self.endpointer.rearm(self._last_end)

    def _to_idle(self) -> None:
        self.mode = "idle"
        if self.wake is not None:
            self.wake.reset()

    def _new_id(self) -> int:
        self._next_id += 1
        return self._next_id - 1

    @property
    def next_id(self) -> int:
        """The id the next utterance will get."""
        return self._next_id

    def continue_ids(self, next_id: int) -> None:
        """Number utterances from ``next_id`` on (a reload's new listener carries on the old one's)."""
        self._next_id = max(self._next_id, next_id)

    def _enqueue(self, utt: Utterance) -> None:
        if len(self._pending) >= self.max_pending:
            why = f"the assistant fell behind the live audio ({self.max_pending} utterances waiting)"
            self._drop(self._pending.popleft(), why)
        self._pending.append(utt)
        self._pending_changed.set()

    async def _wait_for_room(self) -> None:
        """Backpressure for a source that is not live. One frame brings at most one new utterance and one
        chunk (machine.py), so once there is room for both, the frame's events fit without a drop."""
        while len(self._pending) >= self.max_pending or (self._current is not None and self._current._full()):
            self._room.clear()
            await self._room.wait()

    def _dispatch(self, events: list[Event]) -> None:
        for event in events:
            if isinstance(event, UtteranceStarted):
                if self._armed is not None:
                    # The command the wake word announced: its utterance is already out.
                    utt, self._armed = self._armed, None
                    utt.start, utt.onset = event.start, event.onset
                    self.mode = "command"
                    self._current = utt
                    continue
                utt = Utterance(
                    self._new_id(),
                    event.start,
                    event.onset,
                    queue_chunks=self.queue_chunks,
                    room=self._room,
                    keep_bytes=self.keep_bytes,
                )
                self._current = utt
                if self.wake is not None:
                    self.mode = "command"
                self._enqueue(utt)
            elif isinstance(event, UtteranceAudio):
                if self._current is not None:
                    self._current._push(event.pcm)
            elif self._current is not None:
                utt = self._current
                utt._finish(event)
                self._current = None
                log.info(
                    "utterance %d: %.2f-%.2f s (%.2f s voiced), %s, %d chunks, %d dropped",
                    utt.id,
                    event.start,
                    event.end,
                    event.voiced_s,
                    event.reason,
                    utt.chunks,
                    utt.dropped_chunks,
                )
                if self.wake is not None:
                    self._to_idle()
                if self.on_end is not None:
                    self.on_end(utt)

    def _drop(self, stale: Utterance, why: str) -> None:
        self.dropped_utterances += 1
        log.warning("utterance %d dropped unheard: %s", stale.id, why)
        stale.release()
        if self.on_drop is not None:
            self.on_drop(stale, why)
