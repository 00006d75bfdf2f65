"""Persistence benchmarks: the tick-thread snapshot, writer throughput, event-loop lateness while
the writer thread flushes, and restoring a 100,000-entity world at start-up.

The worlds come from ``bench.worldgen`` (rooms, players, NPCs and items with two to four persistent
components each), saved and restored through the real ``take_snapshot``, ``Writer`` and
``restore``. SQLite is a file in WAL mode with ``synchronous=FULL`` (as ``open_database`` sets it);
PostgreSQL comes from ``PG_TEST_URL`` (a fresh schema per test) and is skipped without a server.

Each benchmark is also a plain test: under ``--benchmark-disable`` (the default, as CI runs them)
the worlds are small, every timed function runs once, and only correctness is asserted (the
database holds exactly the world, row for row; a restored world has the same ``dump()``), never a
time or a ratio. The figures, targets and the command that reproduces them are in
docs/PERFORMANCE.md ("Persistence").

The shipped code is measured beside what it replaced, in the same run, where that shows what a
change bought: ``CoreWriter`` is the writer's former SQLAlchemy Core upsert path,
``UnsortedWriter`` the writer without its sort of rows by key, and SQLite settings other than
``open_database``'s are applied per case.
"""

from __future__ import annotations

import asyncio
import copy
import gc
import hashlib
import os
import random
import statistics
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from pytest_benchmark.fixture import BenchmarkFixture

from bench.conftest import Figure, Figures
from bench.worldgen import (
    CarriedBy,
    Exits,
    Item,
    Location,
    Name,
    Npc,
    Player,
    Room,
    Vitals,
    WorldLayout,
    frozen_heap,
    generate_world,
)
from engine.core import Engine, TickResult
from engine.loop import LoopStats, TickLoop
from engine.plugins import Plugin, PluginKit
from engine.scheduler import System, SystemContext
from engine.world import Changes, World
from persist.migrate import ensure_schema
from persist.restore import ROWS_PER_FETCH, RestoreReport, restore
from persist.schema import Schema
from persist.snapshot import Batch, take_snapshot
from persist.writer import Writer
from tests.persist.conftest import drop_test_schema, open_test_database

SEED = 1927
COMPONENT_TYPES: tuple[type, ...] = (
    Room,
    Exits,
    Name,
    Player,
    Npc,
    Item,
    Location,
    CarriedBy,
    Vitals,
)
#: The types play changes (rooms and exits are content and stay put); dirty sets mix them in the
#: proportions the world holds them.
DIRTY_TYPES: tuple[type, ...] = (Vitals, Location, CarriedBy, Item, Npc, Name)

#: World sizes and dirty-set sizes: benchmark mode / plain-test mode.
WORLD_ENTITIES = 100_000
SMALL_WORLD_ENTITIES = 2_000
SNAPSHOT_DIRTY = 10_000
SMALL_DIRTY = 500
FLUSH_INTERVAL_S = 1.0
SMALL_FLUSH_INTERVAL_S = 0.2  # plain-test mode: the thread still flushes during the short run
TICK_RATE_HZ = 10.0
#: Rows the lateness benchmark's tick changes per second (the writer flushes them once a second).
LATENESS_ROWS_PER_S = 10_000
LATENESS_RUN_SECONDS = 5.0
LATENESS_ROUNDS = 3  # runs per variant, taking turns: 15 s of each
SMALL_LATENESS_SECONDS = 0.3
PROBE_STEP_NS = 1_000_000  # the probe sleeps 1 ms at a time

_schema: Schema | None = None


def bench_schema() -> Schema:
    """The schema of the benchmark world's nine persistent component types (built once)."""
    global _schema
    if _schema is None:
        _schema = Schema(COMPONENT_TYPES)
    return _schema


# ------------------------------------------------------------------ helpers


def pedantic(
    benchmark: BenchmarkFixture,
    fn: Callable[..., Any],
    *,
    rounds: int,
    setup: Callable[[], tuple[tuple[Any, ...], dict[str, Any]]] | None = None,
) -> Any:
    """``benchmark.pedantic`` with types: ``rounds`` timed calls, each after its ``setup``."""
    run = benchmark.pedantic  # untyped in pytest-benchmark
    return run(fn, setup=setup, rounds=rounds)  # type: ignore[no-untyped-call]


def quantile_ms(sorted_ns: Sequence[int], q: float) -> float:
    """Nearest-rank quantile of sorted nanosecond samples, in milliseconds (NaN when empty)."""
    if not sorted_ns:
        return float("nan")
    index = min(len(sorted_ns) - 1, max(0, round(q * len(sorted_ns)) - 1))
    return sorted_ns[index] / 1e6


