"""The snapshot and the writer: batches coalesce (the newest state wins), one transaction per flush
records its tick, failures keep everything pending and recover, bad rows are quarantined."""

from __future__ import annotations

import dataclasses
import enum
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from components.body import Posture, PostureState, Vitals
from components.place import Door
from engine.component import Component, persistent
from engine.world import World
from persist.ownership import claim, ensure_ownership_tables, moved_since, transfer
from persist.restore import read_meta
from persist.schema import Schema, TombstoneRow, metadata, table_for
from persist.snapshot import ENTITY_TOMBSTONE, Batch, take_snapshot
from persist.writer import HANDOFF_CLOCK_KEY, Writer
from systems.characters import create_character
from tests.systems.world_fixture import make_engine


@persistent("test_writer_note")
@dataclass(slots=True)
class Note(Component):
    text: str
    tags: frozenset[str] = frozenset()


def schema_for(*types: type) -> Schema:
    return Schema([Vitals, Posture, Door, Note, *types])


def create_tables(db: sa.Engine, schema: Schema) -> None:
    metadata.create_all(db, tables=schema.tables)


def rows(db: sa.Engine, component: type) -> dict[int, dict[str, object]]:
    table = table_for(component).table
    with db.connect() as conn:
        return {r["sid"]: dict(r) for r in conn.execute(sa.select(table)).mappings()}


def test_a_snapshot_groups_changed_values_by_table_and_notes_deletions() -> None:
    world = World()
    schema = schema_for()
    a = world.spawn(Vitals(5, 10), Note("hi"), persistent=True)
    b = world.spawn(Vitals(7, 10), persistent=True)
    sid_a, sid_b = world.stable_id(a), world.stable_id(b)
    world.clock.advance()
    batch = take_snapshot(world.collect_changes(), schema, world)
    assert batch.tick == 1
    assert batch.upserts == {
        "vitals": {sid_a: (5, 10), sid_b: (7, 10)},
        "test_writer_note": {sid_a: ("hi", frozenset())},
    }
    world.remove(a, Note)
    world.get(b, Vitals).dp = 1
    batch = take_snapshot(world.collect_changes(), schema, world)
    assert batch.upserts == {"vitals": {sid_b: (1, 10)}}
    assert batch.deletes == {"test_writer_note": {sid_a}}
    assert batch.meta["next_sequence:1"] == 2


def test_merging_batches_keeps_the_newest_state_of_each_row() -> None:
    older = Batch(1, upserts={"vitals": {1: (5, 10), 2: (6, 10)}}, deletes={"vitals": {3}})
    newer = Batch(2, upserts={"vitals": {1: (4, 10), 3: (9, 10)}}, deletes={"vitals": {2}})
    older.merge(newer)
    assert older.tick == 2
    assert older.upserts == {"vitals": {1: (4, 10), 3: (9, 10)}}
    assert older.deletes == {"vitals": {2}}


def test_a_shards_flush_saves_only_its_own_rows_and_the_hand_off_clock_before_it(
    db: sa.Engine,
) -> None:
    schema = schema_for()
    create_tables(db, schema)
    ensure_ownership_tables(db)
    claim(db, [1, 2], "a")
    transfer(db, [2], "a", "b", "h1")  # the clock reads 1
    writer = Writer(db, schema, shard="a")
    writer.submit(Batch(7, upserts={"vitals": {1: (5, 10), 2: (6, 10)}}))
    assert writer.flush_now()
    assert set(rows(db, Vitals)) == {1}  # 2 is b's to save
    transfer(db, [1], "a", "b", "h2")  # after the flush: the clock reads 2, 1 is stamped 2
    with db.connect() as conn:
        saved = read_meta(conn, "a")
    assert (saved["saved_tick"], saved[HANDOFF_CLOCK_KEY]) == (7, 1)
    assert moved_since(db, [1, 2], saved[HANDOFF_CLOCK_KEY]) == {1}


def test_one_flush_writes_every_pending_batch_in_one_transaction_and_records_its_tick(
    db: sa.Engine,
) -> None:
    schema = schema_for()
    create_tables(db, schema)
    writer = Writer(db, schema)
    writer.submit(
        Batch(
            1,
            upserts={"vitals": {1: (5, 10)}, "test_writer_note": {1: ("x", frozenset({"b", "a"}))}},
        )
    )
    writer.submit(Batch(2, upserts={"vitals": {1: (3, 10), 2: (8, 10)}}))
    assert writer.flush_now()
    assert rows(db, Vitals) == {
        1: {"sid": 1, "dp": 3, "max_dp": 10},
        2: {"sid": 2, "dp": 8, "max_dp": 10},
    }
    assert rows(db, Note)[1]["tags"] == ["a", "b"]
    with db.connect() as conn:
        assert read_meta(conn)["saved_tick"] == 2
    stats = writer.stats()
    assert (stats.flushes, stats.last_flush_rows, stats.last_saved_tick, stats.lag_ticks) == (
        1,
        3,
        2,
        0,
    )
    writer.submit(Batch(3, deletes={"vitals": {2}}))
    assert writer.flush_now()
    assert set(rows(db, Vitals)) == {1}


