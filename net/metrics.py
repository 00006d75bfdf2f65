"""/metrics: the Prometheus text exposition of every source on the engine's stats board.

Each stats source declares its metrics beside the snapshot they read (``engine.stats.Metric``:
the engine's in ``engine.core``, the writer's in ``persist.writer``, the hub's in ``net.hub``).
This module only turns those declarations into prometheus_client metric families when /metrics
is scraped, so the text format, the escaping of label values and the TYPE lines are the library's,
and no figure is named here: a source that adds one touches nothing in the network shell. It
never imports ``persist``: the writer reaches it only as a source on the board.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Iterator
from typing import Any, Final

from prometheus_client import CollectorRegistry, ProcessCollector, generate_latest
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    SummaryMetricFamily,
)
from prometheus_client.metrics_core import Metric as Family
from prometheus_client.samples import Sample

from engine.core import StatsBoard
from engine.stats import Metric, MetricKind, TimingStats

__all__ = ["CONTENT_TYPE", "QUANTILES", "StatsCollector", "exposition", "metrics_registry"]

log = logging.getLogger("kadath.net")

CONTENT_TYPE: Final = "text/plain; version=0.0.4"
"""The Prometheus text format that ``generate_latest`` writes (always UTF-8)."""

QUANTILES: Final = (("0.5", "p50_ns"), ("0.99", "p99_ns"), ("1", "window_max_ns"))
"""A summary's quantiles, each with the ``TimingStats`` figure it shows. All three cover the same
recent window; quantile 1 is the window's maximum, not the all-time one."""

_NS_PER_S = 1e9


class StatsCollector:
    """A prometheus_client collector over a stats board: one scrape, one snapshot per source.

    It has no ``describe``, so the registry never calls ``collect`` before a scrape: sources join
    the board while the server starts, after the collector is registered. A source that fails to
    report, or whose declarations do not fit its snapshot, is logged and left out of that scrape;
    the others are still served. Two sources declaring one name would make the exposition
    ambiguous, so the later one's metric is left out and logged.
    """

    def __init__(self, board: StatsBoard) -> None:
        self._board = board

    def collect(self) -> Iterator[Family]:
        seen: set[str] = set()
        for name, source in self._board.sources():
            try:
                stats = source.stats()
                families = [_family(metric, stats) for metric in source.metrics]
            except Exception:
                log.exception(
                    "stats source %r failed; its metrics are left out of this scrape", name
                )
                continue
            for family in families:
                if family.name in seen:
                    log.error("stats source %r declares %r again; left out", name, family.name)
                    continue
                seen.add(family.name)
                yield family


def metrics_registry(board: StatsBoard) -> CollectorRegistry:
    """A registry of its own for one server (never the process-wide default, which would mix in
    every other server and test in the process), holding the board's collector and the library's
    process collector (``process_resident_memory_bytes``, ``process_cpu_seconds_total``, ...:
    what ``kadath bots`` reports of the server; on Linux only)."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StatsCollector(board))
    ProcessCollector(registry=registry)
    return registry


def exposition(registry: CollectorRegistry) -> bytes:
    """The body of a /metrics answer, of type ``CONTENT_TYPE``."""
    return generate_latest(registry)


def _family(metric: Metric[Any], stats: object) -> Family:
    """The metric family ``metric`` declares, with the values it reads from ``stats``."""
    family: Family
    labels = list(metric.labels)
    if metric.kind is MetricKind.SUMMARY:
        summary = SummaryMetricFamily(metric.name, metric.help, labels=labels)
        for values, timings in metric.read(stats):
            if not isinstance(timings, TimingStats):
                raise TypeError(f"summary {metric.name!r} read {timings!r}, not TimingStats")
            _add_summary(summary, dict(zip(labels, values, strict=True)), timings)
        return summary
    if metric.kind is MetricKind.COUNTER:
        family = CounterMetricFamily(metric.name, metric.help, labels=labels)
    else:
        family = GaugeMetricFamily(metric.name, metric.help, labels=labels)
    for values, value in metric.read(stats):
        if isinstance(value, TimingStats):
            raise TypeError(f"{metric.kind} {metric.name!r} read TimingStats, not a number")
        if len(values) != len(labels):
            raise ValueError(f"{metric.name!r} has labels {labels}, read values {values}")
        family.add_metric(list(values), float(value))
    return family


def _add_summary(family: SummaryMetricFamily, labels: dict[str, str], timings: TimingStats) -> None:
    """Quantiles, sum and count, in seconds. The quantiles come computed (prometheus_client's
    families take only sum and count, since the library computes none itself), so they join the
    family as samples of its own name; with nothing measured in the window they are NaN, as
    Prometheus's own clients write them, not a made-up 0."""
    for quantile, figure in QUANTILES:
        value = getattr(timings, figure) / _NS_PER_S if timings.window_count else math.nan
        family.samples.append(Sample(family.name, {**labels, "quantile": quantile}, value))
    family.add_metric(list(labels.values()), timings.count, timings.total_ns / _NS_PER_S)