@dataclass(frozen=True, slots=True)
class GcEvent:
    """One cyclic-GC collection: its generation, when it started, how long, in which thread."""

    generation: int
    start_ns: int
    wall_ns: int
    cpu_ns: int
    thread: str


class GcWatch:
    """Every cyclic-GC collection while active: generation, wall and CPU time, thread.

    A collection whose wall time is far above its CPU time was descheduled by the OS (a busy
    machine), not slow: the two are reported apart.
    """

    def __init__(self) -> None:
        self.events: list[GcEvent] = []
        self._started: dict[int, tuple[int, int]] = {}

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        ident = threading.get_ident()
        now, cpu = time.perf_counter_ns(), time.thread_time_ns()
        if phase == "start":
            self._started[ident] = (now, cpu)
        else:
            start, start_cpu = self._started.pop(ident, (now, cpu))
            name = threading.current_thread().name
            self.events.append(
                GcEvent(int(info["generation"]), start, now - start, cpu - start_cpu, name)
            )

    def __enter__(self) -> GcWatch:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *_exc: object) -> None:
        gc.callbacks.remove(self._callback)

    def total_ns(self) -> int:
        return sum(e.wall_ns for e in self.events)


@contextmanager
def bench_database(dialect: str, tmp_path: Path) -> Iterator[sa.Engine]:
    """A fresh database holding the benchmark schema; PostgreSQL skips without a server."""
    db, _url, pg_schema = open_test_database(dialect, tmp_path)
    try:
        ensure_schema(db, bench_schema())
        yield db
    finally:
        db.dispose()
        if pg_schema is not None:
            drop_test_schema(pg_schema)


def build_world(entities: int) -> tuple[World, WorldLayout]:
    """A persistent benchmark world whose creation is pending (not yet saved)."""
    world = World(seed=SEED)
    layout = generate_world(world, entities=entities, seed=SEED, mark_clean=False)
    return world, layout


def save_world(writer: Writer, world: World) -> int:
    """Snapshot every pending change of ``world`` and flush it; the rows written."""
    writer.submit(take_snapshot(world.collect_changes(), bench_schema(), world))
    assert writer.flush_now()
    return writer.stats().last_flush_rows


@dataclass(slots=True)
class Toggles:
    """Persistent fields that play changes, each flipped between two values on demand.

    Every flip is a real change (the value differs from the one last collected), so a flip of
    ``n`` fields always yields ``n`` dirty components.
    """

    targets: list[tuple[Any, str, Any, Any]]  # (component, field, one value, the other)
    keys: list[tuple[int, type]]  # (stable id, component type) of each target

    def current(self, tick: int) -> Batch:
        """A batch holding the present values of every target (to re-sync a database)."""
        batch = Batch(tick)
        for (component, _name, _first, _second), (sid, ctype) in zip(
            self.targets, self.keys, strict=True
        ):
            table = bench_schema().by_type[ctype]
            batch.upserts.setdefault(table.name, {})[sid] = table.info.values(component)
        return batch

    def __len__(self) -> int:
        return len(self.targets)

    def flip(self, start: int = 0, stop: int | None = None) -> None:
        for component, name, first, second in self.targets[start:stop]:
            setattr(component, name, second if getattr(component, name) == first else first)


def dirty_set(world: World, layout: WorldLayout, count: int, seed: int = SEED) -> Toggles:
    """``count`` components of ``DIRTY_TYPES`` drawn at random (seeded) across the whole world."""
    rooms = [world.stable_id(room) or room for room in layout.rooms]
    holders = [world.stable_id(mobile) or mobile for mobile in layout.mobiles]
    room_at = {ref: index for index, ref in enumerate(rooms)}
    holder_at = {ref: index for index, ref in enumerate(holders)}
    candidates: list[tuple[int, type]] = []
    for ctype in DIRTY_TYPES:
        found: list[tuple[int, Any]] = world.query(ctype)
        candidates.extend((entity, ctype) for entity, _component in found)
    if count > len(candidates):
        raise ValueError(f"the world has only {len(candidates)} changeable components")
    rng = random.Random(seed)
    targets: list[tuple[Any, str, Any, Any]] = []
    keys: list[tuple[int, type]] = []
    for entity, ctype in rng.sample(candidates, count):
        component: Any = world.get(entity, ctype)
        sid = world.stable_id(entity)
        assert sid is not None
        keys.append((sid, ctype))
        if ctype is Vitals:
            targets.append((component, "hp", component.hp, component.hp + 1))
        elif ctype is Item:
            targets.append((component, "value", component.value, component.value + 1))
        elif ctype is Location:
            other = rooms[(room_at[component.room] + 1) % len(rooms)]
            targets.append((component, "room", component.room, other))
        elif ctype is CarriedBy:
            other = holders[(holder_at[component.holder] + 1) % len(holders)]
            targets.append((component, "holder", component.holder, other))
        elif ctype is Npc:
            targets.append(
                (component, "aggressive", component.aggressive, not component.aggressive)
            )
        else:
            targets.append((component, "text", component.text, component.text + "'"))
    return Toggles(targets, keys)


