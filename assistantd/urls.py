"""URLs as logs and errors may show them. Pure."""

from __future__ import annotations

from urllib.parse import urlsplit


def public_url(url: str) -> str:
    """``scheme://host[:port]/path`` only: the query string and user information may carry a key or a
    token (someone put one there), so logs, errors and reports never show them."""
    try:
        split = urlsplit(url)
    except ValueError:
        # An unclosed IPv6 bracket: cut it the way urlsplit would, so a config error can still show
        # what was written (``ws://[::1``), less anything that could be a secret.
        scheme, sep, rest = url.partition("://")
        if not sep:
            return "(unparsable URL)"
        rest = rest.split("?", 1)[0].split("#", 1)[0]
        netloc, slash, path = rest.partition("/")
        return f"{scheme}://{netloc.rpartition('@')[2]}{slash}{path}"
    if not split.netloc:  # "user:pw@host:1" (no "//"): never echo what precedes an @
        return url.split("?", 1)[0].split("#", 1)[0].rpartition("@")[2]
    return f"{split.scheme}://{split.netloc.rpartition('@')[2]}{split.path}"
