"""What the daemon keeps for its site across reloads (``assistantd run`` makes one; apps come and go).

- the privacy switch (privacy.py), read from ``service.state_dir`` when the first config with ``mqtt:``
  is built;
- the speaking gate and the voice: a reply spoken by a handler of the app a reload replaced, or by an
  MQTT say, still mutes the microphone of the app that listens now, and one voice speaks at a time;
- the site link (site.py): one connection for the daemon's life. A reload that changes the ``mqtt:``
  section or the site id replaces it once the new app has started: the old link says ``offline`` and
  disconnects before the new one connects (they may share a client id). A reload that fails (a bad
  recognizer, a microphone that is not there) keeps the running link and voice: the state topic and the
  controls (unmute above all) stay.

- the MQTT connections apps share (mqtt_connections.py): events, handlers, arbitration; each is kept
  while a config keeps its settings.

It is also the link's ``SiteControls``: mute flips the switch, say speaks with the current voice, reload
asks the service for one (as SIGHUP does).
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from assistantd.config import Config
from assistantd.handlers.process import inherited_env
from assistantd.handlers.say import Voice
from assistantd.handlers.speaking import SpeakingGate
from assistantd.mqtt_connections import MqttConnections
from assistantd.privacy import PrivacySwitch

if TYPE_CHECKING:
    from assistantd.report import UtteranceReport
    from assistantd.site import SiteLink
    from assistantd.site_controls import State


@dataclass(frozen=True, eq=False)
class SiteSetup:
    """A config's voice and link (SiteRuntime.prepare), swapped in when its app has started (adopt)."""

    voice: Voice
    link: SiteLink | None


class SiteRuntime:
    def __init__(self, request_reload: Callable[[], None], *, client_factory: Any = None) -> None:
        self.request_reload = request_reload
        self.client_factory = client_factory
        """For the link's aiomqtt.Client (tests); None: aiomqtt.Client."""
        self.gate = SpeakingGate()
        self.privacy: PrivacySwitch | None = None
        self.voice: Voice | None = None
        self.link: SiteLink | None = None
        self.connections = MqttConnections()
        self._retiring: asyncio.Task[None] | None = None
        self._state: State = "listening"
        self._current: object | None = None
        """The app whose states are the site's (the last one started)."""

    def prepare(self, config: Config) -> SiteSetup:
        """What ``config`` (a build of the app for it) needs: a voice, and a link for its ``mqtt:``; the
        running ones where the config did not change them. Nothing is swapped in yet: a reload that fails
        later (the recognizer, the app's start) must leave the running link and voice as they are."""
        handlers = config.handlers
        voice = self.voice
        if voice is None or voice.tts != handlers.tts or voice.kill_grace_s != handlers.kill_grace_s:
            voice = Voice(
                handlers.tts,
                self.gate,
                base_env=inherited_env(os.environ),
                kill_grace_s=handlers.kill_grace_s,
            )
        mqtt = config.mqtt
        if mqtt is not None and self.privacy is None:
            self.privacy = PrivacySwitch(Path(config.service.state_dir))
        site_id = (mqtt.site_id or socket.gethostname()) if mqtt is not None else None
        link = self.link
        if mqtt is None or site_id is None:
            link = None
        elif link is None or (link.config, link.site_id) != (mqtt, site_id):
            from assistantd.site import SiteLink  # noqa: PLC0415 - aiomqtt only with mqtt: (issue 6)

            kwargs = {"client_factory": self.client_factory} if self.client_factory is not None else {}
            link = SiteLink(mqtt, site_id, self, state=self._state, **kwargs)
        return SiteSetup(voice, link)

    def adopt(self, setup: SiteSetup) -> None:
        """The app built with ``setup`` has started: its voice speaks for the site from now on, and its
        link replaces the running one (which says ``offline`` and disconnects before the new one connects:
        they may share a client id)."""
        self.voice = setup.voice
        if setup.link is not self.link:
            if self.link is not None:
                self._retire(self.link)
            self.link = setup.link

    def _retire(self, link: SiteLink) -> None:
        previous = self._retiring

        async def retire() -> None:
            if previous is not None:
                await asyncio.wait({previous})
            await link.aclose()

        self._retiring = asyncio.get_running_loop().create_task(retire(), name="site-retire")

    # -- for the app ----------------------------------------------------------------------------------
    @property
    def muted(self) -> bool:
        return self.privacy is not None and self.privacy.muted

    def start(self, app: object) -> None:
        """``app`` listens from now on (its start): its states are the site's; connect the link if not yet."""
        self._current = app
        if self.link is not None:
            self.link.start(after=self._retiring)

    def stop(self, app: object) -> None:
        """``app`` is closing: if it was the current one (a reload that failed after its start), any app's
        state counts again (the one still running)."""
        if self._current is app:
            self._current = None

    def emit(self, report: UtteranceReport) -> None:
        """A report sink (app.py): with discovery on, the device's last transcript and intent sensors."""
        link = self.link
        if link is not None and link.config.discovery:
            from assistantd.ha_discovery import last_heard  # noqa: PLC0415 - with the link's aiomqtt

            for message in last_heard(report, link.site_id):
                link.publish_retained(message.topic, message.payload)

    def publish_state(self, state: State, app: object) -> None:
        """``app``'s state changed; an app a reload replaced, still finishing its utterances, is not heard."""
        if self._current is not None and app is not self._current:
            return
        self._state = state
        if self.link is not None:
            self.link.publish_state(state)

    async def aclose(self) -> None:
        """The daemon stops: the link says ``offline`` and disconnects; the privacy switch is saved."""
        if self.link is not None:
            await self.link.aclose()
        if self.privacy is not None:
            await self.privacy.flush()
        if self._retiring is not None:
            await asyncio.wait({self._retiring})
        await self.connections.aclose()

    # -- SiteControls ---------------------------------------------------------------------------------
    def mute(self, muted: bool, why: str) -> None:
        if self.privacy is not None:
            self.privacy.set(muted, why)

    async def say(self, text: str) -> None:
        assert self.voice is not None  # configured before any link exists
        await self.voice.say(text)

    def reload(self) -> None:
        self.request_reload()
