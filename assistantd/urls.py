"""URLs as logs and errors may show them. Pure."""

from __future__ import annotations

from urllib.parse import urlsplit


def public_url(url: str) -> str:
    """``scheme://host[:port]/path`` only: the query string and user information may carry a key or a
    token (someone put one there), so logs, errors and reports never show them."""
    try:
        split = urlsplit(url)
    except ValueError:
        return "(unparsable URL)"
    return f"{split.scheme}://{split.netloc.rpartition('@')[2]}{split.path}"
