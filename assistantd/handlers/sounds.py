"""Feedback sounds (wake chime, error tone, timer alarm) through the configured player, muted.

Every sound holds the SpeakingGate while its player runs and ``feedback.tail_ms`` after, exactly as a
spoken reply does, so the listener never hears the daemon's own sounds. Sounds play one at a time (a
chime and an error tone never overlap), each bounded by ``feedback.timeout_s``. A player that fails is
logged; it never fails the utterance that asked for it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping

from assistantd.config.feedback import FeedbackConfig
from assistantd.errors import HandlerError
from assistantd.handlers.process import INHERITED_ENV, run_process
from assistantd.handlers.speaking import SpeakingGate

log = logging.getLogger(__name__)

PLAYER_ENV = (*INHERITED_ENV, "ALSA_CONFIG_PATH", "ALSA_CARD", "PULSE_SERVER", "PULSE_SINK")
"""What the player inherits of the daemon's environment: the handlers' set plus where sound goes
(never the recognizers' credentials)."""
KILL_GRACE_S = 0.5


class SoundPlayer:
    def __init__(
        self,
        config: FeedbackConfig,
        gate: SpeakingGate,
        *,
        environ: Mapping[str, str],
        on_played: Callable[[str], None] = lambda event: None,
    ) -> None:
        """``on_played(event)`` is called for each sound whose player ran to a clean exit (a metric)."""
        self.config = config
        self._on_played = on_played
        self.gate = gate
        self._env = {k: environ[k] for k in PLAYER_ENV if k in environ}
        self._lock = asyncio.Lock()
        self._playing: set[asyncio.Task[bool]] = set()
        self.played = 0
        """Sounds whose player ran to a clean exit."""

    def configured(self, event: str) -> bool:
        return self.config.sound(event) is not None

    async def play(self, event: str) -> bool:
        """Play the sound of ``event`` (feedback.SOUNDS) and wait for it; False if none is configured or
        the player failed (logged)."""
        path = self.config.sound(event)
        if path is None:
            return False
        argv = self.config.argv(path)
        try:
            async with self._lock, self.gate.speaking(self.config.tail_ms / 1000.0):
                result = await run_process(
                    argv,
                    stdin=b"",
                    env=self._env,
                    timeout_s=self.config.timeout_s,
                    kill_grace_s=KILL_GRACE_S,
                    output_limit=1024,
                )
        except HandlerError as err:  # the player cannot be started
            log.warning("%s sound: %s", event, err)
            return False
        if result.timed_out or result.returncode != 0:
            why = (
                f"timed out after {self.config.timeout_s:g} s"
                if result.timed_out
                else (f"exit status {result.returncode}")
            )
            summary = result.summary()
            log.warning("%s sound: %s %s%s", event, argv[0], why, f": {summary}" if summary else "")
            return False
        self.played += 1
        self._on_played(event)
        log.debug("%s sound played in %.2f s", event, result.duration_s)
        return True

    def play_soon(self, event: str) -> None:
        """Start the sound and return at once (the listener must not wait for a chime)."""
        if not self.configured(event):
            return
        task = asyncio.get_running_loop().create_task(self.play(event), name=f"sound:{event}")
        self._playing.add(task)
        task.add_done_callback(self._playing.discard)

    async def aclose(self, grace_s: float) -> None:
        """Let sounds still playing finish within ``grace_s`` (they are short), then stop them."""
        if not self._playing:
            return
        _, late = await asyncio.wait(set(self._playing), timeout=grace_s)
        for task in late:
            task.cancel()
        if late:
            await asyncio.wait(late)
