"""microWakeWord (pymicro-wakeword, the detector of Home Assistant's Voice PE) as a WakeDetector.

The wheel ships the TFLite C runtime and the built-in models; nothing is downloaded. Features are 10 ms
steps; the models run one inference per three steps (their input stride), so a 30 ms frame costs one
inference. pymicro-wakeword and numpy are imported only when a wake word is configured.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from assistantd.config.wake import BUILTIN_MODELS, WakeConfig
from assistantd.errors import ConfigError


class MicroWakeWordDetector:
    """Streaming detection with one microWakeWord model; the cutoff may override the model's own."""

    def __init__(self, model: Any, features: Any, name: str, cutoff: float) -> None:
        self._model = model
        self._features = features
        self.name = name
        self.cutoff = cutoff
        self.peak = 0.0
        """The highest averaged probability seen since the last reset (for tuning)."""

    def process(self, pcm: bytes) -> float | None:
        fired: float | None = None
        for step in self._features.process_streaming(pcm):
            probability = self._model.process_streaming_prob(step)
            if probability is None:
                continue
            self.peak = max(self.peak, probability)
            if probability > self.cutoff and fired is None:
                fired = float(probability)
        return fired

    def reset(self) -> None:
        # The model's reset reloads the interpreter: its recurrent state is the only way to forget.
        self._model.reset()
        self._features.reset()
        self.peak = 0.0


def load_detector(config: WakeConfig, source: str = "<config>") -> MicroWakeWordDetector:
    """The detector ``wake.model`` names. Raises ConfigError naming ``wake.model`` if it cannot load."""
    if config.model is None:
        raise ValueError("wake.model is null: continuous listening has no detector")
    from pymicro_wakeword import MicroWakeWord, MicroWakeWordFeatures, Model  # noqa: PLC0415 - heavy

    try:
        if config.model in BUILTIN_MODELS:
            model = MicroWakeWord.from_builtin(Model(config.model))
            name = config.model
        else:
            model = MicroWakeWord.from_config(Path(config.model))
            name = Path(config.model).stem
    except (OSError, ValueError, KeyError, RuntimeError) as err:
        raise ConfigError(source, "wake.model", "a microWakeWord model that loads", f"{err}") from None
    cutoff = config.probability_cutoff if config.probability_cutoff is not None else model.probability_cutoff
    return MicroWakeWordDetector(model, MicroWakeWordFeatures(), name, float(cutoff))
