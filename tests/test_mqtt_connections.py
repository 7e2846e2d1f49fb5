"""MqttConnections: shared while settings are equal, closed by the last holder, and a new connection under
a client id still in use waits for the old one to close (the broker would drop one of the two)."""

from __future__ import annotations

import asyncio

from assistantd.mqtt_connections import MqttConnections

BROKER = ("127.0.0.1", 1883, "assistantd-den-events")


class Link:
    """A connection that records when it runs (the real ones are driven against Mosquitto in
    tests/daemon/test_mqtt_reload_daemon.py)."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name = name
        self.log = log

    async def run(self) -> None:
        self.log.append(f"{self.name} up")
        try:
            await asyncio.Event().wait()
        finally:
            self.log.append(f"{self.name} down")


async def test_equal_settings_share_one_connection_until_the_last_holder_closes() -> None:
    log: list[str] = []
    pool = MqttConnections()
    first = pool.get(("events", 60), BROKER, lambda: Link("a", log))
    old = pool.hold((first,))
    again = pool.get(("events", 60), BROKER, lambda: Link("b", log))
    assert again is first
    new = pool.hold((again,))
    await pool.release(old, 1.0)
    await asyncio.sleep(0)
    assert log == ["a up"]
    await pool.release(old, 1.0)  # twice is once
    await pool.release(new, 1.0)
    assert log == ["a up", "a down"]


async def test_changed_settings_under_the_same_id_connect_after_the_old_one_closed() -> None:
    log: list[str] = []
    pool = MqttConnections()
    old_link = pool.get(("events", 60), BROKER, lambda: Link("old", log))
    old = pool.hold((old_link,))
    new_link = pool.get(("events", 30), BROKER, lambda: Link("new", log))
    assert new_link is not old_link
    other = pool.get(("arbiter", 30), ("127.0.0.1", 1883, "assistantd-den-arbiter"), lambda: Link("x", log))
    new = pool.hold((new_link, other))
    for _ in range(5):
        await asyncio.sleep(0)
    assert log == ["old up", "x up"]  # another client id need not wait
    await pool.release(old, 0.0)
    for _ in range(5):
        await asyncio.sleep(0)
    assert log == ["old up", "x up", "old down", "new up"]
    await pool.release(new, 0.0)
    await pool.aclose()
    assert sorted(log[4:]) == ["new down", "x down"]


async def test_a_connection_made_for_an_app_that_never_started_is_forgotten() -> None:
    log: list[str] = []
    pool = MqttConnections()
    pool.get(("events", 60), BROKER, lambda: Link("orphan", log))  # its app's start failed
    made = pool.get(("handlers", 60), ("127.0.0.1", 1883, "assistantd"), lambda: Link("h", log))
    lease = pool.hold((made,))
    assert pool.get(("events", 60), BROKER, lambda: Link("fresh", log)).name == "fresh"
    await pool.release(lease, 0.0)
    assert log == ["h up", "h down"]
