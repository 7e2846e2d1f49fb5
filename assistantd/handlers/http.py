"""http handlers, and the small HTTP client they share with Home Assistant calls.

The client is the standard library's urllib run in a worker thread: a handful of requests per utterance
does not justify a new dependency on the Pi. Redirects are not followed (a 3xx is a failure, and a bearer
token never travels to a host nobody configured), proxies from the environment are ignored (targets are
on the LAN), and the response body read is bounded.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from assistantd.config.handler_specs import HttpSpec, SecretHeader
from assistantd.config.template import MissingValueError
from assistantd.errors import HandlerError
from assistantd.handlers.base import Invocation

BODY_LIMIT = 65536


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes
    """At most BODY_LIMIT bytes."""

    def summary(self, chars: int = 200) -> str:
        return self.body.decode("utf-8", errors="replace").strip().replace("\n", " ")[:chars]


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None  # urllib then raises HTTPError with the 3xx status


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}), _RefuseRedirects())


def _request_sync(
    method: str,
    url: str,
    headers: Sequence[tuple[str, str | SecretHeader]],
    body: bytes | None,
    timeout_s: float,
) -> HttpResponse:
    request = urllib.request.Request(url, data=body, method=method)
    for name, value in headers:
        # The secret is revealed here, into the request only.
        request.add_header(name, value.reveal() if isinstance(value, SecretHeader) else value)
    if body is not None and not request.has_header("Content-type"):
        request.add_header("Content-Type", "application/json")
    try:
        with _OPENER.open(request, timeout=timeout_s) as response:
            return HttpResponse(response.status, response.read(BODY_LIMIT))
    except urllib.error.HTTPError as err:
        with err:
            return HttpResponse(err.code, err.read(BODY_LIMIT))
    except (urllib.error.URLError, OSError, ValueError) as err:
        reason = getattr(err, "reason", err)
        raise HandlerError(f"{method} {_where(url)} failed: {reason}") from None


async def request(
    method: str,
    url: str,
    *,
    headers: Sequence[tuple[str, str | SecretHeader]] = (),
    body: bytes | None = None,
    timeout_s: float,
) -> HttpResponse:
    """One request with a deadline; a non-2xx status raises HandlerError."""
    try:
        async with asyncio.timeout(timeout_s):
            # The thread cannot be cancelled; the socket timeout ends it soon after the deadline.
            response = await asyncio.to_thread(_request_sync, method, url, headers, body, timeout_s)
    except TimeoutError:
        raise HandlerError(f"{method} {_where(url)} timed out after {timeout_s:g} s") from None
    if not 200 <= response.status < 300:
        raise HandlerError(f"{method} {_where(url)}: HTTP {response.status} {response.summary()}".rstrip())
    return response


def _where(url: str) -> str:
    """The URL without its query, which may carry a key someone put there."""
    split = urlsplit(url)
    return f"{split.scheme}://{split.netloc.rpartition('@')[2]}{split.path}"


class HttpHandler:
    def __init__(self, spec: HttpSpec, *, name: str) -> None:
        self.spec = spec
        self._name = name

    @property
    def name(self) -> str:
        return self._name

    async def run(self, invocation: Invocation) -> str:
        values = invocation.values()
        try:
            url = self.spec.url.render(values, escape=lambda v: quote(v, safe=""))
            body = None
            if self.spec.body is not None:
                body = json.dumps(self.spec.body.render(values), ensure_ascii=False).encode("utf-8")
        except MissingValueError as err:
            raise HandlerError(str(err)) from None
        response = await request(
            self.spec.method, url, headers=self.spec.headers, body=body, timeout_s=self.spec.timeout_s
        )
        return f"HTTP {response.status}"
