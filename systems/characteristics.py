"""Characteristics: rolling a new character's STR, DEX, CON, SIZ, POW and EDU from the world's
seeded RNG, the damage points they give, and reading any body's (a character's own, an NPC's
template's, or the average). Pure rules: no I/O, no randomness but the RNG they are given."""

from __future__ import annotations

import random

from components.body import CHARACTERISTICS, Characteristics, Npc
from components.content import Directory
from engine.world import World

__all__ = [
    "DICE_PER_CHARACTERISTIC",
    "DP_DIVISOR",
    "NPC_CHARACTERISTIC_RANGE",
    "PLAYER_CHARACTERISTIC_RANGE",
    "characteristics_of",
    "max_dp_for",
    "roll_characteristics",
]

#: A character's characteristic is 3d6 x 5: 15 to 90, most often near 50 (the old way of the
#: Miskatonic's own rulebooks).
DICE_PER_CHARACTERISTIC = 3
CHARACTERISTIC_MULTIPLIER = 5
PLAYER_CHARACTERISTIC_RANGE = (
    DICE_PER_CHARACTERISTIC * CHARACTERISTIC_MULTIPLIER,
    DICE_PER_CHARACTERISTIC * 6 * CHARACTERISTIC_MULTIPLIER,
)
#: What an NPC template may give: horrors may exceed any person.
NPC_CHARACTERISTIC_RANGE = (1, 200)
#: A character's damage points: (CON + SIZ) divided by this, rounded down.
DP_DIVISOR = 5


def roll_characteristics(rng: random.Random) -> Characteristics:
    """A new character's characteristics, each 3d6 x 5, in sheet order (six draws of three)."""
    values = {
        name: CHARACTERISTIC_MULTIPLIER
        * sum(rng.randint(1, 6) for _ in range(DICE_PER_CHARACTERISTIC))
        for name, _abbreviation in CHARACTERISTICS
    }
    return Characteristics(**values)


def max_dp_for(characteristics: Characteristics) -> int:
    """The damage points a body of these characteristics has when whole: (CON + SIZ) // 5."""
    return (characteristics.constitution + characteristics.size) // DP_DIVISOR


def characteristics_of(world: World, body: int) -> Characteristics:
    """A body's characteristics: its own, else its NPC template's, else the average."""
    own = world.try_get(body, Characteristics)
    if own is not None:
        return own
    npc = world.try_get(body, Npc)
    if npc is not None:
        directory = world.try_resource(Directory)
        template = directory.npcs.get(npc.template) if directory is not None else None
        if template is not None:
            return template.characteristics
    return Characteristics()
