"""Wandering: a wanderer steps through open exits every interval_s with its chance, never through a
closed door, never out of its zone (a stray heads home), seen leaving and arriving as a player is;
the same steps at the same moments at 5 Hz and at 20 Hz."""

from __future__ import annotations

from dataclasses import replace

import pytest

from components.body import Posture, PostureState
from components.content import Directory, Wander
from components.place import Door, Room
from engine.events import Scope
from systems.npc_spawn import spawn_npc
from systems.wander import WanderSettings
from tests.systems.arena import Arena, arena
from tests.systems.walk import room_key

#: The fixture's cat: a step every 10 s, always.
CAT_INTERVAL_S = 10.0


def open_oak_door(stage: Arena) -> None:
    door = stage.world.get(stage.world.resource(Directory).doors["oak_door"], Door)
    door.closed = door.locked = False


def rooms_visited(stage: Arena, npc: int, seconds: float) -> list[str]:
    """The rooms ``npc`` is in, tick by tick, for ``seconds``: each change once."""
    seen: list[str] = []
    for _ in range(stage.world.clock.ticks_for(seconds)):
        stage.tick()
        here = room_key(stage.world, npc)
        assert here is not None
        if not seen or seen[-1] != here:
            seen.append(here)
    return seen


def zone_of(stage: Arena, key: str) -> str:
    return stage.world.get(stage.room(key), Room).zone


def test_a_wanderer_roams_its_zone_and_never_leaves_it() -> None:
    stage = arena()
    open_oak_door(stage)
    cat = stage.npc("cat", "gate")  # the gate's north exit leads out of the asylum
    stage.player("Armitage", room="street")  # the town and the gate next to it are awake
    stage.player("Carter", room="ward")  # and the asylum
    visited = rooms_visited(stage, cat, 1200.0)
    assert len(visited) > 50
    assert {zone_of(stage, key) for key in visited} == {"asylum"}
    assert {"ward", "hall", "cellar", "gate"} <= set(visited)


def test_a_wanderer_never_goes_through_a_closed_door() -> None:
    stage = arena()  # the oak door between the hall and the gate is closed (and locked)
    cat = stage.npc("cat", "hall")
    stage.player("Armitage", room="gate")
    visited = rooms_visited(stage, cat, 600.0)
    assert "gate" not in visited
    assert set(visited) == {"ward", "hall", "cellar"}


def test_both_rooms_see_a_wanderer_go_and_come() -> None:
    stage = arena()
    cat = stage.npc("cat", "cellar")  # the cellar's only way is up, to the hall
    stage.player("Armitage", room="hall")
    stage.run_until(lambda: room_key(stage.world, cat) == "hall", limit_s=CAT_INTERVAL_S)
    left = [e for e in stage.log if e.type == "leave"]
    came = [e for e in stage.log if e.type == "arrive"]
    assert [(e.scope, e.text) for e in left] == [
        (Scope.room(stage.room("cellar")), "Someone leaves upwards.")  # the cellar is dark
    ]
    assert [(e.scope, e.text, e.data["from"]) for e in came] == [
        (Scope.room(stage.room("hall")), "A black cat arrives from below.", "down")
    ]


def stray_cat(room: str, home_room: str) -> tuple[Arena, int]:
    """A cat whose spawn rule's room is ``home_room``, in ``room``, with a player there."""
    stage = arena()
    world = stage.world
    cat = spawn_npc(world, world.resource(Directory).npcs["cat"], stage.room(room), home_room)
    stage.player("Armitage", room=room)
    return stage, cat


def test_a_stray_heads_home_and_stays_there() -> None:
    # A cat of the hall's (asylum) in the town's street: the only way home is south.
    stage, cat = stray_cat("street", "hall")
    stage.player("Carter", room="gate")
    visited = rooms_visited(stage, cat, 300.0)
    assert visited == ["street", "gate"]  # the gate's other way (the oak door) is closed


def test_a_stray_with_no_way_home_wanders_where_it_is() -> None:
    stage, cat = stray_cat("alley", "street")
    assert rooms_visited(stage, cat, 100.0) == ["alley"]  # no exit: it stays


def test_a_wanderer_that_is_not_standing_stays_and_nobody_is_told() -> None:
    stage = arena()
    cat = stage.npc("cat", "hall")
    stage.world.get(cat, Posture).state = PostureState.SITTING
    stage.player("Armitage", room="hall")
    assert rooms_visited(stage, cat, 100.0) == ["hall"]
    assert [e for e in stage.log if e.type in ("leave", "arrive")] == []


def test_chance_and_interval_come_from_the_settings_when_the_template_says_nothing() -> None:
    stage = arena(rules={"wander": WanderSettings(interval_s=5.0, chance=1.0)})
    world = stage.world
    plain = world.resource(Directory).npcs["rat"]
    world.resource(Directory).npcs["rat"] = replace(plain, wander=Wander())
    rat = stage.npc("rat", "hall")
    stage.player("Armitage", room="ward")
    steps = len(rooms_visited(stage, rat, 100.0)) - 1
    assert 19 <= steps <= 20  # every 5 s, always (the first within 5 s of waking)


def steps_at(rate_hz: float) -> list[tuple[float, str]]:
    stage = arena(rate_hz=rate_hz)
    open_oak_door(stage)
    cat = stage.npc("cat", "hall")
    stage.ready_at(4.0)
    stage.player("Armitage", room="ward")
    moves: list[tuple[float, str]] = []
    here = room_key(stage.world, cat)
    while len(moves) < 30:
        assert stage.now_s < 320.0, "a step every 10 s"
        stage.tick()
        there = room_key(stage.world, cat)
        if there != here:
            assert there is not None
            moves.append((stage.now_s, there))
            here = there
    return moves


def test_a_wanderer_takes_the_same_steps_at_the_same_moments_at_5_hz_and_20_hz() -> None:
    slow, fast = steps_at(5.0), steps_at(20.0)
    assert [room for _, room in slow] == [room for _, room in fast]
    for (slow_s, _), (fast_s, _) in zip(slow, fast, strict=True):
        assert fast_s <= slow_s < fast_s + 0.2  # the same moment, to the tick


@pytest.mark.parametrize("chance", [0.25, 0.75])
def test_a_wanderer_steps_about_chance_times_as_often_as_it_considers(chance: float) -> None:
    stage = arena(rules={"wander": WanderSettings(chance=chance)})
    world = stage.world
    template = world.resource(Directory).npcs["cat"]
    world.resource(Directory).npcs["cat"] = replace(template, wander=Wander(interval_s=1.0))
    cat = stage.npc("cat", "hall")
    stage.player("Armitage", room="ward")
    steps = len(rooms_visited(stage, cat, 2000.0)) - 1
    assert steps == pytest.approx(2000 * chance, rel=0.1)