def assert_saved(db: sa.Engine, world: World) -> None:
    """The database holds exactly the world's persistent state, row for row."""
    schema = bench_schema()
    with db.connect() as conn:
        for ctype in COMPONENT_TYPES:
            table = schema.by_type[ctype]
            found: list[tuple[int, Any]] = world.query(ctype)
            expected = {}
            for entity, component in found:
                sid = world.stable_id(entity)
                assert sid is not None
                expected[sid] = table.encode(sid, table.info.values(component))
            stored = {
                row["sid"]: dict(row) for row in conn.execute(sa.select(table.table)).mappings()
            }
            assert stored == expected, table.name


# ------------------------------------------------------------------ experimental writers


class TimedWriter(Writer):
    """The stock writer, recording when each flush ran (to tell lateness inside flushes apart)."""

    def __init__(self, db: sa.Engine, schema: Schema, **kwargs: Any) -> None:
        super().__init__(db, schema, **kwargs)
        self.windows: list[tuple[int, int]] = []

    def flush_now(self) -> bool:
        started = time.perf_counter_ns()
        ok = super().flush_now()
        self.windows.append((started, time.perf_counter_ns()))
        return ok


class CoreWriter(TimedWriter):
    """The writer's former upsert path, for comparison: SQLAlchemy Core ``executemany`` of dicts.

    Same transaction, same statement semantics; SQLAlchemy builds and processes every row's
    parameters (``construct_params``, bind processors) before the driver sees them.
    """

    def _upsert(self, conn: sa.Connection, name: str, rows: dict[int, tuple[Any, ...]]) -> int:
        encode = self.schema.components[name].encode
        conn.execute(self._upserts[name], [encode(sid, v) for sid, v in rows.items()])
        return len(rows)


class UnsortedWriter(TimedWriter):
    """The stock writer with its rows in the order they changed (the writer sorts them by key)."""

    key_order = False


WRITERS: dict[str, type[TimedWriter]] = {
    "stock": TimedWriter,
    "core": CoreWriter,
    "unsorted": UnsortedWriter,
}


# ------------------------------------------------------------------ 1. the tick-thread snapshot


def test_snapshot_cost(benchmark: BenchmarkFixture, figures: Figures) -> None:
    """``take_snapshot`` over one tick's 10,000 changed components, in a world of 100,000 entities.

    Each round flips the dirty set, collects the changes (timed too: the engine's share of the
    hand-off) and snapshots them (the benchmark). The heap is frozen, as in the server.
    """
    entities = WORLD_ENTITIES if figures.enabled else SMALL_WORLD_ENTITIES
    dirty = SNAPSHOT_DIRTY if figures.enabled else SMALL_DIRTY
    world, layout = build_world(entities)
    world.mark_clean()
    toggles = dirty_set(world, layout, dirty)
    schema = bench_schema()
    collect_ns: list[int] = []
    snapshot_ns: list[int] = []
    batches: list[Batch] = []
    clock = time.perf_counter_ns

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        toggles.flip()
        started = clock()
        changes = world.collect_changes()
        collect_ns.append(clock() - started)
        return (changes,), {}

    def snapshot(changes: Changes) -> None:
        started = clock()
        batch = take_snapshot(changes, schema, world)
        snapshot_ns.append(clock() - started)
        batches.append(batch)
        del batches[:-1]

    rounds = 200 if figures.enabled else 1
    with frozen_heap():
        pedantic(benchmark, snapshot, setup=setup, rounds=rounds)
    batch = batches[-1]
    assert len(batch) == dirty
    assert sum(len(rows) for rows in batch.upserts.values()) == dirty
    assert set(batch.upserts) == {schema.by_type[t].name for t in DIRTY_TYPES}
    assert not batch.deletes and not batch.tombstones
    figures.record(
        entities=entities,
        dirty_components=dirty,
        tables_in_batch=len(batch.upserts),
        snapshot_ns_per_component=statistics.median(snapshot_ns) / dirty,
        collect_changes_ns_per_component=statistics.median(collect_ns) / dirty,
        hand_off_ns_per_component=(statistics.median(snapshot_ns) + statistics.median(collect_ns))
        / dirty,
        target_snapshot_ns_per_component_max=1_000,
    )


# ------------------------------------------------------------------ 2. writer throughput

