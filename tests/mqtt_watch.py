"""A real MQTT client on its own thread (paho) that records every message it receives with the time it
arrived, for tests and benchmarks that drive the daemon as a child process (no event loop of theirs)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import paho.mqtt.client as mqtt


@dataclass(frozen=True)
class Seen:
    topic: str
    payload: bytes
    retain: bool
    at: float
    """time.monotonic() on receipt."""

    @property
    def text(self) -> str:
        return self.payload.decode("utf-8", "replace")


class Watcher:
    def __init__(
        self,
        port: int,
        topics: tuple[str, ...],
        *,
        client_id: str = "test-watcher",
        ca_file: str | None = None,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        """``ca_file``: connect with TLS, trusting that CA; ``credentials``: (username, password)."""
        self.seen: list[Seen] = []
        self._cond = threading.Condition()
        self._client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id)
        if ca_file is not None:
            self._client.tls_set(ca_certs=ca_file)
        if credentials is not None:
            self._client.username_pw_set(*credentials)
        self._client.on_message = self._on_message
        self._subscribed = threading.Event()
        self._client.on_subscribe = lambda *_: self._subscribed.set()
        self._client.connect("127.0.0.1", port)
        # Nagle's algorithm with the broker's delayed ACKs holds small publishes ~40 ms: not ours to measure.
        self._client.socket().setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._client.loop_start()
        self._client.subscribe([(t, 1) for t in topics])
        if not self._subscribed.wait(30):
            raise RuntimeError("the watcher's subscription was not acknowledged")

    def _on_message(self, _client: Any, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        with self._cond:
            self.seen.append(
                Seen(message.topic, bytes(message.payload), bool(message.retain), time.monotonic())
            )
            self._cond.notify_all()

    def publish(self, topic: str, payload: bytes | str, *, retain: bool = False) -> float:
        """Publish and wait for the broker to take it (QoS 1); returns when it was sent (monotonic)."""
        sent = time.monotonic()
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        info.wait_for_publish(30)
        return sent

    def wait_for(
        self, predicate: Callable[[Seen], bool], timeout: float, what: str, *, since: int = 0
    ) -> Seen:
        """The first message from index ``since`` on that ``predicate`` accepts."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                found = next((m for m in self.seen[since:] if predicate(m)), None)
                if found is not None:
                    return found
                left = deadline - time.monotonic()
                if left <= 0:
                    shown = [(m.topic, m.text[:60]) for m in self.seen[-10:]]
                    raise AssertionError(f"{what}: not within {timeout} s; last seen: {shown}")
                self._cond.wait(min(left, 0.1))

    def on(self, topic: str, since: int = 0) -> list[str]:
        with self._cond:
            return [m.text for m in self.seen[since:] if m.topic == topic]

    def mark(self) -> int:
        with self._cond:
            return len(self.seen)

    def close(self) -> None:
        self._client.loop_stop()
        self._client.disconnect()
