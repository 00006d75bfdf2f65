"""Dormancy: a zone wakes while a player is in it, a room while a player is one exit from it;
NPCs elsewhere are dormant and no tick touches them; woken, they start afresh (nothing missed is
replayed) and heal the time they slept."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from components.body import Npc, Vitals
from components.content import Directory
from components.place import Door
from engine.world import World
from systems.dormancy import vigil_of
from systems.npc_spawn import spawn_npc
from systems.regeneration import RegenerationSettings
from tests.systems.arena import Arena, arena
from tests.systems.walk import room_key
from tests.systems.world_fixture import make_engine

#: The World methods through which a rule reads or writes a component (or learns of an entity).
TOUCHING = (
    "get",
    "try_get",
    "has",
    "add",
    "remove",
    "discard",
    "destroy",
    "components",
    "exists",
    "stable_id",
)


@contextmanager
def touched(world: World, watched: set[int]) -> Iterator[list[str]]:
    """Record every call that names one of ``watched`` (or returns it from a query or look-up)
    while the block runs: ``"try_get(12, Vitals)"``..."""
    seen: list[str] = []
    originals: dict[str, Callable[..., Any]] = {}
    shadowed = {
        name: vars(world)[name] for name in (*TOUCHING, "query", "lookup") if name in vars(world)
    }

    def spy(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            if args and args[0] in watched:
                seen.append(f"{name}{args!r}")
            return method(*args, **kwargs)

        return call

    def spy_rows(name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            found = method(*args, **kwargs)
            for row in found:
                entity = row[0] if isinstance(row, tuple) else row
                if entity in watched:
                    seen.append(f"{name}{args!r} -> {entity}")
            return found

        return call

    for name in TOUCHING:
        originals[name] = getattr(world, name)
        setattr(world, name, spy(name, originals[name]))
    for name in ("query", "lookup"):
        originals[name] = getattr(world, name)
        setattr(world, name, spy_rows(name, originals[name]))
    try:
        yield seen
    finally:
        for name in originals:
            if name in shadowed:
                setattr(world, name, shadowed[name])  # another spy's, nested around this one
            else:
                delattr(world, name)  # the instance attribute goes; the method shows again


def cats(stage: Arena, *rooms: str) -> list[int]:
    return [stage.npc("cat", room) for room in rooms]


def open_oak_door(stage: Arena) -> None:
    door = stage.world.resource(Directory).doors["oak_door"]
    state = stage.world.get(door, Door)
    state.closed = state.locked = False


def test_a_zone_wakes_with_a_player_in_it_and_a_room_one_exit_away_wakes_with_it() -> None:
    stage = arena()
    world = stage.world
    in_gate, in_hall, in_street, in_alley = cats(stage, "gate", "hall", "street", "alley")
    stage.tick()
    vigil = vigil_of(world)
    assert [npc for npc in vigil.awake if world.has(npc, Npc)] == []
    stage.player("Armitage", room="gate")
    stage.tick()
    # The asylum is awake; so is the street (one exit north of the gate), not the alley beyond.
    assert vigil.zone_awake("asylum") and not vigil.zone_awake("town")
    assert set(vigil.awake) >= {in_gate, in_hall, in_street}
    assert in_alley not in vigil.awake


def test_the_last_player_leaving_puts_the_zone_to_sleep() -> None:
    stage = arena()
    world = stage.world
    armitage = stage.player("Armitage", room="hall")
    carter = stage.player("Carter", room="hall")
    (cat,) = cats(stage, "cellar")
    stage.tick()
    vigil = vigil_of(world)
    assert cat in vigil.awake
    stage.type(armitage, "quit")
    assert cat in vigil.awake  # Carter is still there
    stage.type(carter, "quit")
    assert cat not in vigil.awake and not vigil.zone_awake("asylum")


def test_a_player_walking_into_another_zone_wakes_it_and_lets_the_first_sleep() -> None:
    stage = arena()
    world = stage.world
    open_oak_door(stage)
    in_ward, in_alley = cats(stage, "ward", "alley")
    armitage = stage.player("Armitage", room="gate")
    stage.tick()
    vigil = vigil_of(world)
    assert in_ward in vigil.awake and in_alley not in vigil.awake
    stage.type(armitage, "north")  # into the street: the town wakes, the gate stays (one exit)
    assert vigil.zone_awake("town") and not vigil.zone_awake("asylum")
    assert in_alley in vigil.awake and in_ward not in vigil.awake


def test_a_tick_with_no_player_in_the_world_touches_no_npc() -> None:
    stage = arena()
    world = stage.world
    open_oak_door(stage)
    npcs = set(cats(stage, "hall", "gate", "street", "alley"))
    npcs |= {stage.npc("clerk", "hall"), stage.npc("coward", "gate")}
    npcs |= {entity for entity, _ in world.query(Npc)}  # the orderly too
    armitage = stage.player("Armitage", room="hall")
    for npc in npcs:
        world.get(npc, Vitals).dp = 1  # wounded: they heal while awake
    stage.run_s(30.0)  # awake: they wander, act out their lines, heal...
    stage.type(armitage, "quit")
    stage.tick()  # the asylum goes to sleep: its NPCs are put away once
    with touched(world, npcs) as seen:
        stage.run_s(120.0)
    assert seen == []


def test_npcs_in_an_empty_zone_are_never_touched_while_players_are_elsewhere() -> None:
    stage = arena()
    world = stage.world
    far = set(cats(stage, "alley", "alley"))  # the town's alley: not next to the asylum
    awake = set(cats(stage, "hall", "cellar"))
    stage.player("Armitage", room="hall")
    stage.tick()
    with touched(world, far) as seen_far, touched(world, awake) as seen_awake:
        stage.run_s(60.0)
    assert seen_far == []
    assert seen_awake  # the same rules did run, for the NPCs near the player


def test_waking_starts_an_npcs_behaviour_afresh_without_replaying_what_it_missed() -> None:
    stage = arena()
    world = stage.world
    open_oak_door(stage)
    (cat,) = cats(stage, "hall")
    stage.run_s(600.0)  # dormant: 60 steps missed
    assert room_key(world, cat) == "hall"
    stage.player("Armitage", room="ward")
    stage.tick()
    steps = []
    for _ in range(world.clock.ticks_for(10.0)):
        moved = [e for e in stage.tick().events if e.type == "leave"]
        steps.extend(moved)
    assert len(steps) == 1  # at some moment within its first interval, once


def test_a_woken_npc_heals_the_time_it_slept() -> None:
    stage = arena()
    world = stage.world
    (cat,) = cats(stage, "alley")
    vitals = world.get(cat, Vitals)
    vitals.max_dp = 40
    vitals.dp = 10
    interval_s = RegenerationSettings().regen_interval_s
    stage.run_s(interval_s * 10)
    assert vitals.dp == 10  # dormant: not looked at
    stage.player("Armitage", room="alley")
    stage.run_s(1.0)
    assert vitals.dp == pytest.approx(20, abs=1)  # ten intervals slept, healed as it wakes


@pytest.mark.parametrize("rate_hz", [5.0, 20.0])
def test_an_npc_that_walks_out_of_the_awake_rooms_goes_dormant(rate_hz: float) -> None:
    stage = arena(rate_hz=rate_hz)
    world = stage.world
    directory = world.resource(Directory)
    # A stray cat from the hall (asylum), in the street: with a player in the alley, the town
    # is awake and the stray heads home, south into the gate: one exit from nobody.
    cat = spawn_npc(world, directory.npcs["cat"], stage.room("street"), "hall")
    stage.player("Armitage", room="alley")
    stage.run_until(lambda: room_key(world, cat) == "gate", limit_s=30.0)
    stage.tick()
    assert cat not in vigil_of(world).awake


def test_players_already_in_the_world_when_the_watch_begins_keep_their_zone_awake() -> None:
    stage = Arena(make_engine())  # not a tick yet: nothing watches
    cat = stage.npc("cat", "cellar")
    stage.player("Armitage", room="hall")
    stage.tick()
    assert cat in vigil_of(stage.world).awake