#: SQLite settings other than ``open_database``'s, per case: ``PRAGMA name=value`` on connect.
#: "cache64m" is a 64 MiB page cache instead of SQLite's 2 MiB (no measurable gain: not shipped);
#: "ckpt10k" lets the WAL grow to 10,000 pages (40 MiB) before it is checkpointed (default 1,000).
SQLITE_SETTINGS: dict[str, dict[str, int]] = {
    "": {},
    "cache64m": {"cache_size": -64 * 1024},
    "ckpt10k": {"wal_autocheckpoint": 10_000},
}

WRITER_CASES = [
    pytest.param("sqlite", 10_000, id="sqlite-10k"),
    pytest.param("sqlite", 100_000, id="sqlite-100k"),
    pytest.param("postgresql", 10_000, id="postgresql-10k"),
    pytest.param("postgresql", 100_000, id="postgresql-100k"),
]

#: Paired writer variants: (name, a key of WRITERS, a key of SQLITE_SETTINGS), per dialect.
WRITER_VARIANTS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "sqlite": (
        ("stock", "stock", ""),
        ("unsorted", "unsorted", ""),
        ("core", "core", ""),
        ("cache64m", "stock", "cache64m"),
        ("ckpt10k", "stock", "ckpt10k"),
    ),
    "postgresql": (
        ("stock", "stock", ""),
        ("unsorted", "unsorted", ""),
        ("core", "core", ""),
    ),
}