def test_tombstones_are_written_for_content_deletions_and_dropped_when_restored(
    db: sa.Engine,
) -> None:
    schema = schema_for()
    create_tables(db, schema)
    writer = Writer(db, schema)
    writer.submit(Batch(1, tombstones={(7, "door"): True, (8, ENTITY_TOMBSTONE): True}))
    writer.submit(Batch(2, tombstones={(7, "door"): False}))
    assert writer.flush_now()
    table = TombstoneRow.__table__  # type: ignore[attr-defined]
    with db.connect() as conn:
        assert conn.execute(sa.select(table.c.sid, table.c.component)).all() == [(8, "*")]


def test_an_unreachable_database_keeps_the_newest_state_pending_and_recovers(
    tmp_path: Path, db: sa.Engine
) -> None:
    schema = schema_for()
    create_tables(db, schema)
    # A database of the same kind that cannot be reached (the writer keeps to one dialect): on
    # SQLite a file in a folder that does not exist, so this case needs no psycopg driver.
    unreachable = (
        f"sqlite:///{tmp_path}/no such folder/world.db"
        if db.dialect.name == "sqlite"
        else "postgresql+psycopg://nobody@127.0.0.1:9/none"
    )
    dead = sa.create_engine(unreachable, pool_pre_ping=True)
    writer = Writer(dead, schema)
    for tick in range(1, 6):
        writer.submit(Batch(tick, upserts={"vitals": {1: (tick, 10)}}))
        assert not writer.flush_now()
    stats = writer.stats()
    assert stats.state == "failing" and stats.consecutive_failures == 5
    assert stats.pending_rows == 1  # five ticks of changes to one row: one row pending, not five
    assert stats.lag_ticks == 5 and "OperationalError" in stats.last_error
    writer.db = db  # the database comes back
    writer.submit(Batch(6, upserts={"vitals": {2: (1, 10)}}))
    assert writer.flush_now()
    assert rows(db, Vitals) == {
        1: {"sid": 1, "dp": 5, "max_dp": 10},
        2: {"sid": 2, "dp": 1, "max_dp": 10},
    }
    assert writer.stats().state == "idle" and writer.stats().consecutive_failures == 0
    dead.dispose()


@persistent("test_writer_short")
@dataclass(slots=True)
class Short(Component):
    """A table with a constraint the game can violate: the code must cope with a bad row."""

    code: str


def test_a_row_that_can_never_be_written_is_quarantined_and_the_rest_goes_through(
    db: sa.Engine,
) -> None:
    schema = schema_for(Short)
    create_tables(db, schema)
    table = table_for(Short).table
    with db.begin() as conn:  # an operator's constraint, as a real deployment might add
        conn.execute(sa.text(f"CREATE UNIQUE INDEX short_code ON {table.name} (code)"))
    writer = Writer(db, schema)
    writer.submit(
        Batch(
            1,
            upserts={"test_writer_short": {1: ("a",), 2: ("a",), 3: ("b",)}, "vitals": {9: (1, 2)}},
        )
    )
    assert writer.flush_now()
    assert set(rows(db, Short)) == {1, 3}
    assert set(rows(db, Vitals)) == {9}
    (bad,) = writer.quarantine
    assert (bad.table, bad.sid) == ("test_writer_short", 2)
    assert writer.stats().quarantined == 1


class Mood(enum.Enum):
    CALM = "calm"
    UNEASY = "uneasy"


class Rank(enum.IntEnum):
    NOVICE = 1
    ADEPT = 2


@persistent("test_writer_every_type")
@dataclass(slots=True)
class EveryType(Component):
    """One field of each storable kind: the driver-level upsert must write each of them right."""

    count: int
    weight: float
    lit: bool
    label: str
    mood: Mood
    rank: Rank
    owner: int | None
    title: str | None
    path: tuple[int, ...]
    marks: frozenset[str]
    pair: tuple[str, float]
    mood_maybe: Mood | None = None


@persistent("test_writer_tag")
@dataclass(slots=True)
class Tag(Component):
    """No fields: presence is the value (a table with only the key column)."""


EVERY_TYPE_VALUES = [
    EveryType(
        1,
        0.5,
        True,
        "candle",
        Mood.CALM,
        Rank.NOVICE,
        7,
        "Dr",
        (1, 2),
        frozenset({"a"}),
        ("x", 1.5),
    ),
    EveryType(
        -(2**62),
        -1e300,
        False,
        "",
        Mood.UNEASY,
        Rank.ADEPT,
        None,
        None,
        (),
        frozenset(),
        ("", 0.0),
        Mood.UNEASY,
    ),
    EveryType(
        3,
        2.25,
        False,
        "snow ☃ 'quoted' \"",
        Mood.CALM,
        Rank.ADEPT,
        None,
        None,
        (9,),
        frozenset({"b", "c"}),
        ("y", -2.0),
    ),
]


