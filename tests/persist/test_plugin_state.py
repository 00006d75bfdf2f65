"""A plugin's saved state finds its entity again after a restart, whatever changed meanwhile:
another zone in the world, another plugin installed (spawning entities of its own first). Its
world state and what it keeps on zones have stable ids from the plugin's name and keys and from
zone keys, never from the order anything was built in."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from engine.component import Component, persistent
from engine.plugins import Plugin, PluginKit, Registry
from engine.state import world_state
from engine.testing import Stage, world_from_toml
from engine.world import World
from persist.restore import restore
from persist.schema import Schema, metadata
from tests.persist.test_restore import Saver


@persistent("omens_almanac", version=1)
@dataclass(slots=True)
class Almanac(Component):
    """The omens plugin's world-wide record."""

    portents: int = 0
    last: str = ""


@persistent("omens_mood", version=1)
@dataclass(slots=True)
class Mood(Component):
    """What the omens plugin keeps on each zone."""

    mood: str = "calm"


def omens_setup(kit: PluginKit) -> None:
    kit.world_state(Almanac)
    kit.component(Mood)


@persistent("aardvark_burrow", version=1)
@dataclass(slots=True)
class Burrow(Component):
    depth: int = 1


def aardvark_setup(kit: PluginKit) -> None:
    """A plugin that loads before omens and spawns persistent entities of its own at start-up
    (taking the next sequence ids), and keeps world state too."""
    kit.component(Burrow)
    kit.world_state(Burrow, key="deepest")
    shrine = kit.stable_id("shrine")

    def build(world: World, registry: Registry) -> None:
        world.spawn(Burrow(3), stable_id=shrine)

    kit.world_builder(build)


OMENS = Plugin("omens", omens_setup, requires=("core",))
AARDVARK = Plugin("aardvark", aardvark_setup, requires=("core",))


def zone(key: str) -> str:
    """A zone of one room (out of reach of the others: a warning, not an error)."""
    return f"""\
[zone]
id = "{key}"
name = "The {key.title()}"

[[rooms]]
id = "{key}.middle"
name = "The Middle of the {key.title()}"
description = "Nothing much."
"""


def restored(db: sa.Engine, stage: Stage) -> Stage:
    """``stage`` with the saved state restored over it, as the server starts (a plugin installed
    since the save gets its tables first)."""
    schema = Schema(stage.engine.registry.component_types)
    metadata.create_all(db, tables=schema.tables)
    restore(stage.world, schema, db)
    return stage


def test_adding_a_zone_and_a_plugin_moves_none_of_a_plugins_saved_state(db: sa.Engine) -> None:
    first = world_from_toml(zones=[zone("moor")], plugins=[OMENS])
    saver = Saver(first.engine, db)
    world_state(first.world, Almanac).portents = 5
    world_state(first.world, Almanac).last = "a two-headed calf"
    first.world.add(first.zone("moor"), Mood("brooding"))
    first.player("Walker", room="moor.middle")  # a player, saved with sequence ids of its own
    first.tick()
    saver.flush()

    # Another start: a new zone read first, and a plugin that loads first and builds first.
    second = restored(
        db, world_from_toml(zones=[zone("barrow"), zone("moor")], plugins=[AARDVARK, OMENS])
    )
    world = second.world
    assert world_state(world, Almanac) == Almanac(5, "a two-headed calf")
    assert world.get(second.zone("moor"), Mood) == Mood("brooding")
    assert not world.has(second.zone("barrow"), Mood)
    assert world_state(world, Burrow, key="deepest") == Burrow()  # the newcomer's own, fresh


def test_state_saved_by_two_plugins_comes_back_to_each_whatever_their_order(
    db: sa.Engine,
) -> None:
    first = world_from_toml(zones=[zone("moor")], plugins=[AARDVARK, OMENS])
    saver = Saver(first.engine, db)
    world_state(first.world, Almanac).portents = 2
    world_state(first.world, Burrow, key="deepest").depth = 9
    first.tick()
    saver.flush()

    second = restored(db, world_from_toml(zones=[zone("moor")], plugins=[OMENS, AARDVARK]))
    assert world_state(second.world, Almanac).portents == 2
    assert world_state(second.world, Burrow, key="deepest").depth == 9


def test_a_plugins_world_state_is_saved_only_once_changed_or_first_used(db: sa.Engine) -> None:
    stage = world_from_toml(zones=[zone("moor")], plugins=[OMENS])
    saver = Saver(stage.engine, db)
    assert stage.tick().changes.added == {}
    world_state(stage.world, Almanac)
    assert [type(c) for c in stage.tick().changes.added.values()] == [Almanac]
    saver.flush()
    again = restored(db, world_from_toml(zones=[zone("moor")], plugins=[OMENS]))
    assert world_state(again.world, Almanac) == Almanac()
