"""The wake stage on real speech: only what follows "okay nabu" becomes an utterance, the phrase is not
sent, the command's first syllable is kept, and a phrase with nothing after it is reported as such."""

from __future__ import annotations

import asyncio
import shutil

import pytest

from assistantd.audio.frames import Frame, frame_bytes
from assistantd.config import EndpointConfig, WakeConfig
from assistantd.endpoint.listener import Listener
from assistantd.endpoint.live_utterance import Utterance
from assistantd.endpoint.microwakeword import load_detector
from assistantd.endpoint.vad import build_vad
from assistantd.endpoint.wake import LOOKAHEAD_S, Detection, WakeStage
from bench.synth import to_pcm
from bench.wake_audio import Line, Placed, build
from tests.endpoint.test_listener import PcmSource
from tests.wake_speech import BARE, SCRIPT, recording

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("flite") is None, reason="needs flite (Debian package)"),
]

CONFIG = EndpointConfig()
PHRASE_TAIL_S = 0.1
"""The upload may begin this much before the phrase's voiced end: the 40 dB-down tail of "nabu" that
speech_bounds still counts is below the room noise at 20 dB SNR."""


@pytest.fixture(scope="module")
def audio(tmp_path_factory: pytest.TempPathFactory) -> tuple[bytes, list[Placed]]:
    return recording(tmp_path_factory.mktemp("wake-speech"))


def _stage() -> WakeStage:
    return WakeStage(load_detector(WakeConfig(model="okay_nabu")), 30)


async def _listen(listener: Listener, follow_up_s: float = 0.0) -> list[tuple[Utterance, bytes]]:
    out = []
    async with asyncio.timeout(120):
        async for utt in listener.utterances():
            pcm = b"".join([chunk async for chunk in utt.audio()])
            out.append((utt, pcm))
            if follow_up_s and utt.wake is not None and utt.end_reason == "silence":
                listener.follow_up(follow_up_s)
    return out


async def test_only_speech_after_the_phrase_becomes_an_utterance(audio: tuple[bytes, list[Placed]]) -> None:
    pcm, placed = audio
    source = PcmSource(pcm, live=True)
    listener = Listener(source, build_vad(CONFIG), CONFIG, wake=_stage(), command_timeout_s=5)
    heard = await _listen(listener)
    addressed = [p for p, (line, _, _) in zip(placed, SCRIPT, strict=True) if line.gap_s is not None]
    assert len(heard) == len(addressed)
    for (utt, uploaded), where in zip(heard, addressed, strict=True):
        assert utt.wake is not None and utt.wake.model == "okay_nabu"
        assert utt.wake.probability > 0.85
        assert where.phrase_end is not None
        # Heard around the end of the phrase, not before it began.
        assert where.phrase_end - 0.5 < utt.wake.time < where.phrase_end + 0.5
        if where is placed[BARE]:
            assert utt.end_reason == "no_command" and uploaded == b"" and utt.chunks == 0
            continue
        assert utt.end_reason == "silence"
        assert utt.end is not None
        # The phrase is not sent; the command's first syllable is.
        assert where.phrase_end - PHRASE_TAIL_S <= utt.start <= where.start, (where, utt)
        assert utt.end >= where.end
        assert len(uploaded) == round((utt.end - utt.start) * 32000)


async def test_the_same_audio_in_continuous_mode_makes_an_utterance_of_everything(
    audio: tuple[bytes, list[Placed]],
) -> None:
    pcm, placed = audio
    heard = await _listen(Listener(PcmSource(pcm, live=True), build_vad(CONFIG), CONFIG))
    assert all(utt.wake is None for utt, _ in heard)
    # Every line (the bare phrase too) is at least one utterance: the wake stage is what filters.
    for where in placed:
        begin = where.phrase_end - 1 if where.phrase_end is not None else where.start
        assert any(begin - 0.5 < utt.start < where.end for utt, _ in heard), where


