"""homeassistant handlers: call a Home Assistant service over its REST API.

``POST <url>/api/services/<domain>/<service>`` with ``Authorization: Bearer <token>`` and the templated
service data as JSON (Home Assistant REST API, "POST /api/services/<domain>/<service>").
"""

from __future__ import annotations

import json

from assistantd.config.handler_specs import HomeAssistantSpec
from assistantd.config.handlers import HomeAssistantConnection
from assistantd.handlers.base import Invocation
from assistantd.handlers.http_client import request


class HomeAssistantHandler:
    def __init__(self, spec: HomeAssistantSpec, connection: HomeAssistantConnection, *, name: str) -> None:
        self.spec = spec
        self._connection = connection
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    async def run(self, invocation: Invocation) -> str:
        data = self.spec.data.render(invocation.values())
        url = f"{self._connection.url}/api/services/{self.spec.domain}/{self.spec.service}"
        response = await request(
            "POST",
            url,
            headers=self._connection.headers,
            body=json.dumps(data, ensure_ascii=False).encode("utf-8"),
            timeout_s=self._connection.timeout_s,
        )
        return f"{self.spec.domain}.{self.spec.service}: HTTP {response.status}"
