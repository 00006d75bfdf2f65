"""Rules for RollingTimings: exact nearest-rank percentiles, a bounded window, an all-time max."""

from __future__ import annotations

import dataclasses
import random

import pytest

from engine.stats import (
    Metric,
    MetricKind,
    RollingTimings,
    TimingStats,
    counter,
    gauge,
    nearest_rank,
    summary,
)


def test_empty_timings_are_all_zeros() -> None:
    summary = RollingTimings().stats()

    assert summary == TimingStats(
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
    timings = RollingTimings(window=100)
    values = list(range(1, 101))  # 1..100 ns
    random.Random(7).shuffle(values)
    for ns in values:
        timings.record(ns)

    summary = timings.stats()

    assert summary.p50_ns == 50  # rank ceil(0.50 * 100) = 50
    assert summary.p99_ns == 99  # rank ceil(0.99 * 100) = 99
    assert summary.window_max_ns == 100
    assert summary.count == 100
    assert summary.total_ns == 5050
    assert summary.mean_ns == 50.5


def test_percentiles_are_always_a_measured_sample_never_an_interpolation() -> None:
    timings = RollingTimings()
    for ns in (10, 20, 30, 1000):
        timings.record(ns)

    summary = timings.stats()

    assert summary.p50_ns == 20  # rank ceil(0.5 * 4) = 2
    assert summary.p99_ns == 1000  # rank ceil(0.99 * 4) = 4


def test_a_single_sample_is_every_percentile() -> None:
    timings = RollingTimings()
    timings.record(1234)

    summary = timings.stats()

    assert (summary.p50_ns, summary.p99_ns, summary.max_ns, summary.window_max_ns) == (1234,) * 4


def test_nearest_rank_edges() -> None:
    assert nearest_rank([], 50) == 0
    assert nearest_rank([3, 5, 9], 0) == 3
    assert nearest_rank([3, 5, 9], 100) == 9
    with pytest.raises(ValueError, match="between 0 and 100"):
        nearest_rank([1], 101)


def test_window_evicts_oldest_samples_from_percentiles() -> None:
    timings = RollingTimings(window=3)
    for ns in (1000, 2000, 3000, 1, 2, 3):
        timings.record(ns)

    summary = timings.stats()

    assert summary.window_count == 3
    assert summary.p50_ns == 2
    assert summary.p99_ns == 3
    assert summary.window_max_ns == 3


def test_all_time_max_count_and_total_survive_eviction() -> None:
    timings = RollingTimings(window=2)
    for ns in (5, 900, 7, 8, 9):
        timings.record(ns)

    summary = timings.stats()

    assert summary.max_ns == 900
    assert summary.window_max_ns == 9
    assert summary.count == 5
    assert summary.total_ns == 929
    assert summary.mean_ns == pytest.approx(929 / 5)
    assert timings.count == 5


def test_cleared_timings_are_as_new_and_record_again() -> None:
    timings = RollingTimings(window=4)
    for ns in (5, 900, 7):
        timings.record(ns)
    timings.clear()
    assert timings.stats() == TimingStats()
    assert timings.count == 0
    timings.record(11)
    assert (timings.stats().count, timings.stats().max_ns, timings.stats().p50_ns) == (1, 11, 11)


def test_negative_duration_is_refused() -> None:
    with pytest.raises(ValueError, match="cannot be negative"):
        RollingTimings().record(-1)


def test_window_must_hold_at_least_one_sample() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        RollingTimings(window=0)
    assert RollingTimings(window=8).window == 8


def test_timing_stats_are_a_frozen_snapshot() -> None:
    timings = RollingTimings()
    timings.record(10)
    summary = timings.stats()
    timings.record(1_000_000)

    assert summary.max_ns == 10
    with pytest.raises(dataclasses.FrozenInstanceError):
        summary.max_ns = 0  # type: ignore[misc]


def test_timing_stats_in_milliseconds_for_display() -> None:
    timings = RollingTimings()
    for ns in (1_500_000, 2_500_000):
        timings.record(ns)

    assert timings.stats().as_ms_dict() == {
        "count": 2,
        "total_ms": 4.0,
        "mean_ms": 2.0,
        "p50_ms": 1.5,
        "p99_ms": 2.5,
        "max_ms": 2.5,
        "window_max_ms": 2.5,
        "window_count": 2,
    }


# --------------------------------------------------------------------------------------------------
# Metric declarations


def test_the_helpers_declare_one_reading_without_labels() -> None:
    level: Metric[None] = gauge("test_level", "A level.", lambda stats: 4)
    assert (level.kind, level.labels, list(level.read(None))) == (MetricKind.GAUGE, (), [((), 4)])
    spent: Metric[None] = counter("test_spent_total", "Spent.", lambda stats: 2.5)
    assert (spent.kind, list(spent.read(None))) == (MetricKind.COUNTER, [((), 2.5)])
    timings = TimingStats(count=1)
    wait: Metric[None] = summary("test_wait_seconds", "Waits.", lambda stats: timings)
    assert (wait.kind, list(wait.read(None))) == (MetricKind.SUMMARY, [((), timings)])


@pytest.mark.parametrize(
    ("name", "kind", "labels", "why"),
    [
        ("test_spent", MetricKind.COUNTER, (), "ends in _total"),
        ("test_wait_ms", MetricKind.SUMMARY, (), "end it in _seconds"),
        ("test wait", MetricKind.GAUGE, (), "not a metric name"),
        ("9lives", MetricKind.GAUGE, (), "not a metric name"),
        ("test_level", MetricKind.GAUGE, ("bad-label",), "not a label name"),
        ("test_level", MetricKind.GAUGE, ("__reserved",), "not a label name"),
        ("test_wait_seconds", MetricKind.SUMMARY, ("quantile",), "summary's own label"),
    ],
)
def test_a_declaration_that_prometheus_would_misread_is_refused_when_made(
    name: str, kind: MetricKind, labels: tuple[str, ...], why: str
) -> None:
    with pytest.raises(ValueError, match=why):
        Metric(name, kind, "Some help.", lambda stats: [], labels=labels)


def test_a_declaration_needs_its_help_text() -> None:
    with pytest.raises(ValueError, match="help"):
        gauge("test_level", "", lambda stats: 1)