def test_every_storable_field_type_is_written_and_read_back_unchanged(db: sa.Engine) -> None:
    schema = schema_for(EveryType, Tag)
    create_tables(db, schema)
    every, tag = table_for(EveryType), table_for(Tag)
    writer = Writer(db, schema)
    writer.submit(
        Batch(
            1,
            upserts={
                every.name: {sid: every.info.values(c) for sid, c in enumerate(EVERY_TYPE_VALUES)},
                tag.name: {5: (), 6: ()},
            },
        )
    )
    assert writer.flush_now()
    # Written again: the same keys now take the update branch of the upsert.
    changed = dataclasses.replace(EVERY_TYPE_VALUES[0], owner=None, path=(3, 4, 5))
    writer.submit(
        Batch(2, upserts={every.name: {0: every.info.values(changed)}, tag.name: {5: ()}})
    )
    assert writer.flush_now()
    assert {sid: every.decode(row) for sid, row in rows(db, EveryType).items()} == {
        0: changed,
        1: EVERY_TYPE_VALUES[1],
        2: EVERY_TYPE_VALUES[2],
    }
    assert set(rows(db, Tag)) == {5, 6}
    assert not writer.quarantine


def test_a_float_json_cannot_hold_is_quarantined_and_the_rest_goes_through(db: sa.Engine) -> None:
    schema = schema_for(EveryType)
    create_tables(db, schema)
    every = table_for(EveryType)
    bad = dataclasses.replace(EVERY_TYPE_VALUES[0], pair=("x", float("nan")))
    writer = Writer(db, schema)
    writer.submit(
        Batch(
            1,
            upserts={
                every.name: {1: every.info.values(bad), 2: every.info.values(EVERY_TYPE_VALUES[2])},
                "vitals": {9: (1, 2)},
            },
        )
    )
    assert writer.flush_now()
    assert set(rows(db, EveryType)) == {2}
    assert set(rows(db, Vitals)) == {9}
    (quarantined,) = writer.quarantine
    assert (quarantined.table, quarantined.sid) == (every.name, 1)
    assert "nan" in quarantined.error
    assert quarantined.values == every.info.values(bad)


def test_an_int_beyond_64_bits_is_quarantined_and_the_rest_goes_through(db: sa.Engine) -> None:
    # SQLite's driver raises OverflowError, PostgreSQL refuses the value: either way one bad row.
    schema = schema_for()
    create_tables(db, schema)
    writer = Writer(db, schema)
    writer.submit(Batch(1, upserts={"vitals": {1: (2**70, 5), 2: (3, 4)}}))
    assert writer.flush_now()
    assert rows(db, Vitals) == {2: {"sid": 2, "dp": 3, "max_dp": 4}}
    (bad,) = writer.quarantine
    assert (bad.table, bad.sid, bad.values) == ("vitals", 1, (2**70, 5))


def test_an_unexpected_error_keeps_the_state_pending_and_the_writer_alive(
    db: sa.Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    schema = schema_for()
    create_tables(db, schema)
    writer = Writer(db, schema)
    writer.submit(Batch(1, upserts={"vitals": {1: (5, 10)}}))

    def broken(*_args: object, **_kwargs: object) -> int:
        raise RuntimeError("a bug in the writer")

    with monkeypatch.context() as patch:
        patch.setattr(writer, "_write", broken)
        assert not writer.flush_now()
    stats = writer.stats()
    assert stats.state == "failing" and stats.pending_rows == 1
    assert "RuntimeError: a bug in the writer" in stats.last_error
    assert writer.flush_now()  # fixed: the pending state is written
    assert rows(db, Vitals) == {1: {"sid": 1, "dp": 5, "max_dp": 10}}


def test_the_thread_saves_everything_submitted_before_stop(db: sa.Engine) -> None:
    schema = schema_for()
    create_tables(db, schema)
    writer = Writer(db, schema, flush_interval_s=3600)  # only the final flush can save it
    writer.start()
    for tick in range(1, 101):
        writer.submit(Batch(tick, upserts={"vitals": {tick: (tick, 100)}}))
    assert writer.stop(timeout_s=30)
    assert len(rows(db, Vitals)) == 100
    assert writer.stats().last_saved_tick == 100


def test_engine_ticks_hand_snapshots_to_the_writer_without_touching_the_database(
    db: sa.Engine,
) -> None:
    engine = make_engine()
    schema = Schema(engine.registry.component_types)
    create_tables(db, schema)
    writer = Writer(db, schema)
    world = engine.world
    engine.on_tick_end(lambda result: writer.submit(take_snapshot(result.changes, schema, world)))
    player = create_character(world, "Armitage")
    engine.tick()
    world.get(player, Vitals).dp = 3
    world.get(player, Vitals).max_dp = 20
    world.add(player, dataclasses.replace(world.get(player, Posture), state=PostureState.SITTING))
    engine.tick()
    assert rows(db, Vitals) == {}  # nothing is written until the writer flushes
    assert writer.flush_now()
    sid = world.stable_id(player)
    assert sid is not None
    assert rows(db, Vitals)[sid] == {"sid": sid, "dp": 3, "max_dp": 20}
    assert rows(db, Posture)[sid]["state"] == "sitting"
