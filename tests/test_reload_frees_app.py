"""A reload frees the app it replaced at once (issue 10: RSS growth <= 1 MB over 100 reloads).

An app is full of reference cycles (hassil's parse trees point from child to parent), so only the cyclic
collector frees it; left to the collector's own schedule, ten replaced apps piled up over 100 reloads and
their pages stayed with the process. With automatic collection off, only the daemon's own collection
after a reload can free the old app, and the test sees whether it does.
"""

from __future__ import annotations

import asyncio
import gc
import os
import weakref
from collections.abc import Iterator
from pathlib import Path

import pytest

from assistantd.app import AssistantApp, build_app
from assistantd.audio.filesource import StdinSource
from assistantd.config import Config
from assistantd.errors import AudioError
from assistantd.metrics import Metrics
from assistantd.service import Service
from assistantd.systemd import Notifier, ProgressWatchdog

ROOT = Path(__file__).resolve().parents[1]
DEADLINE_S = 60.0
"""Bounds the waits for the daemon's own steps: only a hang reaches it."""


def _quiet_cloud_config() -> Config:
    """A cloud recognizer connects only for an utterance; none comes (the pipe stays quiet)."""
    return Config.from_dict(
        {
            "recognizer": {
                "default": "volcengine",
                "fallback": None,
                "volcengine": {"url": "ws://127.0.0.1:9", "app_key": "${APP}", "access_key": "${ACCESS}"},
            },
            "intents": {"files": [str(ROOT / "config" / "intents" / "en.yaml")]},
            "handlers": {"bindings": [{"intent": "LightOn", "exec": {"argv": ["true"]}}]},
        },
        env={"APP": "app-key", "ACCESS": "access-key"},
    )


def _ready_notifier() -> tuple[asyncio.Event, Notifier]:
    """A notifier that sets the event at each READY=1 (the start, then each reload's)."""
    readies = asyncio.Event()

    def notify(message: str) -> bool:
        if message.startswith("READY=1"):
            readies.set()
        return True

    return readies, Notifier(notify, env={})


@pytest.fixture
def no_automatic_gc() -> Iterator[None]:
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def test_a_replaced_app_is_freed_at_the_reload(no_automatic_gc: None) -> None:
    config = _quiet_cloud_config()
    read_end, write_end = os.pipe()
    apps: list[weakref.ref[AssistantApp]] = []
    readies, notifier = _ready_notifier()

    def build(config: Config, metrics: Metrics, watchdog: ProgressWatchdog) -> AssistantApp:
        source = StdinSource(pipe, frame_ms=config.audio.frame_ms)
        app = build_app(config, metrics, watchdog, source=source)
        apps.append(weakref.ref(app))
        return app

    with os.fdopen(read_end, "rb") as pipe:
        service = Service(None, build, load=lambda _: config, notifier=notifier)
        running = asyncio.create_task(service.run())
        try:
            async with asyncio.timeout(DEADLINE_S):
                await readies.wait()
                readies.clear()
                service.request_reload()
                await readies.wait()
                closing = [t for t in asyncio.all_tasks() if t.get_name() == "close-old-app"]
                await asyncio.gather(*closing)
            first, second = apps
            assert second() is service.app
            assert first() is None, "the replaced app is still alive after its close"
        finally:
            service.request_stop()
            async with asyncio.timeout(DEADLINE_S):
                await running
            os.close(write_end)


class UnpluggedSource(StdinSource):
    """A source whose device check fails, as a microphone's does when none matches the config."""

    async def preflight(self) -> None:
        raise AudioError("no input device matches audio.device 'usb'")


async def test_a_new_app_that_fails_to_start_is_freed_and_the_old_one_kept(no_automatic_gc: None) -> None:
    """A reload whose new app cannot start: the running app stays, and the one thrown away is freed by
    the reload's own collection (nothing keeps a reference to it)."""
    config = _quiet_cloud_config()
    read_end, write_end = os.pipe()
    apps: list[weakref.ref[AssistantApp]] = []
    readies, notifier = _ready_notifier()

    def build(config: Config, metrics: Metrics, watchdog: ProgressWatchdog) -> AssistantApp:
        kind = StdinSource if not apps else UnpluggedSource
        app = build_app(config, metrics, watchdog, source=kind(pipe, frame_ms=config.audio.frame_ms))
        apps.append(weakref.ref(app))
        return app

    with os.fdopen(read_end, "rb") as pipe:
        service = Service(None, build, load=lambda _: config, notifier=notifier)
        running = asyncio.create_task(service.run())
        try:
            async with asyncio.timeout(DEADLINE_S):
                await readies.wait()
                readies.clear()
                service.request_reload()
                await readies.wait()
            running_app, rejected = apps
            assert running_app() is service.app
            assert rejected() is None, "the app the reload threw away is still alive"
        finally:
            service.request_stop()
            async with asyncio.timeout(DEADLINE_S):
                await running
            os.close(write_end)
