"""Huawei API Gateway request signing, ``SDK-HMAC-SHA256`` (protocols.md §3.2), pure and clock-injected.

How it works (Huawei "API Request Signing Guide", devg-apisign api-sign-algorithm-002..005):

1. Canonical request, six lines joined by ``\\n``: the method; the URI path with every segment
   percent-encoded (RFC 3986 unreserved characters kept) and a trailing ``/`` always added; the query with
   keys (then values) sorted; one ``name:value`` line per signed header (lower-case name, trimmed value)
   followed by an empty line; the signed header names, lower-case, sorted, ``;``-joined; the hex SHA-256 of
   the body (empty for the WebSocket upgrade GET).
2. String to sign: ``SDK-HMAC-SHA256``, the ``X-Sdk-Date`` value (``YYYYMMDDTHHMMSSZ``, UTC) and the hex
   SHA-256 of the canonical request, on three lines.
3. Signature: hex HMAC-SHA256 keyed directly with the SK (no derived key, unlike AWS SigV4).
4. ``Authorization: SDK-HMAC-SHA256 Access=<AK>, SignedHeaders=<list>, Signature=<hex>``.

The same functions verify a request, which the fake server in tests/fakes/huawei.py does with its own AK/SK.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, unquote, urlsplit

ALGORITHM = "SDK-HMAC-SHA256"
DATE_HEADER = "X-Sdk-Date"
DATE_FORMAT = "%Y%m%dT%H%M%SZ"
EMPTY_BODY_SHA256 = hashlib.sha256(b"").hexdigest()

_DEFAULT_PORTS = {"ws": 80, "http": 80, "wss": 443, "https": 443}
_AUTH_RE = re.compile(
    r"^SDK-HMAC-SHA256 Access=(?P<access>[^,\s]+), SignedHeaders=(?P<signed>[a-z0-9;_-]+), "
    r"Signature=(?P<signature>[0-9a-f]{64})$"
)


def _encode(text: str) -> str:
    # RFC 3986 unreserved characters stay as they are; everything else is %XY (api-sign-algorithm-002).
    return quote(text, safe="~")


def sdk_date(epoch_seconds: float) -> str:
    """The ``X-Sdk-Date`` value for a moment given as Unix time (UTC, whole seconds)."""
    return datetime.fromtimestamp(int(epoch_seconds), UTC).strftime(DATE_FORMAT)


def parse_sdk_date(value: str) -> float | None:
    """Unix time of an ``X-Sdk-Date`` value, or None when it is not in the documented format."""
    try:
        return datetime.strptime(value, DATE_FORMAT).replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def canonical_uri(path: str) -> str:
    """Each segment decoded then re-encoded; a trailing slash always (the gateway signs ``/vpcs/``)."""
    encoded = "/".join(_encode(unquote(segment)) for segment in (path or "/").split("/"))
    return encoded if encoded.endswith("/") else encoded + "/"


def canonical_query(query: str) -> str:
    """Parameters sorted by key, then value; keys and values decoded then re-encoded."""
    pairs: list[tuple[str, str]] = []
    for item in query.split("&"):
        if not item:
            continue
        key, _, value = item.partition("=")
        if key:
            pairs.append((_encode(unquote(key)), _encode(unquote(value))))
    return "&".join(f"{k}={v}" for k, v in sorted(pairs))


def host_header(url: str) -> str:
    """The ``Host`` value a WebSocket client sends for ``url``: the port only when it is not the default.

    This must equal what the client library puts on the wire, because the gateway signs the received header.
    """
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = parts.port
    if port is not None and port != _DEFAULT_PORTS.get(parts.scheme):
        host = f"{host}:{port}"
    return host


@dataclass(frozen=True)
class CanonicalRequest:
    text: str
    signed_headers: tuple[str, ...]


def canonical_request(
    method: str,
    path: str,
    query: str,
    headers: Iterable[tuple[str, str]],
    body_sha256: str = EMPTY_BODY_SHA256,
) -> CanonicalRequest:
    """Step 1. ``headers`` are exactly the headers to sign (a repeated name is refused)."""
    lowered: dict[str, str] = {}
    for name, value in headers:
        key = name.lower()
        if key in lowered:
            raise ValueError(f"header {key} appears twice; the gateway refuses duplicated signed headers")
        lowered[key] = value.strip()
    signed = tuple(sorted(lowered))
    header_lines = "".join(f"{name}:{lowered[name]}\n" for name in signed)
    text = "\n".join(
        [method.upper(), canonical_uri(path), canonical_query(query), header_lines, ";".join(signed)]
    )
    return CanonicalRequest(text=f"{text}\n{body_sha256}", signed_headers=signed)


def string_to_sign(canonical: str, date: str) -> str:
    """Step 2."""
    return f"{ALGORITHM}\n{date}\n{hashlib.sha256(canonical.encode('utf-8')).hexdigest()}"


def signature(sk: str, to_sign: str) -> str:
    """Step 3: hex HMAC-SHA256 keyed with the SK itself."""
    return hmac.new(sk.encode("utf-8"), to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def authorization(ak: str, signed_headers: Iterable[str], sig: str) -> str:
    """Step 4: a space after the algorithm, ``, `` between the parts."""
    return f"{ALGORITHM} Access={ak}, SignedHeaders={';'.join(signed_headers)}, Signature={sig}"


def sign_upgrade(
    url: str,
    extra_headers: Iterable[tuple[str, str]],
    *,
    ak: str,
    sk: str,
    clock: Callable[[], float],
) -> list[tuple[str, str]]:
    """Headers to add to the WebSocket upgrade GET of ``url``: ``X-Sdk-Date`` and ``Authorization``.

    ``Host`` is signed but not returned: the WebSocket client sends its own, and a second copy makes the
    gateway answer 401 (protocols.md §3.2). ``extra_headers`` (e.g. Enterprise-Project-Id) are signed too
    and must be sent by the caller unchanged.
    """
    extra = list(extra_headers)
    date = sdk_date(clock())
    parts = urlsplit(url)
    to_sign = [("host", host_header(url)), (DATE_HEADER, date), *extra]
    canonical = canonical_request("GET", parts.path, parts.query, to_sign)
    sig = signature(sk, string_to_sign(canonical.text, date))
    return [(DATE_HEADER, date), ("Authorization", authorization(ak, canonical.signed_headers, sig))]


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str = ""
    """Why verification failed, without any secret (for the fake server's error message)."""


def verify_request(
    method: str,
    target: str,
    headers: Mapping[str, str],
    *,
    ak: str,
    sk: str,
    now: float,
    max_skew_s: float = 15 * 60,
) -> Verdict:
    """Recompute a received request's signature as the gateway does. ``headers`` keys are lower-case.

    The gateway rejects signatures older or newer than 15 minutes (devg-apisign FAQ "signature expired").
    """
    auth = headers.get("authorization")
    if auth is None:
        return Verdict(False, "no Authorization header")
    match = _AUTH_RE.match(auth)
    if match is None:
        return Verdict(False, "Authorization is not SDK-HMAC-SHA256 Access=, SignedHeaders=, Signature=")
    if not hmac.compare_digest(match["access"], ak):
        return Verdict(False, "unknown access key")
    date = headers.get(DATE_HEADER.lower())
    when = parse_sdk_date(date) if date is not None else None
    if date is None or when is None:
        return Verdict(False, "X-Sdk-Date missing or not YYYYMMDDTHHMMSSZ")
    if abs(now - when) > max_skew_s:
        return Verdict(False, "signature expired")
    signed = match["signed"].split(";")
    if "host" not in signed or "x-sdk-date" not in signed:
        return Verdict(False, "host and x-sdk-date must be signed")
    missing = [name for name in signed if name not in headers]
    if missing:
        return Verdict(False, f"signed header {missing[0]} not sent")
    path, _, query = target.partition("?")
    canonical = canonical_request(method, path, query, [(name, headers[name]) for name in signed])
    expected = signature(sk, string_to_sign(canonical.text, date))
    if not hmac.compare_digest(expected, match["signature"]):
        return Verdict(False, "signature mismatch")
    return Verdict(True)
