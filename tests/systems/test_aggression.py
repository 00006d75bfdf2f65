"""Aggression: an aggressive NPC attacks a player who comes into its room, or whom it finds on
coming into one, after reaction_s; in a no_combat room it stays calm."""

from __future__ import annotations

import pytest

from components.combat import Fighting
from systems.aggression import AggressionSettings
from tests.systems.arena import arena, combat_events

REACTION_S = AggressionSettings().reaction_s


@pytest.mark.parametrize("rate_hz", [5.0, 20.0])
def test_an_aggressive_npc_attacks_a_player_who_enters_after_its_reaction(rate_hz: float) -> None:
    stage = arena(rate_hz=rate_hz)
    world = stage.world
    ghoul = stage.npc("ghoul", room="gate")
    armitage = stage.player("Armitage", room="street")
    stage.ready_at(4.0)
    stage.type(armitage, "south")  # into the gate, at 4.0 s
    taken = stage.run_until(lambda: world.has(armitage, Fighting))
    assert stage.now_s == pytest.approx(4.0 + REACTION_S) and taken > 0
    assert world.entity_of(world.get(ghoul, Fighting).target) == armitage
    (attacked,) = combat_events(stage.log, "engage", to=armitage)
    assert attacked.text == "The ghoul attacks you!"


def test_a_player_gone_before_the_reaction_is_not_attacked() -> None:
    stage = arena(rules={"aggression": AggressionSettings(reaction_s=2.0)})
    world = stage.world
    stage.npc("ghoul", room="gate")
    armitage = stage.player("Armitage", room="street")
    stage.type(armitage, "south")
    stage.run_s(1.0)
    stage.type(armitage, "north")
    stage.run_s(5.0)
    assert world.count(Fighting) == 0


def test_an_aggressive_npc_coming_into_a_room_attacks_a_player_there() -> None:
    stage = arena()
    world = stage.world
    armitage = stage.player("Armitage", room="gate")
    stage.tick()
    stage.npc("ghoul", room="gate")
    stage.run_s(REACTION_S + 0.1)
    assert world.has(armitage, Fighting)


def test_a_passive_npc_never_attacks() -> None:
    stage = arena()
    stage.npc("rat", room="gate")
    armitage = stage.player("Armitage", room="gate")
    stage.run_s(10.0)
    assert not stage.world.has(armitage, Fighting)


def test_an_aggressive_npc_in_a_no_combat_room_stays_calm() -> None:
    stage = arena()
    stage.npc("ghoul", room="ward")
    armitage = stage.player("Armitage", room="hall")
    stage.type(armitage, "west")
    stage.run_s(10.0)
    assert not stage.world.has(armitage, Fighting)
