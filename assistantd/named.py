"""``module:attribute`` names: an implementation a table names without importing it.

Tables of pluggable parts (cloud vendors' codecs and config blocks, VAD engines) name each part this way,
so a process loads only the parts its config uses: the rest cost neither start-up time nor memory
(issue 13). The attribute may be dotted (``Class.from_node``).
"""

from __future__ import annotations

import importlib


def load_named(name: str) -> object:
    """What ``module:attribute`` names, its module imported now."""
    module, _, attribute = name.partition(":")
    found: object = importlib.import_module(module)
    for part in attribute.split("."):
        found = getattr(found, part)
    return found
