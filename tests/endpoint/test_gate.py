"""The adaptive noise-floor gate on real level sequences."""

from __future__ import annotations

import numpy as np

from assistantd.endpoint.gate import SILENCE_DB, NoiseFloorGate


def test_level_of_full_scale_sine_and_silence() -> None:
    t = np.arange(480) / 16000
    sine = (np.sin(2 * np.pi * 500 * t) * 32767).astype(np.int16)
    assert abs(NoiseFloorGate.level_db(sine.astype("<i2").tobytes()) - (-3.01)) < 0.1
    assert NoiseFloorGate.level_db(bytes(960)) == SILENCE_DB
    assert NoiseFloorGate.level_db(b"") == SILENCE_DB


def test_level_matches_the_float_computation_on_noise() -> None:
    rng = np.random.default_rng(3)
    for scale in (30, 1000, 20000):
        x = np.clip(rng.normal(0, scale, 480), -32768, 32767).astype(np.int16)
        expected = 10 * np.log10(np.mean(x.astype(np.float64) ** 2) / 32768.0**2)
        assert abs(NoiseFloorGate.level_db(x.astype("<i2").tobytes()) - expected) < 1e-9


def test_gate_opens_above_the_floor_and_follows_a_louder_room_after_its_window() -> None:
    gate = NoiseFloorGate(margin_db=6, window_s=0.3, frame_s=0.03)  # 10 frames
    for _ in range(10):
        gate.update(-50)
    assert gate.update(-45) is False
    assert gate.update(-40) is True
    # The room gets 20 dB louder for good: after one window it is the new floor.
    results = [gate.update(-30) for _ in range(20)]
    assert results[0] is True
    assert results[-1] is False
    assert gate.floor_db == -30


def test_floor_is_the_minimum_of_the_last_window_on_any_sequence() -> None:
    rng = np.random.default_rng(8)
    # Random levels with long rises and falls, plenty of ties (rounded) and digital silence.
    levels = np.round(np.cumsum(rng.normal(0, 3, 3000)) % 60 - 80).tolist() + [SILENCE_DB] * 5 + [-40.0] * 200
    gate = NoiseFloorGate(margin_db=6, window_s=0.3, frame_s=0.03)
    for i, level in enumerate(levels):
        before = levels[max(0, i - 10) : i]
        assert gate.update(level) is (not before or level >= min(before) + 6)
        assert gate.floor_db == min(levels[max(0, i - 9) : i + 1])
