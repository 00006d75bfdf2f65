"""Restore: content first, then the saved state over it gives back exactly the world that was saved.

Every test plays on one engine, saves through the real snapshot and writer, then builds a second
engine from the same content, restores it from the database and compares canonical dumps.
"""

from __future__ import annotations

import dataclasses
import tempfile
from pathlib import Path

import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from components.body import Posture, PostureState, Vitals
from components.content import Directory
from components.items import Container, Item, LockState
from components.place import Door, Location
from engine.core import Engine
from persist.database import open_database
from persist.restore import restore
from persist.schema import Schema, metadata
from persist.snapshot import take_snapshot
from persist.writer import Writer
from systems.characters import create_character
from systems.whereabouts import contents, move
from tests.systems.world_fixture import make_engine


class Saver:
    """The service's wiring without the service: snapshot every tick, flush on demand."""

    def __init__(self, engine: Engine, db: sa.Engine) -> None:
        self.schema = Schema(engine.registry.component_types)
        metadata.create_all(db, tables=self.schema.tables)
        self.writer = Writer(db, self.schema)
        world = engine.world
        engine.on_tick_end(
            lambda r: self.writer.submit(take_snapshot(r.changes, self.schema, world))
        )

    def flush(self) -> None:
        assert self.writer.flush_now()


def restored(db: sa.Engine) -> Engine:
    engine = make_engine()
    restore(engine.world, Schema(engine.registry.component_types), db)
    return engine


def test_a_fresh_database_restores_the_content_world_unchanged(db: sa.Engine) -> None:
    engine = make_engine()
    Saver(engine, db).flush()
    assert restored(db).world.dump() == engine.world.dump()


def test_every_kind_of_persistent_state_survives_a_restart(db: sa.Engine) -> None:
    engine = make_engine()
    saver = Saver(engine, db)
    world = engine.world
    directory = world.resource(Directory)
    engine.run_ticks(10)  # the orderly spawns: an NPC with Identity, Npc, Posture, Vitals
    armitage = create_character(world, "Armitage")
    carter = create_character(world, "Carter", room="hall")
    knife = next(e for e in contents(world, directory.rooms["hall"]) if world.has(e, Item))
    move(world, knife, carter, "main_hand")
    chest = next(e for e in contents(world, directory.rooms["ward"]) if world.has(e, Container))
    world.get(chest, Container).lock = LockState.UNLOCKED
    world.get(chest, Container).closed = False
    coins = next(iter(contents(world, chest)))
    world.get(coins, Item).quantity = 2
    move(world, coins, armitage)
    world.get(directory.doors["oak_door"], Door).locked = False
    world.get(armitage, Vitals).dp = 4
    world.add(carter, dataclasses.replace(world.get(carter, Posture), state=PostureState.LYING))
    for _ in range(3):
        world.rng.random()  # the RNG moves on; a restored world must draw what this one draws next
    engine.run_ticks(3)
    saver.flush()
    again = restored(db)
    assert again.world.dump() == world.dump()
    assert again.world.clock.tick == world.clock.tick
    assert again.world.rng.random() == world.rng.random()


def test_content_taken_away_in_play_stays_away_after_a_restart(db: sa.Engine) -> None:
    engine = make_engine()
    saver = Saver(engine, db)
    world = engine.world
    hall = world.resource(Directory).rooms["hall"]
    brass_key = next(e for e in contents(world, hall) if world.get(e, Item).template == "brass_key")
    knife = next(e for e in contents(world, hall) if world.get(e, Item).template == "rusty_knife")
    world.destroy(brass_key)  # eaten by a shoggoth
    world.remove(knife, Location)  # in limbo: the component is gone, the entity stays
    engine.tick()
    saver.flush()
    again = restored(db).world
    assert again.dump() == world.dump()
    assert again.entity_of(world.stable_id(brass_key) or 0) is None


def test_new_ids_after_a_restore_never_repeat_saved_ones(db: sa.Engine) -> None:
    engine = make_engine()
    saver = Saver(engine, db)
    first = create_character(engine.world, "Armitage")
    engine.tick()
    saver.flush()
    again = restored(db).world
    second = create_character(again, "Carter")
    assert again.stable_id(second) != engine.world.stable_id(first)


# ------------------------------------------------------------------------------ property test

ACTIONS = st.lists(
    st.one_of(
        st.tuples(st.just("create"), st.sampled_from(["ward", "hall", "gate", "street"])),
        st.tuples(st.just("wound"), st.integers(0, 9), st.integers(-5, 5)),
        st.tuples(st.just("posture"), st.integers(0, 9), st.sampled_from(list(PostureState))),
        st.tuples(st.just("take"), st.integers(0, 9), st.integers(0, 30)),
        st.tuples(st.just("drop"), st.integers(0, 9), st.integers(0, 30)),
        st.tuples(st.just("destroy_item"), st.integers(0, 30)),
        st.tuples(st.just("door"), st.booleans(), st.booleans()),
        st.tuples(st.just("tick"), st.integers(1, 20)),
        st.tuples(
            st.just("flush"),
        ),
    ),
    max_size=40,
)


@settings(max_examples=40, deadline=None)
@given(ACTIONS)
def test_random_play_then_shutdown_and_restore_gives_the_same_world(
    actions: list[tuple[object, ...]],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        db = open_database(f"sqlite:///{Path(folder) / 'w.db'}")
        try:
            engine = make_engine()
            saver = Saver(engine, db)
            world = engine.world
            directory = world.resource(Directory)
            people: list[int] = []
            for action in actions:
                kind, args = str(action[0]), [a for a in action[1:] if isinstance(a, int)]
                items = sorted(e for e, _ in world.query(Item))
                if kind == "create":
                    people.append(create_character(world, f"P{len(people)}", room=str(action[1])))
                elif kind == "wound" and people:
                    world.get(people[args[0] % len(people)], Vitals).dp += args[1]
                elif kind == "posture" and people:
                    who = people[args[0] % len(people)]
                    world.add(who, Posture(PostureState(str(action[2]))))
                elif kind == "take" and people and items:
                    move(world, items[args[1] % len(items)], people[args[0] % len(people)])
                elif kind == "drop" and items:
                    move(world, items[args[1] % len(items)], directory.rooms["street"])
                elif kind == "destroy_item" and items:
                    world.destroy(items[args[0] % len(items)])
                elif kind == "door":
                    door = world.get(directory.doors["oak_door"], Door)
                    door.closed, door.locked = bool(action[1]), bool(action[2])
                elif kind == "tick":
                    engine.run_ticks(args[0])
                elif kind == "flush":
                    saver.flush()
            engine.tick()  # the shutdown: the last changes are snapshotted...
            saver.flush()  # ...and flushed
            assert restored(db).world.dump() == world.dump()
        finally:
            db.dispose()
