from __future__ import annotations

import pytest

from assistantd.metrics import Latency, Metrics


def test_percentiles_over_a_bounded_window() -> None:
    lat = Latency()
    for ms in range(1, 1001):
        lat.observe(ms / 1000)
    assert len(lat.window) == 512  # old samples fell out
    assert lat.count == 1000
    assert lat.percentile(0.5) == pytest.approx(0.744, abs=0.002)
    assert lat.percentile(0.95) == pytest.approx(0.975, abs=0.002)


def test_prometheus_text_and_summary() -> None:
    metrics = Metrics()
    metrics.inc("utterances", 3)
    metrics.inc("recognizer_errors")
    metrics.observe("endpoint_to_final", 0.02)
    text = metrics.prometheus()
    assert "assistantd_utterances_total 3\n" in text
    assert "# TYPE assistantd_recognizer_errors_total counter" in text
    assert 'assistantd_endpoint_to_final_seconds{quantile="0.5"} 0.020000' in text
    assert 'assistantd_utterance_seconds{quantile="0.5"} NaN' in text
    assert metrics.summary().startswith("3 utterances, 0 matched, 0 rejected, 1 recognizer errors")


def test_unknown_counter_is_a_bug() -> None:
    with pytest.raises(KeyError):
        Metrics().inc("utterance")
