"""Decay: a loose item dropped on a floor goes after floor_item_decay_s unless picked up first; what
is permanent (the item, the room, or content where it lies) stays. Timed in game seconds at two
tick rates; decay is scheduled by due time."""

from __future__ import annotations

import dataclasses

import pytest

from components.content import Directory
from components.items import Decay, Item
from components.place import Location, Room, RoomFlag
from engine.events import Scope
from systems.decay import DecaySettings
from systems.whereabouts import contents
from tests.systems.arena import arena, items_held

SHORT = {"decay": DecaySettings(floor_item_decay_s=100.0)}


@pytest.mark.parametrize("rate_hz", [5.0, 20.0])
def test_a_dropped_item_crumbles_after_floor_item_decay_s(rate_hz: float) -> None:
    stage = arena(rate_hz=rate_hz, rules=SHORT)
    world = stage.world
    armitage = stage.player("Armitage")
    knife = stage.give(armitage, "silver_knife")
    stage.ready_at(3.0)
    stage.type(armitage, "drop silver knife")
    assert world.get(knife, Decay).at_s == pytest.approx(103.0)
    taken = stage.run_until(lambda: not world.exists(knife))
    assert stage.now_s == pytest.approx(103.0) and taken > 0
    (crumbled,) = [e for e in stage.log if e.type == "decay"]
    assert crumbled.scope == Scope.room(stage.room("hall"))
    assert crumbled.text == "A silver knife crumbles away to nothing."


def test_picking_it_up_saves_it_and_dropping_it_again_starts_again() -> None:
    stage = arena(rules=SHORT)
    world = stage.world
    armitage = stage.player("Armitage")
    knife = stage.give(armitage, "silver_knife")
    stage.type(armitage, "drop silver knife")
    stage.run_s(90.0)
    stage.type(armitage, "get silver knife")
    assert not world.has(knife, Decay)
    stage.run_s(50.0)
    assert world.exists(knife)
    stage.type(armitage, "drop silver knife")
    stage.run_s(90.0)
    assert world.exists(knife)
    stage.run_s(11.0)
    assert not world.exists(knife)


def test_what_content_placed_in_a_room_stays_until_it_is_moved() -> None:
    stage = arena(rules=SHORT)
    world = stage.world
    hall = stage.room("hall")
    placed = sorted(e for e in contents(world, hall) if world.has(e, Item))
    stage.run_s(300.0)
    assert sorted(e for e in contents(world, hall) if world.has(e, Item)) == placed
    assert not any(world.has(e, Decay) for e in placed)


def test_a_permanent_item_or_a_permanent_room_never_decays() -> None:
    stage = arena(rules=SHORT)
    world = stage.world
    templates = world.resource(Directory).items
    templates["brass_key"] = dataclasses.replace(templates["brass_key"], permanent=True)
    armitage = stage.player("Armitage")
    key = stage.give(armitage, "brass_key")
    stage.type(armitage, "drop key")
    assert world.get(key, Location).holder == world.stable_id(stage.room("hall"))
    room = world.get(stage.room("ward"), Room)
    room.flags = room.flags | {RoomFlag.PERMANENT}
    carter = stage.player("Carter", room="ward")
    coin = stage.give(carter, "coin", 2)
    stage.type(carter, "drop coins")
    stage.run_s(300.0)
    assert world.exists(key) and world.exists(coin)
    assert not world.has(key, Decay) and not world.has(coin, Decay)


def test_a_decaying_container_spills_what_it_held_first() -> None:
    stage = arena(rules=SHORT)
    world = stage.world
    armitage = stage.player("Armitage")
    pack = stage.give(armitage, "backpack")
    stage.give(pack, "coin", 3)
    stage.type(armitage, "drop canvas backpack")
    stage.run_s(101.0)
    assert not world.exists(pack)
    assert items_held(world, stage.room("hall")).get("coin") == 3
    stage.run_s(101.0)
    assert "coin" not in items_held(world, stage.room("hall"))  # the coins decayed in turn


def test_what_spills_never_joins_a_pile_crumbling_in_the_same_tick() -> None:
    """Coins dropped beside a pack of coins, both due at once: the loose coins go (and are told),
    the pack's coins land on a floor where they are already gone and last a full term."""
    stage = arena(rules=SHORT)
    world = stage.world
    armitage = stage.player("Armitage")
    stage.give(armitage, "coin", 3)
    pack = stage.give(armitage, "backpack")
    stage.give(pack, "coin", 1)
    stage.type(armitage, "drop all")
    stage.run_s(101.0)
    (crumbled,) = [e for e in stage.log if e.type == "decay"]
    told = {view["template"]: view["quantity"] for view in crumbled.data["items"]}
    assert told == {"coin": 3, "backpack": 1}
    assert items_held(world, stage.room("hall")).get("coin") == 1
    stage.run_s(101.0)
    assert "coin" not in items_held(world, stage.room("hall"))
