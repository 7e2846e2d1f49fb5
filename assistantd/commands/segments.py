"""``assistantd segments PATH.wav``: print the utterances the endpointer finds, one JSON object per line.

Runs as fast as the CPU allows (no real-time pacing). ``--plot OUT.png`` draws the waveform, the VAD's
verdicts, the noise floor and the segments, and, when the config has a wake word, where it fired.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from assistantd.audio.frames import SAMPLE_RATE
from assistantd.audio.wavfile import read_wav_pcm16k
from assistantd.config import Config, default_config_path, load_config
from assistantd.endpoint.offline import Segment, Trace, analyse_pcm
from assistantd.endpoint.wake import Detection
from assistantd.errors import AudioError


def run(path: Path, config_path: Path | None, plot: Path | None) -> int:
    config = load_config(config_path) if config_path is not None else _default_config()
    pcm = read_wav_pcm16k(path)
    segments, trace = analyse_pcm(pcm, config.endpoint)
    for seg in segments:
        print(json.dumps({"start": round(seg.start, 3), "end": round(seg.end, 3), "reason": seg.reason}))
    if plot is not None:
        _plot(pcm, segments, trace, plot, _detections(pcm, config))
    return 0


def _default_config() -> Config:
    """The installed config when there is one (errors reported), else the defaults."""
    path = default_config_path()
    return load_config(path) if path.is_file() else Config()


def _detections(pcm: bytes, config: Config) -> list[Detection]:
    if config.wake.model is None:
        return []
    from assistantd.commands.wake import detect  # noqa: PLC0415 - loads TFLite and numpy
    from assistantd.endpoint.microwakeword import load_detector  # noqa: PLC0415

    found, _ = detect(pcm, load_detector(config.wake, config.source), config.wake.refractory_s)
    return found


def _plot(pcm: bytes, segments: list[Segment], trace: Trace, out: Path, wakes: list[Detection]) -> None:
    # Lazily: matplotlib is an optional extra and takes a second to import.
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    x = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768
    step = max(1, len(x) // 20000)
    t = np.arange(0, len(x), step) / SAMPLE_RATE
    fig, (ax_wave, ax_vad) = plt.subplots(2, 1, sharex=True, figsize=(14, 5), height_ratios=[2, 1])
    ax_wave.plot(t, x[::step], linewidth=0.4, color="0.3")
    for seg in segments:
        ax_wave.axvspan(seg.start, seg.end, color="tab:green", alpha=0.25)
    for seg in trace.cancelled:
        ax_wave.axvspan(seg.start, seg.end, color="tab:red", alpha=0.2)
    for wake in wakes:
        ax_wave.axvline(wake.time, color="tab:blue", linewidth=1.2)
        ax_wave.annotate(
            f"{wake.model} {wake.probability:.2f}",
            (wake.time, 0.9),
            xycoords=("data", "axes fraction"),
            fontsize="small",
            color="tab:blue",
        )
    ax_wave.set_ylabel("waveform")
    title = "segments: green = uploaded, red = cancelled (too short)"
    ax_wave.set_title(title + (", blue = wake word heard" if wakes else ""))
    ft = np.asarray(trace.t)
    ax_vad.step(ft, np.asarray(trace.vad, dtype=float) * 0.9, where="post", label="webrtcvad", linewidth=0.7)
    ax_vad.step(
        ft, np.asarray(trace.speech, dtype=float), where="post", label="speech (gated)", linewidth=0.7
    )
    ax_vad.fill_between(
        ft, 0, np.asarray(trace.in_utterance, dtype=float) * 1.1, step="post", alpha=0.15, label="open"
    )
    rejected = ft[np.asarray(trace.rejected, dtype=bool)]
    if rejected.size:
        ax_vad.plot(
            rejected, np.full(rejected.size, 0.5), "x", color="tab:red", label="onset refused (Silero)"
        )
    ax_vad.set_yticks([])
    ax_vad.set_xlabel("seconds")
    ax_vad.legend(loc="upper right", fontsize="small")
    ax_db = ax_vad.twinx()
    ax_db.plot(ft, trace.level_db, linewidth=0.4, color="tab:purple", alpha=0.6)
    ax_db.plot(ft, trace.floor_db, linewidth=0.8, color="black")
    ax_db.set_ylabel("dBFS (level, floor)")
    fig.tight_layout()
    try:
        fig.savefig(out, dpi=100)
    except OSError as err:
        raise AudioError(f"{out}: cannot write the plot ({err.strerror or err})") from None
    finally:
        plt.close(fig)
