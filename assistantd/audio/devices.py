"""PortAudio device enumeration and selection, and the taming of PortAudio's stderr noise.

``PortAudio`` and ``Stream`` describe the part of pyaudio that assistantd uses, so tests can hand in a
factory that fails on purpose (see ``MicrophoneSource``). pyaudio itself is imported lazily: importing
this module does not initialise PortAudio.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import IO, Any, Protocol

log = logging.getLogger(__name__)

# portaudio.h: paInt16 = 0x00000008.
PA_INT16 = 0x8
# portaudio.h PaErrorCode values that pyaudio puts in OSError.errno.
PA_INPUT_OVERFLOWED = -9981
PA_INVALID_DEVICE = -9996
PA_DEVICE_UNAVAILABLE = -9985
PA_NO_DEVICE = -1
MAX_AUTO_CHANNELS = 8
"""Channels opened when the config leaves it to the device (ALSA's 'default' claims 128)."""


class Stream(Protocol):
    def read(self, num_frames: int, exception_on_overflow: bool = True) -> bytes: ...
    def is_active(self) -> bool: ...
    def stop_stream(self) -> None: ...
    def close(self) -> None: ...


class PortAudio(Protocol):
    """The slice of ``pyaudio.PyAudio`` that capture needs."""

    def get_device_count(self) -> int: ...
    def get_device_info_by_index(self, index: int) -> Mapping[str, Any]: ...
    def get_default_input_device_info(self) -> Mapping[str, Any]: ...
    def open(self, *args: Any, **kwargs: Any) -> Stream: ...
    def terminate(self) -> None: ...


PortAudioFactory = Callable[[], PortAudio]


def pyaudio_factory() -> PortAudio:
    """A new ``pyaudio.PyAudio`` (initialising PortAudio, which re-scans the devices)."""
    import pyaudio  # noqa: PLC0415 - only the microphone path needs PortAudio

    pa: PortAudio = pyaudio.PyAudio()
    return pa


@dataclass(frozen=True)
class DeviceInfo:
    index: int
    name: str
    max_input_channels: int
    default_rate: int

    def describe(self) -> str:
        return f"{self.index} {self.name!r}"


def input_devices(pa: PortAudio) -> list[DeviceInfo]:
    """Every device with at least one input channel, in PortAudio's order."""
    found = []
    for index in range(pa.get_device_count()):
        info = pa.get_device_info_by_index(index)
        channels = int(info.get("maxInputChannels", 0))
        if channels > 0:
            rate = int(info.get("defaultSampleRate", 0))
            found.append(DeviceInfo(index, str(info.get("name", "?")), channels, rate))
    return found


def default_input_index(pa: PortAudio) -> int | None:
    try:
        return int(pa.get_default_input_device_info()["index"])
    except (OSError, KeyError, ValueError):
        return None


def find_input_device(
    devices: list[DeviceInfo], wanted: str | int | None, default_index: int | None
) -> DeviceInfo | None:
    """The device the config means: by index, by case-insensitive name substring (first match), or the
    system default when ``wanted`` is None. None when no present input device fits."""
    if wanted is None:
        wanted = default_index if default_index is not None else (devices[0].index if devices else None)
        if wanted is None:
            return None
    if isinstance(wanted, int):
        return next((d for d in devices if d.index == wanted), None)
    needle = wanted.casefold()
    return next((d for d in devices if needle in d.name.casefold()), None)


def channels_to_open(device: DeviceInfo, configured: int | None) -> int:
    return configured if configured is not None else min(device.max_input_channels, MAX_AUTO_CHANNELS)


# -- stderr noise -------------------------------------------------------------------------------------
# PortAudio's ALSA and JACK back ends print probing chatter on fd 2 every time they initialise. These
# prefixes are that chatter; anything else written meanwhile is passed on to stderr unchanged.
_NOISE_PREFIXES = (
    "ALSA lib ",
    "Cannot connect to server",
    "jack server is not running",
    "JackShmReadWritePtr",
    "Expression '",
    "Cannot lock down",
    "bt_audio_service_open",
)
QUIET_WAIT_S = 2.0


@dataclass
class _Redirect:
    saved: int
    """A duplicate of the real fd 2."""
    sink: IO[bytes]


_state = threading.Condition()
_active: _Redirect | None = None


@contextlib.contextmanager
def quiet_stderr() -> Iterator[None]:
    """Collect fd 2 while PortAudio initialises; log known noise at debug level, re-emit the rest.

    fd 2 is process-wide, so anything another thread writes meanwhile is collected too and re-emitted
    afterwards (late, not lost). Concurrent use waits up to QUIET_WAIT_S for the other to finish, then
    runs unquieted rather than hang. A PortAudio call that never returns would keep fd 2 collected for
    ever: whoever abandons it calls ``release_stderr``.
    """
    redirect = _redirect()
    try:
        yield
    finally:
        if redirect is not None:
            _restore(redirect)


def release_stderr() -> None:
    """Give fd 2 back now (replaying what was collected) if a quieted call still holds it."""
    with _state:
        redirect = _active
    if redirect is not None:
        _restore(redirect)


def _redirect() -> _Redirect | None:
    global _active  # noqa: PLW0603 - fd 2 is one per process, and so is its redirection
    with _state:
        if not _state.wait_for(lambda: _active is None, QUIET_WAIT_S):
            return None
        sys.stderr.flush()
        # An anonymous in-memory file (no temp directory, no tempfile module at start: issue 13).
        sink = os.fdopen(os.memfd_create("assistantd-stderr"), "w+b")  # closed by _restore
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        _active = _Redirect(saved, sink)
        return _active


def _restore(redirect: _Redirect) -> None:
    global _active  # noqa: PLW0603
    with _state:
        if _active is not redirect:  # released already
            return
        sys.stderr.flush()
        os.dup2(redirect.saved, 2)
        os.close(redirect.saved)
        _active = None
        _state.notify_all()
    with redirect.sink as sink:
        sink.seek(0)
        text = sink.read().decode("utf-8", "replace")
    _replay(text)


def _replay(text: str) -> None:
    kept = []
    for line in text.splitlines(keepends=True):
        if line.lstrip().startswith(_NOISE_PREFIXES):
            log.debug("portaudio: %s", line.rstrip())
        else:
            kept.append(line)
    if kept:
        sys.stderr.write("".join(kept))
        sys.stderr.flush()
