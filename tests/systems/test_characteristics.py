"""Characteristics: a new character's six are rolled 3d6 x 5 (15 to 90) from the world's seeded
RNG, its damage points are (CON + SIZ) // 5; an NPC's come from its template."""

from __future__ import annotations

import random

from components.body import Characteristics, Experience, Vitals
from systems.characteristics import (
    PLAYER_CHARACTERISTIC_RANGE,
    characteristics_of,
    max_dp_for,
    roll_characteristics,
)
from systems.characters import create_character
from tests.systems.arena import arena
from tests.systems.world_fixture import make_engine


def test_each_characteristic_is_rolled_between_15_and_90() -> None:
    rng = random.Random(1926)
    low, high = PLAYER_CHARACTERISTIC_RANGE
    seen = set()
    for _ in range(2000):
        rolled = roll_characteristics(rng)
        for value in (
            rolled.strength,
            rolled.dexterity,
            rolled.constitution,
            rolled.size,
            rolled.power,
            rolled.education,
        ):
            assert low <= value <= high and value % 5 == 0
            seen.add(value)
    assert (low, high) == (15, 90)
    assert min(seen) == 15 and max(seen) == 90


def test_a_new_character_is_rolled_from_the_world_rng_and_is_whole() -> None:
    one, two = make_engine(), make_engine()
    first = create_character(one.world, "Armitage")
    again = create_character(two.world, "Armitage")
    rolled = one.world.get(first, Characteristics)
    assert rolled == two.world.get(again, Characteristics)  # the same seed: the same roll
    vitals = one.world.get(first, Vitals)
    assert vitals.dp == vitals.max_dp == (rolled.constitution + rolled.size) // 5
    assert one.world.get(first, Experience).points == 0
    other = create_character(one.world, "Carter")
    assert one.world.get(other, Characteristics) != rolled  # the RNG moved on


def test_max_dp_is_con_plus_siz_over_five() -> None:
    assert max_dp_for(Characteristics(constitution=50, size=65)) == 23
    assert max_dp_for(Characteristics(constitution=15, size=15)) == 6


def test_an_npc_has_its_templates_characteristics_and_the_average_for_the_rest() -> None:
    stage = arena()
    ghoul = stage.npc("ghoul")
    rat = stage.npc("rat")
    assert characteristics_of(stage.world, ghoul) == Characteristics(75, 60, 70, 60, 50, 50)
    assert characteristics_of(stage.world, rat) == Characteristics()
