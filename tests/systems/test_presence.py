"""Presence: characters leave the world without being destroyed, and wake where they left."""

from __future__ import annotations

import pytest

from components.body import Characteristics, Dead, LinkDead, Offline, Player, Posture, Vitals
from components.combat import Fighting
from components.content import Directory
from components.place import Location
from engine.commands import Command
from engine.config import Config, EngineConfig
from engine.core import Engine
from engine.events import Scope, ScopeKind
from engine.inputs import (
    ENTERED_EVENT,
    LEFT_EVENT,
    DropConnection,
    EnterWorld,
    LeaveWorld,
    Relocate,
)
from engine.world import World
from systems.characteristics import max_dp_for
from systems.characters import create_character
from systems.presence import QUIT_EVENT, CorePresence, enter_world, in_world, leave_world
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
        "lucidity": 100,
        "tier": "lucid",
        "posture": "standing",
        "state": None,
    }
    rules.leave_world(world, armitage, "linkdead")
    assert not in_world(world, armitage)


# --------------------------------------------------------------------------------------------------
# Entering and leaving are inputs of the tick


def _sid(engine: Engine, entity: int) -> int:
    sid = engine.world.stable_id(entity)
    assert sid is not None
    return sid


def test_entering_a_new_account_makes_its_character_and_says_so_before_showing_the_room() -> None:
    engine = make_engine()
    world = engine.world
    engine.submit(EnterWorld("Armitage", None))
    result = engine.tick()
    (entered,) = [e for e in result.events if e.type == ENTERED_EVENT]
    armitage = entered.scope.target
    assert isinstance(armitage, int) and in_world(world, armitage)
    assert entered.data == {"account": "Armitage", "character": _sid(engine, armitage)}
    types = [e.type for e in result.events if e.scope.target == armitage]
    assert types.index(ENTERED_EVENT) < types.index("room")
    assert result.inputs == (EnterWorld("Armitage", None),)
    assert room_of(world, armitage) == world.resource(Directory).rooms["ward"]


def test_entering_again_finds_the_same_character_where_it_left() -> None:
    engine = make_engine()
    world = engine.world
    armitage = create_character(world, "Armitage", room="gate")
    leave_world(world, armitage)
    engine.submit(EnterWorld("Armitage", _sid(engine, armitage)))
    result = engine.tick()
    assert [e.scope.target for e in result.events if e.type == ENTERED_EVENT] == [armitage]
    assert room_of(world, armitage) == world.resource(Directory).rooms["gate"]
    assert len(world.query(Player)) == 1


def test_a_dropped_connection_leaves_the_character_link_dead_for_its_grace_in_game_seconds() -> (
    None
):
    for rate in (5.0, 20.0):
        engine = make_engine(Config(engine=EngineConfig(tick_rate_hz=rate)))
        world = engine.world
        armitage = create_character(world, "Armitage")
        engine.submit(DropConnection(_sid(engine, armitage), 2.0))
        engine.tick()
        dropped_at = world.clock.seconds
        assert world.has(armitage, LinkDead) and in_world(world, armitage)
        left: list[float] = []
        while not left:
            events = engine.tick().events
            if any(e.type == LEFT_EVENT for e in events):
                left.append(world.clock.seconds)
        assert left[0] - dropped_at == pytest.approx(2.0, abs=1 / rate + 1e-9), rate
        assert not in_world(world, armitage) and not world.has(armitage, LinkDead)


def test_coming_back_within_the_grace_keeps_the_character_where_it_stands_unshown() -> None:
    engine = make_engine()
    world = engine.world
    armitage = create_character(world, "Armitage", room="hall")
    sid = _sid(engine, armitage)
    engine.submit(DropConnection(sid, 60.0))
    engine.tick()
    engine.submit(EnterWorld("Armitage", sid))
    result = engine.tick()
    assert not world.has(armitage, LinkDead) and in_world(world, armitage)
    assert [e.type for e in result.events if e.scope.target == armitage] == [ENTERED_EVENT]
    engine.run_ticks(int(61 * world.clock.rate_hz))
    assert in_world(world, armitage)  # the grace no longer runs


def test_a_connection_dropped_without_grace_leaves_at_once_and_a_leave_input_takes_out() -> None:
    engine = make_engine()
    world = engine.world
    armitage = create_character(world, "Armitage")
    carter = create_character(world, "Carter")
    engine.submit(DropConnection(_sid(engine, armitage), 0.0))
    engine.submit(LeaveWorld(_sid(engine, carter), "shutdown"))
    events = engine.tick().events
    assert not in_world(world, armitage) and not in_world(world, carter)
    left = {e.scope.target: e.data["reason"] for e in events if e.type == LEFT_EVENT}
    assert left == {armitage: "linkdead", carter: "shutdown"}
    assert "Carter fades with the rest of the world." in [e.text for e in events]


