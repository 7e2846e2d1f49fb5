"""The pure endpointer, driven frame by frame with is_speech patterns ('#' voiced, '.' silent).

Frames carry their own index so the tests can check exactly which audio was handed out.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from assistantd.config.endpoint import HANGOVER_PRESETS_MS, EndpointConfig
from assistantd.endpoint.machine import (
    _TRANSITIONS,
    ONSET_CHECK_LEAD_S,
    Endpointer,
    Event,
    OnsetCheck,
    State,
    Symbol,
    UtteranceAudio,
    UtteranceEnded,
    UtteranceStarted,
)

FRAME_MS = 30
FRAME_S = FRAME_MS / 1000
BASE = EndpointConfig(
    preroll_ms=300,
    start_window_frames=10,
    start_voiced_frames=6,
    hangover_ms=700,
    tail_ms=200,
    min_utterance_ms=200,
    max_utterance_s=15.0,
)


def frame(i: int) -> bytes:
    """30 ms of audio whose bytes say which frame it is."""
    return i.to_bytes(4, "little") * (FRAME_MS * 16 * 2 // 4)


def frames(first: int, last: int) -> bytes:
    return b"".join(frame(i) for i in range(first, last + 1))


def drive(
    pattern: str,
    config: EndpointConfig = BASE,
    seen: set[tuple[State, Symbol]] | None = None,
    onset_check: OnsetCheck | None = None,
) -> list[tuple[int, Event]]:
    machine = Endpointer(config, FRAME_MS, onset_check)
    out: list[tuple[int, Event]] = []
    for i, c in enumerate(pattern.replace(" ", "")):
        out += [(i, e) for e in machine.process(frame(i), c == "#", i * FRAME_S)]
        if seen is not None and machine.last_transition is not None:
            seen.add(machine.last_transition)
    n = len(pattern.replace(" ", ""))
    out += [(n, e) for e in machine.finish(n * FRAME_S)]
    return out


def of(kind: type, events: list[tuple[int, Event]]) -> list:  # type: ignore[type-arg]
    return [e for _, e in events if isinstance(e, kind)]


def audio_of(events: list[tuple[int, Event]], utterance_id: int = 1) -> bytes:
    return b"".join(e.pcm for e in of(UtteranceAudio, events) if e.utterance_id == utterance_id)


def test_scattered_voiced_frames_never_start_an_utterance() -> None:
    assert drive("#.#.#.#.#." * 30) == []
    assert drive("#####....." * 30) == []  # 5 of every 10: one short of the trigger


def test_trigger_fires_on_the_sixth_voiced_frame_of_ten_with_exact_preroll() -> None:
    events = drive("." * 20 + "######" + "." * 40)
    (i, started) = next((i, e) for i, e in events if isinstance(e, UtteranceStarted))
    assert i == 25
    assert started.onset == pytest.approx(20 * FRAME_S)
    assert started.start == pytest.approx(10 * FRAME_S)  # 300 ms = 10 frames of pre-roll
    first_audio = of(UtteranceAudio, events)[0]
    assert first_audio.start == pytest.approx(10 * FRAME_S)
    assert first_audio.pcm == frames(10, 25)


def test_onset_is_the_first_voiced_frame_of_the_trigger_window() -> None:
    events = drive("." * 20 + "#.#.####" + "." * 40)
    started = of(UtteranceStarted, events)[0]
    assert started.onset == pytest.approx(20 * FRAME_S)
    assert of(UtteranceAudio, events)[0].pcm == frames(10, 27)


def test_preroll_is_clipped_at_the_start_of_the_stream() -> None:
    events = drive("..######" + "." * 40)
    assert of(UtteranceStarted, events)[0].start == 0.0
    assert of(UtteranceAudio, events)[0].pcm == frames(0, 7)


def test_preroll_never_reaches_into_the_previous_utterance() -> None:
    config = replace(BASE, hangover_ms=300, tail_ms=300)
    events = drive("." * 20 + "#" * 10 + "." * 11 + "#" * 10 + "." * 30, config)
    first_end, _ = of(UtteranceEnded, events)
    # Silence frames 30..38 are uploaded (270 ms); frame 39 reaches the 300 ms hangover.
    assert first_end.end == pytest.approx(39 * FRAME_S)
    second = of(UtteranceStarted, events)[1]
    assert second.onset == pytest.approx(41 * FRAME_S)
    assert second.start == pytest.approx(39 * FRAME_S)  # not 300 ms before the onset
    assert audio_of(events, 1) == frames(10, 38)
    assert audio_of(events, 2).startswith(frames(39, 46))


def test_a_pause_within_the_tail_keeps_streaming() -> None:
    events = drive("." * 20 + "#" * 10 + "..." + "#" * 10 + "." * 40)
    assert len(of(UtteranceStarted, events)) == 1
    assert audio_of(events) == frames(10, 48)  # through 6 frames (180 ms) of tail after frame 42


def test_a_pause_past_the_tail_is_held_back_then_released_in_order() -> None:
    events = drive("." * 20 + "#" * 10 + "." * 15 + "#" * 10 + "." * 40)
    assert len(of(UtteranceEnded, events)) == 1
    # Frames 36..46 were held (not emitted) until frame 47, the third voiced one of the last five, confirmed
    # that speech had resumed; then they came out in order.
    emitted_at = {e.start: i for i, e in events if isinstance(e, UtteranceAudio)}
    assert emitted_at[36 * FRAME_S] == 47
    assert audio_of(events) == frames(10, 60)


@pytest.mark.parametrize(("resume", "end_frame"), [(3, 53), (1, 65)])
def test_a_click_in_the_pause_does_not_restart_the_hangover(resume: int, end_frame: int) -> None:
    config = replace(BASE, resume_voiced_frames=resume)
    events = drive("." * 20 + "#" * 10 + "." * 10 + "##" + "." * 40, config)  # a click 300 ms after speech
    ((i, ended),) = [(i, e) for i, e in events if isinstance(e, UtteranceEnded)]
    assert i == end_frame  # 700 ms after frame 29 (or after the click, if any voiced frame resumes)
    assert ended.voiced_s == pytest.approx((30 if resume == 3 else 42) * FRAME_S - 20 * FRAME_S)


@pytest.mark.parametrize("preset", sorted(HANGOVER_PRESETS_MS))
def test_hangover_presets_end_the_utterance_after_that_much_silence(preset: str) -> None:
    hangover_ms = HANGOVER_PRESETS_MS[preset]
    config = replace(BASE, hangover_ms=hangover_ms, tail_ms=min(200, hangover_ms))
    events = drive("." * 20 + "#" * 20 + "." * 60, config)
    last_voiced_end = 40 * FRAME_S
    (i, ended) = next((i, e) for i, e in events if isinstance(e, UtteranceEnded))
    assert ended.reason == "silence"
    assert hangover_ms / 1000 <= ended.decided_at - last_voiced_end < hangover_ms / 1000 + FRAME_S
    assert ended.decided_at == pytest.approx((i + 1) * FRAME_S)
    # Uploaded audio stops within the tail, on a frame boundary.
    assert 0 <= ended.end - last_voiced_end <= config.tail_ms / 1000 + 1e-9
    assert ended.end - last_voiced_end > config.tail_ms / 1000 - FRAME_S
    assert audio_of(events) == frames(10, round(ended.end / FRAME_S) - 1)


@pytest.mark.parametrize(("voiced", "reason"), [(6, "cancelled"), (7, "silence")])
def test_shorter_than_min_utterance_is_cancelled(voiced: int, reason: str) -> None:
    events = drive("." * 20 + "#" * voiced + "." * 40)  # 180 ms < 200 ms <= 210 ms
    (ended,) = of(UtteranceEnded, events)
    assert ended.reason == reason
    assert ended.voiced_s == pytest.approx(voiced * FRAME_S)


def test_max_length_forces_an_end_and_speech_goes_on_in_a_new_utterance_without_overlap() -> None:
    config = replace(BASE, max_utterance_s=1.5)
    events = drive("." * 20 + "#" * 60 + "." * 40, config)
    first, second = of(UtteranceEnded, events)
    assert first.reason == "max_length"
    assert (first.start, first.end) == pytest.approx((0.3, 1.8))
    second_start = of(UtteranceStarted, events)[1]
    assert second_start.start == pytest.approx(first.end)
    assert second.reason == "silence"
    assert audio_of(events, 1) == frames(10, 59)
    assert audio_of(events, 2) == frames(60, 79 + 6)


def test_max_length_reached_in_held_silence_uploads_no_more_silence() -> None:
    config = replace(BASE, max_utterance_s=1.0, tail_ms=60)
    events = drive("." * 20 + "#" * 20 + "." * 20, config)  # speech to 1.2 s, max at 1.3 s
    (ended,) = of(UtteranceEnded, events)
    assert ended.reason == "max_length"
    assert ended.end == pytest.approx(1.26)
    assert audio_of(events) == frames(10, 41)


def test_a_refused_onset_stays_idle_and_the_check_is_asked_again_with_the_grown_candidate() -> None:
    asked: list[tuple[float, bytes]] = []

    def third_time_lucky(start: float, pcm: bytes) -> bool:
        asked.append((start, pcm))
        return len(asked) == 3

    events = drive("." * 20 + "#" * 20 + "." * 40, onset_check=third_time_lucky)
    # The check hears the window at the trigger and ONSET_CHECK_LEAD_S of the pre-roll before it.
    lead = math.floor(ONSET_CHECK_LEAD_S / FRAME_S + 1e-9)  # whole frames within the lead
    assert 0 < lead < 10
    assert [(round(start / FRAME_S), pcm) for start, pcm in asked] == [
        (20 - lead, frames(20 - lead, 25)),
        (20 - lead, frames(20 - lead, 26)),
        (20 - lead, frames(20 - lead, 27)),
    ]
    (i, started) = next((i, e) for i, e in events if isinstance(e, UtteranceStarted))
    assert i == 27
    assert started.onset == pytest.approx(20 * FRAME_S)  # the onset is not delayed by the refusals
    assert audio_of(events).startswith(frames(10, 27))  # the utterance keeps its whole pre-roll


def test_an_onset_check_that_always_refuses_starts_nothing() -> None:
    assert drive("." * 20 + "#" * 100 + "." * 40, onset_check=lambda start, pcm: False) == []


def test_finish_ends_the_utterance_in_flight() -> None:
    events = drive("." * 20 + "#" * 20)
    (ended,) = of(UtteranceEnded, events)
    assert ended.reason == "end_of_audio"
    assert ended.end == pytest.approx(40 * FRAME_S)
    assert Endpointer(BASE, FRAME_MS).finish(1.0) == []


def test_every_transition_in_the_table_is_reachable() -> None:
    seen: set[tuple[State, Symbol]] = set()
    talk = "." * 20 + "#" * 10 + "..." + "#" * 5 + "." * 15 + "#" * 5 + "." * 40
    drive(talk, BASE, seen)
    drive(talk, BASE, seen, onset_check=lambda start, pcm: False)  # IDLE -> REJECTED
    drive(talk, replace(BASE, tail_ms=0), seen)  # SPEAKING -> HOLDING at once
    drive(talk, replace(BASE, hangover_ms=30, tail_ms=0), seen)  # hangover within one frame
    drive(talk, replace(BASE, hangover_ms=300, tail_ms=300), seen)  # TRAILING -> end
    drive("." * 20 + "#" * 60, replace(BASE, max_utterance_s=1.0), seen)  # max while SPEAKING
    # The max length (1.0 s from 0.3 s) is reached with frame 43, after speech up to frame 41.
    drive("." * 20 + "#" * 22 + "." * 5, replace(BASE, max_utterance_s=1.0), seen)  # while TRAILING
    drive("." * 20 + "#" * 22 + "." * 5, replace(BASE, max_utterance_s=1.0, tail_ms=0), seen)  # HOLDING
    assert seen == set(_TRANSITIONS)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.booleans(), min_size=1, max_size=400), st.sampled_from([0, 100, 200]))
def test_invariants_on_any_input(pattern: list[bool], tail_ms: int) -> None:
    config = replace(BASE, tail_ms=tail_ms, max_utterance_s=2.0)
    events = drive("".join("#" if v else "." for v in pattern), config)
    open_id = None
    previous_end = 0.0
    cursor = 0.0
    for _, e in events:
        if isinstance(e, UtteranceStarted):
            assert open_id is None
            open_id, cursor = e.utterance_id, e.start
            assert e.start >= previous_end - 1e-9  # utterances never overlap
            assert e.start <= e.onset
        elif isinstance(e, UtteranceAudio):
            assert e.utterance_id == open_id
            assert e.start == pytest.approx(cursor)  # contiguous: no gap, no repeat
            cursor = e.start + len(e.pcm) / 32000
        else:
            assert e.utterance_id == open_id
            assert e.end == pytest.approx(cursor)
            open_id, previous_end = None, e.end
    assert open_id is None
