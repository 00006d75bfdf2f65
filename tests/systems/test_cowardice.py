"""Fleeing NPCs: one whose template has flee_below tries the combat rules' flee at its next turn
once its damage points fall below that share, and every turn it stays; above it, it fights on; an
aggressive one that hurt starts no fight."""

from __future__ import annotations

import pytest

from components.body import Vitals
from components.combat import Fighting
from systems.aggression import AggressionSettings
from systems.combat import CombatSettings
from tests.systems.arena import Arena, arena, combat_events
from tests.systems.walk import room_key

#: Every flee gets away, every blow misses: only what the fighters queue changes the fight.
FLEET_AND_HARMLESS = CombatSettings(flee_chance_min=1.0, hit_chance_min=0, hit_chance_max=0)
ROUND_S = CombatSettings().combat_round_s


def attacked_coward(combat: CombatSettings, rate_hz: float = 10.0) -> tuple[Arena, int]:
    """The cowardly cultist (it flees below half of its 20 dp), attacked by Armitage in the
    hall, under these combat settings."""
    stage = arena(rate_hz=rate_hz, rules={"combat": combat})
    coward = stage.npc("coward", "hall")
    armitage = stage.player("Armitage", room="hall")
    stage.type(armitage, "attack cultist")
    return stage, coward


@pytest.mark.parametrize("rate_hz", [5.0, 20.0])
def test_an_npc_hurt_below_its_share_flees_at_its_next_turn(rate_hz: float) -> None:
    stage, coward = attacked_coward(FLEET_AND_HARMLESS, rate_hz)
    world = stage.world
    stage.run_s(ROUND_S * 2)
    assert world.has(coward, Fighting)  # whole: it fights on
    world.get(coward, Vitals).dp = 9
    stage.run_s(ROUND_S)
    assert not world.has(coward, Fighting)
    assert room_key(world, coward) != "hall"
    (fled,) = combat_events(stage.log, "flee")
    assert fled.text == "The cowardly cultist flees in panic!"


def test_at_its_share_exactly_it_stays() -> None:
    stage, coward = attacked_coward(FLEET_AND_HARMLESS)
    stage.world.get(coward, Vitals).dp = 10
    stage.run_s(ROUND_S * 3)
    assert combat_events(stage.log, "flee") == []


def test_a_coward_that_cannot_get_away_tries_again_every_turn() -> None:
    never = CombatSettings(flee_chance_min=0.0, flee_chance_max=0.0, hit_chance_max=0)
    stage, coward = attacked_coward(never)
    stage.world.get(coward, Vitals).dp = 3
    stage.run_s(ROUND_S * 3)
    assert len(combat_events(stage.log, "flee_failed")) == 3


def test_an_aggressive_npc_hurt_below_its_share_starts_no_fight() -> None:
    stage = arena(rules={"aggression": AggressionSettings(reaction_s=0.5)})
    coward = stage.npc("coward", "gate")
    stage.world.get(coward, Vitals).dp = 5
    armitage = stage.player("Armitage", room="gate")
    stage.run_s(5.0)
    assert not stage.world.has(armitage, Fighting)
    stage.world.get(coward, Vitals).dp = 20  # whole again, and a new prey comes: it attacks
    stage.player("Carter", room="gate")
    stage.run_s(1.0)
    assert stage.world.has(coward, Fighting)
