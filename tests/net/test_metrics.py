"""/metrics without a network: the collector turns each stats source's declared metrics into
Prometheus families with the declared types, the library escapes label values, a source's own
declarations are what appears (the writer's included), and a failing source costs only itself.

The exposition is read back with prometheus_client's own parser, so every test also checks that
what the server writes is valid Prometheus text.
"""

from __future__ import annotations

import ast
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.metrics_core import Metric as Family
from prometheus_client.parser import text_string_to_metric_families

from components.body import Vitals
from engine.config import Config
from engine.core import ENGINE_METRICS, Engine
from engine.loop import LOOP_METRICS, TickLoop
from engine.stats import Metric, MetricKind, counter
from net.hub import HUB_METRICS
from net.metrics import CONTENT_TYPE, QUANTILES, exposition, metrics_registry
from net.shard_stats import SHARD_METRICS
from persist.database import open_database
from persist.journal import JOURNAL_METRICS
from persist.schema import Schema, metadata
from persist.snapshot import Batch
from persist.writer import WRITER_METRICS, Writer
from tests.test_layers import ENTRY_POINTS

ROOT = Path(__file__).resolve().parents[2]


def scrape(engine: Engine) -> tuple[str, dict[str, Family]]:
    """The exposition's text, and its families by name as Prometheus's parser reads them."""
    text = exposition(metrics_registry(engine.stats_board)).decode("utf-8")
    families = {family.name: family for family in text_string_to_metric_families(text)}
    return text, families


def family_name(metric: Metric[Any]) -> str:
    """The parser names a counter's family without its ``_total``, as OpenMetrics does."""
    return metric.name.removesuffix("_total") if metric.kind is MetricKind.COUNTER else metric.name


def value(family: Family, sample_name: str, **labels: str) -> float:
    (found,) = [s.value for s in family.samples if s.name == sample_name and s.labels == labels]
    return float(found)


@dataclass(frozen=True)
class ShelfStats:
    books: dict[str, int]
    lent: int

    def as_dict(self) -> dict[str, object]:
        return {"lent": self.lent}


class Shelf:
    """A stats source of the test's own: books by title, and how many are lent out."""

    metrics: tuple[Metric[ShelfStats], ...] = (
        Metric(
            "test_shelf_books",
            MetricKind.GAUGE,
            "Copies of each title.",
            lambda stats: [((title,), count) for title, count in stats.books.items()],
            labels=("title",),
        ),
        counter("test_shelf_lent_total", "Books lent, ever.", lambda stats: stats.lent),
    )

    def __init__(self, books: dict[str, int], lent: int = 0) -> None:
        self.books = books
        self.lent = lent

    def stats(self) -> ShelfStats:
        if self.lent < 0:
            raise RuntimeError("the shelf fell over")
        return ShelfStats(dict(self.books), self.lent)


def ticked_engine(ticks: int = 3) -> Engine:
    engine = Engine(Config(), plugins=[])
    engine.run_ticks(ticks)
    return engine


def test_every_metric_the_engine_declares_is_exposed_with_its_declared_type() -> None:
    _, families = scrape(ticked_engine())
    for metric in ENGINE_METRICS:
        assert families[family_name(metric)].type == metric.kind.value, metric.name
        assert families[family_name(metric)].documentation == metric.help
    assert families["kadath_tick"].type == "gauge"  # the tick is restored at start-up
    assert value(families["kadath_tick"], "kadath_tick") == 3


def test_tick_cost_is_a_summary_with_its_quantiles_sum_and_count_in_seconds() -> None:
    engine = ticked_engine(5)
    text, families = scrape(engine)
    assert "# TYPE kadath_tick_duration_seconds summary" in text
    cost = engine.stats().tick_cost
    family = families["kadath_tick_duration_seconds"]
    for quantile, figure in QUANTILES:
        seconds = getattr(cost, figure) / 1e9
        assert value(family, family.name, quantile=quantile) == pytest.approx(seconds)
    assert value(family, "kadath_tick_duration_seconds_count") == 5
    assert value(family, "kadath_tick_duration_seconds_sum") == pytest.approx(cost.total_ns / 1e9)
    assert [q for q, _ in QUANTILES] == ["0.5", "0.99", "1"]


def test_a_summary_with_nothing_measured_has_no_quantiles_to_show() -> None:
    engine = Engine(Config(), plugins=[])
    _, families = scrape(engine)
    family = families["kadath_tick_duration_seconds"]
    assert math.isnan(value(family, family.name, quantile="0.99"))
    assert value(family, "kadath_tick_duration_seconds_count") == 0


def test_systems_and_phases_are_counters_labelled_by_name_and_kind() -> None:
    engine = ticked_engine()
    _, families = scrape(engine)
    seconds, runs = families["kadath_system_seconds"], families["kadath_system_runs"]
    assert (seconds.type, runs.type) == ("counter", "counter")
    for row in engine.stats().rows:
        labels = {"name": row.name, "kind": row.kind}
        assert value(runs, "kadath_system_runs_total", **labels) == row.runs
        assert value(seconds, "kadath_system_seconds_total", **labels) >= 0


def test_a_label_value_with_quotes_backslashes_and_line_breaks_is_escaped() -> None:
    title = 'The "King" in\nYellow \\ Act II'
    engine = ticked_engine()
    engine.stats_board.add("shelf", Shelf({title: 2, "Necronomicon": 1}))
    text, families = scrape(engine)
    assert 'title="The \\"King\\" in\\nYellow \\\\ Act II"' in text
    assert all(not line.startswith("Yellow") for line in text.splitlines())
    assert value(families["test_shelf_books"], "test_shelf_books", title=title) == 2


