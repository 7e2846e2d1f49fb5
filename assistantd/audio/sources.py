"""Choosing the audio source: stdin, a WAV file or the microphone."""

from __future__ import annotations

from assistantd.audio.filesource import StdinSource, WavFileSource
from assistantd.audio.frames import AudioSource
from assistantd.audio.microphone import MicrophoneSource
from assistantd.config.audio import AudioConfig


def open_source(audio_cfg: AudioConfig, input_path: str | None, *, pace: bool) -> AudioSource:
    """``"-"`` reads raw 16 kHz mono s16le from stdin, a path reads a WAV file, None opens the microphone.

    Raises ``AudioError`` (one line) for an unreadable or unsupported WAV file. ``pace``
    applies to stdin and files; a microphone is paced by nature.
    """
    if input_path == "-":
        return StdinSource(frame_ms=audio_cfg.frame_ms, pace=pace)
    if input_path is not None:
        return WavFileSource(input_path, audio_cfg.frame_ms, pace=pace)
    # The device check (MicrophoneSource.preflight) runs when the app starts, off the event loop.
    return MicrophoneSource(audio_cfg)
