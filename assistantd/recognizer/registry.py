"""Recognizers by name: ``local`` and the remote vendors declared in config/recognizer.py ``CLOUD_VENDORS``
(the cloud services and a Wyoming server on the home network).

Each vendor's modules (its codec, the WebSocket transport, websockets itself) are imported when a config
names it: an offline daemon never pays their 5-8 MB of RSS and their import time, nor a cloud one another
vendor's (issue 13, bench/pi_budget.py). A new cloud vendor needs nothing here (CONTRIBUTING.md).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol, cast

from assistantd.config import Config
from assistantd.config.recognizer import CLOUD_VENDORS, RECOGNIZER_NAMES, CloudVendor, RecognizerConfig
from assistantd.errors import ConfigError
from assistantd.named import load_named
from assistantd.recognizer.base import Recognizer
from assistantd.recognizer.fallback import FallbackRecognizer

if TYPE_CHECKING:
    from assistantd.recognizer.codec import Codec
    from assistantd.shared_models import SharedModels


class CodecFactory(Protocol):
    """What a CloudVendor's ``codec`` names: one fresh codec per connection from the vendor's block."""

    def __call__(self, block: object, /, *, url_override: str | None = None) -> Codec: ...


_VENDORS: dict[str, CloudVendor] = {vendor.name: vendor for vendor in CLOUD_VENDORS}


def codec_factory(name: str) -> CodecFactory:
    """Import (now, not before) the codec factory of the cloud vendor ``name``."""
    return cast(CodecFactory, load_named(_VENDORS[name].codec))


def build_recognizer(
    name: str, cfg: RecognizerConfig, *, url_override: str | None = None, source: str = "<config>"
) -> Recognizer:
    """The cloud recognizer called ``name``; ``url_override`` points it elsewhere (a fake, a proxy)."""
    vendor = _VENDORS.get(name)
    if vendor is None:
        known = ", ".join(sorted(_VENDORS))
        raise ConfigError(
            "<config>", "recognizer", f"expected a recognizer this build provides ({known})", name
        )
    block = cfg.block(vendor.name)
    if block is None:
        raise ConfigError(source, f"recognizer.{name}", f"expected a recognizer.{name} block to use {name!r}")
    make_codec = codec_factory(name)
    from assistantd.recognizer.transport import WebSocketRecognizer  # noqa: PLC0415 (module docstring)

    def make() -> Codec:
        return make_codec(block, url_override=url_override)

    if vendor.connect is None:
        return WebSocketRecognizer(name, make, cfg.transport)
    connect = cast(Any, load_named(vendor.connect))
    return WebSocketRecognizer(name, make, cfg.transport, connect=connect)


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
    elif chosen in _VENDORS:
        primary = build_recognizer(chosen, config.recognizer, url_override=url_override, source=config.source)
    else:
        known = ", ".join(sorted(RECOGNIZER_NAMES))
        raise ConfigError(config.source, "recognizer", f"expected one of {known}", repr(chosen))
    backup = config.recognizer.fallback
    if not with_fallback or backup is None or backup == chosen:
        return primary
    secondary = recognizer_for(config, backup, models=models)
    transport = config.recognizer.transport
    return FallbackRecognizer(
        primary, secondary, max_buffer_s=transport.max_buffer_s, final_deadline_s=transport.final_timeout_s
    )
