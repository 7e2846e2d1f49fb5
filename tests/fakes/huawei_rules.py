"""The rules of a RASR session the fake enforces (protocols.md §3.1, §3.3-§3.5), with the codes it answers.

Where §3.7 names no code for a violation (wrong order, chunk size, bad value) the fake uses SIS.0031
("unsupported parameter"); a missing field is SIS.0012, bad JSON or audio_format SIS.0032.
"""

from __future__ import annotations

import re
from typing import Any

MODES = {"short-stream": 60.0, "sentence-stream": 60.0, "continue-stream": 5 * 3600.0}
"""Mode -> longest audio in seconds (§3.1)."""
AUDIO_FORMATS = {
    "pcm16k16bit": (16000, 2),
    "pcm8k16bit": (8000, 2),
    "ulaw16k8bit": (16000, 1),
    "ulaw8k8bit": (8000, 1),
    "alaw16k8bit": (16000, 1),
    "alaw8k8bit": (8000, 1),
}
CHUNK_LIMITS = {16000: (320, 65536), 8000: (160, 32768)}
"""§3.4: allowed binary frame sizes by sample rate."""
YES_NO = ("add_punc", "digit_norm", "interim_results", "need_word_info")
RANGES = {"vad_head": (0, 60000), "vad_tail": (0, 3000), "max_seconds": (1, 60)}
CONFIG_KEYS = {"audio_format", "property", "vocabulary_id", *YES_NO, *RANGES}
PATH = re.compile(r"^/v1/(?P<project>[^/]+)/rasr/(?P<mode>[a-z-]+)$")
"""§3.1: /v1/{project_id}/rasr/{mode}."""
PROPERTY = re.compile(r"^[a-z]+_(?P<rate>8k|16k)_[a-z]+$")


class SisError(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def check_start_config(config: object, vocabularies: set[str]) -> None:
    """§3.3, strictly. Raises SisError with the code the service would use."""
    if config is None:
        raise SisError("SIS.0012", "'config' is required")
    if not isinstance(config, dict):
        raise SisError("SIS.0032", "'config' must be an object")
    unknown = sorted(set(config) - CONFIG_KEYS)
    if unknown:
        raise SisError("SIS.0031", f"unsupported parameter {unknown[0][:30]!r}")
    for key in ("audio_format", "property"):
        if key not in config:
            raise SisError("SIS.0012", f"'{key}' is required")
    audio_format = config["audio_format"]
    if not isinstance(audio_format, str) or audio_format not in AUDIO_FORMATS:
        raise SisError("SIS.0032", "'audio_format' is invalid")
    prop = config["property"]
    match = PROPERTY.match(prop) if isinstance(prop, str) else None
    if match is None:
        raise SisError("SIS.0031", "'property' is invalid")
    if int(match["rate"].removesuffix("k")) * 1000 != AUDIO_FORMATS[audio_format][0]:
        raise SisError("SIS.0031", "'property' sample rate does not match 'audio_format'")
    for key in YES_NO:
        if key in config and config[key] not in ("yes", "no"):
            raise SisError("SIS.0031", f"'{key}' must be the string yes or no")
    for key, (low, high) in RANGES.items():
        value = config.get(key, low)
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise SisError("SIS.0031", f"'{key}' must be an integer in {low}-{high}")
    if "vocabulary_id" in config:
        vocabulary = config["vocabulary_id"]
        if not isinstance(vocabulary, str):
            raise SisError("SIS.0031", "'vocabulary_id' must be a string")
        if vocabulary not in vocabularies:
            raise SisError("SIS.0201", "vocabulary not found")


def cancel_flag(command: dict[str, Any]) -> bool:
    # §3.5: the doc types cancel as Boolean; the official SDK sends the strings "true"/"false".
    cancel = command.get("cancel", False)
    if cancel in (True, "true"):
        return True
    if cancel in (False, "false"):
        return False
    raise SisError("SIS.0031", "'cancel' must be true or false")
