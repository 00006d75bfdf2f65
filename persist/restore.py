"""Restore: put the saved dynamic state back over a world freshly built from its content files.

Runs once at start-up, before the first tick. Rows are streamed table by table; an entity named by
a stable id that the content already built (a room's door, a chest) gets the saved components over
its content ones, any other becomes a new entity with that id. Tombstones remove what play took
away from the content. The clock, the RNG and the id sequence continue where they stopped.
"""

from __future__ import annotations

import gc
import logging
import time
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from engine.world import World
from persist.schema import MetaRow, Schema, TombstoneRow, meta_prefix
from persist.snapshot import ENTITY_TOMBSTONE

__all__ = ["ROWS_PER_FETCH", "RestoreReport", "read_meta", "restore"]

log = logging.getLogger("kadath.persist.restore")

#: Rows fetched from the database at a time while restoring: bounds memory, not speed.
ROWS_PER_FETCH = 10_000


@dataclass(frozen=True, slots=True)
class RestoreReport:
    entities: int
    components: int
    tombstones: int
    tick: int
    seconds: float


def read_meta(conn: sa.Connection, shard: str | None = None) -> dict[str, Any]:
    """The meta rows, or a shard's own (``persist.schema.meta_prefix``) with the prefix off."""
    table = MetaRow.__table__  # type: ignore[attr-defined]
    prefix = meta_prefix(shard)
    rows = conn.execute(sa.select(table.c.key, table.c.value))
    return {row.key[len(prefix) :]: row.value for row in rows if row.key.startswith(prefix)}


def _rng_state(saved: Any) -> tuple[Any, ...]:
    # JSON turned random.getstate()'s nested tuples into lists; setstate wants them back.
    version, internal, gauss = saved
    return (version, tuple(internal), gauss)


def restore(
    world: World, schema: Schema, db: sa.Engine, *, shard: str | None = None
) -> RestoreReport:
    """Load every saved row into ``world``; afterwards the world has no pending changes.

    ``shard``: the world is one shard of a sharded world, and takes that shard's own tick, RNG
    state and id sequence (every shard loads every row; its border rule then lets go of what
    lies in other shards' zones).

    The cyclic collector is paused meanwhile: restore only creates objects that live on (measured
    here, collections were 2.3 s of an 8 s restore of 100k entities), and the server collects and
    freezes the heap right after start-up anyway.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return _restore(world, schema, db, shard)
    finally:
        if was_enabled:
            gc.enable()


def _restore(world: World, schema: Schema, db: sa.Engine, shard: str | None) -> RestoreReport:
    started = time.perf_counter()
    before = len(world)
    components = 0
    tombstones = 0
    with db.connect() as conn:
        meta = read_meta(conn, shard)
        for table in schema.components.values():
            # In stable-id order, whatever the database: entities are then created in the same
            # order from any copy of the same state, which a replay's determinism relies on.
            result = conn.execution_options(yield_per=ROWS_PER_FETCH).execute(
                sa.select(table.table).order_by(table.table.c.sid)
            )
            decode = table.decode
            for row in result.mappings():
                sid = row["sid"]
                entity = world.entity_of(sid)
                if entity is None:
                    entity = world.spawn(stable_id=sid)
                world.add(entity, decode(row))
                components += 1
        tomb = TombstoneRow.__table__  # type: ignore[attr-defined]
        by_name = schema.components
        tombs = sa.select(tomb.c.sid, tomb.c.component).order_by(tomb.c.sid, tomb.c.component)
        for sid, name in conn.execute(tombs):
            entity = world.entity_of(sid)
            if entity is None:
                continue
            tombstones += 1
            if name == ENTITY_TOMBSTONE:
                world.destroy(entity)
            elif name in by_name:
                world.discard(entity, by_name[name].component)
    saved_tick = int(meta.get("saved_tick", 0))
    if saved_tick > world.clock.tick:
        world.clock.tick = saved_tick
    next_sequence = meta.get(f"next_sequence:{world.ids.node}")
    if next_sequence is not None and int(next_sequence) > world.ids.next_sequence:
        world.ids.next_sequence = int(next_sequence)
    if "rng" in meta:
        world.rng.setstate(_rng_state(meta["rng"]))
    world.mark_clean()
    report = RestoreReport(
        entities=len(world) - before,
        components=components,
        tombstones=tombstones,
        tick=world.clock.tick,
        seconds=time.perf_counter() - started,
    )
    log.info(
        "restored %d components (%d new entities, %d tombstones) up to tick %d in %.2f s",
        report.components,
        report.entities,
        report.tombstones,
        report.tick,
        report.seconds,
    )
    return report
