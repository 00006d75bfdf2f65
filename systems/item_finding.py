"""Finding the items a player names: where they handle things, what is within reach, what they
carry or wear. Look-ups that return what was named or raise ``Refused``; they never change the
world, emit events or do I/O."""

from __future__ import annotations

from collections.abc import Sequence

from components.items import Item
from components.place import Location
from engine.commands import Refused
from engine.world import World
from systems import item_rules as rules
from systems.common import check_able, display_name, items_in, worn_items
from systems.item_rules import Portion
from systems.targeting import Target, matches, read_target
from systems.whereabouts import room_of


def handling_room(world: World, actor: int) -> int:
    """The room the actor stands in, where it handles things; ``Refused`` when it is nowhere, or
    cannot act (dead, or mortally wounded)."""
    check_able(world, actor)
    room = room_of(world, actor)
    if room is None or room == actor:
        raise Refused("nowhere", "You are nowhere: there is nothing here to handle.")
    return room


def within_reach(world: World, actor: int, room: int) -> list[int]:
    """Items the actor can handle where they are: carried, worn, then lying on the floor."""
    return [*items_in(world, actor), *worn_items(world, actor), *items_in(world, room)]


def matched(world: World, candidates: Sequence[int], target: Target) -> list[tuple[int, int]]:
    """``(entity, quantity)`` of the candidates whose keywords ``target``'s words match."""
    return [
        (entity, world.get(entity, Item).quantity)
        for entity in candidates
        if matches(world, entity, target.words)
    ]


def choose_one(world: World, candidates: Sequence[int], text: str, place: str) -> int:
    """The one item among ``candidates`` that ``text`` names ("chest", "2.bag")."""
    target = read_target(text, "bad_target")
    rules.check_one_at_a_time(target)
    return rules.choose(matched(world, candidates, target), target, place)[0].entity


def worn_match(world: World, actor: int, target: Target) -> int | None:
    """The first thing the actor wears or wields that ``target``'s words name, if any."""
    return next((e for e in worn_items(world, actor) if matches(world, e, target.words)), None)


def carried_choice(
    world: World, actor: int, target: Target, carried: Sequence[int] | None = None
) -> list[Portion]:
    """What ``target`` names among the actor's ``carried`` things (default: all it carries).

    When nothing carried fits but something worn does, the refusal says to remove it first.
    """
    if carried is None:
        carried = items_in(world, actor)
    try:
        return rules.choose(matched(world, carried, target), target, "in your inventory")
    except Refused as refused:
        worn = worn_match(world, actor, target) if refused.code == "no_such_item" else None
        if worn is None:
            raise
        slot = world.get(worn, Location).slot
        text = f"You have {display_name(world, worn)} {rules.slot_phrase(slot)}: remove it first."
        raise Refused("worn", text) from None
