"""Statistics: rolling timings of ticks and systems, and what every source of figures shares.

A stats source (the engine, the tick loop, the database writer, the network hub) answers
``stats()`` with a typed, frozen snapshot named for it (``EngineStats``, ``LoopStats``,
``WriterStats``, ``HubStats``), and declares beside it the metrics /metrics exposes from that
snapshot (:class:`Metric`). The engine's ``StatsBoard`` keeps the sources by name, and the log, the
admin ``stats`` command and /metrics all read them there. Timings are kept by
:class:`RollingTimings`, whose snapshot is a :class:`TimingStats`; the recent history a chart
shows (the /stats page), by :class:`TimeSeries`, one :class:`SeriesPoint` per step.

Recording sits on the tick path, so it is O(1) and keeps no more than a fixed window of samples; all
sorting is deferred to ``stats()``, which runs only when someone asks (admin ``stats``, /metrics).
This module must never read a clock or do I/O: callers measure, it only keeps the figures. Nor
does it know any metrics library: a declaration is plain data, which the network shell turns into
Prometheus families.
"""

from __future__ import annotations

import math
import re
from array import array
from collections import deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Generic, Protocol, TypeAlias, TypeVar

__all__ = [
    "DEFAULT_WINDOW",
    "Metric",
    "MetricKind",
    "Reading",
    "RollingTimings",
    "SeriesPoint",
    "Stats",
    "StatsSource",
    "TimeSeries",
    "TimingStats",
    "counter",
    "gauge",
    "nearest_rank",
    "summary",
]

DEFAULT_WINDOW = 1024
"""Samples kept for percentiles: about 100 s of ticks at 10 Hz, small enough to sort on demand."""

_NS_PER_MS = 1_000_000


def nearest_rank(sorted_values: Sequence[int], percent: float) -> int:
    """The nearest-rank percentile of already sorted samples, or 0 when there are none.

    Nearest rank (the value at rank ``ceil(percent / 100 * n)``, 1-based) always returns a sample
    that was actually measured, never an interpolation between two, so a p99 of 12 ms means some
    tick really took 12 ms. ``percent`` must lie in [0, 100]; 0 gives the minimum.
    """
    if not 0 <= percent <= 100:
        raise ValueError(f"percent must be between 0 and 100, got {percent!r}")
    n = len(sorted_values)
    if n == 0:
        return 0
    rank = max(1, math.ceil(percent * n / 100))
    return sorted_values[rank - 1]


@dataclass(frozen=True, slots=True)
class TimingStats:
    """A snapshot of a :class:`RollingTimings`, safe to hand to another thread or serialise.

    ``count``, ``total_ns``, ``mean_ns`` and ``max_ns`` cover every sample since start-up, so a rare
    spike is never forgotten; ``p50_ns``, ``p99_ns`` and ``window_max_ns`` cover only the last
    ``window_count`` samples, so they show how the server behaves now rather than on average
    since boot. Percentiles use the nearest-rank method (see :func:`nearest_rank`).
    """

    count: int = 0
    total_ns: int = 0
    mean_ns: float = 0.0
    p50_ns: int = 0
    p99_ns: int = 0
    max_ns: int = 0
    window_max_ns: int = 0
    window_count: int = 0

    def as_ms_dict(self) -> dict[str, float]:
        """The summary in milliseconds, rounded to the microsecond, for humans and JSON.

        Nanoseconds are the right unit to measure in and the wrong one to read; counts stay
        integers.
        """

        def ms(ns: float) -> float:
            return round(ns / _NS_PER_MS, 3)

        return {
            "count": self.count,
            "total_ms": ms(self.total_ns),
            "mean_ms": ms(self.mean_ns),
            "p50_ms": ms(self.p50_ns),
            "p99_ms": ms(self.p99_ns),
            "max_ms": ms(self.max_ns),
            "window_max_ms": ms(self.window_max_ns),
            "window_count": self.window_count,
        }


