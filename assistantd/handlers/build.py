"""Build a Runner from the checked ``handlers:`` config: one handler object per binding."""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, assert_never

from assistantd.config.handler_specs import (
    ConversationSpec,
    ExecSpec,
    HandlerSpec,
    HomeAssistantSpec,
    HttpSpec,
    MqttSpec,
    SaySpec,
    TimerSpec,
)
from assistantd.config.handlers import HandlersConfig
from assistantd.handlers.base import Handler
from assistantd.handlers.exec import ExecHandler
from assistantd.handlers.process import inherited_env
from assistantd.handlers.runner import Runner, Service
from assistantd.handlers.say import SayHandler, Voice
from assistantd.handlers.speaking import SpeakingGate
from assistantd.handlers.timer import AlarmClock, TimerHandler
from assistantd.timers import Timer, TimerBoard

if TYPE_CHECKING:
    from assistantd.handlers.conversation import ConversationMemory
    from assistantd.handlers.mqtt import MqttPublisher
    from assistantd.handlers.sounds import SoundPlayer
    from assistantd.mqtt_client import ClientFactory


def build_runner(
    config: HandlersConfig,
    gate: SpeakingGate,
    *,
    environ: Mapping[str, str] | None = None,
    mqtt_client_factory: ClientFactory | None = None,
    timers: TimerBoard | None = None,
    sounds: SoundPlayer | None = None,
    on_ring: Callable[[Timer, float], None] = lambda timer, late_s: None,
    site_id: str | None = None,
    memory: ConversationMemory | None = None,
    voice: Voice | None = None,
    publisher: MqttPublisher | None = None,
) -> Runner:
    """The runner for ``config``. ``gate`` is shared with the listener; call ``await runner.start()``.

    ``timers``: the daemon's board (kept across reloads); given, the runner also runs an alarm clock on it
    (ringing ``sounds``' alarm and the spoken alarm, then calling ``on_ring``). None: timer bindings get a
    board of their own. ``site_id`` keys conversation handlers' follow-ups (default: the host name);
    ``memory`` holds them (default: a new one). ``voice``: the daemon's (site_runtime.py), shared with
    MQTT say requests; None makes one. ``publisher``: for mqtt bindings, a shared one its owner runs
    (mqtt_connections.py); None: the runner runs one of its own for ``config.mqtt``."""
    site = site_id or socket.gethostname()
    base_env = inherited_env(os.environ if environ is None else environ)
    if voice is None:
        voice = Voice(config.tts, gate, base_env=base_env, kill_grace_s=config.kill_grace_s)
    services: list[Service] = []
    specs = [b.spec for b in config.bindings] + ([config.fallback] if config.fallback is not None else [])
    if timers is None and any(isinstance(spec, TimerSpec) for spec in specs):
        timers = TimerBoard()
    if timers is not None:
        services.append(AlarmClock(timers, voice, sounds, on_ring=on_ring))
    if config.mqtt is not None and publisher is None:
        # aiomqtt and paho cost ~2.3 MB of RSS: loaded only when an MQTT connection is configured (issue 6).
        from assistantd.handlers.mqtt import MqttPublisher  # noqa: PLC0415

        publisher = (
            MqttPublisher(config.mqtt, client_factory=mqtt_client_factory)
            if mqtt_client_factory is not None
            else MqttPublisher(config.mqtt)
        )
        services.append(publisher)

    def make(spec: HandlerSpec, name: str) -> Handler:
        # One case per member of the HandlerSpec union: a family without one fails mypy here.
        match spec:
            case ExecSpec():
                return ExecHandler(
                    spec,
                    name=f"{name} exec {spec.argv[0].source}",
                    base_env=base_env,
                    kill_grace_s=config.kill_grace_s,
                    output_limit=config.output_limit_bytes,
                )
            # The HTTP families (http.client, JSON replies, follow-ups) load only for a config that
            # binds one: the offline default starts without them (issue 13).
            case HttpSpec():
                from assistantd.handlers.http import HttpHandler  # noqa: PLC0415

                return HttpHandler(spec, name=f"{name} http {spec.method}")
            case MqttSpec():
                assert publisher is not None  # HandlersConfig refuses mqtt bindings without a connection
                from assistantd.handlers.mqtt import MqttHandler  # noqa: PLC0415 - loaded with the publisher

                return MqttHandler(spec, publisher, name=f"{name} mqtt {spec.topic.source}")
            case HomeAssistantSpec():
                assert config.homeassistant is not None
                from assistantd.handlers.homeassistant import HomeAssistantHandler  # noqa: PLC0415

                return HomeAssistantHandler(
                    spec, config.homeassistant, name=f"{name} homeassistant {spec.domain}.{spec.service}"
                )
            case SaySpec():
                return SayHandler(spec, voice, name=f"{name} say")
            case TimerSpec():
                assert timers is not None  # made above for any timer binding
                return TimerHandler(spec, timers, voice, name=f"{name} timer {spec.action}")
            case ConversationSpec():
                assert config.homeassistant is not None  # HandlersConfig refuses it without the connection
                from assistantd.handlers.conversation import (  # noqa: PLC0415
                    ConversationHandler,
                    ConversationMemory,
                )

                nonlocal memory
                memory = memory if memory is not None else ConversationMemory()
                agent = f" {spec.agent_id}" if spec.agent_id else ""
                return ConversationHandler(
                    spec,
                    config.homeassistant,
                    voice,
                    memory,
                    site=site,
                    name=f"{name} conversation{agent}",
                )
            case _:
                assert_never(spec)

    bindings: dict[str, list[Handler]] = {}
    for binding in config.bindings:
        handlers = bindings.setdefault(binding.intent, [])
        handlers.append(make(binding.spec, f"{binding.intent}[{len(handlers)}]"))
    fallback = [make(config.fallback, "fallback")] if config.fallback is not None else []
    return Runner(
        bindings,
        fallback,
        max_concurrent=config.max_concurrent,
        max_pending=config.max_pending,
        services=services,
    )
