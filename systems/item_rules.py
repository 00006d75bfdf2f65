"""The rulebook of items: which ones a name picks, and what may be picked up, carried, put away or
worn. Pure functions of plain values that return the outcome or raise ``Refused``: they never
read or change the world, emit events or do I/O."""

from __future__ import annotations

from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass

from components.content import ItemTemplate
from engine.commands import Refused
from systems.common import capitalised, the
from systems.targeting import Target

#: How many of a stack ``equip`` puts on: one arrow of a quiverful, one ring of a handful. The rest
#: of the stack stays carried.
EQUIP_QUANTITY = 1

#: Slots held in the hands: equipping there reads "wield"/"hold", anywhere else "wear".
WIELD_SLOT = "main_hand"
HOLD_SLOT = "off_hand"

#: Where a worn thing sits, as a sentence ends: "You wear a canvas backpack on your back."
SLOT_PHRASES: dict[str, str] = {
    "head": "on your head",
    "neck": "around your neck",
    "torso": "on your torso",
    "back": "on your back",
    "hands": "on your hands",
    "main_hand": "in your main hand",
    "off_hand": "in your off hand",
    "ring": "on your finger",
    "legs": "on your legs",
    "feet": "on your feet",
}


@dataclass(frozen=True, slots=True)
class Portion:
    """Part of what a command moves: ``quantity`` of the item ``entity`` (all of it, or a split)."""

    entity: int
    quantity: int


def slot_phrase(slot: str) -> str:
    """Where a thing worn in ``slot`` sits, as a sentence ends: "on your back"."""
    return SLOT_PHRASES.get(slot, f"in your {slot.replace('_', ' ')} slot")


def _room_left(used: int, capacity: int, needed: int) -> str | None:
    """None when ``needed`` more slots fit; else the room left, in words ("1 more thing")."""
    if used + needed <= capacity:
        return None
    free = max(capacity - used, 0)
    return f"{free} more thing" if free == 1 else f"{free} more things"


# --------------------------------------------------------------------------------------------------
# Choosing what a target names


def choose(matched: Sequence[tuple[int, int]], target: Target, place: str) -> list[Portion]:
    """The portions of ``matched`` that ``target`` names; ``matched`` is ``(entity, quantity)``.

    "all"/"all.coin" take every match whole; "2.knife" takes the second match whole; "3 coins"
    takes three units from the matches in order (from the ordinal-th on), splitting the last
    stack it touches. ``place`` ends the refusal: "here", "in the oak chest", "in your inventory".
    """
    words = f"'{target.describe()}'"
    if not matched:
        if not target.words:
            raise Refused("no_such_item", f"There is nothing {place}.")
        raise Refused("no_such_item", f"There is no {words} {place}.")
    if target.every:
        return [Portion(entity, quantity) for entity, quantity in matched]
    if target.ordinal > len(matched):
        verb = "is" if len(matched) == 1 else "are"
        raise Refused("no_such_item", f"There {verb} only {len(matched)} {words} {place}.")
    pool = matched[target.ordinal - 1 :]
    if target.count is None:
        entity, quantity = pool[0]
        return [Portion(entity, quantity)]
    wanted = target.count
    portions: list[Portion] = []
    for entity, quantity in pool:
        taken = min(quantity, wanted)
        portions.append(Portion(entity, taken))
        wanted -= taken
        if wanted == 0:
            return portions
    available = target.count - wanted
    verb = "is" if available == 1 else "are"
    raise Refused("not_enough", f"There {verb} only {available} of {words} {place}.")


def check_one_at_a_time(target: Target) -> None:
    """Some commands act on one thing: "all" and counts above one are refused for them."""
    if target.every or (target.count is not None and target.count > 1):
        raise Refused("bad_target", "Name one thing at a time.")


# --------------------------------------------------------------------------------------------------
# Room to hold things


def slots_needed(incoming: Iterable[str | None], stacks_present: Set[str]) -> int:
    """Item slots that ``incoming`` items take in a holder already holding ``stacks_present``.

    Each incoming entry is the stack key (template id) of a stackable item, or None for an item
    that never stacks. A stack is one slot, so a stackable item joining a stack already there (or
    one that arrives earlier in ``incoming``) needs none.
    """
    seen = set(stacks_present)
    needed = 0
    for key in incoming:
        if key is None:
            needed += 1
        elif key not in seen:
            seen.add(key)
            needed += 1
    return needed


def check_inventory_room(used: int, capacity: int, needed: int) -> None:
    """A character carries at most ``capacity`` item slots (worn things do not count)."""
    left = _room_left(used, capacity, needed)
    if left is not None:
        raise Refused(
            "inventory_full",
            f"You cannot carry that much: you have room for {left} "
            f"(you carry {used} of {capacity}).",
        )


def check_container_room(name: str, used: int, capacity: int, needed: int) -> None:
    """A container holds at most its ``capacity`` item slots."""
    left = _room_left(used, capacity, needed)
    if left is not None:
        raise Refused(
            "container_full",
            f"{capitalised(the(name))} has room for only {left} (it holds {used} of {capacity}).",
        )


# --------------------------------------------------------------------------------------------------
# Taking, putting, wearing


def is_portable(template: ItemTemplate | None) -> bool:
    """Only portable things can be picked up (a chest, a statue cannot). An item whose template
    is missing from the content counts as portable, so that players can clear it away."""
    return template is None or template.portable


def not_portable(name: str) -> Refused:
    """The refusal to pick up a thing that is not portable, for the caller to raise."""
    return Refused("not_portable", f"You cannot pick up {the(name)}: it will not budge.")


def check_nesting(
    item: int, item_name: str, container: int, container_name: str, container_holders: Iterable[int]
) -> None:
    """A container never goes into itself, nor into anything inside it (the holders of
    ``container``, innermost first, must not include ``item``)."""
    if item == container:
        raise Refused("container_loop", f"You cannot put {the(item_name)} inside itself.")
    if item in container_holders:
        raise Refused(
            "container_loop",
            f"You cannot put {the(item_name)} into {the(container_name)}: "
            f"{the(container_name)} is inside it.",
        )


def check_equip(name: str, slot: str, occupant: str | None) -> None:
    """An item goes on only in its template's slot, and only if nothing is there already."""
    if not slot:
        raise Refused("wrong_slot", f"You cannot wear or wield {the(name)}.")
    if occupant is not None:
        raise Refused(
            "slot_taken", f"You already have {occupant} {slot_phrase(slot)}: remove it first."
        )


def equip_verb(slot: str) -> tuple[str, str]:
    """The second- and third-person verbs for equipping into ``slot``: ("wield", "wields")."""
    if slot == WIELD_SLOT:
        return "wield", "wields"
    if slot == HOLD_SLOT:
        return "hold", "holds"
    return "wear", "wears"
