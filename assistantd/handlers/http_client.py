"""The small HTTP client that http and Home Assistant handlers share: one request, one deadline.

The standard library's ``http.client`` runs on a thread of the request's own (``HTTP_THREADS``, see
owned_threads.py), never on the event loop and never in asyncio's shared default executor: there, a
server that trickles its reply one byte at a time (each read inside the socket timeout) held a worker
forever, six of them filled the executor, later requests to a healthy server timed out unsent, and the
process could not exit. Here the deadline is enforced from the loop: when it passes, the request is
abandoned and its socket shut down, which ends any read or write the thread is blocked in, and the
thread finishes at once.

Redirects are not followed (a 3xx is a failure, and a bearer token never travels to a host nobody
configured), proxies from the environment are ignored (targets are on the LAN), and the body read is
bounded by ``BODY_LIMIT``.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import ssl
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from assistantd.config.handler_specs import SecretHeader
from assistantd.errors import HandlerError
from assistantd.owned_threads import CallHungError, OwnedThreads, ThreadsExhaustedError
from assistantd.urls import public_url

BODY_LIMIT = 65536
ABANDONED_LIMIT = 16
"""Abandoned request threads alive at once before new requests fail unsent. Only a request stuck where
no socket can be shut (a host name lookup that hangs) outlives its deadline; the cap keeps a resolver
outage from piling threads up."""

HTTP_THREADS = OwnedThreads("http", limit=ABANDONED_LIMIT)


@dataclass(frozen=True)
class HttpResponse:
    status: int
    body: bytes
    """At most BODY_LIMIT bytes."""

    def summary(self, chars: int = 200) -> str:
        return self.body.decode("utf-8", errors="replace").strip().replace("\n", " ")[:chars]


class _Exchange:
    """One request on its own thread; ``abort`` (from any thread) ends it at once."""

    def __init__(
        self,
        method: str,
        url: str,
        headers: Sequence[tuple[str, str | SecretHeader]],
        body: bytes | None,
        timeout_s: float,
    ) -> None:
        self.method, self.url, self.headers, self.body, self.timeout_s = method, url, headers, body, timeout_s
        self._lock = threading.Lock()
        self._sock: socket.socket | None = None
        self._aborted = False

    def abort(self) -> None:
        with self._lock:
            self._aborted = True
            sock = self._sock
        if sock is not None:
            # Wakes a thread blocked in recv/send on this socket (close alone would not).
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)

    def _connection(self) -> tuple[http.client.HTTPConnection, str]:
        split = urlsplit(self.url)
        host = split.hostname or ""
        conn: http.client.HTTPConnection
        if split.scheme == "https":
            conn = http.client.HTTPSConnection(
                host, split.port, timeout=self.timeout_s, context=ssl.create_default_context()
            )
        elif split.scheme == "http":
            conn = http.client.HTTPConnection(host, split.port, timeout=self.timeout_s)
        else:
            raise ValueError(f"unsupported URL scheme {split.scheme!r}")
        target = (split.path or "/") + (f"?{split.query}" if split.query else "")
        return conn, target

    def run(self) -> HttpResponse:
        conn, target = self._connection()
        try:
            conn.connect()
            with self._lock:
                self._sock = conn.sock
                if self._aborted:
                    raise TimeoutError("deadline passed while connecting")
            # The secret is revealed here, into the request only.
            headers = {
                name: value.reveal() if isinstance(value, SecretHeader) else value
                for name, value in self.headers
            }
            if self.body is not None and not any(k.lower() == "content-type" for k in headers):
                headers["Content-Type"] = "application/json"
            conn.request(self.method, target, body=self.body, headers=headers)
            response = conn.getresponse()
            return HttpResponse(response.status, response.read(BODY_LIMIT))
        finally:
            conn.close()


async def request(
    method: str,
    url: str,
    *,
    headers: Sequence[tuple[str, str | SecretHeader]] = (),
    body: bytes | None = None,
    timeout_s: float,
) -> HttpResponse:
    """One request with a deadline for all of it; a non-2xx status raises HandlerError."""
    exchange = _Exchange(method, url, headers, body, timeout_s)
    try:
        response = await HTTP_THREADS.call(
            exchange.run, deadline_s=timeout_s, what=f"{method} request", abort=exchange.abort
        )
    except ThreadsExhaustedError:
        stuck = f"{HTTP_THREADS.abandoned} timed-out HTTP requests are still running"
        raise HandlerError(f"{method} {public_url(url)} not sent: {stuck}") from None
    except (CallHungError, TimeoutError):
        # Whichever fires first, the owned thread's deadline or the socket's own timeout (the same
        # timeout_s: on a loaded machine the socket's can win), it is the same failure, said one way.
        raise HandlerError(f"{method} {public_url(url)} timed out after {timeout_s:g} s") from None
    except (OSError, http.client.HTTPException, ValueError) as err:
        reason = getattr(err, "reason", None) or err
        raise HandlerError(f"{method} {public_url(url)} failed: {reason}") from None
    if not 200 <= response.status < 300:
        status = f"HTTP {response.status} {response.summary()}".rstrip()
        raise HandlerError(f"{method} {public_url(url)}: {status}")
    return response


def in_flight() -> int:
    """Request threads alive now."""
    return HTTP_THREADS.alive
