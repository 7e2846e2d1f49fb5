"""``assistantd handle``: run the handlers bound to an intent once, as if it had been spoken.

For trying a binding after editing the YAML: ``assistantd handle HassTurnOn --slot name=kitchen``.
Without an intent the fallback runs. Exit 0 when every handler succeeded, 1 otherwise.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path

from assistantd.config import load_config
from assistantd.config.template import SlotValue
from assistantd.errors import ConfigError
from assistantd.handlers import Invocation, SpeakingGate, build_runner


def parse_slots(pairs: Sequence[str]) -> dict[str, SlotValue]:
    """``name=value`` pairs; values that read as numbers become numbers, as a matcher would give them."""
    slots: dict[str, SlotValue] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep or not name:
            raise ConfigError("--slot", name or pair, "expected NAME=VALUE", repr(pair))
        number: SlotValue = value
        for kind in (int, float):
            try:
                number = kind(value)
                break
            except ValueError:
                continue
        slots[name] = number
    return slots


async def _handle(config_path: Path | None, invocation: Invocation) -> int:
    cfg = load_config(config_path)
    runner = build_runner(cfg.handlers, SpeakingGate())
    await runner.start()
    try:
        task = runner.dispatch(invocation)
        outcomes = await task if task is not None else []
    finally:
        await runner.aclose(1.0)
    for outcome in outcomes:
        status = "ok" if outcome.ok else "FAILED"
        print(f"{outcome.handler}: {status} in {outcome.duration_s:.3f} s: {outcome.detail}")
    if not outcomes:
        print("no handler ran")
    return 0 if outcomes and all(o.ok for o in outcomes) else 1


def run(config_path: Path | None, intent: str | None, slots: Sequence[str], text: str) -> int:
    invocation = Invocation("cli", text, intent, parse_slots(slots))
    return asyncio.run(_handle(config_path, invocation))
