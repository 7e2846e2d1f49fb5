"""``assistantd wake FILE.wav``: where the wake word fires in a recording, one JSON line per detection.

For tuning ``wake.probability_cutoff``: each line has the time (seconds into the file), the model and the
averaged probability; the last line on stderr gives the highest probability heard, so a phrase that was
missed shows how far below the cutoff it stayed. Runs as fast as the CPU allows.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

from assistantd.audio.frames import Frame, frame_bytes
from assistantd.audio.wavfile import read_wav_pcm16k
from assistantd.config import Config, WakeConfig, default_config_path, load_config
from assistantd.endpoint.microwakeword import MicroWakeWordDetector, load_detector
from assistantd.endpoint.wake import Detection, WakeStage

FRAME_MS = 30


def run(path: Path, config_path: Path | None, model: str | None, cutoff: float | None) -> int:
    config, source = _wake_config(config_path)
    if model is not None:
        # Checked as the config key would be (a built-in name, or a model .json that exists).
        checked = Config.from_dict({"wake": {"model": model}}, source="--model", base_dir=Path.cwd()).wake
        config = dataclasses.replace(config, model=checked.model)
    if cutoff is not None:
        config = dataclasses.replace(config, probability_cutoff=cutoff)
    if config.model is None:
        config = dataclasses.replace(config, model="okay_nabu")
    detector = load_detector(config, source)
    pcm = read_wav_pcm16k(path)
    detections, peak = detect(pcm, detector, config.refractory_s)
    for detection in detections:
        print(json.dumps(detection.to_dict()), flush=True)
    print(
        f"{len(detections)} detection(s) of {detector.name} (cutoff {detector.cutoff:.2f}); "
        f"highest probability {peak:.3f}",
        file=sys.stderr,
    )
    return 0


def detect(pcm: bytes, detector: MicroWakeWordDetector, refractory_s: float) -> tuple[list[Detection], float]:
    """Every detection in ``pcm`` (16 kHz mono s16le) as the daemon's idle loop would see it, and the highest
    probability heard. After a detection the detector starts afresh, as when the daemon returns to idle."""
    stage = WakeStage(detector, FRAME_MS, refractory_s)
    size = frame_bytes(FRAME_MS)
    found: list[Detection] = []
    peak = 0.0
    for i in range(len(pcm) // size):
        detection = stage.listen(Frame(pcm[i * size : (i + 1) * size], i * FRAME_MS / 1000))
        peak = max(peak, detector.peak)
        if detection is not None:
            found.append(detection)
            stage.reset()
    return found, peak


def _wake_config(config_path: Path | None) -> tuple[WakeConfig, str]:
    """The wake section of the given config, else of the installed one, else the defaults."""
    path = config_path if config_path is not None else default_config_path()
    if config_path is None and not path.is_file():
        return WakeConfig(), "<defaults>"
    cfg = load_config(path)
    return cfg.wake, cfg.source
