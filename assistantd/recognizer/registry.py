"""Recognizers by name. A new cloud vendor is one codec module and one entry in ``_BUILDERS``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from assistantd.config.recognizer import RecognizerConfig
from assistantd.errors import ConfigError
from assistantd.recognizer.base import Recognizer
from assistantd.recognizer.huawei import make_huawei_codec
from assistantd.recognizer.sauc import volcengine_codec, zyun_codec
from assistantd.recognizer.transport import WebSocketRecognizer

Builder = Callable[[RecognizerConfig, "str | None"], Recognizer]


def _volcengine(cfg: RecognizerConfig, url: str | None) -> Recognizer:
    vendor = cfg.volcengine
    if vendor is None:
        raise ConfigError("<config>", "recognizer.volcengine", "expected a recognizer.volcengine block")
    if url is not None:
        vendor = dataclasses.replace(vendor, url=url)
    final = vendor
    return WebSocketRecognizer("volcengine", lambda: volcengine_codec(final), cfg.transport)


def _zyun(cfg: RecognizerConfig, url: str | None) -> Recognizer:
    vendor = cfg.zyun
    if vendor is None:
        raise ConfigError("<config>", "recognizer.zyun", "expected a recognizer.zyun block")
    if url is not None:
        vendor = dataclasses.replace(vendor, url=url)
    final = vendor
    return WebSocketRecognizer("zyun", lambda: zyun_codec(final), cfg.transport)


def _huawei(cfg: RecognizerConfig, url: str | None) -> Recognizer:
    vendor = cfg.huawei
    if vendor is None:
        raise ConfigError("<config>", "recognizer.huawei", "expected a recognizer.huawei block")
    return WebSocketRecognizer("huawei", lambda: make_huawei_codec(vendor, url_override=url), cfg.transport)


_BUILDERS: dict[str, Builder] = {
    "volcengine": _volcengine,
    "zyun": _zyun,
    "huawei": _huawei,
    # Extension points (added by their owners):
    #   "local":  the pocketsphinx recognizer (no transport)
}


def build_recognizer(name: str, cfg: RecognizerConfig, *, url_override: str | None = None) -> Recognizer:
    """The recognizer called ``name``; ``url_override`` points a cloud one elsewhere (a fake, a proxy)."""
    builder = _BUILDERS.get(name)
    if builder is None:
        known = ", ".join(sorted(_BUILDERS))
        raise ConfigError(
            "<config>", "recognizer", f"expected a recognizer this build provides ({known})", name
        )
    return builder(cfg, url_override)
