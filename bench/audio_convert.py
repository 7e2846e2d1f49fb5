"""Cost and quality of the capture conversion (native PCM -> 16 kHz mono frames), in 30 ms callbacks.

Prints CPU seconds per hour of audio for the path MicrophoneSource runs in PortAudio's callback thread
(channel pick + soxr streaming resampler + framer), against two baselines measured in the same run:
16 kHz mono passthrough (framing only) and naive sample dropping (x[::3]), which the converter replaces.
Quality: how much of a 9 kHz tone (above the 8 kHz Nyquist of 16 kHz audio) folds back as a 7 kHz alias.

    python -m bench.audio_convert [--seconds 60]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from assistantd.audio.convert import Framer, ToMono16k


def chunks(rate: int, channels: int, seconds: float, seed: int = 1) -> list[bytes]:
    rng = np.random.default_rng(seed)
    samples = rng.normal(0, 3000, (int(rate * seconds), channels)).astype("<i2")
    step = rate * 30 // 1000
    return [samples[i : i + step].tobytes() for i in range(0, len(samples), step)]


def cpu_per_hour(run: Callable[[list[bytes]], None], data: list[bytes], seconds: float) -> float:
    start = time.process_time()
    run(data)
    return (time.process_time() - start) * 3600.0 / seconds


def converter_run(rate: int, channels: int) -> Callable[[list[bytes]], None]:
    def run(data: list[bytes]) -> None:
        conv = ToMono16k(rate, channels, 2, channel=channels - 1)
        framer = Framer(30)
        for chunk in data:
            framer.push(conv.process(chunk))

    return run


def dropping_run(data: list[bytes]) -> None:
    framer = Framer(30)
    for chunk in data:
        x = np.frombuffer(chunk, "<i2").reshape(-1, 2)[:, 1]
        framer.push(np.ascontiguousarray(x[::3]).tobytes())


def alias_db(convert: Callable[[bytes], bytes]) -> float:
    """Level at 7 kHz of the 16 kHz output relative to a 1 kHz reference tone of equal input level."""
    t = np.arange(48000 * 2) / 48000
    tones = 0.3 * np.sin(2 * np.pi * 1000 * t) + 0.3 * np.sin(2 * np.pi * 9000 * t)
    pcm = np.rint(tones * 32767).astype("<i2").tobytes()
    out = np.frombuffer(convert(pcm), "<i2").astype(np.float64)[4000:-4000]
    spectrum = np.abs(np.fft.rfft(out * np.hanning(len(out))))
    freqs = np.fft.rfftfreq(len(out), 1 / 16000)

    def level(f: float) -> float:
        return float(spectrum[np.argmin(np.abs(freqs - f))])

    return 20 * np.log10(level(7000) / level(1000) + 1e-12)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=60.0, help="audio per case")
    seconds = parser.parse_args().seconds

    stereo48 = chunks(48000, 2, seconds)
    baseline = cpu_per_hour(converter_run(16000, 1), chunks(16000, 1, seconds), seconds)
    dropping = cpu_per_hour(dropping_run, stereo48, seconds)
    print(f"CPU seconds per hour of audio ({seconds:g} s per case, 30 ms callbacks)")
    print(f"  16 kHz mono passthrough + framing (baseline)  {baseline:7.2f}")
    label = "48 kHz stereo, sample dropping x[::3]"
    print(f"  {label:<46}{dropping:7.2f}  ({dropping / baseline:.1f}x baseline)")
    for rate, channels in ((48000, 2), (44100, 2), (48000, 4), (16000, 2)):
        data = chunks(rate, channels, seconds)
        cost = cpu_per_hour(converter_run(rate, channels), data, seconds)
        label = f"{rate / 1000:g} kHz x{channels}, pick channel" + (" + soxr HQ" if rate != 16000 else "")
        print(f"  {label:<46}{cost:7.2f}  ({cost / baseline:.1f}x baseline)")

    def soxr_convert(pcm: bytes) -> bytes:
        conv = ToMono16k(48000, 1, 2)
        return conv.process(pcm) + conv.flush()

    def drop_convert(pcm: bytes) -> bytes:
        return np.frombuffer(pcm, "<i2")[::3].tobytes()

    print("9 kHz tone folded to 7 kHz, relative to a 1 kHz tone of the same level (lower is better)")
    print(f"  soxr streaming resampler   {alias_db(soxr_convert):7.1f} dB")
    print(f"  sample dropping            {alias_db(drop_convert):7.1f} dB")


if __name__ == "__main__":
    main()
