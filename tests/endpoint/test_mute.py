"""The reply mute in the audio chain: while the assistant speaks, the endpointer pauses.

Real speech in room noise: a command, the assistant's spoken reply (muted), then two more commands
back to back. The mute is keyed on the audio clock (an honest gate double: the daemon's SpeakingGate
runs on the wall clock, which only lines up with live audio), so the verdict never depends on speed.
"""

from __future__ import annotations

import pytest

from assistantd.config.endpoint import EndpointConfig
from assistantd.endpoint.listener import Listener
from assistantd.endpoint.vad import build_vad
from assistantd.tap import TappedSource
from tests.endpoint.conftest import Float, mix
from tests.endpoint.test_listener import PcmSource

CONFIG = EndpointConfig()


class MutedBetween:
    """Muted while the source's audio clock is inside [start, end)."""

    def __init__(self, source: PcmSource, start: float, end: float) -> None:
        self.source, self.start, self.end = source, start, end

    def is_muted(self, now: float | None = None) -> bool:
        return self.start <= self.source.position < self.end


@pytest.mark.parametrize("noise", ["pink", "white", "hum", "clicks"])
async def test_commands_after_a_spoken_reply_are_endpointed_as_if_there_had_been_none(
    speech: dict[str, Float], noise: str
) -> None:
    # A command, the reply, then three commands 1 s apart (a user going down a list). Replacing the
    # muted frames by zeros merged the second and third commands in all four noises; the same audio
    # heard with no mute at all is the reference (the endpointer's own limits are not at issue here).
    command, reply = speech["en_flite"], speech["en_espeak"]
    clips = [command, reply, command, command, command]
    audio = mix(clips, gaps_s=[0.8, 1.0, 1.0, 1.0], noise=noise, snr_db=10)
    said = audio.truth[1]
    source = PcmSource(audio.pcm, live=True)  # the mute only ever applies to live audio
    # The reply and a 0.3 s tail are muted, as the say handler holds the gate.
    muted = 0

    def count_muted() -> None:
        nonlocal muted
        muted += 1

    tap = TappedSource(source, lambda: None, MutedBetween(source, said[0], said[1] + 0.3), count_muted)
    heard = await _heard(Listener(tap, build_vad(CONFIG), CONFIG))
    plain = PcmSource(audio.pcm, live=True)
    reference = await _heard(Listener(plain, build_vad(CONFIG), CONFIG))

    # Without the mute the reply is an utterance of its own; everything else is the same.
    assert any(u[0] <= said[1] and said[0] <= u[1] for u in reference)
    expected = [u for u in reference if u[1] < said[0] or u[0] > said[1]]
    assert len(heard) == len(expected), (heard, expected)
    for (start, end, reason), (start0, end0, reason0) in zip(heard, expected, strict=True):
        assert reason == reason0 == "silence"
        assert abs(start - start0) <= 0.1 and abs(end - end0) <= 0.1, (heard, expected)
    # The reply and its tail (about 2 s) held back, frame by frame; nothing else.
    frames = (said[1] + 0.3 - said[0]) * 1000 / source.frame_ms
    assert abs(muted - frames) <= 2, (muted, frames)


async def _heard(listener: Listener) -> list[tuple[float, float, str]]:
    heard = []
    async for utterance in listener.utterances():
        await utterance.wait_ended()
        assert utterance.end is not None and utterance.end_reason is not None
        heard.append((utterance.start, utterance.end, str(utterance.end_reason)))
    return heard
