"""say handlers through a real espeak-ng, and the SpeakingGate that mutes the listener meanwhile."""

from __future__ import annotations

import asyncio
import os
import shutil
import wave
from pathlib import Path

import pytest

from assistantd.config.handlers import TtsConfig
from assistantd.handlers import Invocation, SpeakingGate, build_runner
from assistantd.handlers.say import Voice

from .conftest import handlers_config


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


async def test_gate_mutes_while_speaking_and_for_the_tail() -> None:
    clock = FakeClock()
    gate = SpeakingGate(clock)
    assert not gate.is_muted()
    async with gate.speaking(0.3):
        clock.now += 5.0
        assert gate.is_muted()
        assert gate.is_muted(now=clock.now + 100)  # muted however late, while speech lasts
    assert gate.is_muted(now=1005.29)
    assert not gate.is_muted(now=1005.31)
    clock.now = 1005.31
    assert not gate.is_muted()


async def test_gate_overlapping_replies_and_errors_keep_the_latest_tail() -> None:
    clock = FakeClock()
    gate = SpeakingGate(clock)
    with pytest.raises(RuntimeError):
        async with gate.speaking(1.0):
            async with gate.speaking(0.1):
                clock.now = 1001.0
            assert gate.is_muted(now=1050.0)  # the outer reply still speaks
            clock.now = 1002.0
            raise RuntimeError("TTS crashed")
    assert gate.is_muted(now=1002.99)
    assert not gate.is_muted(now=1003.0)


def test_default_command_is_espeak_with_text_on_stdin() -> None:
    voice = Voice(TtsConfig(voice="en-us", device="hw:1"), SpeakingGate(), base_env={}, kill_grace_s=1)
    assert voice.argv("-w /etc/passwd") == (
        ["espeak-ng", "--stdin", "-v", "en-us", "-d", "hw:1"],
        b"-w /etc/passwd",  # text never lands where espeak-ng parses options
    )


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
async def test_say_speaks_through_the_tts_command_while_the_gate_mutes(tmp_path: Path) -> None:
    wav = tmp_path / "reply.wav"
    clock = FakeClock()
    gate = SpeakingGate(clock)
    cfg = handlers_config(
        {
            "tts": {"command": ["espeak-ng", "-w", str(wav)], "tail_ms": 300},
            "fallback": {"say": {"text": "Sorry, I didn't get {text}"}},
        }
    )
    runner = build_runner(cfg, gate, environ=dict(os.environ))
    task = runner.dispatch(Invocation("u1", "the purple thing", None))
    assert task is not None
    await asyncio.sleep(0)  # let the task start speaking
    samples = []
    while not task.done():
        samples.append(gate.is_muted())
        await asyncio.sleep(0.001)
    (outcome,) = await task
    assert outcome.ok, outcome.detail
    assert samples and all(samples)
    assert gate.is_muted(now=clock.now + 0.29)
    assert not gate.is_muted(now=clock.now + 0.31)
    with wave.open(str(wav)) as w:
        seconds = w.getnframes() / w.getframerate()
    assert 1.0 < seconds < 5.0  # "Sorry, I didn't get the purple thing" spoken, not an empty file


async def test_failing_tts_is_a_failure_and_releases_the_gate(tmp_path: Path) -> None:
    clock = FakeClock()
    gate = SpeakingGate(clock)
    cfg = handlers_config(
        {
            "tts": {"command": ["false"], "tail_ms": 0},
            "bindings": [{"intent": "Hi", "say": {"text": "hello"}}],
        }
    )
    runner = build_runner(cfg, gate, environ=dict(os.environ))
    task = runner.dispatch(Invocation("u2", "hi", "Hi"))
    assert task is not None
    (outcome,) = await task
    assert not outcome.ok and "exit status 1" in outcome.detail
    assert not gate.is_muted(now=clock.now)


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng is not installed")
async def test_espeak_that_cannot_open_the_sound_device_is_a_failure() -> None:
    # espeak-ng exits 0 with no sound card or a device name that does not exist: nothing was heard,
    # so the reply must not be reported as said.
    cfg = handlers_config(
        {
            "tts": {"device": "no_such_pcm_device", "tail_ms": 0},
            "bindings": [{"intent": "Hi", "say": {"text": "hello"}}],
        }
    )
    runner = build_runner(cfg, SpeakingGate(), environ=dict(os.environ))
    task = runner.dispatch(Invocation("u3", "hi", "Hi"))
    assert task is not None
    (outcome,) = await task
    assert not outcome.ok
    assert outcome.detail.startswith("TTS espeak-ng could not play: error: "), outcome.detail
