"""Dice: written NdM+K, rolled from the RNG they are given, within their bounds."""

from __future__ import annotations

import random

import pytest

from systems.dice import Dice, DiceError, parse_dice


@pytest.mark.parametrize(
    ("text", "dice"),
    [("1d6", Dice(1, 6)), ("d8", Dice(1, 8)), ("2d4+1", Dice(2, 4, 1)), ("1D8-1", Dice(1, 8, -1))],
)
def test_dice_are_read_as_count_sides_and_modifier(text: str, dice: Dice) -> None:
    assert parse_dice(text) == dice
    assert str(parse_dice(str(dice))) == str(dice)


@pytest.mark.parametrize("text", ["", "6", "1d", "d", "x2d6", "0d6", "21d6", "1d0", "2d6+101"])
def test_what_is_not_dice_is_refused_with_how_to_write_it(text: str) -> None:
    with pytest.raises(DiceError):
        parse_dice(text)


def test_a_roll_stays_within_its_bounds_and_comes_from_the_given_rng() -> None:
    dice = parse_dice("2d6+1")
    rolls = [dice.roll(random.Random(seed)) for seed in range(500)]
    assert min(rolls) == 3 and max(rolls) == 13
    assert dice.roll(random.Random(7)) == dice.roll(random.Random(7))
    assert dice.average == 8.0


def test_a_roll_is_never_negative() -> None:
    assert parse_dice("1d2-5").roll(random.Random(1)) == 0