def test_a_sources_declared_metrics_appear_even_when_it_joins_after_the_registry() -> None:
    engine = ticked_engine()
    registry = metrics_registry(engine.stats_board)  # as the server does, before services join
    engine.stats_board.add("shelf", Shelf({"Necronomicon": 1}, lent=7))
    families = {f.name: f for f in text_string_to_metric_families(exposition(registry).decode())}
    assert families["test_shelf_books"].type == "gauge"
    assert families["test_shelf_lent"].type == "counter"
    assert value(families["test_shelf_lent"], "test_shelf_lent_total") == 7


def test_a_failing_source_is_left_out_and_logged_and_the_others_are_served(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = ticked_engine()
    engine.stats_board.add("shelf", Shelf({"Necronomicon": 1}, lent=-1))
    with caplog.at_level(logging.ERROR, logger="kadath.net"):
        _, families = scrape(engine)
    assert "test_shelf_books" not in families
    assert "kadath_tick" in families
    assert "stats source 'shelf' failed" in caplog.text


def test_a_metric_declared_twice_is_served_once(caplog: pytest.LogCaptureFixture) -> None:
    engine = ticked_engine()
    engine.stats_board.add("shelf", Shelf({"Necronomicon": 1}))
    engine.stats_board.add("annex", Shelf({"Pnakotic Manuscripts": 1}))
    with caplog.at_level(logging.ERROR, logger="kadath.net"):
        text, _ = scrape(engine)
    assert text.count("# TYPE test_shelf_books gauge") == 1
    assert "Necronomicon" in text and "Pnakotic" not in text
    assert "stats source 'annex' declares 'test_shelf_books' again" in caplog.text


def test_the_writers_figures_come_from_the_writers_own_declaration(tmp_path: Path) -> None:
    db = open_database(f"sqlite:///{tmp_path / 'world.db'}")
    schema = Schema([Vitals])
    metadata.create_all(db, tables=schema.tables)
    writer = Writer(db, schema)
    writer.submit(Batch(4, upserts={"vitals": {1: (5, 10), 2: (6, 10)}}))
    assert writer.flush_now()
    engine = ticked_engine()
    engine.stats_board.add("writer", writer)
    try:
        _, families = scrape(engine)
    finally:
        db.dispose()
    stats = writer.stats()
    for metric in WRITER_METRICS:
        assert families[family_name(metric)].type == metric.kind.value, metric.name
    assert value(families["kadath_writer_flushes"], "kadath_writer_flushes_total") == 1
    assert value(families["kadath_writer_rows_written"], "kadath_writer_rows_written_total") == 2
    saved = families["kadath_writer_last_saved_tick"]
    assert value(saved, "kadath_writer_last_saved_tick") == stats.last_saved_tick == 4
    flush = families["kadath_writer_flush_duration_seconds"]
    assert value(flush, "kadath_writer_flush_duration_seconds_count") == 1


def test_the_loops_declared_metrics_are_counters_and_a_lateness_summary() -> None:
    engine = ticked_engine()
    engine.stats_board.add("loop", TickLoop(engine.tick, rate_hz=10))
    _, families = scrape(engine)
    for metric in LOOP_METRICS:
        assert families[family_name(metric)].type == metric.kind.value, metric.name
    assert value(families["kadath_loop_ticks"], "kadath_loop_ticks_total") == 0


def test_the_hubs_declarations_are_gauges_of_connections_and_players_and_output_figures() -> None:
    assert {m.name: m.kind for m in HUB_METRICS} == {
        "kadath_connections": MetricKind.GAUGE,
        "kadath_players_online": MetricKind.GAUGE,
        "kadath_players_linkdead": MetricKind.GAUGE,
        "kadath_messages_sent_total": MetricKind.COUNTER,
        "kadath_frames_sent_total": MetricKind.COUNTER,
        "kadath_bytes_sent_total": MetricKind.COUNTER,
        "kadath_lines_dropped_total": MetricKind.COUNTER,
        "kadath_lines_merged_total": MetricKind.COUNTER,
        "kadath_output_queued_bytes": MetricKind.GAUGE,
        "kadath_output_budget_bytes": MetricKind.GAUGE,
        "kadath_clients_cut_off_total": MetricKind.COUNTER,
    }


def test_metrics_are_served_as_prometheus_text_format_0_0_4() -> None:
    assert CONTENT_TYPE == "text/plain; version=0.0.4"


def test_the_network_shell_names_no_figure_and_never_imports_persist() -> None:
    """The writer's metrics are declared beside WriterStats; the shell only collects them."""
    for path in sorted((ROOT / "net").glob("*.py")):
        source = path.read_text(encoding="utf-8")
        assert "kadath_writer" not in source, path.name
        if path.relative_to(ROOT).as_posix() in ENTRY_POINTS:
            continue  # a process's wiring of the bus to the shared database (tests/test_layers)
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.ImportFrom) and node.module:
                assert node.module.split(".")[0] != "persist", path.name
            elif isinstance(node, ast.Import):
                assert all(a.name.split(".")[0] != "persist" for a in node.names), path.name


def test_the_operations_guide_lists_every_metric_the_server_serves_with_its_type() -> None:
    guide = (ROOT / "docs" / "operations.md").read_text(encoding="utf-8")
    row = r"^\| `(kadath_[a-z0-9_]+)` \| (counter|gauge|summary) \|"
    listed = dict(re.findall(row, guide, re.M))
    declared: list[Metric[Any]] = [
        *ENGINE_METRICS,
        *LOOP_METRICS,
        *WRITER_METRICS,
        *JOURNAL_METRICS,
        *HUB_METRICS,
        *SHARD_METRICS,
    ]
    served = {metric.name: metric.kind.value for metric in declared}
    assert listed == served
