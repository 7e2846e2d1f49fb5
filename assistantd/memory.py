"""Giving back what a reload replaced: Python objects at once, and the C heap's free pages.

An app is a web of reference cycles (hassil's parse trees point from child to parent, tasks to their
coroutines), so reference counting never frees it; the cyclic collector's oldest generation runs only
once the objects that survived its last run reach a quarter of all long-lived ones. Until then replaced
apps piled up (ten in 100 reloads, bench/reload_memory.py), and when they were finally freed the new
apps' objects were spread among theirs, so Python's allocator kept the pages: about 2.7 MB of RSS per
100 reloads with no audio. Collected at once, the next app's objects reuse the old one's slots.

Native memory an app frees (frames and chunk buffers over 512 bytes, which Python hands to malloc;
webrtcvad's state) goes back to glibc's arenas, where audio flowing through the new app fragments it:
about 1 MB per 100 reloads with audio, never returned. ``malloc_trim(0)`` hands the arenas' whole free
pages back to the kernel. Only glibc has it (musl and others: nothing to call, nothing done).
"""

from __future__ import annotations

import functools
import gc
import logging
import os
from collections.abc import Callable

log = logging.getLogger(__name__)


@functools.cache
def _find_malloc_trim() -> Callable[[int], int] | None:
    # Looked up at the first reload, not at import: ctypes is not needed to start (issue 13). glibc
    # answers CS_GNU_LIBC_VERSION ("glibc 2.36"); others raise or answer None. Not platform.libc_ver():
    # importing platform and scanning the interpreter's binary cost 30-50 ms of every start (issue 13).
    try:
        version = os.confstr("CS_GNU_LIBC_VERSION")
    except (ValueError, OSError):
        return None
    if not version or not version.startswith("glibc"):
        return None
    import ctypes  # noqa: PLC0415 - see above

    try:
        trim: Callable[[int], int] = ctypes.CDLL(None).malloc_trim
    except (OSError, AttributeError):
        return None
    return trim


def release_replaced() -> None:
    """After a reload's old app is closed and forgotten: free it, and return free heap pages."""
    gc.collect()
    trim = _find_malloc_trim()
    if trim is not None:
        trim(0)
