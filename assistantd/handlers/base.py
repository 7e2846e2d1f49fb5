"""What handlers take and give back: an Invocation in, an Outcome out, and the Handler protocol."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Protocol

from assistantd.config.template import SlotValue, template_values

_NOT_ENV = re.compile(r"[^A-Z0-9_]")


@dataclass(frozen=True)
class Invocation:
    """One recognised utterance to act on. ``intent`` is None when the text matched no intent."""

    utterance_id: str
    text: str
    intent: str | None = None
    slots: Mapping[str, SlotValue] = field(default_factory=dict)

    def values(self) -> dict[str, SlotValue]:
        """What templates render from: the slots, then ``text`` and ``intent``."""
        return template_values(self.text, self.intent, self.slots)

    def to_json(self) -> str:
        """The document an exec handler reads on stdin."""
        return json.dumps(
            {
                "utterance_id": self.utterance_id,
                "text": self.text,
                "intent": self.intent,
                "slots": dict(self.slots),
            },
            ensure_ascii=False,
        )

    def to_env(self) -> dict[str, str]:
        """ASSISTANTD_* variables for an exec handler (slot names upper-cased, other characters -> _)."""
        env = {
            "ASSISTANTD_UTTERANCE_ID": self.utterance_id,
            "ASSISTANTD_TEXT": self.text,
            "ASSISTANTD_INTENT": self.intent or "",
            "ASSISTANTD_SLOTS_JSON": json.dumps(dict(self.slots), ensure_ascii=False),
        }
        for name, value in self.slots.items():
            env[f"ASSISTANTD_SLOT_{_NOT_ENV.sub('_', name.upper())}"] = str(value)
        return env


@dataclass(frozen=True)
class Outcome:
    """How one handler run went. ``detail`` is fit for a log line and never holds a secret."""

    ok: bool
    handler: str
    detail: str
    duration_s: float


class Handler(Protocol):
    """One configured action. ``run`` returns a short detail, or raises HandlerError on failure."""

    @property
    def name(self) -> str: ...

    async def run(self, invocation: Invocation) -> str: ...
