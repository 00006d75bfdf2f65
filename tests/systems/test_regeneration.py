"""Regeneration: out of combat, a point every regen_interval_s, twice as fast sitting, three times
lying or resting; never fighting, bleeding or dead. The same at 5 Hz and at 20 Hz."""

from __future__ import annotations

import pytest

from components.body import Posture, PostureState, Vitals
from systems import fights
from systems.combat import CombatSettings
from systems.regeneration import RegenerationSettings
from systems.wounds import hurt
from tests.systems.arena import arena
from tests.systems.test_dormancy import touched

INTERVAL_S = RegenerationSettings().regen_interval_s


def healed_after(
    seconds: float, *, rate_hz: float = 10.0, posture: str = "standing", resting: bool = False
) -> int:
    stage = arena(rate_hz=rate_hz)
    world = stage.world
    armitage = stage.player("Armitage")
    vitals = world.get(armitage, Vitals)
    vitals.max_dp = 30
    vitals.dp = 10
    world.get(armitage, Posture).state = PostureState(posture)
    world.get(armitage, Posture).resting = resting
    stage.run_s(seconds)
    return world.get(armitage, Vitals).dp - 10


@pytest.mark.parametrize("rate_hz", [5.0, 20.0])
def test_a_standing_body_heals_a_point_every_regen_interval_s(rate_hz: float) -> None:
    assert healed_after(INTERVAL_S * 3, rate_hz=rate_hz) == 3


@pytest.mark.parametrize(
    ("posture", "resting", "rate"),
    [("sitting", False, 2), ("lying", False, 3), ("sitting", True, 3)],
)
def test_sitting_heals_twice_as_fast_and_lying_or_resting_three_times(
    posture: str, resting: bool, rate: int
) -> None:
    assert healed_after(INTERVAL_S * 2, posture=posture, resting=resting) == 2 * rate


def test_healing_stops_at_the_bodys_whole() -> None:
    assert healed_after(INTERVAL_S * 100) == 20


def test_no_healing_while_fighting_bleeding_or_dead() -> None:
    stage = arena(rules={"combat": CombatSettings(hit_chance_min=0, hit_chance_max=0)})
    world = stage.world
    fighter = stage.player("Armitage")
    world.get(fighter, Vitals).dp -= 3
    stage.npc("rat")
    stage.type(fighter, "attack rat")
    bleeder = stage.player("Carter")
    hurt(world, bleeder, world.get(bleeder, Vitals).dp + 1)  # -1, bleeding
    corpse = stage.player("Dyer")
    hurt(world, corpse, 100)
    before = {who: world.get(who, Vitals).dp for who in (fighter, corpse)}
    stage.run_s(INTERVAL_S)
    assert {who: world.get(who, Vitals).dp for who in (fighter, corpse)} == before
    assert world.get(bleeder, Vitals).dp < -1  # it only bled


def test_an_npc_hurt_in_a_fight_heals_once_the_fight_is_over() -> None:
    stage = arena(rules={"combat": CombatSettings(hit_chance_min=0, hit_chance_max=0)})
    world = stage.world
    armitage = stage.player("Armitage")
    rat = stage.npc("rat")
    vitals = world.get(rat, Vitals)
    vitals.dp = vitals.max_dp = 40
    stage.type(armitage, "attack rat")
    hurt(world, rat, 5)  # hurt in the fight (every blow of the rules misses)
    stage.run_s(INTERVAL_S * 2)
    assert vitals.dp == 35  # no healing while fighting
    fights.leave(world, armitage)
    assert not fights.is_fighting(world, rat)
    stage.run_s(INTERVAL_S * 2)
    assert vitals.dp == 37


def test_a_whole_npc_out_of_every_fight_costs_the_healing_check_nothing() -> None:
    """The check looks at the NPCs that fought or woke wounded, never at every awake one."""
    stage = arena()
    world = stage.world
    idle = stage.npc("rat", "hall")  # awake beside the player, whole, fighting nobody
    stage.player("Armitage", room="hall")
    for row in stage.engine.scheduler.stats():
        if row.name not in ("keep_watch", "regenerate"):
            stage.engine.scheduler.disable(row.name, "only the healing is watched")
    stage.run_s(2.0)  # the first checks have seen it wake whole
    with touched(world, {idle}) as seen:
        stage.run_s(INTERVAL_S)
    assert seen == []
