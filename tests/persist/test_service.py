"""The persistence service: the first start creates the schema and restores nothing, every later
start restores exactly what the previous run saved (the clock and the RNG included), and the
writer's figures are part of the engine's statistics.

Each "run" is what ``kadath serve`` does around the tick loop: build the world, start the service,
tick, then shut down with one last tick (the world's final changes are snapshotted) and
``service.stop`` (the final flush).
"""

from __future__ import annotations

import dataclasses
import time

import pytest
import sqlalchemy as sa

from components.body import Posture, PostureState, Vitals
from components.content import Directory
from components.items import Item
from components.place import Door
from engine.config import Config, PersistConfig
from engine.core import Engine
from engine.plugins import SetupError
from persist.schema import Schema, VersionRow, engine_tables
from persist.service import PersistenceService
from systems.characters import create_character
from systems.whereabouts import contents, move
from tests.systems.world_fixture import make_engine

#: Generous bound for the writer thread to save; never an assertion on speed.
WAIT_S = 60.0
FLUSH_INTERVAL_S = 0.05


def _start(url: str) -> tuple[Engine, PersistenceService]:
    engine = make_engine(Config(persist=PersistConfig(url, flush_interval_s=FLUSH_INTERVAL_S)))
    service = PersistenceService(engine.config)
    service.start(engine)
    return engine, service


def _shut_down(engine: Engine, service: PersistenceService) -> None:
    engine.tick()
    service.stop(engine)


def _play(engine: Engine, name: str) -> None:
    world = engine.world
    directory = world.resource(Directory)
    engine.run_ticks(7)
    someone = create_character(world, name, room="hall")
    held = sorted(e for e in contents(world, directory.rooms["hall"]) if world.has(e, Item))
    if held:
        move(world, held[0], someone)
    world.get(someone, Vitals).dp -= 3
    world.add(someone, dataclasses.replace(world.get(someone, Posture), state=PostureState.LYING))
    door = world.get(directory.doors["oak_door"], Door)
    door.locked = not door.locked
    for _ in range(5):
        world.rng.random()
    engine.run_ticks(4)


def test_the_first_start_creates_the_schema_and_restores_nothing(
    database: tuple[sa.Engine, str],
) -> None:
    db, url = database
    content_only = make_engine().world.dump()
    engine, service = _start(url)
    try:
        schema = Schema(engine.registry.component_types)
        assert set(sa.inspect(db).get_table_names()) == {*engine_tables(), *schema.components}
        versions = VersionRow.__table__  # type: ignore[attr-defined]
        with db.connect() as conn:
            recorded: dict[str, int] = {
                row.component: row.version for row in conn.execute(sa.select(versions))
            }
        assert recorded == {name: t.info.version for name, t in schema.components.items()}
        assert engine.world.dump() == content_only
        assert engine.world.clock.tick == 0
    finally:
        service.stop(engine)


def test_every_start_restores_what_the_run_before_it_saved(
    database: tuple[sa.Engine, str],
) -> None:
    _, url = database
    previous: Engine | None = None
    for run, name in enumerate(("Armitage", "Carter", "Pickman")):
        engine, service = _start(url)
        try:
            if previous is not None:
                assert engine.world.dump() == previous.world.dump()
                assert engine.world.clock.tick == previous.world.clock.tick
                assert engine.world.rng.getstate() == previous.world.rng.getstate()
                assert engine.world.ids.next_sequence == previous.world.ids.next_sequence
            _play(engine, name)
        finally:
            _shut_down(engine, service)
        assert service.writer is not None
        assert service.writer.stats().last_saved_tick == engine.world.clock.tick == 12 * (run + 1)
        previous = engine


def test_changes_made_after_the_last_tick_are_saved_by_the_final_flush(
    database: tuple[sa.Engine, str],
) -> None:
    _, url = database
    engine, service = _start(url)
    engine.run_ticks(3)
    # As the network service does at shutdown, after the last tick: characters leave the world.
    lavinia = create_character(engine.world, "Lavinia")
    engine.world.get(lavinia, Vitals).dp = 1
    service.stop(engine)
    again, again_service = _start(url)
    try:
        assert again.world.dump() == engine.world.dump()
    finally:
        again_service.stop(again)


def test_a_start_on_a_database_written_by_a_newer_version_is_refused(
    database: tuple[sa.Engine, str],
) -> None:
    db, url = database
    engine, service = _start(url)
    _shut_down(engine, service)
    versions = VersionRow.__table__  # type: ignore[attr-defined]
    with db.begin() as conn:
        conn.execute(versions.update().where(versions.c.component == "vitals").values(version=9))
    engine = make_engine(Config(persist=PersistConfig(url)))
    with pytest.raises(SetupError, match=r"cannot be brought up to date.*vitals.*version 9"):
        PersistenceService(engine.config).start(engine)


WRITER_FIGURES = (
    "state",
    "queued_batches",
    "pending_rows",
    "last_saved_tick",
    "lag_ticks",
    "flushes",
    "rows_written",
    "last_flush_rows",
    "flush_p50_ms",
    "flush_p99_ms",
    "failures",
    "consecutive_failures",
    "last_error",
    "quarantined",
)


def test_the_writers_figures_are_part_of_the_engine_stats(
    database: tuple[sa.Engine, str],
) -> None:
    _, url = database
    engine, service = _start(url)
    try:
        _play(engine, "Armitage")
        tick = engine.world.clock.tick
        deadline = time.monotonic() + WAIT_S
        while (figures := engine.stats_board.services()["writer"])["last_saved_tick"] != tick:
            assert time.monotonic() < deadline, f"nothing saved within {WAIT_S} s: {figures}"
            time.sleep(FLUSH_INTERVAL_S)
        assert set(WRITER_FIGURES) <= set(figures)
        assert figures["lag_ticks"] == 0 and figures["failures"] == 0
        assert figures["queued_batches"] == 0 and figures["pending_rows"] == 0
        rows, flushes = figures["last_flush_rows"], figures["flushes"]
        assert isinstance(rows, int) and isinstance(flushes, int) and rows > 0 and flushes > 0
        p50, p99 = figures["flush_p50_ms"], figures["flush_p99_ms"]
        assert isinstance(p50, float) and isinstance(p99, float) and 0 < p50 <= p99

        (line,) = [ln for ln in engine.format_stats().splitlines() if ln.startswith("writer: ")]
        for name in WRITER_FIGURES:
            assert f"{name} " in line
        assert f"last_saved_tick {tick}," in line and "lag_ticks 0," in line
    finally:
        service.stop(engine)
    assert engine.stats_board.services()["writer"]["state"] == "stopped"
