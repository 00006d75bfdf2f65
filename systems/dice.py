"""Dice: reading "1d6+1" and rolling it with the world's RNG. Pure: the rolls come only from the
random generator it is given (the world's seeded one), and nothing here touches the world."""

from __future__ import annotations

import functools
import random
import re
from dataclasses import dataclass

__all__ = ["MAX_DICE", "MAX_SIDES", "Dice", "DiceError", "parse_dice"]

#: The most dice one roll may throw, and the most sides a die may have: generous for any weapon,
#: and a bound on the work of one roll.
MAX_DICE = 20
MAX_SIDES = 100
#: The largest bonus or malus a roll may add.
MAX_MODIFIER = 100

_DICE_RE = re.compile(r"([0-9]*)d([0-9]+)(?:([+-])([0-9]+))?")


class DiceError(ValueError):
    """Text that is not a roll of dice; the message says how to write one."""


@dataclass(frozen=True, slots=True)
class Dice:
    """``count`` dice of ``sides`` sides, plus ``modifier`` (which may be negative)."""

    count: int
    sides: int
    modifier: int = 0

    def __str__(self) -> str:
        if not self.modifier:
            return f"{self.count}d{self.sides}"
        return f"{self.count}d{self.sides}{self.modifier:+d}"

    @property
    def average(self) -> float:
        """The mean of a roll: what ``consider`` weighs a fighter's blows by."""
        return self.count * (self.sides + 1) / 2 + self.modifier

    def roll(self, rng: random.Random) -> int:
        """One roll: the dice's sum plus the modifier (at least 0)."""
        total = self.modifier
        for _ in range(self.count):
            total += rng.randint(1, self.sides)
        return max(0, total)


@functools.lru_cache(maxsize=256)
def parse_dice(text: str) -> Dice:
    """Read ``NdM``, ``NdM+K`` or ``NdM-K`` (``dM`` is ``1dM``); raise :class:`DiceError`.

    Cached: the same few dice are read at every blow.
    """
    found = _DICE_RE.fullmatch(text.strip().casefold())
    if found is None:
        raise DiceError(
            f"{text!r} is not a roll of dice: write it as 1d6, 2d4+1 or 1d8-1"
            " (how many dice, 'd', how many sides, then any bonus)"
        )
    count = int(found.group(1) or "1")
    sides = int(found.group(2))
    modifier = int(found.group(4) or "0") * (-1 if found.group(3) == "-" else 1)
    if not 1 <= count <= MAX_DICE:
        raise DiceError(f"{text!r} throws {count} dice: give 1 to {MAX_DICE}")
    if not 1 <= sides <= MAX_SIDES:
        raise DiceError(f"{text!r} has dice of {sides} sides: give 1 to {MAX_SIDES}")
    if abs(modifier) > MAX_MODIFIER:
        raise DiceError(f"{text!r} adds {modifier}: give a bonus of at most {MAX_MODIFIER}")
    return Dice(count, sides, modifier)
