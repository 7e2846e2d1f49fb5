"""A reload through the daemon's Service in-process, against a real Mosquitto: one whose new app cannot
start keeps the running site link (state topic and controls) and the running voice, even when it changed
the ``mqtt:`` section and the voice."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import aiomqtt

from assistantd.app import AssistantApp, build_app
from assistantd.audio.filesource import StdinSource
from assistantd.config import Config
from assistantd.errors import AudioError
from assistantd.metrics import Metrics
from assistantd.service import Service
from assistantd.site_runtime import SiteRuntime
from assistantd.systemd import Notifier, ProgressWatchdog

from .conftest import Broker

ROOT = Path(__file__).resolve().parents[2]
WAIT_S = 30.0
"""Bounds the waits for the daemon's own steps: only a hang reaches it."""
SITE = "den"


class UnpluggedSource(StdinSource):
    """A source whose device check fails, as a microphone's does when none matches the config."""

    async def preflight(self) -> None:
        raise AudioError("no input device matches audio.device 'usb'")


def _config(broker: Broker, state_dir: Path, **changes: Any) -> Config:
    mqtt = {"host": "127.0.0.1", "port": broker.port, "site_id": SITE, "retry_initial_s": 0.05}
    mqtt.update(changes.get("mqtt", {}))
    return Config.from_dict(
        {
            # A cloud recognizer connects only for an utterance; none comes (the pipe stays quiet).
            "recognizer": {
                "default": "volcengine",
                "fallback": None,
                "volcengine": {"url": "ws://127.0.0.1:9", "app_key": "${APP}", "access_key": "${ACCESS}"},
            },
            "intents": {"files": [str(ROOT / "config" / "intents" / "en.yaml")]},
            "handlers": {
                "bindings": [{"intent": "LightOn", "exec": {"argv": ["true"]}}],
                "tts": changes.get("tts", {}),
            },
            "mqtt": mqtt,
            "service": {"state_dir": str(state_dir)},
        },
        env={"APP": "app-key", "ACCESS": "access-key"},
    )


async def _state(client: aiomqtt.Client, word: str) -> None:
    async with asyncio.timeout(WAIT_S):
        async for message in client.messages:
            if str(message.topic) == f"assistantd/{SITE}/state" and message.payload == word.encode():
                return


async def test_a_reload_that_fails_to_start_keeps_the_site_link_and_voice(
    broker: Broker, tmp_path: Path
) -> None:
    configs = [
        _config(broker, tmp_path / "state"),
        # Another client id and voice: the rejected reload would have needed a new link and a new voice.
        _config(broker, tmp_path / "state", mqtt={"client_id": "elsewhere"}, tts={"voice": "en"}),
    ]
    read_end, write_end = os.pipe()
    readies = asyncio.Event()
    built: list[AssistantApp] = []

    def notify(message: str) -> bool:
        if message.startswith("READY=1"):
            readies.set()
        return True

    def build(config: Config, metrics: Metrics, watchdog: ProgressWatchdog) -> AssistantApp:
        kind = StdinSource if not built else UnpluggedSource
        source = kind(pipe, frame_ms=config.audio.frame_ms)
        app = build_app(config, metrics, watchdog, source=source, site=site)
        built.append(app)
        return app

    with os.fdopen(read_end, "rb") as pipe:
        service = Service(None, build, load=lambda _: configs[len(built)], notifier=Notifier(notify, env={}))
        site = SiteRuntime(service.request_reload)
        running = asyncio.create_task(service.run())
        try:
            async with aiomqtt.Client("127.0.0.1", broker.port, identifier="watch") as watch:
                await watch.subscribe(f"assistantd/{SITE}/state", qos=1)
                async with asyncio.timeout(WAIT_S):
                    await readies.wait()
                await _state(watch, "listening")
                link, voice = site.link, site.voice
                assert link is not None and voice is not None
                readies.clear()
                service.request_reload()
                async with asyncio.timeout(WAIT_S):
                    await readies.wait()
                assert len(built) == 2 and service.app is built[0]  # the reload was rejected
                assert site.link is link and site.voice is voice
                assert site.voice.tts == configs[0].handlers.tts
                # The running link still obeys the controls and says the state.
                await watch.publish(f"assistantd/{SITE}/mute", b"on", qos=1)
                await _state(watch, "muted")
                assert site.muted
                await watch.publish(f"assistantd/{SITE}/mute", b"off", qos=1)
                await _state(watch, "listening")
                assert not site.muted
        finally:
            service.request_stop()
            async with asyncio.timeout(WAIT_S):
                await running
            await site.aclose()
            os.close(write_end)