def test_a_relocate_input_moves_the_character_by_staff_power_and_tells_both_rooms() -> None:
    engine = make_engine()
    world = engine.world
    carter = create_character(world, "Carter", room="hall")
    watcher = create_character(world, "Armitage", room="hall")
    engine.submit(Relocate(world.stable_id(carter) or 0, "gate", "is pulled away", "is pulled in"))
    events = engine.tick().events
    assert room_of(world, carter) == world.resource(Directory).rooms["gate"]
    assert [(e.type, e.text) for e in events if e.scope.kind is ScopeKind.ROOM] == [
        ("leave", "Carter is pulled away."),
        ("arrive", "Carter is pulled in."),
    ]
    assert any(e.type == "room" and e.scope.target == carter for e in events)
    assert room_of(world, watcher) == world.resource(Directory).rooms["hall"]


def test_a_relocate_to_a_room_this_world_does_not_have_leaves_the_character_where_it_is(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = make_engine()
    world = engine.world
    carter = create_character(world, "Carter", room="hall")
    engine.submit(Relocate(world.stable_id(carter) or 0, "rlyeh", "vanishes", "appears"))
    engine.tick()
    assert room_of(world, carter) == world.resource(Directory).rooms["hall"]
    assert "no room 'rlyeh' here" in caplog.text
    assert engine.input_failures == 0


def test_an_input_naming_no_entity_changes_nothing_and_the_tick_goes_on() -> None:
    engine = make_engine()
    engine.submit(LeaveWorld(123456789, "shutdown"))
    engine.submit(DropConnection(123456789, 5.0))
    result = engine.tick()
    assert len(result.changes) == 0 and engine.input_failures == 0


def test_a_failing_presence_rule_is_counted_and_the_tick_goes_on() -> None:
    engine = make_engine()
    world = engine.world
    armitage = create_character(world, "Armitage")
    presence = engine.registry.presence
    assert presence is not None
    broken = presence.drop

    def drop(world: World, character: int, grace_s: float) -> None:
        raise RuntimeError("broken rule")

    presence.drop = drop  # type: ignore[method-assign]
    try:
        engine.submit(DropConnection(_sid(engine, armitage), 5.0))
        engine.submit_line(armitage, "say still here")
        events = engine.tick().events
    finally:
        presence.drop = broken  # type: ignore[method-assign]
    assert engine.input_failures == 1
    assert any(e.type == "say" for e in events)


def test_tick_pending_runs_a_tick_only_when_inputs_wait() -> None:
    engine = make_engine()
    assert engine.tick_pending() is None
    assert engine.world.clock.tick == 0
    engine.submit(EnterWorld("Armitage", None))
    result = engine.tick_pending()
    assert result is not None and result.tick == 1


def test_a_traced_tick_shows_what_each_input_changed() -> None:
    engine = make_engine()
    world = engine.world
    armitage = create_character(world, "Armitage")
    engine.tick()
    engine.submit_line(armitage, "sit")
    engine.submit_line(armitage, "look")
    result = engine.tick(trace=True)
    (sit, sat), (look, looked), (systems, _) = result.trace
    assert isinstance(sit, Command) and sit.verb == "sit"
    assert (_sid(engine, armitage), Posture) in sat.changed
    assert isinstance(look, Command) and len(looked) == 0
    assert systems is None and len(result.changes) == 0


# --------------------------------------------------------------------------------------------------
# Who hears an event


def test_a_rooms_audience_is_what_is_in_it() -> None:
    engine = make_engine()
    world = engine.world
    armitage = create_character(world, "Armitage", room="hall")
    carter = create_character(world, "Carter", room="hall")
    create_character(world, "Wilbur", room="gate")
    hall = world.resource(Directory).rooms["hall"]
    rules = engine.registry.presence
    assert rules is not None
    heard = set(rules.audience(world, Scope.room(hall)))
    assert {armitage, carter} <= heard
    assert all(room_of(world, e) == hall for e in heard)


def test_a_zones_audience_is_found_room_by_room_without_scanning_the_players(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    engine = make_engine()
    world = engine.world
    in_town = [create_character(world, f"Town{chr(97 + i)}", room="street") for i in range(3)]
    in_asylum = [create_character(world, f"Ward{chr(97 + i)}", room="ward") for i in range(50)]
    rules = engine.registry.presence
    assert rules is not None

    def no_scans(*args: object, **kwargs: object) -> None:
        raise AssertionError("a zone's audience must not query every player")

    monkeypatch.setattr(world, "query", no_scans)
    heard = set(rules.audience(world, Scope.zone("town")))
    assert set(in_town) <= heard
    assert not heard & set(in_asylum)


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
    assert rules.status(world, armitage)["posture"] is None  # the corpse lies in the room
    stage.type(armitage, "respawn")
    assert rules.status(world, armitage)["state"] is None


def test_an_account_whose_record_predates_its_character_gets_that_character_not_another() -> None:
    world = make_engine().world
    presence = CorePresence()
    first = presence.character_for(world, "Randolph", None)
    again = presence.character_for(world, "randolph", None)
    assert again == first
    assert len([e for e, _ in world.query(Player)]) == 1
