"""http handlers: one templated request per invocation (the client is in http_client.py)."""

from __future__ import annotations

import json
from urllib.parse import quote

from assistantd.config.handler_specs import HttpSpec
from assistantd.handlers.base import Invocation
from assistantd.handlers.http_client import request


class HttpHandler:
    def __init__(self, spec: HttpSpec, *, name: str) -> None:
        self.spec = spec
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    async def run(self, invocation: Invocation) -> str:
        values = invocation.values()
        url = self.spec.url.render(values, escape=lambda v: quote(v, safe=""))
        body = None
        if self.spec.body is not None:
            body = json.dumps(self.spec.body.render(values), ensure_ascii=False).encode("utf-8")
        response = await request(
            self.spec.method, url, headers=self.spec.headers, body=body, timeout_s=self.spec.timeout_s
        )
        return f"HTTP {response.status}"
