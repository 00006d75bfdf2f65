"""How players name things ("knife", "rusty kn", "2.knife", "3 coins", "all.coin") and how a name
matches a thing: every word given must start some keyword of it. Parsing is pure text; nothing
here changes the world or does I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from engine.commands import Refused
from engine.world import World
from systems.common import keywords_of


class TargetError(ValueError):
    """The player's words cannot name anything; the message says how to write them."""


@dataclass(frozen=True, slots=True)
class Target:
    """A parsed reference: ``words`` to match, which match (``ordinal``), how many (``count``).

    ``every`` is set by "all" / "all.coin" / "all coins": every match, not one.
    """

    words: tuple[str, ...]
    ordinal: int = 1
    count: int | None = None
    every: bool = False

    def describe(self) -> str:
        return " ".join(self.words) or "anything"


def parse_target(text: str) -> Target:
    """Parse a player's reference to a thing; raise :class:`TargetError` if it names nothing."""
    words = text.casefold().split()
    if not words:
        raise TargetError("Name something.")
    count: int | None = None
    every = False
    first = words[0]
    if first == "all":
        every, words = True, words[1:]
    elif first.startswith("all."):
        every, words = True, [first[4:], *words[1:]]
    elif first.isdigit() and len(words) > 1:
        count, words = int(first), words[1:]
        if count < 1:
            raise TargetError("Give a number of at least 1.")
    ordinal = 1
    if words and "." in words[0]:
        head, _, rest = words[0].partition(".")
        if head.isdigit() and rest:
            ordinal, words = int(head), [rest, *words[1:]]
            if ordinal < 1:
                raise TargetError("Count from 1: '1.knife' is the first knife.")
    if not words and not every:
        raise TargetError("Name something.")
    return Target(tuple(words), ordinal, count, every)


def read_target(text: str, refusal_code: str) -> Target:
    """:func:`parse_target` for a handler: words that name nothing are ``Refused`` with
    ``refusal_code`` and the parser's advice as the text."""
    try:
        return parse_target(text)
    except TargetError as bad:
        raise Refused(refusal_code, str(bad)) from None


def matches(world: World, entity: int, words: tuple[str, ...]) -> bool:
    keywords = keywords_of(world, entity)
    return all(any(k.startswith(w) for k in keywords) for w in words)


def find(world: World, candidates: Iterable[int], target: Target) -> list[int]:
    """The candidates ``target`` names, in candidate order: all matches for "all", else one."""
    found = [e for e in candidates if matches(world, e, target.words)]
    if target.every:
        return found
    if target.ordinal > len(found):
        return []
    return [found[target.ordinal - 1]]
