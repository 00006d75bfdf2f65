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

Candidate changes are measured beside the stock code in the same run, as experimental classes of
this file, not shipped code: ``DriverWriter``, ``GcPausedWriter`` and ``ChunkedWriter`` (for
``persist/writer.py``), ``take_snapshot_inlined`` (``persist/snapshot.py``), ``FastCleanWorld``
(``World.mark_clean``), a larger SQLite page cache (``persist/database.py``) and a shorter GIL
switch interval (``engine/cli.py``).
"""

from __future__ import annotations

import asyncio
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
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
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
    paused_gc,
)
from engine.core import Engine, TickResult
from engine.ids import CONTENT_NODE, SEQUENCE_BITS
from engine.loop import LoopStats, TickLoop
from engine.plugins import Plugin, PluginKit
from engine.scheduler import System, SystemContext
from engine.world import Changes, World
from persist.migrate import ensure_schema
from persist.restore import ROWS_PER_FETCH, RestoreReport, restore
from persist.schema import Schema
from persist.snapshot import ENTITY_TOMBSTONE, Batch, take_snapshot
from persist.writer import Writer, _json_ready
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


class _UpsertsOnlyWriter(TimedWriter):
    """Base of the experiments: they change how upserts are written, nothing else.

    Benchmark batches hold only upserts and metadata; the careful (row-by-row) path and batches
    with deletions or tombstones go to the stock code.
    """

    def _write(self, batch: Batch, *, careful: bool) -> int:
        if careful or batch.deletes or batch.tombstones:
            return super()._write(batch, careful=careful)
        written = 0
        with self.db.begin() as conn:
            for name, rows in batch.upserts.items():
                if rows:
                    written += self._upsert(conn, name, rows)
            meta = [{"key": k, "value": _json_ready(v)} for k, v in batch.meta.items()]
            meta.append({"key": "saved_tick", "value": batch.tick})
            conn.execute(self._meta_upsert, meta)
        return written

    def _upsert(self, conn: sa.Connection, name: str, rows: dict[int, tuple[Any, ...]]) -> int:
        raise NotImplementedError


class ChunkedWriter(_UpsertsOnlyWriter):
    """Candidate fix: encode and execute ``chunk`` rows at a time, yielding between chunks."""

    chunk = 1_000
    pause_s = 0.0  # time.sleep(0): give the GIL up between chunks

    def _upsert(self, conn: sa.Connection, name: str, rows: dict[int, tuple[Any, ...]]) -> int:
        encode = self.schema.components[name].encode
        items = list(rows.items())
        for start in range(0, len(items), self.chunk):
            conn.execute(
                self._upserts[name],
                [encode(sid, v) for sid, v in items[start : start + self.chunk]],
            )
            time.sleep(self.pause_s)
        return len(items)


class DriverWriter(_UpsertsOnlyWriter):
    """Candidate fix: upserts run by the DBAPI cursor, skipping SQLAlchemy's per-row processing.

    SQLite: the same upsert statement, compiled once, through ``cursor.executemany`` over
    positional tuples. PostgreSQL: one statement per table for the whole batch,
    ``INSERT ... SELECT * FROM unnest(%s::BIGINT[], ...) ON CONFLICT (sid) DO UPDATE ...``, with
    one array per column (one round trip, instead of one statement per row). JSON columns are
    serialised with orjson (PostgreSQL casts the text to JSON).
    """

    def __init__(self, db: sa.Engine, schema: Schema, **kwargs: Any) -> None:
        super().__init__(db, schema, **kwargs)
        self._unnest = db.dialect.name == "postgresql"
        quote = db.dialect.identifier_preparer.quote
        types = db.dialect.type_compiler_instance
        self._driver_sql: dict[str, tuple[str, tuple[int, ...]]] = {}
        for name, table in schema.components.items():
            columns = list(table.table.columns)
            json_at = tuple(i for i, c in enumerate(columns) if isinstance(c.type, sa.JSON))
            if self._unnest:
                names = ", ".join(quote(c.name) for c in columns)
                arrays = ", ".join(f"%s::{types.process(c.type)}[]" for c in columns)
                updates = ", ".join(
                    f"{quote(c.name)} = excluded.{quote(c.name)}" for c in columns[1:]
                )
                sql = (
                    f"INSERT INTO {quote(table.table.name)} ({names}) "
                    f"SELECT * FROM unnest({arrays}) ON CONFLICT (sid) DO UPDATE SET {updates}"
                )
            else:
                compiled = self._upserts[name].compile(dialect=db.dialect)
                assert list(compiled.positiontup or ()) == [c.name for c in columns]
                sql = str(compiled)
            self._driver_sql[name] = (sql, json_at)

    def _upsert(self, conn: sa.Connection, name: str, rows: dict[int, tuple[Any, ...]]) -> int:
        encode = self.schema.components[name].encode
        sql, json_at = self._driver_sql[name]
        params: list[tuple[Any, ...]]
        if not json_at:
            params = [tuple(encode(sid, v).values()) for sid, v in rows.items()]
        else:
            params = []
            for sid, values in rows.items():
                row = list(encode(sid, values).values())
                for i in json_at:
                    row[i] = orjson.dumps(row[i]).decode()
                params.append(tuple(row))
        cursor: Any = conn.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            if self._unnest:
                cursor.execute(sql, [list(column) for column in zip(*params, strict=True)])
            else:
                cursor.executemany(sql, params)
        finally:
            cursor.close()
        return len(params)


class GcPausedMixin(TimedWriter):
    """Candidate fix: no cyclic-GC collection while a flush runs.

    A flush allocates tens of thousands of short-lived containers (row dicts, parameter lists)
    and no cycles, so the collections it triggers find nothing, yet each one holds the GIL for
    its whole length and so stalls the event loop. Pausing the collector for the flush (it is
    process-wide) moves that work to after the flush, when the rows are already freed.
    """

    def flush_now(self) -> bool:
        was_enabled = gc.isenabled()
        gc.disable()
        try:
            return super().flush_now()
        finally:
            if was_enabled:
                gc.enable()


class GcPausedWriter(GcPausedMixin, TimedWriter):
    """The stock writer with the collector paused during flushes."""


class GcPausedDriverWriter(GcPausedMixin, DriverWriter):
    """``DriverWriter`` with the collector paused during flushes."""


WRITERS: dict[str, type[TimedWriter]] = {
    "stock": TimedWriter,
    "chunked": ChunkedWriter,
    "driver": DriverWriter,
    "stock_nogc": GcPausedWriter,
    "driver_nogc": GcPausedDriverWriter,
}


# ------------------------------------------------------------------ 1. the tick-thread snapshot


def take_snapshot_inlined(changes: Changes, schema: Schema, world: World) -> Batch:
    """Candidate change to ``take_snapshot``: the same batch, with less work per component.

    The table name comes from a plain ``type -> name`` dict (cached on the schema in a real
    change) and the content-id test is a range check inlined in the loop, not a function call.
    """
    batch = Batch(changes.tick)
    names = {ctype: table.name for ctype, table in schema.by_type.items()}
    upserts = batch.upserts
    tombstones = batch.tombstones
    low = CONTENT_NODE << SEQUENCE_BITS
    high = (CONTENT_NODE + 1) << SEQUENCE_BITS
    for (sid, ctype), values in changes.values.items():
        name = names[ctype]
        rows = upserts.get(name)
        if rows is None:
            rows = upserts[name] = {}
        rows[sid] = values
        if low <= sid < high:
            tombstones[(sid, name)] = False
    for sid, ctype in changes.deleted:
        name = names[ctype]
        batch.deletes.setdefault(name, set()).add(sid)
        if low <= sid < high:
            tombstones[(sid, name)] = True
    for sid in changes.destroyed:
        if low <= sid < high:
            tombstones[(sid, ENTITY_TOMBSTONE)] = True
    batch.meta = {
        "tick": changes.tick,
        f"next_sequence:{world.ids.node}": world.ids.next_sequence,
        "rng": world.rng.getstate(),
    }
    return batch


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
        # The candidate against the stock snapshot, on the same changes, in alternating order.
        paired: dict[str, list[int]] = {"stock": [], "inlined": []}
        for index in range(rounds):
            changes = setup()[0][0]
            order = [("stock", take_snapshot), ("inlined", take_snapshot_inlined)]
            batch_of: dict[str, Batch] = {}
            for name, fn in order if index % 2 else reversed(order):
                started = clock()
                batch_of[name] = fn(changes, schema, world)
                paired[name].append(clock() - started)
            stock, inlined = batch_of["stock"], batch_of["inlined"]
            assert inlined.upserts == stock.upserts and inlined.tombstones == stock.tombstones
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
        paired_stock_snapshot_ns_per_component=statistics.median(paired["stock"]) / dirty,
        paired_inlined_snapshot_ns_per_component=statistics.median(paired["inlined"]) / dirty,
        ratio_inlined_to_stock=statistics.median(paired["inlined"])
        / statistics.median(paired["stock"]),
        target_snapshot_ns_per_component_max=1_000,
    )


# ------------------------------------------------------------------ 2. writer throughput

#: SQLite page cache of the candidate setting (``PRAGMA cache_size``); SQLite's default is 2 MiB.
CACHE_MIB = 64

WRITER_CASES = [
    pytest.param("sqlite", 10_000, "stock", 0, id="sqlite-10k"),
    pytest.param("sqlite", 100_000, "stock", 0, id="sqlite-100k"),
    pytest.param("postgresql", 10_000, "stock", 0, id="postgresql-10k"),
    pytest.param("postgresql", 100_000, "stock", 0, id="postgresql-100k"),
    pytest.param("sqlite", 10_000, "driver", 0, id="sqlite-10k-driver"),
    pytest.param("sqlite", 100_000, "driver", 0, id="sqlite-100k-driver"),
    pytest.param("sqlite", 10_000, "stock", CACHE_MIB, id="sqlite-10k-cache64m"),
    pytest.param("sqlite", 10_000, "driver", CACHE_MIB, id="sqlite-10k-driver-cache64m"),
    pytest.param("sqlite", 100_000, "driver", CACHE_MIB, id="sqlite-100k-driver-cache64m"),
    pytest.param("postgresql", 10_000, "driver", 0, id="postgresql-10k-driver"),
    pytest.param("postgresql", 100_000, "driver", 0, id="postgresql-100k-driver"),
]


def set_sqlite_cache(db: sa.Engine, mib: int) -> None:
    """Give every new SQLite connection of ``db`` a page cache of ``mib`` MiB (candidate fix)."""

    def pragma(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA cache_size=-{mib * 1024}")
        cursor.close()

    sa.event.listen(db, "connect", pragma)
    db.dispose()  # connections opened so far do not have it


@pytest.mark.parametrize(("dialect", "rows", "writer_kind", "cache_mib"), WRITER_CASES)
def test_writer_throughput(
    benchmark: BenchmarkFixture,
    figures: Figures,
    tmp_path: Path,
    dialect: str,
    rows: int,
    writer_kind: str,
    cache_mib: int,
) -> None:
    """``Writer.flush_now()`` of one batch of ``rows`` upserts over a saved 100,000-entity world.

    The rows update existing ones (the steady state of a server), drawn across six tables in the
    world's proportions. The first save of the whole world (inserts) is reported too. ``driver`` is
    the experimental ``DriverWriter``; ``cache_mib`` a larger SQLite page cache (both candidates).
    """
    entities = WORLD_ENTITIES if figures.enabled else SMALL_WORLD_ENTITIES
    rows = rows if figures.enabled else SMALL_DIRTY * (2 if rows > 10_000 else 1)
    schema = bench_schema()
    with bench_database(dialect, tmp_path) as db:
        if cache_mib:
            set_sqlite_cache(db, cache_mib)
        world, layout = build_world(entities)
        writer = WRITERS[writer_kind](db, schema)
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
        writer=writer_kind,
        sqlite_cache_mib=cache_mib or "default (2)",
        rows_per_flush=rows,
        flush_median_ms=median_s * 1e3,
        rows_per_s=rows / median_s,
        first_save_rows=first_rows,
        first_save_rows_per_s=first_rows / first_s,
        target_rows_per_s_min=100_000 if dialect == "sqlite" else 30_000,
    )


# ------------------------------------------------------------------ 3. event-loop lateness


@dataclass(frozen=True, slots=True)
class Variant:
    """One configuration of the lateness benchmark, run in turn with the others on one world."""

    name: str
    writer: str  # a key of WRITERS, or "none": the thread is not started (batches wait)
    frozen: bool = True  # gc.freeze() after set-up, as ``kadath serve`` does
    switch_interval_s: float = 0.005  # sys.setswitchinterval; 5 ms is CPython's default


NO_WRITER = Variant("no_writer", "none")
STOCK_UNFROZEN = Variant("stock_unfrozen", "stock", frozen=False)
STOCK = Variant("stock", "stock")
STOCK_SWITCH_1MS = Variant("stock_switch1ms", "stock", switch_interval_s=0.001)
CHUNKED = Variant("chunked", "chunked")
DRIVER = Variant("driver", "driver")
DRIVER_SWITCH_1MS = Variant("driver_switch1ms", "driver", switch_interval_s=0.001)
STOCK_NOGC = Variant("stock_nogc", "stock_nogc")
DRIVER_NOGC = Variant("driver_nogc", "driver_nogc")
DRIVER_NOGC_SWITCH_1MS = Variant("driver_nogc_switch1ms", "driver_nogc", switch_interval_s=0.001)

LATENESS_CASES = [
    pytest.param(10_000, "sqlite", (NO_WRITER, STOCK_UNFROZEN, STOCK), id="sqlite-10k"),
    pytest.param(
        WORLD_ENTITIES,
        "sqlite",
        (
            NO_WRITER,
            STOCK_UNFROZEN,
            STOCK,
            STOCK_SWITCH_1MS,
            CHUNKED,
            STOCK_NOGC,
            DRIVER,
            DRIVER_SWITCH_1MS,
            DRIVER_NOGC,
            DRIVER_NOGC_SWITCH_1MS,
        ),
        id="sqlite-100k",
    ),
    pytest.param(
        WORLD_ENTITIES,
        "postgresql",
        (NO_WRITER, STOCK, STOCK_SWITCH_1MS, STOCK_NOGC, DRIVER, DRIVER_NOGC),
        id="postgresql-100k",
    ),
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
    time measures how late the loop wakes it. The variants (no writer thread, the stock writer with
    and without ``gc.freeze()``, a shorter GIL switch interval, the experimental writers) take
    turns, several short runs each, so that the machine's background load falls on all of them.
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


class FastCleanWorld(TimedWorld):
    """Candidate change to ``World.mark_clean``: forget pending changes without computing them.

    ``collect_changes`` builds the added/changed/values maps of every key touched since the last
    collection (after a restore: every component) only for ``mark_clean`` to throw them away. A
    component attached by ``add`` already holds its clean values and an armed hook; only those
    written since (on ``_written``) need their clean values taken again.
    """

    def mark_clean(self) -> None:
        started = time.perf_counter_ns()
        written = self._written
        component: Any
        for component in written:
            if component._k_key is not None:
                clean = type(component).__kadath__.values(component)
                object.__setattr__(component, "_k_clean", clean)
                object.__setattr__(component, "_k_track", written)
        written.clear()
        self._structural.clear()
        self._touched_entities.clear()
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
    """Where restore's time goes, and what the candidate fixes save: ns per item and round.

    Each round runs, in rotating order: the stock restore (with its GC time), fetching the rows
    alone, fetching and decoding them, a restore with the collector paused (and its
    ``mark_clean``), and a restore with the collector paused into a ``FastCleanWorld``.
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
        assert len(world) and world_digest(world) == digest

    def fetch() -> None:
        started = clock()
        assert fetch_only(db, schema, decode=False) == components
        found["fetch"].append(clock() - started)

    def fetch_decode() -> None:
        started = clock()
        assert fetch_only(db, schema, decode=True) == components
        found["fetch_decode"].append(clock() - started)

    def gc_paused() -> None:
        world = TimedWorld(seed=SEED)
        with paused_gc():
            started = clock()
            restore(world, schema, db)
            found["gc_paused"].append(clock() - started)
        found["mark_clean"].append(world.mark_clean_ns)
        assert world_digest(world) == digest

    def both() -> None:
        world = FastCleanWorld(seed=SEED)
        with paused_gc():
            started = clock()
            restore(world, schema, db)
            found["both"].append(clock() - started)
        found["fast_mark_clean"].append(world.mark_clean_ns)
        assert world_digest(world) == digest
        assert len(world.collect_changes()) == 0
        vitals = world.query(Vitals)[0][1]  # tracking still works: one write, one change
        vitals.hp += 1
        assert len(world.collect_changes().changed) == 1

    items = [stock, fetch, fetch_decode, gc_paused, both]
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
    time goes (fetching, decoding, the world, ``mark_clean``, the GC) and measures two candidate
    fixes: the collector paused during restore, and a ``mark_clean`` that computes nothing.
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
                world_spawn_add_s=med["gc_paused"] - med["fetch_decode"] - med["mark_clean"],
                mark_clean_s=med["mark_clean"],
                restore_gc_paused_s=med["gc_paused"],
                ratio_gc_paused_to_stock=med["gc_paused"] / med["stock"],
                restore_gc_paused_fast_mark_clean_s=med["both"],
                fast_mark_clean_s=med["fast_mark_clean"],
                ratio_both_fixes_to_stock=med["both"] / med["stock"],
                target_s_max=5.0,
            )
