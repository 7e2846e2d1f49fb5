"""A broker that never accepts a connection starves nothing else (issue 10: never stuck).

The hung broker is a real TCP listener on 127.0.0.1 whose accept queue is full and which never accepts:
every connect to it hangs (the kernel drops the SYNs) until paho's own connect timeout. aiomqtt runs
that connect with ``run_in_executor(None, ...)``; asyncio's stock default executor is a shared pool of
``cores + 4`` workers, so more hung publishers than that held every worker, and a healthy publisher's
connect to a real Mosquitto waited behind them. The daemon's loop has the owned executor installed
(owned_executor.py): the healthy publish, and an http request to a healthy server, go through while
every hung connect is still hanging (none has been given up yet: no "reconnecting" line).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
from collections.abc import Iterator

import aiomqtt
import pytest

from assistantd import owned_executor
from assistantd.handlers.http_client import request
from assistantd.handlers.mqtt import MqttPublisher

from .conftest import Broker, HttpServer, handlers_config

WAIT_S = 30.0
"""Bounds waits: only a hang reaches it."""
HUNG = (os.cpu_count() or 1) + 5
"""More hung publishers than asyncio's stock default executor has workers (min(32, cores + 4))."""


class SilentBroker:
    """Listens on 127.0.0.1 and never accepts; its accept queue is kept full, so new connects hang."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(0)
        self.port = int(self.sock.getsockname()[1])
        self._fillers: list[socket.socket] = []
        for _ in range(4):  # the queue holds backlog + 1; the rest stay half-open, as the publishers will
            filler = socket.socket()
            filler.setblocking(False)
            with contextlib.suppress(BlockingIOError):
                filler.connect(("127.0.0.1", self.port))
            self._fillers.append(filler)

    def close(self) -> None:
        for s in [*self._fillers, self.sock]:
            s.close()


@pytest.fixture
def silent() -> Iterator[SilentBroker]:
    broker = SilentBroker()
    yield broker
    broker.close()


def _publisher(port: int) -> MqttPublisher:
    cfg = handlers_config({"mqtt": {"host": "127.0.0.1", "port": port, "retry_initial_s": 0.05}})
    assert cfg.mqtt is not None
    return MqttPublisher(cfg.mqtt)


async def test_publishers_hung_on_a_silent_broker_starve_no_other_connect(
    silent: SilentBroker, broker: Broker, http_server: HttpServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="assistantd.handlers.mqtt")
    owned_executor.install(asyncio.get_running_loop())  # as Service.run does
    hung = [asyncio.create_task(_publisher(silent.port).run()) for _ in range(HUNG)]
    healthy = _publisher(broker.port)
    serving = asyncio.create_task(healthy.run())
    try:
        await healthy.publish("home/ping", b"ping", qos=1, retain=False, timeout_s=WAIT_S)
        response = await request("GET", http_server.url + "/healthy", timeout_s=WAIT_S)
        assert response.status == 200
        # Every connect to the silent broker is still hanging: the healthy ones did not wait for them.
        assert f"127.0.0.1:{silent.port}" not in caplog.text, caplog.text
    finally:
        for task in [*hung, serving]:
            task.cancel()
        async with asyncio.timeout(WAIT_S):  # a stopping publisher waits only briefly for its connect
            await asyncio.gather(*hung, serving, return_exceptions=True)


class LookupHangs(aiomqtt.Client):
    """aiomqtt as it is, but paho's connect blocks as on a resolver that never answers (a host name
    lookup has no timeout): until the test releases it."""

    entered = threading.Event()
    release = threading.Event()

    def _client_connect(self) -> None:
        self.entered.set()
        self.release.wait(WAIT_S)
        raise OSError("lookup released by the test")


async def test_stopping_a_publisher_whose_connect_never_returns_abandons_the_connect() -> None:
    owned_executor.install(asyncio.get_running_loop())  # as Service.run does
    cfg = handlers_config({"mqtt": {"host": "broker.invalid", "port": 1883}})
    assert cfg.mqtt is not None
    publisher = MqttPublisher(cfg.mqtt, client_factory=LookupHangs)
    abandoned = owned_executor.BLOCKING_CALLS.abandoned_total
    running = asyncio.create_task(publisher.run())
    try:
        assert await asyncio.to_thread(LookupHangs.entered.wait, WAIT_S)
        running.cancel()
        # The stop (a reload's or shutdown's runner.aclose) ends although the connect still blocks ...
        async with asyncio.timeout(WAIT_S):
            await asyncio.gather(running, return_exceptions=True)
        assert running.cancelled()
        # ... and the connect's thread is left behind, counted.
        assert owned_executor.BLOCKING_CALLS.abandoned_total == abandoned + 1
    finally:
        LookupHangs.release.set()
