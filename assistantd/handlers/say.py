"""say handlers: a spoken reply through espeak-ng or a configured TTS command.

One voice speaks at a time (replies queue behind a lock rather than talk over each other), and the
SpeakingGate is held while it speaks plus ``tts.tail_ms`` after, so the listener drops what the
microphone hears of it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

from assistantd.config.handler_specs import SaySpec
from assistantd.config.handlers import ESPEAK_COMMAND, TtsConfig
from assistantd.errors import HandlerError
from assistantd.handlers.base import Invocation
from assistantd.handlers.process import run_process
from assistantd.handlers.speaking import SpeakingGate


class Voice:
    """The TTS command, shared by every say handler."""

    def __init__(
        self, tts: TtsConfig, gate: SpeakingGate, *, base_env: Mapping[str, str], kill_grace_s: float
    ) -> None:
        self.tts = tts
        self.gate = gate
        self._base_env = dict(base_env)
        self.kill_grace_s = kill_grace_s
        self._lock = asyncio.Lock()

    def argv(self, text: str) -> tuple[list[str], bytes]:
        """The command line and stdin for one reply."""
        if not self.tts.command:
            argv = list(ESPEAK_COMMAND)
            if self.tts.voice:
                argv += ["-v", self.tts.voice]
            if self.tts.device:
                argv += ["-d", self.tts.device]
            return argv, text.encode("utf-8")
        values = {"text": text, "device": self.tts.device or ""}
        argv = [element.render(values) for element in self.tts.command]
        wants_text = any(element.whole_field == "text" for element in self.tts.command)
        return argv, b"" if wants_text else text.encode("utf-8")

    async def say(self, text: str) -> float:
        """Speak ``text``; returns seconds spent speaking. Raises HandlerError when the command fails."""
        argv, stdin = self.argv(text)
        async with self._lock, self.gate.speaking(self.tts.tail_ms / 1000.0):
            result = await run_process(
                argv,
                stdin=stdin,
                env=self._base_env,
                timeout_s=self.tts.timeout_s,
                kill_grace_s=self.kill_grace_s,
                output_limit=4096,
            )
        if result.timed_out:
            raise HandlerError(f"TTS timed out after {self.tts.timeout_s:g} s")
        if result.returncode != 0:
            summary = result.summary()
            raise HandlerError(
                f"TTS {argv[0]} exit status {result.returncode}" + (f": {summary}" if summary else "")
            )
        if not self.tts.command and _espeak_failed_to_play(result.output):
            # espeak-ng exits 0 when it cannot open the sound device; its "error:" line is the only sign.
            raise HandlerError(f"TTS espeak-ng could not play: {result.summary()}")
        return result.duration_s


class SayHandler:
    def __init__(self, spec: SaySpec, voice: Voice, *, name: str) -> None:
        self.spec = spec
        self._voice = voice
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    async def run(self, invocation: Invocation) -> str:
        text = self.spec.text.render(invocation.values())
        spoken_s = await self._voice.say(text)
        return f"said {len(text)} characters in {spoken_s:.2f} s"


def _espeak_failed_to_play(output: bytes) -> bool:
    return any(line.startswith(b"error:") for line in output.splitlines())
