"""Wounds, bleeding and death: the mortally wounded lie helpless and bleed until aided or dead; the
dead leave a corpse of everything they had; players wake again whole, NPCs credit their killers.
Seeded, driven tick by tick, timed in game seconds at two tick rates."""

from __future__ import annotations

import pytest

from components.body import (
    Bleeding,
    Dead,
    Experience,
    Offline,
    Posture,
    PostureState,
    Vitals,
)
from components.combat import Fighting, Threat
from components.items import Corpse
from engine.events import Scope
from engine.world import World
from systems.combat import CombatSettings
from systems.common import condition_of
from systems.death import DeathSettings
from systems.presence import leave_world
from systems.whereabouts import contents, room_of
from systems.wounds import DIED, FELL, hurt
from tests.systems.arena import CHAMPION, arena, combat_events, errors, items_held

BLEED_S = DeathSettings().bleed_interval_s


def corpse_in(world: World, room: int) -> list[int]:
    """The corpses lying in ``room``."""
    return [e for e in contents(world, room) if world.has(e, Corpse)]


# --------------------------------------------------------------------------------------------------
# Mortal wounds and bleeding


def test_a_body_brought_to_zero_falls_helpless_and_out_of_its_fight() -> None:
    stage = arena(rules={"combat": CombatSettings(hit_chance_min=0, hit_chance_max=0)})
    world = stage.world
    armitage = stage.player("Armitage")
    rat = stage.npc("rat")
    stage.type(armitage, "attack rat")
    assert hurt(world, armitage, world.get(armitage, Vitals).dp) == FELL
    assert world.get(armitage, Posture).state == PostureState.LYING
    assert condition_of(world, armitage) == "mortally_wounded"
    assert not world.has(armitage, Fighting) and not world.has(rat, Fighting)
    assert errors(stage.type(armitage, "stand")) == ["helpless"]
    assert errors(stage.type(armitage, "get knife")) == ["helpless"]
    assert errors(stage.type(armitage, "attack rat")) == ["helpless"]
    said = stage.type(armitage, "say Help me...")
    assert [e.type for e in said if e.scope == Scope.entity(armitage)] == ["say"]


@pytest.mark.parametrize("rate_hz", [5.0, 20.0])
def test_the_mortally_wounded_lose_a_point_every_bleed_interval_until_dead(rate_hz: float) -> None:
    stage = arena(rate_hz=rate_hz)
    world = stage.world
    armitage = stage.player("Armitage")
    stage.ready_at(3.0)
    stage.tick()  # at 3.0 s
    hurt(world, armitage, world.get(armitage, Vitals).dp)  # to 0, at 3.0 s
    dps = []
    while not world.has(armitage, Dead):
        before = world.get(armitage, Vitals).dp
        stage.tick()
        if world.get(armitage, Vitals).dp != before:
            dps.append((round(stage.now_s, 6), world.get(armitage, Vitals).dp))
    assert dps == [(3.0 + BLEED_S * n, -n) for n in range(1, 11)]


def test_a_blow_to_the_threshold_kills_at_once() -> None:
    stage = arena()
    armitage = stage.player("Armitage")
    assert hurt(stage.world, armitage, 100) == DIED
    assert stage.world.has(armitage, Dead)


def test_a_fighter_hears_of_its_foes_death_before_it_hears_the_fight_is_over() -> None:
    stage = arena()
    armitage = stage.player("Armitage", characteristics=CHAMPION)
    rat = stage.npc("rat")
    stage.type(armitage, "attack rat")
    hurt(stage.world, rat, 100)
    stage.tick()
    told = [e.data["kind"] for e in combat_events(stage.log) if e.data["kind"] in ("death", "end")]
    assert told[:2] == ["death", "end"]


def test_aid_stabilises_at_zero_and_the_body_recovers_from_there() -> None:
    stage = arena()
    world = stage.world
    armitage = stage.player("Armitage")
    carter = stage.player("Carter")
    hurt(world, armitage, world.get(armitage, Vitals).dp + 4)  # -4: bleeding
    events = stage.type(carter, "aid armitage")
    assert [e.text for e in events if e.scope == Scope.entity(armitage) and e.type == "msg"] == [
        "Carter binds your wounds; the bleeding stops. You will live."
    ]
    assert world.get(armitage, Vitals).dp == 0 and not world.has(armitage, Bleeding)
    stage.run_s(30.0)
    assert world.get(armitage, Vitals).dp == 0 + 3  # lying: three times 30 s / 30 s
    assert condition_of(world, armitage) is None
    assert errors(stage.type(armitage, "stand")) == []


def test_aid_is_refused_for_the_whole_the_stable_and_oneself_and_changes_nothing() -> None:
    stage = arena()
    world = stage.world
    armitage = stage.player("Armitage")
    carter = stage.player("Carter")
    assert errors(stage.type(carter, "aid armitage")) == ["not_wounded"]
    assert errors(stage.type(carter, "aid me")) == ["aid_self"]
    assert errors(stage.type(carter, "aid nobody")) == ["no_such_target"]
    hurt(world, armitage, world.get(armitage, Vitals).dp + 2)
    stage.type(carter, "aid armitage")
    assert errors(stage.type(carter, "aid armitage")) == ["already_stable"]
    assert world.get(armitage, Vitals).dp == 0


