"""Rules for RollingStats: exact nearest-rank percentiles, a bounded window, an all-time max."""

from __future__ import annotations

import dataclasses
import random

import pytest

from engine.stats import RollingStats, StatsSummary, nearest_rank


def test_empty_stats_summarise_to_zeros() -> None:
    summary = RollingStats().summary()

    assert summary == StatsSummary(
        count=0,
        total_ns=0,
        mean_ns=0.0,
        p50_ns=0,
        p99_ns=0,
        max_ns=0,
        window_max_ns=0,
        window_count=0,
    )


def test_percentiles_use_nearest_rank_over_sorted_samples() -> None:
    stats = RollingStats(window=100)
    values = list(range(1, 101))  # 1..100 ns
    random.Random(7).shuffle(values)
    for ns in values:
        stats.record(ns)

    summary = stats.summary()

    assert summary.p50_ns == 50  # rank ceil(0.50 * 100) = 50
    assert summary.p99_ns == 99  # rank ceil(0.99 * 100) = 99
    assert summary.window_max_ns == 100
    assert summary.count == 100
    assert summary.total_ns == 5050
    assert summary.mean_ns == 50.5


def test_percentiles_are_always_a_measured_sample_never_an_interpolation() -> None:
    stats = RollingStats()
    for ns in (10, 20, 30, 1000):
        stats.record(ns)

    summary = stats.summary()

    assert summary.p50_ns == 20  # rank ceil(0.5 * 4) = 2
    assert summary.p99_ns == 1000  # rank ceil(0.99 * 4) = 4


def test_a_single_sample_is_every_percentile() -> None:
    stats = RollingStats()
    stats.record(1234)

    summary = stats.summary()

    assert (summary.p50_ns, summary.p99_ns, summary.max_ns, summary.window_max_ns) == (1234,) * 4


def test_nearest_rank_edges() -> None:
    assert nearest_rank([], 50) == 0
    assert nearest_rank([3, 5, 9], 0) == 3
    assert nearest_rank([3, 5, 9], 100) == 9
    with pytest.raises(ValueError, match="between 0 and 100"):
        nearest_rank([1], 101)


def test_window_evicts_oldest_samples_from_percentiles() -> None:
    stats = RollingStats(window=3)
    for ns in (1000, 2000, 3000, 1, 2, 3):
        stats.record(ns)

    summary = stats.summary()

    assert summary.window_count == 3
    assert summary.p50_ns == 2
    assert summary.p99_ns == 3
    assert summary.window_max_ns == 3


def test_all_time_max_count_and_total_survive_eviction() -> None:
    stats = RollingStats(window=2)
    for ns in (5, 900, 7, 8, 9):
        stats.record(ns)

    summary = stats.summary()

    assert summary.max_ns == 900
    assert summary.window_max_ns == 9
    assert summary.count == 5
    assert summary.total_ns == 929
    assert summary.mean_ns == pytest.approx(929 / 5)
    assert stats.count == 5


def test_negative_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        RollingStats().record(-1)


def test_window_must_hold_at_least_one_sample() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RollingStats(window=0)
    assert RollingStats(window=8).window == 8


def test_summary_is_a_frozen_snapshot() -> None:
    stats = RollingStats()
    stats.record(10)
    summary = stats.summary()
    stats.record(1_000_000)

    assert summary.max_ns == 10
    with pytest.raises(dataclasses.FrozenInstanceError):
        summary.max_ns = 0  # type: ignore[misc]


def test_summary_in_milliseconds_for_display() -> None:
    stats = RollingStats()
    for ns in (1_500_000, 2_500_000):
        stats.record(ns)

    assert stats.summary().as_ms_dict() == {
        "count": 2,
        "total_ms": 4.0,
        "mean_ms": 2.0,
        "p50_ms": 1.5,
        "p99_ms": 2.5,
        "max_ms": 2.5,
        "window_max_ms": 2.5,
        "window_count": 2,
    }
