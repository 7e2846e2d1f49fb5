from __future__ import annotations

from itertools import islice

from assistantd.backoff import backoff


def test_doubles_up_to_the_cap_without_jitter() -> None:
    delays = list(islice(backoff(0.5, 4.0, jitter=0.0), 6))
    assert delays == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]


def test_jitter_spreads_within_bounds() -> None:
    low = next(backoff(1.0, 10.0, jitter=0.1, rand=lambda: 0.0))
    high = next(backoff(1.0, 10.0, jitter=0.1, rand=lambda: 1.0))
    assert (low, high) == (0.9, 1.1)