def apply_sqlite_settings(db: sa.Engine, settings: dict[str, int]) -> None:
    """Run ``PRAGMA name=value`` on every new connection of ``db`` (after open_database's)."""

    def pragma(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        for name, value in settings.items():
            cursor.execute(f"PRAGMA {name}={value}")
        cursor.close()

    sa.event.listen(db, "connect", pragma)
    db.dispose()  # connections opened so far do not have it


@pytest.mark.parametrize(("dialect", "rows"), WRITER_CASES)
def test_writer_throughput(
    benchmark: BenchmarkFixture,
    figures: Figures,
    tmp_path: Path,
    dialect: str,
    rows: int,
) -> None:
    """``Writer.flush_now()`` of one batch of ``rows`` upserts over a saved 100,000-entity world.

    The rows update existing ones (the steady state of a server), drawn across six tables in the
    world's proportions. The first save of the whole world (inserts) is reported too.
    """
    entities = WORLD_ENTITIES if figures.enabled else SMALL_WORLD_ENTITIES
    rows = rows if figures.enabled else SMALL_DIRTY * (2 if rows > 10_000 else 1)
    schema = bench_schema()
    with bench_database(dialect, tmp_path) as db:
        world, layout = build_world(entities)
        writer = TimedWriter(db, schema)
        started = time.perf_counter()
        first_rows = save_world(writer, world)
        first_s = time.perf_counter() - started
        toggles = dirty_set(world, layout, rows)
        flush_ns: list[int] = []

        def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
            toggles.flip()
            writer.submit(take_snapshot(world.collect_changes(), schema, world))
            return (), {}

        def flush() -> None:
            started = time.perf_counter_ns()
            assert writer.flush_now()
            flush_ns.append(time.perf_counter_ns() - started)
            assert writer.stats().last_flush_rows == rows

        with frozen_heap():
            pedantic(benchmark, flush, setup=setup, rounds=(15 if rows <= 10_000 else 5))
        assert writer.stats().failures == 0 and not writer.quarantine
        assert_saved(db, world)
    median_s = statistics.median(flush_ns) / 1e9
    figures.record(
        dialect=dialect,
        rows_per_flush=rows,
        flush_median_ms=median_s * 1e3,
        rows_per_s=rows / median_s,
        first_save_rows=first_rows,
        first_save_rows_per_s=first_rows / first_s,
        target_rows_per_s_min=100_000 if dialect == "sqlite" else 30_000,
    )


@pytest.mark.parametrize("dialect", ["sqlite", "postgresql"])
def test_writer_variants_paired(
    benchmark: BenchmarkFixture, figures: Figures, tmp_path: Path, dialect: str
) -> None:
    """The shipped writer against what it replaced and against other settings, in turns.

    Each variant has its own database holding the same saved world; every round flips the same
    10,000 components and each variant flushes that batch, in rotating order, so the machine's
    load falls on all of them alike. Variants: the shipped writer (``stock``), without its sort
    by key (``unsorted``), the former SQLAlchemy Core upserts (``core``), and on SQLite a 64 MiB
    page cache and a deferred WAL checkpoint.
    """
    entities = WORLD_ENTITIES if figures.enabled else SMALL_WORLD_ENTITIES
    rows = 10_000 if figures.enabled else SMALL_DIRTY
    rounds = 20 if figures.enabled else 1
    schema = bench_schema()
    variants = WRITER_VARIANTS[dialect]
    world, layout = build_world(entities)
    batch = take_snapshot(world.collect_changes(), schema, world)
    toggles = dirty_set(world, layout, rows)
    with ExitStack() as stack:
        writers: dict[str, TimedWriter] = {}
        for name, kind, settings in variants:
            (tmp_path / name).mkdir()
            db = stack.enter_context(bench_database(dialect, tmp_path / name))
            if SQLITE_SETTINGS[settings]:
                apply_sqlite_settings(db, SQLITE_SETTINGS[settings])
            writers[name] = WRITERS[kind](db, schema)
            writers[name].submit(copy.deepcopy(batch))
            assert writers[name].flush_now()
        flush_ns: dict[str, list[int]] = defaultdict(list)
        names = list(writers)

        def run_rounds() -> None:
            for index in range(rounds + 2):  # the first two rounds warm up and are not counted
                toggles.flip()
                batch = take_snapshot(world.collect_changes(), schema, world)
                for name in names[index % len(names) :] + names[: index % len(names)]:
                    writers[name].submit(copy.deepcopy(batch))
                    started = time.perf_counter_ns()
                    assert writers[name].flush_now()
                    if index >= 2:
                        flush_ns[name].append(time.perf_counter_ns() - started)
                    assert writers[name].stats().last_flush_rows == rows

        with frozen_heap():
            pedantic(benchmark, run_rounds, rounds=1)
        for writer in writers.values():
            assert writer.stats().failures == 0 and not writer.quarantine
            assert_saved(writer.db, world)
    median_ms = {name: statistics.median(series) / 1e6 for name, series in flush_ns.items()}
    found: dict[str, Figure] = {"dialect": dialect, "rows_per_flush": rows, "rounds": rounds}
    for name, ms in median_ms.items():
        found[f"{name}_flush_median_ms"] = ms
        found[f"{name}_rows_per_s"] = rows / ms * 1e3
        found[f"ratio_{name}_to_stock"] = ms / median_ms["stock"]
    figures.record(**found)


# ------------------------------------------------------------------ 3. event-loop lateness


@dataclass(frozen=True, slots=True)
class Variant:
    """One configuration of the lateness benchmark, run in turn with the others on one world."""

    name: str
    writer: str  # a key of WRITERS, or "none": the thread is not started (batches wait)
    frozen: bool = True  # gc.freeze() after set-up, as ``kadath serve`` does
    #: sys.setswitchinterval: ``kadath serve`` sets 1 ms; 5 ms is CPython's default.
    switch_interval_s: float = 0.001


NO_WRITER = Variant("no_writer", "none")
STOCK_UNFROZEN = Variant("stock_unfrozen", "stock", frozen=False)
STOCK = Variant("stock", "stock")
STOCK_SWITCH_5MS = Variant("stock_switch5ms", "stock", switch_interval_s=0.005)
CORE = Variant("core", "core")

LATENESS_CASES = [
    pytest.param(10_000, "sqlite", (NO_WRITER, STOCK_UNFROZEN, STOCK), id="sqlite-10k"),
    pytest.param(
        WORLD_ENTITIES, "sqlite", (NO_WRITER, STOCK, STOCK_SWITCH_5MS, CORE), id="sqlite-100k"
    ),
    pytest.param(WORLD_ENTITIES, "postgresql", (NO_WRITER, STOCK, CORE), id="postgresql-100k"),
]


@dataclass(slots=True)
class Lateness:
    """Everything measured for one variant, pooled over its runs."""

    probe: list[int] = field(default_factory=list)  # lateness of each 1 ms sleep, ns
    in_flush: list[int] = field(default_factory=list)  # ... of those that overlapped a flush
    outside: list[int] = field(default_factory=list)
    max_per_second: list[int] = field(default_factory=list)
    tick_p99_ms: list[float] = field(default_factory=list)
    tick_max_ms: list[float] = field(default_factory=list)
    flush_ns: list[int] = field(default_factory=list)
    rows_per_flush: list[float] = field(default_factory=list)
    busy_ns: int = 0
    gc: list[GcEvent] = field(default_factory=list)
    seconds: float = 0.0

    def figures(self, prefix: str) -> dict[str, Figure]:
        probe, inside, outside = sorted(self.probe), sorted(self.in_flush), sorted(self.outside)
        loop_gc = [e for e in self.gc if e.thread == "MainThread"]
        writer_gc = [e for e in self.gc if e.thread != "MainThread"]
        result: dict[str, Figure] = {
            "probe_p50_ms": quantile_ms(probe, 0.50),
            "probe_p99_ms": quantile_ms(probe, 0.99),
            "probe_p999_ms": quantile_ms(probe, 0.999),
            "probe_max_ms": probe[-1] / 1e6,
            "probe_max_per_s_median_ms": statistics.median(self.max_per_second) / 1e6,
            "probe_p99_during_flush_ms": quantile_ms(inside, 0.99),
            "probe_p99_outside_flush_ms": quantile_ms(outside, 0.99),
            "probe_max_during_flush_ms": inside[-1] / 1e6 if inside else float("nan"),
            "probe_max_outside_flush_ms": outside[-1] / 1e6 if outside else float("nan"),
            "tick_lateness_p99_ms": statistics.median(self.tick_p99_ms),
            "tick_lateness_max_ms": max(self.tick_max_ms),
            "gc_loop_thread_ms_per_s": sum(e.wall_ns for e in loop_gc) / 1e6 / self.seconds,
            "gc_writer_thread_ms_per_s": sum(e.wall_ns for e in writer_gc) / 1e6 / self.seconds,
            "gc_max_pause_ms": max((e.wall_ns for e in self.gc), default=0) / 1e6,
            "gc_max_pause_cpu_ms": max((e.cpu_ns for e in self.gc), default=0) / 1e6,
            "gc_gen2_collections": sum(1 for e in self.gc if e.generation == 2),
        }
        if self.flush_ns:
            result.update(
                flush_p50_ms=statistics.median(self.flush_ns) / 1e6,
                flush_max_ms=max(self.flush_ns) / 1e6,
                rows_per_flush=statistics.median(self.rows_per_flush),
                writer_busy_share=self.busy_ns / (self.seconds * 1e9),
            )
        return {f"{prefix}_{key}": value for key, value in result.items()}


async def _probe_and_tick(
    tick: Callable[[], object], seconds: float
) -> tuple[list[tuple[int, int]], LoopStats]:
    """Run the tick loop at 10 Hz and, beside it, a task sleeping 1 ms at a time.

    Returns the probe's ``(sleep started, lateness)`` samples in ns, and the tick loop's stats.
    """
    loop = TickLoop(tick, TICK_RATE_HZ)
    ticking = asyncio.create_task(loop.run())
    clock = time.perf_counter_ns
    step_s = PROBE_STEP_NS / 1e9
    end = clock() + int(seconds * 1e9)
    samples: list[tuple[int, int]] = []
    record = samples.append
    while True:
        before = clock()
        if before >= end:
            break
        await asyncio.sleep(step_s)
        record((before, clock() - before - PROBE_STEP_NS))
    loop.stop()
    await ticking
    return samples, loop.stats()


class LatenessBench:
    """One world, one database, one engine; each variant runs its own writer in turn."""

    def __init__(self, db: sa.Engine, entities: int, rows_per_s: int, interval_s: float) -> None:
        self.db = db
        self.interval_s = interval_s
        self.world, layout = build_world(entities)
        save_world(Writer(db, bench_schema()), self.world)
        self.per_tick = int(rows_per_s / TICK_RATE_HZ)
        self.toggles = dirty_set(self.world, layout, rows_per_s)
        self.ticks = 0
        self.handed_off = 0
        self.writer: Writer | None = None
        engine = Engine(plugins=[Plugin("bench-persist", self._setup)], world=self.world)
        engine.on_tick_end(self._hand_off)
        self.engine = engine

    def _setup(self, kit: PluginKit) -> None:
        kit.system(System("bench_churn", self._churn))

    def _churn(self, _world: World, _ctx: SystemContext) -> None:
        """A light tick: a tenth of the dirty set changes, so a second changes all of it."""
        slices = len(self.toggles) // self.per_tick
        part = self.ticks % slices
        self.ticks += 1
        self.toggles.flip(part * self.per_tick, (part + 1) * self.per_tick)

    def _hand_off(self, result: TickResult) -> None:
        """The persistence service's hand-off: snapshot the tick, submit it (never blocks)."""
        batch = take_snapshot(result.changes, bench_schema(), self.world)
        self.handed_off += len(batch)
        if self.writer is not None:
            self.writer.submit(batch)

    def run(self, variant: Variant, seconds: float, into: Lateness) -> None:
        threaded = variant.writer != "none"
        writer = WRITERS["stock" if not threaded else variant.writer](
            self.db, bench_schema(), flush_interval_s=self.interval_s
        )
        # Without a writer thread the tick still snapshots, but drops the batch: queued batches
        # would pile up on the heap and make the collector's work unlike a server's.
        self.writer = writer if threaded else None
        ticks_before, handed_before = self.ticks, self.handed_off
        gc.collect()
        if variant.frozen:
            gc.freeze()
        saved_switch = sys.getswitchinterval()
        sys.setswitchinterval(variant.switch_interval_s)
        saved = True
        try:
            with GcWatch() as watch:
                if threaded:
                    writer.start()
                try:
                    samples, loop_stats = asyncio.run(_probe_and_tick(self.engine.tick, seconds))
                finally:
                    if threaded:
                        saved = writer.stop(30.0)
        finally:
            sys.setswitchinterval(saved_switch)
            gc.unfreeze()
        if not threaded:  # untimed: bring the database up to the world again
            writer.submit(self.toggles.current(self.world.clock.tick))
            assert writer.flush_now()
        assert saved
        stats = writer.stats()
        assert stats.failures == 0 and not writer.quarantine
        assert loop_stats.ticks == self.ticks - ticks_before >= 1
        assert self.handed_off - handed_before == loop_stats.ticks * self.per_tick
        # Pool the samples, telling those that overlapped a flush of the thread apart.
        windows = writer.windows if threaded else []
        started = samples[0][0]
        per_second: dict[int, int] = {}
        for start, late in samples:
            woke = start + PROBE_STEP_NS + late
            hit = any(a <= woke and b >= start for a, b in windows)
            (into.in_flush if hit else into.outside).append(late)
            into.probe.append(late)
            second = (start - started) // 1_000_000_000
            per_second[second] = max(per_second.get(second, 0), late)
        into.max_per_second.extend(per_second.values())
        into.tick_p99_ms.append(loop_stats.lateness.p99_ns / 1e6)
        into.tick_max_ms.append(loop_stats.lateness.max_ns / 1e6)
        if threaded:
            into.flush_ns.extend(b - a for a, b in windows)
            into.busy_ns += sum(b - a for a, b in windows)
            into.rows_per_flush.append(stats.rows_written / max(1, stats.flushes))
        into.gc.extend(watch.events)
        into.seconds += seconds


@pytest.mark.parametrize(("entities", "dialect", "variants"), LATENESS_CASES)
def test_event_loop_lateness_while_the_writer_flushes(
    benchmark: BenchmarkFixture,
    figures: Figures,
    tmp_path: Path,
    entities: int,
    dialect: str,
    variants: tuple[Variant, ...],
) -> None:
    """The asyncio loop's lateness while the writer thread saves 10,000 rows a second.

    The engine ticks at 10 Hz on the event loop (``TickLoop``, as the server runs it); each tick
    changes a tenth of a 10,000-component dirty set and hands its snapshot to the writer, whose
    thread flushes once a second (about 10,000 rows each time). A probe task sleeping 1 ms at a
    time measures how late the loop wakes it. The variants (no writer thread, the stock writer as
    ``kadath serve`` runs it, without ``gc.freeze()``, with CPython's default 5 ms GIL switch
    interval, the former SQLAlchemy Core upserts) take turns, several short runs each, so that
    the machine's background load falls on all of them.
    """
    entities = entities if figures.enabled else SMALL_WORLD_ENTITIES
    rows_per_s = LATENESS_ROWS_PER_S if figures.enabled else SMALL_DIRTY
    interval = FLUSH_INTERVAL_S if figures.enabled else SMALL_FLUSH_INTERVAL_S
    seconds = LATENESS_RUN_SECONDS if figures.enabled else SMALL_LATENESS_SECONDS
    rounds = LATENESS_ROUNDS if figures.enabled else 1
    load_before = os.getloadavg()[0]
    with bench_database(dialect, tmp_path) as db:
        bench = LatenessBench(db, entities, rows_per_s, interval)
        gc.collect()
        started = time.perf_counter_ns()
        gc.collect()
        full_gc_unfrozen_ms = (time.perf_counter_ns() - started) / 1e6
        gc.freeze()
        started = time.perf_counter_ns()
        gc.collect()
        full_gc_frozen_ms = (time.perf_counter_ns() - started) / 1e6
        gc.unfreeze()
        measured = {variant.name: Lateness() for variant in variants}

        def run_all() -> None:
            for _ in range(rounds):
                for variant in variants:
                    bench.run(variant, seconds, measured[variant.name])

        pedantic(benchmark, run_all, rounds=1)
        assert_saved(db, bench.world)
    results: dict[str, Figure] = {
        "dialect": dialect,
        "entities": entities,
        "runs_per_variant": rounds,
        "seconds_per_run": seconds,
        "load_average_before": load_before,
        "load_average_after": os.getloadavg()[0],
        "full_gc_ms_unfrozen_heap": full_gc_unfrozen_ms,
        "full_gc_ms_frozen_heap": full_gc_frozen_ms,
        "target_p99_ms_max": 10.0,
        "target_max_ms_max": 20.0,
    }
    for name, lateness in measured.items():
        results.update(lateness.figures(name))
    figures.record(**results)


# ------------------------------------------------------------------ 4. restore at start-up


def world_digest(world: World) -> str:
    """A fingerprint of ``World.dump()`` that does not depend on entity ids or creation order."""
    lines = sorted(repr(row) for row in world.dump())
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


class TimedWorld(World):
    """A world that times its ``mark_clean`` (restore's last step)."""

    mark_clean_ns = 0

    def mark_clean(self) -> None:
        started = time.perf_counter_ns()
        super().mark_clean()
        self.mark_clean_ns = time.perf_counter_ns() - started


def fetch_only(db: sa.Engine, schema: Schema, *, decode: bool) -> int:
    """Stream every component row as restore does, optionally decoding it; nothing is kept."""
    rows = 0
    with db.connect() as conn:
        for table in schema.components.values():
            result = conn.execution_options(yield_per=ROWS_PER_FETCH).execute(
                sa.select(table.table)
            )
            decoder = table.decode
            for row in result.mappings():
                if decode:
                    decoder(row)
                rows += 1
    return rows


def restore_breakdown(
    db: sa.Engine, schema: Schema, components: int, digest: str, *, rounds: int
) -> dict[str, list[int]]:
    """Where restore's time goes: ns per item and round.

    Each round runs, in rotating order: the stock restore (with its GC time and its
    ``mark_clean``), fetching the rows alone, and fetching and decoding them.
    """
    found: dict[str, list[int]] = defaultdict(list)
    clock = time.perf_counter_ns

    def stock() -> None:
        world = TimedWorld(seed=SEED)
        with GcWatch() as watch:
            started = clock()
            restore(world, schema, db)
            found["stock"].append(clock() - started)
        found["stock_gc"].append(watch.total_ns())
        found["mark_clean"].append(world.mark_clean_ns)
        assert len(world) and world_digest(world) == digest

    def fetch() -> None:
        started = clock()
        assert fetch_only(db, schema, decode=False) == components
        found["fetch"].append(clock() - started)

    def fetch_decode() -> None:
        started = clock()
        assert fetch_only(db, schema, decode=True) == components
        found["fetch_decode"].append(clock() - started)

    items = [stock, fetch, fetch_decode]
    for index in range(rounds):
        for offset in range(len(items)):
            gc.collect()  # the last item's world is gone: each starts from the same heap
            items[(index + offset) % len(items)]()
    return found


def test_restore(benchmark: BenchmarkFixture, figures: Figures, tmp_path: Path) -> None:
    """Restore a saved world of 100,000 persistent entities (250,000 rows) from SQLite.

    The world is saved through snapshot and writer, fingerprinted and dropped; each round restores
    it into a fresh, empty world (the benchmark world has no content files: every entity is
    dynamic state, the costly path). In benchmark mode ``restore_breakdown`` then says where the
    time goes (fetching, decoding, the world, ``mark_clean``, the GC).
    """
    entities = WORLD_ENTITIES if figures.enabled else SMALL_WORLD_ENTITIES
    schema = bench_schema()
    with bench_database("sqlite", tmp_path) as db:
        world, _layout = build_world(entities)
        saved_rows = save_world(Writer(db, schema), world)
        components = sum(world.count(t) for t in COMPONENT_TYPES)
        assert saved_rows == components
        digest = world_digest(world)
        del world, _layout
        gc.collect()

        restored: list[TimedWorld] = []
        reports: list[RestoreReport] = []
        gc_ns: list[int] = []
        totals: list[int] = []

        def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
            restored.clear()  # drop the last round's world before building the next
            gc.collect()
            fresh = TimedWorld(seed=SEED)
            restored.append(fresh)
            return (fresh,), {}

        def restore_into(fresh: TimedWorld) -> None:
            with GcWatch() as watch:
                started = time.perf_counter_ns()
                reports.append(restore(fresh, schema, db))
                totals.append(time.perf_counter_ns() - started)
            gc_ns.append(watch.total_ns())

        pedantic(benchmark, restore_into, setup=setup, rounds=3 if figures.enabled else 1)
        report = reports[-1]
        assert report.entities == entities and report.components == components
        assert len(restored[-1]) == entities
        assert world_digest(restored[-1]) == digest
        assert len(restored[-1].collect_changes()) == 0
        median_round = sorted(range(len(totals)), key=totals.__getitem__)[len(totals) // 2]
        total_s = totals[median_round] / 1e9
        if figures.enabled:
            restored.clear()
            breakdown = restore_breakdown(db, schema, components, digest, rounds=3)
            med = {name: statistics.median(series) / 1e9 for name, series in breakdown.items()}
            figures.record(
                entities=entities,
                rows=components,
                restore_s=total_s,
                restore_s_rounds=", ".join(f"{t / 1e9:.2f}" for t in totals),
                gc_during_restore_s=gc_ns[median_round] / 1e9,
                paired_stock_s=med["stock"],
                paired_stock_gc_s=med["stock_gc"],
                fetch_rows_s=med["fetch"],
                decode_rows_s=med["fetch_decode"] - med["fetch"],
                world_spawn_add_s=med["stock"] - med["fetch_decode"] - med["mark_clean"],
                mark_clean_s=med["mark_clean"],
                target_s_max=5.0,
            )
