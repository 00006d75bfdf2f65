"""World state: a plugin's persistent singletons, found by type (and key), on entities whose stable
ids come from the plugin's name and the key, never from the order anything was built in."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from engine.component import Component, persistent
from engine.config import Config
from engine.core import Engine
from engine.ids import CONTENT_NODE, plugin_stable_id, split_stable_id
from engine.plugins import Plugin, PluginError, PluginKit
from engine.state import UnknownState, world_state


@persistent("almanac_record", version=1)
@dataclass(slots=True)
class Record(Component):
    storms: int = 0
    last: str = ""


@persistent("almanac_tally", version=1)
@dataclass(slots=True)
class Tally(Component):
    count: int = 0


@dataclass(slots=True)
class Transient(Component):
    value: int = 0


def engine_with(setup: object, name: str = "almanac") -> Engine:
    assert callable(setup)
    return Engine(Config(), plugins=[Plugin(name, setup)])


def one_record(kit: PluginKit) -> None:
    kit.world_state(Record)


def test_world_state_is_made_from_its_default_on_first_use_and_is_the_same_afterwards() -> None:
    world = engine_with(one_record).world
    record = world_state(world, Record)
    assert record == Record()
    record.storms = 3
    assert world_state(world, Record) is record
    assert world_state(world, Record).storms == 3


def test_world_state_lives_on_an_entity_named_by_the_plugin_and_the_types_stable_name() -> None:
    world = engine_with(one_record).world
    world_state(world, Record)
    entity = world.entity_of(plugin_stable_id("almanac", "almanac_record"))
    assert entity is not None
    assert world.get(entity, Record) is world_state(world, Record)
    assert world.is_persistent(entity)


def test_changes_to_world_state_are_tracked_like_any_persistent_component() -> None:
    engine = engine_with(one_record)
    world_state(engine.world, Record)
    engine.tick()  # its birth
    world_state(engine.world, Record).storms = 2
    changes = engine.tick().changes
    assert [type(c) for c in changes.changed.values()] == [Record]


def test_a_default_factory_gives_the_first_value() -> None:
    def setup(kit: PluginKit) -> None:
        kit.world_state(Record, default=lambda: Record(storms=7, last="hail"))

    world = engine_with(setup).world
    assert world_state(world, Record) == Record(7, "hail")


def test_one_type_may_be_kept_under_several_keys_each_on_its_own_entity() -> None:
    def setup(kit: PluginKit) -> None:
        kit.world_state(Tally, key="north")
        kit.world_state(Tally, key="south")

    world = engine_with(setup).world
    world_state(world, Tally, key="north").count = 1
    assert world_state(world, Tally, key="south").count == 0
    with pytest.raises(UnknownState, match="has the keys 'north', 'south'; name one"):
        world_state(world, Tally)
    with pytest.raises(UnknownState, match="has no key 'east'"):
        world_state(world, Tally, key="east")


def test_undeclared_world_state_is_an_error_that_says_how_to_declare_it() -> None:
    world = engine_with(one_record).world
    with pytest.raises(UnknownState, match=r"call kit.world_state\(Tally\) in the plugin's setup"):
        world_state(world, Tally)


def test_world_state_must_be_a_persistent_component() -> None:
    def setup(kit: PluginKit) -> None:
        kit.world_state(Transient)

    with pytest.raises(PluginError, match="must be a persistent component"):
        engine_with(setup)


def test_one_plugin_may_not_declare_the_same_state_twice() -> None:
    def setup(kit: PluginKit) -> None:
        kit.world_state(Record)
        kit.world_state(Record)

    with pytest.raises(PluginError, match="already declared by plugin 'almanac'"):
        engine_with(setup)


def test_world_state_is_registered_as_a_component_so_it_gets_a_table() -> None:
    engine = engine_with(one_record)
    assert engine.registry.persistent_types["almanac_record"] is Record


def test_plugin_ids_depend_on_the_plugin_and_the_key_only() -> None:
    first = plugin_stable_id("weather", "almanac")
    assert first == plugin_stable_id("weather", "almanac")
    assert first != plugin_stable_id("omens", "almanac")
    assert first != plugin_stable_id("weather", "calendar")
    assert split_stable_id(first)[0] == CONTENT_NODE


def test_a_plugin_id_needs_a_plugin_and_a_key() -> None:
    with pytest.raises(ValueError, match="needs the plugin's name and a key"):
        plugin_stable_id("weather", "")


def test_the_kit_gives_a_plugin_its_own_ids() -> None:
    ids: list[int] = []

    def setup(kit: PluginKit) -> None:
        ids.append(kit.stable_id("shrine"))

    engine_with(setup, name="omens")
    assert ids == [plugin_stable_id("omens", "shrine")]
