"""``assistantd check-config``: everything ``run`` checks before it starts, without starting anything.

The config file, the intent files it names, the handlers bound to those intents: what passes here is what
``run`` (and a SIGHUP reload) accepts.
"""

from __future__ import annotations

from pathlib import Path

from assistantd.app import check_bindings
from assistantd.config import load_config
from assistantd.intents.loader import load_matcher


def run(config_path: Path | None) -> int:
    cfg = load_config(config_path)
    matcher = load_matcher(cfg)
    check_bindings(cfg, matcher.intent_names())
    wake = "no wake word"
    if cfg.wake.model is not None:
        from assistantd.endpoint.microwakeword import load_detector  # noqa: PLC0415 - numpy, TFLite

        detector = load_detector(cfg.wake, cfg.source)  # the model loads, as run would load it
        wake = f"wake word {detector.name} at cutoff {detector.cutoff:.2f}"
    print(
        f"{cfg.source}: ok (recognizer {cfg.recognizer.default}, {wake}, {len(matcher.intent_names())} "
        f"intents, {len(cfg.handlers.bindings)} bindings)"
    )
    return 0
