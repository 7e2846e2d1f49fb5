"""Handlers: what happens after an intent matches (exec, http, mqtt, homeassistant, say).

The daemon builds one Runner with ``build_runner(config.handlers, gate)``, awaits ``runner.start()``,
calls ``runner.dispatch(Invocation(...))`` per utterance, and ``await runner.aclose(grace_s)`` at shutdown.
The SpeakingGate it passes in is the one its listener consults to drop audio while the assistant speaks.
"""

from assistantd.handlers.base import Handler, Invocation, Outcome
from assistantd.handlers.build import build_runner
from assistantd.handlers.runner import Runner
from assistantd.handlers.speaking import SpeakingGate

__all__ = ["Handler", "Invocation", "Outcome", "Runner", "SpeakingGate", "build_runner"]
