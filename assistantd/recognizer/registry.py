"""Recognizers by name. A new cloud vendor is one codec module and one entry in ``_BUILDERS``."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

from assistantd.config import Config
from assistantd.config.recognizer import RecognizerConfig
from assistantd.errors import ConfigError
from assistantd.recognizer.base import Recognizer
from assistantd.recognizer.fallback import FallbackRecognizer
from assistantd.recognizer.huawei import make_huawei_codec
from assistantd.recognizer.local import LocalRecognizer
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
}
# "local" is built by recognizer_for(): it needs the whole config (the intent files make its grammar).


def build_recognizer(name: str, cfg: RecognizerConfig, *, url_override: str | None = None) -> Recognizer:
    """The recognizer called ``name``; ``url_override`` points a cloud one elsewhere (a fake, a proxy)."""
    builder = _BUILDERS.get(name)
    if builder is None:
        known = ", ".join(sorted(_BUILDERS))
        raise ConfigError(
            "<config>", "recognizer", f"expected a recognizer this build provides ({known})", name
        )
    return builder(cfg, url_override)


def recognizer_for(
    config: Config,
    name: str | None = None,
    *,
    url_override: str | None = None,
    with_fallback: bool = False,
) -> Recognizer:
    """The recognizer ``name`` (default: recognizer.default), optionally behind the configured fallback.

    With ``with_fallback`` and a ``recognizer.fallback`` set, a failed utterance's buffered audio is
    recognized again by the fallback (protocols.md §5: the cloud may fail; a command should not).
    """
    chosen = name or config.recognizer.default
    primary = (
        LocalRecognizer.from_config(config)
        if chosen == "local"
        else build_recognizer(chosen, config.recognizer, url_override=url_override)
    )
    backup = config.recognizer.fallback
    if not with_fallback or backup is None or backup == chosen:
        return primary
    secondary = recognizer_for(config, backup)
    transport = config.recognizer.transport
    return FallbackRecognizer(
        primary, secondary, max_buffer_s=transport.max_buffer_s, final_deadline_s=transport.final_timeout_s
    )
