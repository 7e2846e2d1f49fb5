"""The adaptive noise-floor gate on real level sequences."""

from __future__ import annotations

import numpy as np

from assistantd.endpoint.gate import SILENCE_DB, NoiseFloorGate


def test_level_of_full_scale_sine_and_silence() -> None:
    t = np.arange(480) / 16000
    sine = (np.sin(2 * np.pi * 500 * t) * 32767).astype(np.int16)
    assert abs(NoiseFloorGate.level_db(sine) - (-3.01)) < 0.1
    assert NoiseFloorGate.level_db(np.zeros(480, dtype=np.int16)) == SILENCE_DB


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