async def test_a_follow_up_window_takes_one_command_without_the_phrase(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    script = [
        Line("flite:kal16", "turn on the kitchen lights", gap_s=0.3, pause_after_s=1.5),
        Line("flite:rms", "turn off the kitchen lights", pause_after_s=6),  # inside the window
        Line("flite:awb", "turn the volume up"),  # long after it
    ]
    audio, placed = build(script, cache=tmp_path_factory.mktemp("follow-up"))
    listener = Listener(PcmSource(to_pcm(audio), live=True), build_vad(CONFIG), CONFIG, wake=_stage())
    heard = await _listen(listener, follow_up_s=3.0)
    assert [utt.wake is not None for utt, _ in heard] == [True, False]
    assert placed[1].start - 0.5 < heard[1][0].start <= placed[1].start


def test_the_detector_fires_where_bare_pymicro_wakeword_does(audio: tuple[bytes, list[Placed]]) -> None:
    from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model

    pcm, _ = audio
    size = frame_bytes(30)
    bare, features = MicroWakeWord.from_builtin(Model.OKAY_NABU), MicroWakeWordFeatures()
    expected = []
    for i in range(len(pcm) // size):
        for step in features.process_streaming(pcm[i * size : (i + 1) * size]):
            if bare.process_streaming(step):
                expected.append(round((i + 1) * 0.03, 2))
                bare.reset()
    stage = WakeStage(load_detector(WakeConfig(model="okay_nabu")), 30, refractory_s=0)
    got = []
    for i in range(len(pcm) // size):
        detection = stage.listen(Frame(pcm[i * size : (i + 1) * size], i * 0.03))
        if detection is not None:
            got.append(round(detection.time, 2))
            stage.reset()
    assert got == expected and len(got) == 4


# -- the pure stage, with a scripted detector -------------------------------------------------------


class ScriptedDetector:
    """Fires with probability 0.9 on the frames whose index is in ``fire_on``."""

    name = "scripted"

    def __init__(self, fire_on: set[int]) -> None:
        self.fire_on = fire_on
        self.frames = 0
        self.resets = 0

    def process(self, pcm: bytes) -> float | None:
        self.frames += 1
        return 0.9 if self.frames - 1 in self.fire_on else None

    def reset(self) -> None:
        self.resets += 1


def _frame(i: int, loud: bool) -> Frame:
    value = 8000 if loud else 30
    pcm = (value.to_bytes(2, "little", signed=True) + (-value).to_bytes(2, "little", signed=True)) * 240
    return Frame(pcm, i * 0.03)


def test_the_handoff_cuts_at_the_longest_pause_around_the_detection() -> None:
    # speech 0-14, a closure 15-16, speech 17-19, pause 20-25, speech 26-28, closure 29-30, speech 31-;
    # the detector fires on frame 21.
    loud = [not (15 <= i <= 16 or 20 <= i <= 25 or 29 <= i <= 30) for i in range(40)]
    stage = WakeStage(ScriptedDetector({21}), 30)
    detection = None
    i = 0
    while detection is None:
        detection = stage.listen(_frame(i, loud[i]))
        i += 1
    assert detection == Detection(21 * 0.03 + 0.03, "scripted", 0.9)
    while not stage.collect(_frame(i, loud[i])):
        i += 1
    assert (i + 1) * 0.03 >= detection.time + LOOKAHEAD_S
    handoff = stage.handoff()
    assert handoff.command[0].t == pytest.approx(20 * 0.03)  # where the pause begins
    assert [round(f.t / 0.03) for f in handoff.warm + handoff.command] == list(range(i + 1))[-50:]


def test_a_second_detection_inside_the_refractory_time_is_ignored() -> None:
    detector = ScriptedDetector({10, 40, 90})
    stage = WakeStage(detector, 30, refractory_s=2.0)
    fired = [d for d in (stage.listen(_frame(i, False)) for i in range(100)) if d is not None]
    # 40 is 0.9 s after 10 (ignored); 90 is 2.4 s after it.
    assert [round(d.time / 0.03) for d in fired] == [11, 91]
    assert stage.suppressed == 1 and stage.detections == 2
    stage.reset()
    assert detector.resets == 1
