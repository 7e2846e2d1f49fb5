"""The owned threads PortAudio calls run on (opening, closing, listing devices): see owned_threads.py.

A device in trouble can hold a PortAudio call in C for ever: ALSA's file plugin blocked in ``read()`` on
a FIFO nobody writes keeps the capture's reader from returning, and the stream is not closed under it;
opening a FIFO with no writer blocks in ``open()`` while PortAudio initialises. Such a call is abandoned
at its deadline; a stream it returns late is closed on its own thread.
"""

from __future__ import annotations

from assistantd.owned_threads import OwnedThreads

ABANDONED_LIMIT = 3
"""Abandoned device calls that may be stuck at once, process-wide, before capture stops reopening."""

DEVICE_CALLS = OwnedThreads("audio", limit=ABANDONED_LIMIT)
"""Shared by every microphone source in the process: the cap counts threads, which are process-wide."""
