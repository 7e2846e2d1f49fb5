"""``assistantd check-config``: load the config and report the first problem."""

from __future__ import annotations

from pathlib import Path

from assistantd.config import load_config


def run(config_path: Path | None) -> int:
    cfg = load_config(config_path)
    print(f"{cfg.source}: ok (recognizer {cfg.recognizer.default})")
    return 0
