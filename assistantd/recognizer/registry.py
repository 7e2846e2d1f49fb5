"""Recognizers by name. A new cloud vendor is one codec module and one entry in ``_BUILDERS``.

Each vendor's modules (its codec, the WebSocket transport, websockets itself) are imported by its builder,
when a config names it: an offline daemon never pays their 5-8 MB of RSS and their import time, nor a
cloud one another vendor's (issue 13, bench/pi_budget.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from assistantd.config import Config
from assistantd.config.recognizer import RecognizerConfig
from assistantd.config.volcengine import VolcengineConfig, ZyunConfig
from assistantd.errors import ConfigError
from assistantd.recognizer.base import Recognizer
from assistantd.recognizer.fallback import FallbackRecognizer

if TYPE_CHECKING:
    from assistantd.recognizer.sauc import SaucCodec
    from assistantd.shared_models import SharedModels

Builder = Callable[[RecognizerConfig, "str | None"], Recognizer]


_Vendor = TypeVar("_Vendor", VolcengineConfig, ZyunConfig)


def _sauc(
    name: str,
    vendor: _Vendor | None,
    make_codec: Callable[[_Vendor], SaucCodec],
    cfg: RecognizerConfig,
    url: str | None,
) -> Recognizer:
    """The two sauc vendors differ only in their config block and codec factory (protocols.md §1, §2)."""
    if vendor is None:
        raise ConfigError("<config>", f"recognizer.{name}", f"expected a recognizer.{name} block")
    from assistantd.recognizer.transport import WebSocketRecognizer  # noqa: PLC0415 (module docstring)

    final = vendor if url is None else dataclasses.replace(vendor, url=url)
    return WebSocketRecognizer(name, lambda: make_codec(final), cfg.transport)


def _volcengine(cfg: RecognizerConfig, url: str | None) -> Recognizer:
    from assistantd.recognizer.sauc import volcengine_codec  # noqa: PLC0415

    return _sauc("volcengine", cfg.volcengine, volcengine_codec, cfg, url)


def _zyun(cfg: RecognizerConfig, url: str | None) -> Recognizer:
    from assistantd.recognizer.sauc import zyun_codec  # noqa: PLC0415

    return _sauc("zyun", cfg.zyun, zyun_codec, cfg, url)


def _huawei(cfg: RecognizerConfig, url: str | None) -> Recognizer:
    from assistantd.recognizer.huawei import make_huawei_codec  # noqa: PLC0415
    from assistantd.recognizer.transport import WebSocketRecognizer  # noqa: PLC0415

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
    models: SharedModels | None = None,
) -> Recognizer:
    """The recognizer ``name`` (default: recognizer.default), optionally behind the configured fallback.

    With ``with_fallback`` and a ``recognizer.fallback`` set, a failed utterance's buffered audio is
    recognized again by the fallback (protocols.md §5: the cloud may fail; a command should not).
    With ``models`` the local recognizer is borrowed from them (the daemon: a reload keeps the decoder).
    """
    chosen = name or config.recognizer.default
    if chosen == "local" and models is not None:
        primary: Recognizer = models.local_recognizer(config)
    elif chosen == "local":
        # Imported here: pocketsphinx and the grammar builder cost memory and start-up time that a daemon
        # configured for a cloud recognizer without a local fallback never needs (bench/daemon.py).
        from assistantd.recognizer.local import LocalRecognizer  # noqa: PLC0415

        primary = LocalRecognizer.from_config(config)
    else:
        if chosen in _BUILDERS and getattr(config.recognizer, chosen, None) is None:
            raise ConfigError(
                config.source,
                f"recognizer.{chosen}",
                f"expected a recognizer.{chosen} block to use {chosen!r}",
            )
        if chosen not in _BUILDERS:
            known = ", ".join(sorted([*_BUILDERS, "local"]))
            raise ConfigError(config.source, "recognizer", f"expected one of {known}", repr(chosen))
        primary = build_recognizer(chosen, config.recognizer, url_override=url_override)
    backup = config.recognizer.fallback
    if not with_fallback or backup is None or backup == chosen:
        return primary
    secondary = recognizer_for(config, backup, models=models)
    transport = config.recognizer.transport
    return FallbackRecognizer(
        primary, secondary, max_buffer_s=transport.max_buffer_s, final_deadline_s=transport.final_timeout_s
    )
