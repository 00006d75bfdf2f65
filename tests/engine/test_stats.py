"""Rules for RollingTimings (exact nearest-rank percentiles, a bounded window, an all-time max)
and for TimeSeries (the history a chart draws: bounded, summarised step by step, no clock)."""

from __future__ import annotations

import dataclasses
import random

import pytest

from engine.stats import (
    Metric,
    MetricKind,
    RollingTimings,
    SeriesPoint,
    TimeSeries,
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


# --- TimeSeries: the history behind a chart -------------------------------------------------------


def test_samples_are_summarised_per_step_with_nearest_rank_median_and_maximum() -> None:
    series = TimeSeries(step_s=5.0, span_s=60.0)
    for at, value in [(100.0, 30), (101.0, 10), (104.9, 20), (105.0, 7), (109.0, 9)]:
        series.record(at, value)

    assert series.points() == (
        SeriesPoint(start_s=100.0, count=3, p50=20, max=30, total=60),
        SeriesPoint(start_s=105.0, count=2, p50=7, max=9, total=16),  # rank ceil(0.5 * 2) = 1
    )
    assert series.points()[0].mean == 20.0


def test_a_series_keeps_only_its_span_however_long_it_is_fed() -> None:
    series = TimeSeries(step_s=1.0, span_s=10.0)
    for tick in range(100_000):  # a day at about one sample a second, give or take
        series.record(tick * 0.9, tick)

    points = series.points()
    assert series.steps_kept == 10
    assert len(points) == 10
    assert [p.start_s for p in points] == [float(s) for s in range(89_990, 90_000)]
    assert points[-1].max == 99_999  # the newest sample, in the open step


def test_steps_without_samples_have_no_point_so_a_stall_shows_as_a_gap() -> None:
    series = TimeSeries(step_s=1.0, span_s=10.0)
    series.record(0.5, 1)
    series.record(4.5, 2)

    assert [p.start_s for p in series.points()] == [0.0, 4.0]


def test_reading_at_a_later_time_leaves_out_steps_older_than_the_span() -> None:
    series = TimeSeries(step_s=1.0, span_s=10.0)
    for at in (0.5, 5.5, 9.5):
        series.record(at, 1)

    assert [p.start_s for p in series.points(now_s=9.9)] == [0.0, 5.0, 9.0]
    assert [p.start_s for p in series.points(now_s=12.0)] == [5.0, 9.0]  # steps 3 to 12 remain
    assert series.points(now_s=100.0) == ()


def test_the_open_step_grows_until_a_sample_opens_the_next() -> None:
    series = TimeSeries(step_s=2.0, span_s=20.0)
    series.record(0.0, 5)
    assert series.points() == (SeriesPoint(0.0, 1, 5, 5, 5),)

    series.record(1.0, 9)
    assert series.points() == (SeriesPoint(0.0, 2, 5, 9, 14),)

    series.record(2.0, 1)  # step 0 closes: its point is summarised once and kept
    assert series.points() == (SeriesPoint(0.0, 2, 5, 9, 14), SeriesPoint(2.0, 1, 1, 1, 1))
    assert series.points()[0] is series.points()[0]


def test_a_sample_stamped_before_the_open_step_counts_in_it() -> None:
    series = TimeSeries(step_s=1.0, span_s=10.0)
    series.record(5.5, 3)
    series.record(2.0, 8)  # a clock that went back: never raises on the tick path

    assert series.points() == (SeriesPoint(5.0, 2, 3, 8, 11),)


def test_each_point_sums_up_exactly_the_samples_of_its_step_within_the_span() -> None:
    rng = random.Random(1926)
    samples = sorted((rng.uniform(0, 300), rng.randrange(10**9)) for _ in range(5000))
    series, again = TimeSeries(5.0, 120.0), TimeSeries(5.0, 120.0)
    for at, value in samples:
        series.record(at, value)
        again.record(at, value)

    by_step: dict[int, list[int]] = {}
    for at, value in samples:
        by_step.setdefault(int(at // 5.0), []).append(value)
    expected = tuple(
        SeriesPoint(step * 5.0, len(v), nearest_rank(sorted(v), 50), max(v), sum(v))
        for step, v in sorted(by_step.items())
        if step >= 59 - 24 + 1  # the open step (59) and the 23 before it
    )
    assert series.points() == expected
    assert again.points() == expected  # the same samples, the same points: no clock, no chance


@pytest.mark.parametrize(
    ("step_s", "span_s", "message"),
    [
        (0.0, 10.0, "step_s"),
        (-1.0, 10.0, "step_s"),
        (float("nan"), 10.0, "step_s"),
        (5.0, 1.0, "span_s"),
        (5.0, float("inf"), "span_s"),
    ],
)
def test_a_series_without_a_step_or_span_that_makes_sense_is_refused(
    step_s: float, span_s: float, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        TimeSeries(step_s, span_s)