def test_an_unaided_player_bleeds_out_and_dies() -> None:
    stage = arena()
    world = stage.world
    armitage = stage.player("Armitage")
    hurt(world, armitage, world.get(armitage, Vitals).dp)
    taken = stage.run_until(lambda: world.has(armitage, Dead))
    assert taken == pytest.approx(10 * BLEED_S)


# --------------------------------------------------------------------------------------------------
# A player's death and waking


def test_a_dead_players_corpse_holds_all_they_carried_and_wore() -> None:
    stage = arena()
    world = stage.world
    armitage = stage.player("Armitage")
    stage.give(armitage, "rusty_knife", slot="main_hand")
    stage.give(armitage, "leather_coat", slot="torso")
    stage.give(armitage, "coin", 4)
    hurt(world, armitage, 100)
    (corpse,) = corpse_in(world, stage.room("hall"))
    assert items_held(world, corpse) == {"rusty_knife": 1, "leather_coat": 1, "coin": 4}
    assert items_held(world, armitage) == {}
    state = world.get(corpse, Corpse)
    assert (state.name, state.owner) == ("Armitage", world.stable_id(armitage))
    (told,) = combat_events(stage.tick().events, "death", to=armitage)
    assert told.text.startswith("You have died.")


def test_the_dead_are_not_seen_but_their_corpse_is() -> None:
    stage = arena()
    world = stage.world
    armitage = stage.player("Armitage")
    carter = stage.player("Carter")
    hurt(world, armitage, 100)
    (room,) = [e for e in stage.type(carter, "look") if e.type == "room"]
    assert [o["name"] for o in room.data["occupants"]] == []
    assert "the corpse of Armitage" in [c["name"] for c in room.data["containers"]]
    assert errors(stage.type(armitage, "get all")) == ["dead"]


def test_respawn_wakes_a_dead_player_whole_standing_and_empty_handed_in_the_start_room() -> None:
    stage = arena()
    world = stage.world
    armitage = stage.player("Armitage")
    stage.give(armitage, "coin", 3)
    hurt(world, armitage, 100)
    events = stage.type(armitage, "respawn")
    assert room_of(world, armitage) == stage.room("ward")
    vitals = world.get(armitage, Vitals)
    assert vitals.dp == vitals.max_dp
    assert world.get(armitage, Posture).state == PostureState.STANDING
    assert items_held(world, armitage) == {}
    assert not world.has(armitage, Dead)
    assert [e.data["id"] for e in events if e.type == "room"] == ["ward"]
    assert errors(stage.type(armitage, "respawn")) == ["not_dead"]


@pytest.mark.parametrize("rate_hz", [5.0, 20.0])
def test_a_dead_player_wakes_by_itself_after_respawn_s(rate_hz: float) -> None:
    stage = arena(rate_hz=rate_hz, rules={"death": DeathSettings(respawn_s=45.0)})
    world = stage.world
    armitage = stage.player("Armitage")
    stage.ready_at(4.0)
    stage.tick()
    hurt(world, armitage, 100)
    taken = stage.run_until(lambda: not world.has(armitage, Dead))
    assert taken == pytest.approx(45.0)
    assert room_of(world, armitage) == stage.room("ward")


def test_a_dead_player_out_of_the_world_wakes_in_the_start_room_when_they_come_back() -> None:
    stage = arena()
    world = stage.world
    armitage = stage.player("Armitage")
    hurt(world, armitage, 100)
    leave_world(world, armitage)
    stage.run_until(lambda: not world.has(armitage, Dead))
    assert world.get(armitage, Offline).room == world.stable_id(stage.room("ward"))


# --------------------------------------------------------------------------------------------------
# An NPC's death


def test_a_dead_npc_leaves_its_carried_items_and_rolled_loot_and_is_gone() -> None:
    stage = arena(rules={"combat": CombatSettings(hit_chance_min=100, unarmed_damage="1d1")})
    world = stage.world
    armitage = stage.player("Armitage", characteristics=CHAMPION)
    ghoul = stage.npc("ghoul")  # carries 2 coins; loot: 3 coins always, a lantern never
    stage.type(armitage, "attack ghoul")
    stage.run_until(lambda: not world.exists(ghoul), limit_s=1000)
    (corpse,) = corpse_in(world, stage.room("hall"))
    assert items_held(world, corpse) == {"coin": 5}  # one stack: the loot joined what it carried
    assert world.get(corpse, Corpse).owner == 0
    assert world.count(Fighting) == 0


def test_experience_is_the_damage_each_attacker_dealt() -> None:
    stage = arena(rules={"combat": CombatSettings(hit_chance_min=100, hit_chance_max=100)})
    world = stage.world
    armitage = stage.player("Armitage", characteristics=CHAMPION)
    carter = stage.player("Carter", characteristics=CHAMPION)
    for who in (armitage, carter):
        world.get(who, Vitals).dp = 1000
    ghoul = stage.npc("ghoul")
    stage.type(armitage, "attack ghoul")
    stage.type(carter, "attack ghoul")
    threat: dict[int, int] = {}

    def watch() -> bool:
        held = world.try_get(ghoul, Threat)
        if held is not None:
            threat.update(dict(held.entries))
        return not world.exists(ghoul)

    stage.run_until(watch, limit_s=1000)
    a, c = world.stable_id(armitage), world.stable_id(carter)
    assert a is not None and c is not None
    assert world.get(armitage, Experience).points == threat[a] > 0
    assert world.get(carter, Experience).points == threat[c] > 0
    gained = combat_events(stage.log, "experience", to=armitage)
    assert [e.data["points"] for e in gained] == [threat[a]]
