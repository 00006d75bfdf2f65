"""Presence: characters leave the world without being destroyed, and wake where they left."""

from __future__ import annotations

from components.body import Characteristics, Dead, Offline, Posture, Vitals
from components.combat import Fighting
from components.content import Directory
from components.place import Location
from systems.characteristics import max_dp_for
from systems.characters import create_character
from systems.presence import QUIT_EVENT, enter_world, in_world, leave_world
from systems.whereabouts import contents, room_of
from systems.wounds import hurt
from tests.systems.arena import arena
from tests.systems.world_fixture import make_engine


def test_quit_takes_the_character_out_of_the_world_and_keeps_it() -> None:
    engine = make_engine()
    world = engine.world
    armitage = create_character(world, "Armitage", room="hall")
    carter = create_character(world, "Carter", room="hall")
    engine.submit_line(armitage, "quit")
    events = engine.tick().events
    assert any(e.type == QUIT_EVENT and e.scope.target == armitage for e in events)
    assert [e.text for e in events if e.type == "leave"] == [
        "Armitage closes their eyes and is gone."
    ]
    assert world.exists(armitage) and not in_world(world, armitage)
    hall = world.resource(Directory).rooms["hall"]
    assert armitage not in contents(world, hall) and carter in contents(world, hall)
    assert world.get(armitage, Offline).room == world.stable_id(hall)


def test_who_does_not_list_characters_out_of_the_world() -> None:
    engine = make_engine()
    world = engine.world
    armitage = create_character(world, "Armitage")
    carter = create_character(world, "Carter")
    leave_world(world, armitage)
    engine.submit_line(carter, "who")
    (event,) = [e for e in engine.tick().events if e.type == "who"]
    assert [p["name"] for p in event.data["players"]] == ["Carter"]


def test_a_returning_character_wakes_in_the_room_it_left() -> None:
    engine = make_engine()
    world = engine.world
    armitage = create_character(world, "Armitage", room="gate")
    leave_world(world, armitage)
    enter_world(world, armitage)
    assert room_of(world, armitage) == world.resource(Directory).rooms["gate"]
    assert not world.has(armitage, Offline) and world.has(armitage, Location)


def test_leaving_and_entering_are_saved_changes() -> None:
    engine = make_engine()
    world = engine.world
    armitage = create_character(world, "Armitage")
    engine.tick()
    leave_world(world, armitage)
    changes = engine.tick().changes
    sid = world.stable_id(armitage)
    assert (sid, Location) in changes.deleted and (sid, Offline) in changes.added


def test_the_core_presence_rules_create_characters_out_of_the_world_and_show_the_room() -> None:
    engine = make_engine()
    world = engine.world
    rules = engine.registry.presence
    assert rules is not None
    armitage = rules.character_for(world, "Armitage", None)
    assert world.is_persistent(armitage) and not in_world(world, armitage)
    assert rules.character_for(world, "Armitage", world.stable_id(armitage)) == armitage
    engine.tick()
    rules.enter_world(world, armitage)
    events = engine.tick().events
    (room,) = [e for e in events if e.type == "room" and e.scope.target == armitage]
    assert room.data["id"] == "ward"
    whole = max_dp_for(world.get(armitage, Characteristics))
    assert rules.status(world, armitage) == {
        "dp": whole,
        "max_dp": whole,
        "lucidity": None,
        "tier": None,
        "posture": "standing",
        "state": None,
    }
    rules.leave_world(world, armitage, "linkdead")
    assert not in_world(world, armitage)


def test_the_status_state_is_fighting_mortally_wounded_dead_or_none() -> None:
    stage = arena()
    world = stage.world
    rules = stage.engine.registry.presence
    assert rules is not None
    assert {Fighting, Dead, Vitals, Posture} <= set(rules.status_components())
    armitage = stage.player("Armitage")
    stage.npc("rat")
    assert rules.status(world, armitage)["state"] is None
    stage.type(armitage, "attack rat")
    assert rules.status(world, armitage)["state"] == "fighting"
    hurt(world, armitage, world.get(armitage, Vitals).dp)
    assert rules.status(world, armitage)["state"] == "mortally_wounded"
    hurt(world, armitage, 100)
    assert rules.status(world, armitage)["state"] == "dead"
    stage.type(armitage, "respawn")
    assert rules.status(world, armitage)["state"] is None
