"""Configuration: one YAML file parsed once, at the edge, into frozen dataclasses.

``Config.from_dict`` is pure (the environment and credentials directory are passed in);
``load_config`` reads the file. Every problem is one ``ConfigError`` naming file, key path and expectation.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from assistantd.config.audio import AudioConfig
from assistantd.config.endpoint import EndpointConfig
from assistantd.config.feedback import FeedbackConfig
from assistantd.config.files import read_yaml
from assistantd.config.handlers import HandlersConfig
from assistantd.config.intents import IntentsConfig
from assistantd.config.mqtt import MqttConfig
from assistantd.config.reader import Context, Node
from assistantd.config.recognizer import RecognizerConfig
from assistantd.config.secret import Secret
from assistantd.config.service import ServiceConfig
from assistantd.config.timers import TimersConfig
from assistantd.config.wake import WakeConfig
from assistantd.errors import ConfigError

__all__ = [
    "DEFAULT_CONFIG_PATHS",
    "AudioConfig",
    "Config",
    "ConfigError",
    "EndpointConfig",
    "FeedbackConfig",
    "HandlersConfig",
    "IntentsConfig",
    "MqttConfig",
    "RecognizerConfig",
    "Secret",
    "ServiceConfig",
    "TimersConfig",
    "WakeConfig",
    "default_config_path",
    "load_config",
]

DEFAULT_CONFIG_PATHS = ("/etc/assistantd/assistant.yaml", "config/assistant.yaml")


@dataclass(frozen=True)
class Config:
    audio: AudioConfig = AudioConfig()
    endpoint: EndpointConfig = EndpointConfig()
    recognizer: RecognizerConfig = RecognizerConfig()
    intents: IntentsConfig = IntentsConfig()
    handlers: HandlersConfig = HandlersConfig()
    service: ServiceConfig = ServiceConfig()
    wake: WakeConfig = WakeConfig()
    feedback: FeedbackConfig = FeedbackConfig()
    timers: TimersConfig = TimersConfig()
    mqtt: MqttConfig | None = None
    """This site's broker connection and events (mqtt.py); None: no ``mqtt:`` section."""
    source: str = "<defaults>"
    """The file this came from (for messages)."""
    base_dir: Path = field(default=Path("."), compare=False)
    """Relative paths in the config (intent files) resolve against this directory."""

    @classmethod
    def from_dict(
        cls,
        data: object,
        *,
        source: str = "<dict>",
        base_dir: Path = Path("."),
        env: Mapping[str, str] | None = None,
        credentials_dir: str | None = None,
        credential_prefix: str = "",
    ) -> Config:
        node = Node(data, "", Context(source, env or {}, credentials_dir, credential_prefix))
        mqtt = MqttConfig.from_node(node.node("mqtt")) if node.raw("mqtt", None) is not None else None
        cfg = cls(
            audio=AudioConfig.from_node(node.node("audio")),
            endpoint=EndpointConfig.from_node(node.node("endpoint")),
            recognizer=RecognizerConfig.from_node(node.node("recognizer")),
            intents=IntentsConfig.from_node(node.node("intents")),
            handlers=HandlersConfig.from_node(
                node.node("handlers"), site_mqtt=mqtt.connection if mqtt is not None else None
            ),
            service=ServiceConfig.from_node(node.node("service")),
            wake=WakeConfig.from_node(node.node("wake"), base_dir),
            feedback=FeedbackConfig.from_node(node.node("feedback"), base_dir),
            timers=TimersConfig.from_node(node.node("timers")),
            mqtt=mqtt,
            source=source,
            base_dir=base_dir,
        )
        node.finish()
        return cfg


def default_config_path() -> Path:
    """The first of DEFAULT_CONFIG_PATHS that exists (or the first, for the error message)."""
    for candidate in DEFAULT_CONFIG_PATHS:
        if Path(candidate).is_file():
            return Path(candidate)
    return Path(DEFAULT_CONFIG_PATHS[0])


def load_config(
    path: Path | str | None = None,
    env: Mapping[str, str] | None = None,
    *,
    credentials_dir: str | None = None,
    credential_prefix: str = "",
) -> Config:
    """Read and check one config file. Raises ConfigError; never returns a half-valid config.

    ``credential:`` references read $CREDENTIALS_DIRECTORY unless ``credentials_dir`` is given (with the
    ``credential_prefix`` the unit adds to the names of its files; see secret.py).
    """
    file = Path(path) if path is not None else default_config_path()
    source = str(file)
    data = read_yaml(file, "config file")
    environ = os.environ if env is None else env
    return Config.from_dict(
        data,
        source=source,
        base_dir=file.resolve().parent,
        env=environ,
        credentials_dir=credentials_dir
        if credentials_dir is not None
        else environ.get("CREDENTIALS_DIRECTORY"),
        credential_prefix=credential_prefix if credentials_dir is not None else "",
    )
