"""The ``wake:`` section: the on-device wake word (microWakeWord) that must come before a command."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from assistantd.config.reader import Node

BUILTIN_MODELS = ("okay_nabu", "hey_jarvis", "alexa", "hey_mycroft")
"""The models pymicro-wakeword's wheel ships (nothing is downloaded)."""
TFLITE_IDENTIFIER = b"TFL3"
"""The flatbuffer file identifier of a TFLite model (bytes 4-8 of the file)."""


@dataclass(frozen=True)
class WakeConfig:
    model: str | None = None
    """A built-in model name (BUILTIN_MODELS) or the path of a microWakeWord model ``.json`` (its
    ``.tflite`` beside it). null: continuous listening, every utterance the VAD finds is a command."""
    probability_cutoff: float | None = None
    """Detection threshold on the model's averaged probability (0-1); null: the model's own (0.85-0.97
    for the built-ins). Higher misses more, lower false-fires more."""
    refractory_s: float = 2.0
    """After a detection, the phrase is not detected again for this long."""
    command_timeout_s: float = 5.0
    """After the phrase, how long to wait for the command to start; then it is reported as no command."""
    follow_up_s: float = 0.0
    """After a reply's handlers finish, listen this long for another command without the phrase; 0 = off."""

    @property
    def enabled(self) -> bool:
        return self.model is not None

    @classmethod
    def from_node(cls, node: Node, base_dir: Path) -> WakeConfig:
        model = node.raw("model", cls.model)
        if model is not None:
            model = _model(node, model, base_dir)
        if node.has("chime"):
            # The chime moved to feedback.wake (played by feedback.player, with the microphone muted).
            raise node.error(
                "chime", "expected no chime here: it moved to feedback.wake (README: Feedback sounds)"
            )
        cfg = cls(
            model=model,
            probability_cutoff=node.number("probability_cutoff", cls.probability_cutoff, min=0.01, max=0.999),
            refractory_s=node.number("refractory_s", cls.refractory_s, min=0, max=60),
            command_timeout_s=node.number("command_timeout_s", cls.command_timeout_s, min=0.5, max=60),
            follow_up_s=node.number("follow_up_s", cls.follow_up_s, min=0, max=60),
        )
        node.finish()
        return cfg


def _model(node: Node, value: object, base_dir: Path) -> str:
    """A built-in name as is, or a model .json resolved against the config's directory and checked."""
    expected = f"expected one of {', '.join(BUILTIN_MODELS)} or the path of a microWakeWord model .json"
    if not isinstance(value, str) or not value:
        raise node.error("model", expected, value)
    if value in BUILTIN_MODELS:
        return value
    if not value.endswith(".json"):
        raise node.error("model", expected, value)
    path = base_dir / value
    try:
        spec = json.loads(path.read_text(encoding="utf-8"))
    except OSError as err:
        raise node.error("model", f"{expected} (cannot read it: {err.strerror or err})", value) from None
    except ValueError:
        raise node.error("model", f"{expected} (the file is not JSON)", value) from None
    micro = spec.get("micro") if isinstance(spec, dict) else None
    tflite = spec.get("model") if isinstance(spec, dict) else None
    if not isinstance(micro, dict) or not isinstance(tflite, str) or "probability_cutoff" not in micro:
        raise node.error("model", f"{expected} (it lacks model / micro.probability_cutoff)", value)
    try:
        with open(path.parent / tflite, "rb") as model_file:
            head = model_file.read(8)
    except OSError:
        raise node.error("model", f"{expected} (its model file {tflite!r} is missing)", value) from None
    if head[4:8] != TFLITE_IDENTIFIER:
        # TFLite's C API crashes the process on a file that is not a model: refuse it here instead.
        raise node.error("model", f"{expected} ({tflite!r} is not a TFLite model)", value)
    return str(path)
