"""``assistantd devices``: list the audio input devices PortAudio can see."""

from __future__ import annotations

from assistantd.audio.devices import (
    PortAudioFactory,
    default_input_index,
    input_devices,
    pyaudio_factory,
    quiet_stderr,
)
from assistantd.errors import AudioError


def run(factory: PortAudioFactory = pyaudio_factory) -> int:
    try:
        with quiet_stderr():
            pa = factory()
            try:
                devices = input_devices(pa)
                default = default_input_index(pa)
            finally:
                pa.terminate()
    except OSError as err:
        raise AudioError(f"PortAudio cannot list devices: {err}") from None
    if not devices:
        print("No audio input devices found (is a microphone plugged in? see `arecord -l`).")
        return 0
    print(f"{'index':>5}  {'channels':>8}  {'rate':>6}  name")
    for d in devices:
        mark = "  (default)" if d.index == default else ""
        print(f"{d.index:>5}  {d.max_input_channels:>8}  {d.default_rate:>6}  {d.name}{mark}")
    print("Set audio.device to a name substring or an index; audio.channel picks one of the channels.")
    return 0
