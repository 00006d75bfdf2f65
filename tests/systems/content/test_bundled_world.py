"""The world that ships in data/ passes its own check, without a single warning, and builds; it
has places of every environment, creatures of every category and rooms with their own flux."""

from __future__ import annotations

from pathlib import Path

from components.content import Directory, EncounterCategory
from components.place import Environment, FluxOverride, Room, RoomFlag
from engine.config import load_config
from engine.core import Engine
from systems import plugin as core
from systems.characters import create_character
from systems.content.loader import check_content

DATA = Path(__file__).resolve().parents[3] / "data"


def test_the_bundled_world_passes_check_world() -> None:
    report = check_content([DATA]).report
    assert report.problems == (), report.format()
    assert report.files >= 4


def test_the_bundled_world_builds_with_the_core_plugin() -> None:
    engine = Engine(load_config(env={}, overrides=[f"world.data_dir={DATA}"]), plugins=[core])
    engine.build_world()
    directory = engine.world.resource(Directory)
    assert directory.start_room in directory.rooms
    assert len(directory.rooms) >= 10


def test_the_bundled_world_has_npcs_that_wander_greet_and_act_out_lines() -> None:
    content = check_content([DATA]).require()
    assert sum(npc.wander is not None for npc in content.npcs) >= 3
    assert sum(bool(npc.greet) for npc in content.npcs) >= 3
    assert sum(npc.emotes is not None for npc in content.npcs) >= 8
    assert sum(npc.flee_below > 0 for npc in content.npcs) >= 3


def test_a_player_in_the_bundled_world_sees_it_come_alive() -> None:
    engine = Engine(load_config(env={}, overrides=[f"world.data_dir={DATA}"]), plugins=[core])
    engine.build_world()
    world = engine.world
    engine.run_ticks(world.clock.ticks_for(2.0))  # the spawn rules fill the rooms
    player = create_character(world, "Armitage", room="arkham.high_street")
    events = [e for r in engine.run_ticks(world.clock.ticks_for(5.0)) for e in r.events]
    engine.submit_line(player, "north")  # into old Crane's store
    events += engine.tick().events
    events += [e for r in engine.run_ticks(world.clock.ticks_for(600.0)) for e in r.events]
    assert any(e.type == "emote" for e in events)
    wanderers = {"a black cat", "a nervous student"}  # of Arkham, awake with the player in it
    assert any(e.type == "arrive" and e.data.get("who") in wanderers for e in events)
    (greeting,) = [e for e in events if e.type == "say"]
    assert greeting.text.startswith("Old Crane the storekeeper says, 'Afternoon.")


def test_the_bundled_world_has_every_environment_and_creatures_of_every_category() -> None:
    content = check_content([DATA]).require()
    assert {room.environment for room in content.rooms} == set(Environment)
    assert {npc.category for npc in content.npcs} == set(EncounterCategory)
    assert any(room.lucidity_flux is not None for room in content.rooms)
    assert any(zone.lucidity_flux is not None for zone in content.zones)
    engine = Engine(load_config(env={}, overrides=[f"world.data_dir={DATA}"]), plugins=[core])
    engine.build_world()
    rooms = {room.key: room for _entity, room in engine.world.query(Room)}
    # The deep has no day: its zone's rates stand in for the eldritch halls' and the void's.
    assert rooms["deep.hall"].lucidity_flux == FluxOverride(day=-1.5, night=-1.5)
    assert rooms["arkham.chapel"].lucidity_flux == FluxOverride(night=0.6)


def test_the_bundled_worlds_streets_lanes_shores_and_burying_grounds_are_outdoors() -> None:
    """Every street and wild place, and every open burying ground, is under the sky; nothing with
    a roof, and nothing of the deep, is."""
    content = check_content([DATA]).require()
    open_air = {Environment.STREET, Environment.WILDERNESS, Environment.GRAVEYARD}
    outdoors = {room.id for room in content.rooms if RoomFlag.OUTDOORS in room.flags}
    assert outdoors == {room.id for room in content.rooms if room.environment in open_air}
    assert len(outdoors) >= 20
    assert {room.zone for room in content.rooms if room.id in outdoors} == {
        "arkham",
        "graveyard",
        "innsmouth",
        "sanitarium",
    }
