"""SharedModels with real parts: apps built from an unchanged config share one Silero model, one WebRTC
noise suppressor and one pocketsphinx decoder thread; a changed recognizer.local gets a new decoder, and the
old decoder's thread stops once the last app using it is closed (issue 10: reload memory)."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import pytest

from assistantd.app import AssistantApp, build_app
from assistantd.config import Config
from assistantd.endpoint.silero import SileroOnsetCheck
from assistantd.endpoint.vad import FrontEndVad
from assistantd.metrics import Metrics
from assistantd.shared_models import BorrowedLocal, SharedModels
from assistantd.systemd import ProgressWatchdog
from tests.waiting import eventually

REPO = Path(__file__).resolve().parents[1]


def _config(cache: Path, **local: Any) -> Config:
    return Config.from_dict(
        {
            "recognizer": {"default": "local", "local": {"cache_dir": str(cache), **local}},
            "intents": {"files": [str(REPO / "config" / "intents" / "en.yaml")]},
            "handlers": {"bindings": [{"intent": "LightOn", "exec": {"argv": ["true"]}}]},
        }
    )


def _decoders() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "decoder pocketsphinx")


def _app(config: Config, models: SharedModels) -> AssistantApp:
    return build_app(config, Metrics(), ProgressWatchdog(5.0), input_path="-", models=models)


def _decoder_of(app: AssistantApp) -> object:
    assert isinstance(app.recognizer, BorrowedLocal)
    return app.recognizer.recognizer


@pytest.mark.slow
def test_an_unchanged_config_shares_every_model(tmp_path: Path) -> None:
    async def scenario() -> None:
        before = _decoders()
        models = SharedModels()
        config = _config(tmp_path)
        old = _app(config, models)
        await old.start()
        new = _app(_config(tmp_path), models)  # a reload: built while the old app still runs
        await new.start()
        assert models.decoders_loaded == 1
        assert _decoder_of(new) is _decoder_of(old)
        assert _decoders() == before + 1
        old_vad, new_vad = old.listener.vad, new.listener.vad
        assert isinstance(old_vad, FrontEndVad) and isinstance(new_vad, FrontEndVad)
        assert new_vad.suppressor is old_vad.suppressor is not None
        assert isinstance(old_vad.onset_check, SileroOnsetCheck)
        assert isinstance(new_vad.onset_check, SileroOnsetCheck)
        assert new_vad.onset_check.detector is old_vad.onset_check.detector
        await old.aclose(0.0)
        assert _decoders() == before + 1, "closing the old app stopped the decoder the new one uses"
        await new.aclose(0.0)
        await models.aclose(1.0)
        # The decoder is freed when aclose returns; its thread leaves the thread list a moment later.
        await eventually(lambda: _decoders() == before, "the decoder thread ending")

    asyncio.run(scenario())


@pytest.mark.slow
def test_changed_settings_get_a_new_decoder_and_the_old_one_stops(tmp_path: Path) -> None:
    async def scenario() -> None:
        before = _decoders()
        models = SharedModels()
        old = _app(_config(tmp_path), models)
        await old.start()
        new = _app(_config(tmp_path, max_pending_chunks=32), models)
        await new.start()
        assert models.decoders_loaded == 2
        assert _decoder_of(new) is not _decoder_of(old)
        assert _decoders() == before + 2  # the old app may still finish an utterance on its decoder
        await old.aclose(0.0)
        await eventually(lambda: _decoders() == before + 1, "the old decoder thread ending")
        await new.aclose(0.0)
        await models.aclose(1.0)
        # The decoder is freed when aclose returns; its thread leaves the thread list a moment later.
        await eventually(lambda: _decoders() == before, "the decoder thread ending")

    asyncio.run(scenario())
