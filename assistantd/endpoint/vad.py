"""Voice activity detection: one verdict per 10/20/30 ms frame of 16 kHz mono s16le audio.

``Vad`` is the interface the endpointer side needs. ``WebrtcVad`` is the default engine (0.3 CPU-s per hour of
audio, FACTS.md); ``endpoint.vad_engine`` picks one of config/endpoint.py ``VAD_ENGINES``, whose module
``vad_engine`` imports only then. ``FrontEndVad`` puts the household-noise defences around it, each switched
by ``EndpointConfig``: WebRTC noise suppression (stationary fans, hiss and hum are estimated and removed
before the VAD sees them), an adaptive energy gate (a frame the VAD calls speech must also stand out from the
running noise floor), plus the Silero onset check it hands to the endpointer (silero.py: vetoes utterance
starts on clicks and knocks). The audio that is uploaded is always the original; only the VAD sees the cleaned
copy.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, cast

import webrtcvad
from webrtc_noise_gain import AudioProcessor

from assistantd.audio.frames import SAMPLE_RATE, frame_bytes
from assistantd.config.endpoint import VAD_ENGINES, EndpointConfig
from assistantd.endpoint.gate import SILENCE_DB, NoiseFloorGate
from assistantd.endpoint.machine import OnsetCheck
from assistantd.endpoint.silero import SileroOnsetCheck, SpeechProbability, load_silero
from assistantd.named import load_named

VALID_FRAME_MS = (10, 20, 30)
_TEN_MS = frame_bytes(10)


class Vad(Protocol):
    def is_speech(self, frame: bytes) -> bool:
        """True when the frame (10, 20 or 30 ms of 16 kHz mono s16le) contains speech."""
        ...


def check_frame_ms(frame_ms: int) -> None:
    if frame_ms not in VALID_FRAME_MS:
        raise ValueError(f"frame_ms must be one of {VALID_FRAME_MS}, got {frame_ms}")


class WebrtcVad:
    """webrtcvad's GMM detector at a fixed aggressiveness (0 least, 3 most eager to say non-speech)."""

    def __init__(self, aggressiveness: int) -> None:
        self._vad = webrtcvad.Vad(aggressiveness)

    def is_speech(self, frame: bytes) -> bool:
        return bool(self._vad.is_speech(frame, SAMPLE_RATE))


def webrtc_engine(config: EndpointConfig) -> WebrtcVad:
    """The ``webrtcvad`` entry of VAD_ENGINES."""
    return WebrtcVad(config.vad_aggressiveness)


def vad_engine(config: EndpointConfig) -> Vad:
    """The engine ``config.vad_engine`` names, its module imported now (not before)."""
    by_name = {engine.name: engine for engine in VAD_ENGINES}
    factory = cast(Callable[[EndpointConfig], Vad], load_named(by_name[config.vad_engine].factory))
    return factory(config)


class NoiseSuppressor:
    """WebRTC noise suppression (webrtc-noise-gain, 10 ms at a time; about 6 CPU-s per hour of audio).

    Stateful: it learns the noise spectrum over the first second or so and keeps adapting. No gain control,
    so the energy gate after it sees true levels.
    """

    def __init__(self, level: int) -> None:
        self._processor = AudioProcessor(0, level)

    def process(self, frame: bytes) -> bytes:
        if len(frame) % _TEN_MS:
            raise ValueError("frames must be a whole number of 10 ms")
        process = self._processor.Process10ms
        if len(frame) == 3 * _TEN_MS:  # the daemon's 30 ms frames
            clean: bytes = (
                process(frame[:_TEN_MS]).audio
                + process(frame[_TEN_MS : 2 * _TEN_MS]).audio
                + process(frame[2 * _TEN_MS :]).audio
            )
            return clean
        return b"".join(process(frame[i : i + _TEN_MS]).audio for i in range(0, len(frame), _TEN_MS))


@dataclass(frozen=True, slots=True)
class Verdict:
    """What FrontEndVad saw in one frame (for --plot and tuning)."""

    vad: bool
    """The VAD engine's verdict on the (noise-suppressed) frame."""
    level_db: float
    """Level of the frame the gate looked at, dBFS."""
    floor_db: float
    """The gate's noise floor after this frame, dBFS."""
    speech: bool
    """The final verdict: the VAD's and above the energy gate."""


class FrontEndVad:
    """Noise suppression -> VAD engine -> energy gate (each but the engine optional).

    ``last`` holds the details of the latest frame. ``onset_check`` is the second opinion the endpointer
    should ask before starting an utterance (None: trust the VAD).
    """

    def __init__(
        self,
        engine: Vad,
        suppressor: NoiseSuppressor | None = None,
        gate: NoiseFloorGate | None = None,
        onset_check: OnsetCheck | None = None,
    ) -> None:
        self.engine = engine
        self.suppressor = suppressor
        self.gate = gate
        self.onset_check = onset_check
        # The latest frame's figures, kept as plain attributes: a Verdict is built only when asked for.
        self._vad = False
        self._level_db = SILENCE_DB
        self._speech = False

    @property
    def last(self) -> Verdict:
        floor = self.gate.floor_db if self.gate is not None else SILENCE_DB
        return Verdict(self._vad, self._level_db, floor, self._speech)

    def is_speech(self, frame: bytes) -> bool:
        clean = self.suppressor.process(frame) if self.suppressor is not None else frame
        vad = self._vad = self.engine.is_speech(clean)
        if self.gate is None:
            self._speech = vad
            return vad
        level = self._level_db = self.gate.level_db(clean)
        speech = self._speech = self.gate.update(level) and vad
        return speech


def build_vad(
    config: EndpointConfig,
    frame_ms: int = 30,
    *,
    silero: Callable[[], SpeechProbability] = load_silero,
    suppressor: Callable[[int], NoiseSuppressor] = NoiseSuppressor,
) -> FrontEndVad:
    """The VAD the config asks for: its engine (webrtcvad by default), optionally behind noise
    suppression and an energy gate, with a Silero onset check when ``silero_threshold`` is set. The daemon
    passes SharedModels' ``silero`` and ``suppressor``, so a reload does not load the Silero model or the
    WebRTC processor again."""
    ns = suppressor(config.noise_suppression) if config.noise_suppression else None
    gate = None
    if config.gate_margin_db > 0:
        gate = NoiseFloorGate(config.gate_margin_db, config.floor_window_s, frame_s=frame_ms / 1000)
    onset_check = None
    if config.silero_threshold > 0:
        onset_check = SileroOnsetCheck(silero(), config.silero_threshold)
    return FrontEndVad(vad_engine(config), ns, gate, onset_check)