class RollingTimings:
    """Durations in integer nanoseconds (as from ``time.perf_counter_ns``), kept cheaply.

    A ring buffer of the last ``window`` samples feeds the percentiles; running totals and the
    all-time maximum are updated in place, so ``record`` costs the same on day one and day ninety.
    Not thread-safe: record and take ``stats()`` from the thread that owns the measured work.
    """

    __slots__ = ("_count", "_max_ns", "_size", "_total_ns", "_window")

    def __init__(self, window: int = DEFAULT_WINDOW) -> None:
        if window < 1:
            raise ValueError(f"window must be at least 1 sample, got {window!r}")
        self._size = window
        self._window: deque[int] = deque(maxlen=window)
        self._count = 0
        self._total_ns = 0
        self._max_ns = 0

    @property
    def window(self) -> int:
        """How many recent samples the percentiles are computed over."""
        return self._size

    @property
    def count(self) -> int:
        """Samples recorded since creation, including those evicted from the window."""
        return self._count

    def record(self, ns: int) -> None:
        """Add one duration. O(1): the oldest sample leaves the window when it is full.

        A negative duration can only come from mixing clocks, so it is refused rather than
        allowed to drag the mean down silently.
        """
        if ns < 0:
            raise ValueError(f"a duration cannot be negative, got {ns} ns: measure with one clock")
        self._window.append(ns)
        self._count += 1
        self._total_ns += ns
        if ns > self._max_ns:
            self._max_ns = ns

    def clear(self) -> None:
        """Forget every sample, as if just made: a profile measures from a chosen tick on, not
        from the ticks that built its world."""
        self._window.clear()
        self._count = 0
        self._total_ns = 0
        self._max_ns = 0

    def stats(self) -> TimingStats:
        """Compute the figures now: O(w log w) in the window size, so keep it off the tick path."""
        if self._count == 0:
            return TimingStats()
        ordered = sorted(self._window)
        return TimingStats(
            count=self._count,
            total_ns=self._total_ns,
            mean_ns=self._total_ns / self._count,
            p50_ns=nearest_rank(ordered, 50),
            p99_ns=nearest_rank(ordered, 99),
            max_ns=self._max_ns,
            window_max_ns=ordered[-1],
            window_count=len(ordered),
        )

    def __repr__(self) -> str:
        return f"RollingTimings(window={self.window}, count={self._count})"


@dataclass(frozen=True, slots=True)
class SeriesPoint:
    """One step of a :class:`TimeSeries`: the samples recorded in ``[start_s, start_s + step)``.

    ``p50`` is their nearest-rank median (a sample really recorded, as for :class:`TimingStats`)
    and ``max`` their largest, so a chart of both shows what was usual and how bad it got; ``total``
    gives the mean where it is wanted. ``start_s`` is on the recorder's clock.
    """

    start_s: float
    count: int
    p50: int
    max: int
    total: int

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0


class _Step:
    """The samples of one step of a series, until its summary is asked for; then the summary."""

    __slots__ = ("index", "point", "samples")

    def __init__(self, index: int) -> None:
        self.index = index
        self.samples: array[int] | None = array("q")
        self.point: SeriesPoint | None = None

    def summary(self, step_s: float) -> SeriesPoint:
        if self.point is not None:
            return self.point
        assert self.samples is not None
        ordered = sorted(self.samples)
        return SeriesPoint(
            self.index * step_s, len(ordered), nearest_rank(ordered, 50), ordered[-1], sum(ordered)
        )


class TimeSeries:
    """Integer samples over the last ``span_s`` seconds, summarised one step of ``step_s`` at a
    time: the history behind a chart of the last ten minutes (tick durations, a queue's depth).

    The caller gives each sample's time (``at_s``, on any clock that does not go back, in
    seconds); the series reads no clock itself, so feeding it known samples gives known points.
    A sample falls in step ``floor(at_s / step_s)``. Recording is O(1): an append to the newest
    step (the open one), and, when a sample opens a new step, dropping the steps that fell out of
    the span. Nothing is sorted until :meth:`points` is called (by whoever shows the chart, off the
    tick path); a step that has closed is then summarised once, its samples let go and only its
    :class:`SeriesPoint` kept. So the series holds at most ``ceil(span_s / step_s)`` steps, and
    raw samples only for the steps nobody has read yet: 8 bytes a sample, at worst one span of
    them. A sample stamped before the open step (a clock that went back) counts in the open step.
    Not thread-safe: record and read from one thread.
    """

    __slots__ = ("_current", "_span_s", "_step_s", "_steps", "_steps_kept")

    def __init__(self, step_s: float, span_s: float) -> None:
        if not (math.isfinite(step_s) and step_s > 0):
            raise ValueError(f"step_s must be a positive number of seconds, got {step_s!r}")
        if not (math.isfinite(span_s) and span_s >= step_s):
            raise ValueError(
                f"span_s must be a number of seconds of at least one step ({step_s!r}), "
                f"got {span_s!r}"
            )
        self._step_s = float(step_s)
        self._span_s = float(span_s)
        self._steps_kept = math.ceil(span_s / step_s)
        self._steps: deque[_Step] = deque()
        self._current: _Step | None = None

    @property
    def step_s(self) -> float:
        """Seconds summarised by one point."""
        return self._step_s

    @property
    def span_s(self) -> float:
        """Seconds of history kept, counting the open step."""
        return self._span_s

    @property
    def steps_kept(self) -> int:
        """The most steps (so points) the series holds: ``ceil(span_s / step_s)``."""
        return self._steps_kept

    def record(self, at_s: float, value: int) -> None:
        """Add one sample taken at ``at_s``. O(1), amortised over the steps it drops."""
        current = self._current
        index = math.floor(at_s / self._step_s)
        if current is None or index > current.index:
            current = self._current = _Step(index)
            steps = self._steps
            steps.append(current)
            oldest = index - self._steps_kept + 1
            while steps[0].index < oldest:
                steps.popleft()
        assert current.samples is not None  # the open step is never summarised for good
        current.samples.append(value)

    def points(self, now_s: float | None = None) -> tuple[SeriesPoint, ...]:
        """A point for every step that has samples, oldest first, the open step last.

        With ``now_s`` (on the recording clock), only the steps still within ``span_s`` of it: a
        series nothing was recorded into for a while shows the gap, not stale points. Steps
        without a sample have no point (a stalled loop shows as a hole in the chart).
        """
        oldest = None if now_s is None else math.floor(now_s / self._step_s) - self._steps_kept + 1
        points = []
        for step in self._steps:
            if oldest is not None and step.index < oldest:
                continue
            point = step.summary(self._step_s)
            if step is not self._current and step.point is None:
                step.point, step.samples = point, None  # closed: summarise it once, for good
            points.append(point)
        return tuple(points)

    def __repr__(self) -> str:
        return f"TimeSeries(step_s={self._step_s}, span_s={self._span_s}, steps={len(self._steps)})"


