"""The rulebook of items: what may be picked, carried, put, worn, opened and locked.

Pure functions over plain values (component fields, template fields, counts): each returns either
the outcome to carry out or a :class:`Refusal` that says, in the player's words, why not.
Nothing here reads or changes the world, emits events or does I/O; :mod:`systems.items` finds
the things, asks these rules, and applies what they allow.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence, Set
from dataclasses import dataclass, replace

from components.content import ItemTemplate
from components.items import LockState
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


# --------------------------------------------------------------------------------------------------
# Outcomes


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a command does nothing: a stable ``code`` for clients and a ``message`` for players."""

    code: str
    message: str


@dataclass(frozen=True, slots=True)
class Portion:
    """Part of what a command moves: ``quantity`` of the item ``entity`` (all of it, or a split)."""

    entity: int
    quantity: int


@dataclass(frozen=True, slots=True)
class Latch:
    """What the open/close/lock rules need of a door or a container.

    ``name`` is how a sentence names it ("the oak chest"); ``key_template`` is the template of the
    key that fits, empty when it has no lock.
    """

    name: str
    closed: bool
    lock: LockState
    key_template: str

    @property
    def locked(self) -> bool:
        return self.lock != LockState.UNLOCKED


# --------------------------------------------------------------------------------------------------
# Words


def things(count: int) -> str:
    return f"{count} more thing" if count == 1 else f"{count} more things"


# --------------------------------------------------------------------------------------------------
# Choosing what a target names


def choose(
    matched: Sequence[tuple[int, int]], target: Target, place: str
) -> list[Portion] | Refusal:
    """The portions of ``matched`` that ``target`` names; ``matched`` is ``(entity, quantity)``.

    "all"/"all.coin" take every match whole; "2.knife" takes the second match whole; "3 coins"
    takes three units from the matches in order (from the ordinal-th on), splitting the last
    stack it touches. ``place`` ends the refusal: "here", "in the oak chest", "in your inventory".
    """
    words = f"'{target.describe()}'"
    if not matched:
        if not target.words:
            return Refusal("no_such_item", f"There is nothing {place}.")
        return Refusal("no_such_item", f"There is no {words} {place}.")
    if target.every:
        return [Portion(entity, quantity) for entity, quantity in matched]
    if target.ordinal > len(matched):
        verb = "is" if len(matched) == 1 else "are"
        return Refusal("no_such_item", f"There {verb} only {len(matched)} {words} {place}.")
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
    return Refusal("not_enough", f"There {verb} only {available} of {words} {place}.")


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


def check_inventory_room(used: int, capacity: int, needed: int) -> Refusal | None:
    """A character carries at most ``capacity`` item slots (worn things do not count)."""
    if used + needed <= capacity:
        return None
    free = max(capacity - used, 0)
    return Refusal(
        "inventory_full",
        f"You cannot carry that much: you have room for {things(free)} "
        f"(you carry {used} of {capacity}).",
    )


def check_container_room(name: str, used: int, capacity: int, needed: int) -> Refusal | None:
    """A container holds at most its ``capacity`` item slots."""
    if used + needed <= capacity:
        return None
    free = max(capacity - used, 0)
    return Refusal(
        "container_full",
        f"{capitalised(the(name))} has room for only {things(free)} "
        f"(it holds {used} of {capacity}).",
    )


# --------------------------------------------------------------------------------------------------
# Taking, putting, wearing


def is_portable(template: ItemTemplate | None) -> bool:
    """Only portable things can be picked up (a chest, a statue cannot). An item whose template
    is missing from the content counts as portable, so that players can clear it away."""
    return template is None or template.portable


def not_portable(name: str) -> Refusal:
    return Refusal("not_portable", f"You cannot pick up {the(name)}: it will not budge.")


def check_reach_inside(latch: Latch) -> Refusal | None:
    """Things go into and out of a container only while it is open."""
    if not latch.closed:
        return None
    if latch.locked:
        return Refusal("locked", f"{capitalised(the(latch.name))} is closed and locked.")
    return Refusal("closed", f"{capitalised(the(latch.name))} is closed.")


def check_nesting(
    item: int, item_name: str, container: int, container_name: str, container_holders: Iterable[int]
) -> Refusal | None:
    """A container never goes into itself, nor into anything inside it (the holders of
    ``container``, innermost first, must not include ``item``)."""
    if item == container:
        return Refusal("container_loop", f"You cannot put {the(item_name)} inside itself.")
    if item in container_holders:
        return Refusal(
            "container_loop",
            f"You cannot put {the(item_name)} into {the(container_name)}: "
            f"{the(container_name)} is inside it.",
        )
    return None


def check_equip(name: str, slot: str, occupant: str | None) -> Refusal | None:
    """An item goes on only in its template's slot, and only if nothing is there already."""
    if not slot:
        return Refusal("wrong_slot", f"You cannot wear or wield {the(name)}.")
    if occupant is not None:
        where = SLOT_PHRASES.get(slot, f"in your {slot.replace('_', ' ')} slot")
        return Refusal("slot_taken", f"You already have {occupant} {where}: remove it first.")
    return None


def equip_verb(slot: str) -> tuple[str, str]:
    """The second- and third-person verbs for equipping into ``slot``: ("wield", "wields")."""
    if slot == WIELD_SLOT:
        return "wield", "wields"
    if slot == HOLD_SLOT:
        return "hold", "holds"
    return "wear", "wears"


def slot_phrase(slot: str) -> str:
    return SLOT_PHRASES.get(slot, f"in your {slot.replace('_', ' ')} slot")


# --------------------------------------------------------------------------------------------------
# Opening, closing, locking


def open_latch(latch: Latch) -> Latch | Refusal:
    """A closed, unlocked door or container opens."""
    if not latch.closed:
        return Refusal("already_open", f"{capitalised(the(latch.name))} is already open.")
    if latch.locked:
        return Refusal("locked", f"{capitalised(the(latch.name))} is locked.")
    return replace(latch, closed=False)


def close_latch(latch: Latch) -> Latch | Refusal:
    """An open door or container closes."""
    if latch.closed:
        return Refusal("already_closed", f"{capitalised(the(latch.name))} is already closed.")
    return replace(latch, closed=True)


def lock_latch(latch: Latch, keys_held: Set[str]) -> Latch | Refusal:
    """A closed, unlocked thing with a lock locks, if a key that fits is carried."""
    name = capitalised(the(latch.name))
    if latch.locked:
        return Refusal("already_locked", f"{name} is already locked.")
    if not latch.key_template:
        return Refusal("no_lock", f"{name} has no lock.")
    if not latch.closed:
        return Refusal("not_closed", f"{name} is open: close it first.")
    if latch.key_template not in keys_held:
        return Refusal("no_key", f"You have no key that fits {the(latch.name)}.")
    return replace(latch, lock=LockState.LOCKED)


def unlock_latch(latch: Latch, keys_held: Set[str]) -> Latch | Refusal:
    """A locked thing unlocks with a key that fits; a sealed one with no key at all."""
    name = capitalised(the(latch.name))
    if latch.lock == LockState.UNLOCKED:
        return Refusal("not_locked", f"{name} is not locked.")
    if latch.lock == LockState.SEALED:
        return Refusal("sealed", f"{name} is sealed: no key will open it.")
    if not latch.key_template or latch.key_template not in keys_held:
        return Refusal("no_key", f"You have no key that fits {the(latch.name)}.")
    return replace(latch, lock=LockState.UNLOCKED)