StatsT = TypeVar("StatsT")
StatsT_co = TypeVar("StatsT_co", covariant=True)


class MetricKind(StrEnum):
    """How a monitoring system should read a figure over time."""

    COUNTER = "counter"
    """Only grows while the process runs (a restart starts it again from zero): rates are taken."""
    GAUGE = "gauge"
    """A level, free to go down or to jump (a tick number restored from the database)."""
    SUMMARY = "summary"
    """A :class:`TimingStats`, in seconds: its p50, p99 and window maximum as the quantiles 0.5,
    0.99 and 1 (over the recent window), with the sum and count of every sample since start-up."""


#: One figure of a metric: its label values, in the order the metric names the labels, and its
#: value (a number, or a TimingStats for a summary).
Reading: TypeAlias = tuple[tuple[str, ...], float | TimingStats]

_METRIC_NAME_RE = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
_LABEL_NAME_RE = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")


@dataclass(frozen=True, slots=True)
class Metric(Generic[StatsT]):
    """One metric a stats source declares, and how to read it from the source's snapshot.

    A source declares its own metrics beside its snapshot type, so adding a figure touches
    nothing else: /metrics turns every declaration into a metric family at scrape time, calling
    ``read`` on a snapshot taken for that scrape. ``name`` is the name scraped: a counter's ends in
    ``_total``, a summary's (a duration) in ``_seconds``. A mistake in a declaration is a
    ``ValueError`` when its module is imported, not a broken scrape.
    """

    name: str
    kind: MetricKind
    help: str
    read: Callable[[StatsT], Iterable[Reading]]
    labels: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not _METRIC_NAME_RE.fullmatch(self.name):
            raise ValueError(f"{self.name!r} is not a metric name: letters, digits, _ and :")
        if self.kind is MetricKind.COUNTER and not self.name.endswith("_total"):
            raise ValueError(f"counter {self.name!r}: a counter's name ends in _total")
        if self.kind is MetricKind.SUMMARY and not self.name.endswith("_seconds"):
            raise ValueError(f"summary {self.name!r}: a summary is a duration; end it in _seconds")
        for label in self.labels:
            if not _LABEL_NAME_RE.fullmatch(label) or label.startswith("__"):
                raise ValueError(f"metric {self.name!r}: {label!r} is not a label name")
        if self.kind is MetricKind.SUMMARY and "quantile" in self.labels:
            raise ValueError(f"summary {self.name!r}: 'quantile' is the summary's own label")
        if not self.help:
            raise ValueError(f"metric {self.name!r} needs its help text")


def counter(name: str, help: str, read: Callable[[StatsT], float]) -> Metric[StatsT]:
    """A counter without labels: ``read`` gives its value from a snapshot."""
    return Metric(name, MetricKind.COUNTER, help, lambda stats: [((), read(stats))])


def gauge(name: str, help: str, read: Callable[[StatsT], float]) -> Metric[StatsT]:
    """A gauge without labels: ``read`` gives its value from a snapshot."""
    return Metric(name, MetricKind.GAUGE, help, lambda stats: [((), read(stats))])


def summary(name: str, help: str, read: Callable[[StatsT], TimingStats]) -> Metric[StatsT]:
    """A summary without labels: ``read`` gives the timings it shows from a snapshot."""
    return Metric(name, MetricKind.SUMMARY, help, lambda stats: [((), read(stats))])


class Stats(Protocol):
    """A snapshot a service reports, shown on one line of the statistics table and sent to admins
    (the ``stats`` command's data) as plain values."""

    def as_dict(self) -> Mapping[str, object]: ...


class StatsSource(Protocol[StatsT_co]):
    """Anything that reports figures: ``stats()`` takes a snapshot of them now, and ``metrics``
    declares what /metrics shows of such a snapshot.

    Taking a snapshot may sort timing windows, so it is for whoever asks (the log, an admin, a
    scrape), never for the tick path; it is frozen, so it may be handed to another thread.
    """

    @property
    def metrics(self) -> Sequence[Metric[Any]]: ...

    def stats(self) -> StatsT_co: ...
