"""Items, inventories and containers. Plain data only.

An item's name, description and behaviour come from its template (content); an item instance keeps
only what can change in play: its quantity and, for containers, their state.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from engine.component import Component, persistent

#: Equipment slots, in the order a character sheet lists them.
EQUIPMENT_SLOTS: tuple[str, ...] = (
    "head",
    "neck",
    "torso",
    "back",
    "hands",
    "main_hand",
    "off_hand",
    "ring",
    "legs",
    "feet",
)

#: Carried item slots of a character without a worn container (a stack counts as one).
DEFAULT_INVENTORY_CAPACITY = 20


class LockState(StrEnum):
    UNLOCKED = "unlocked"
    LOCKED = "locked"
    SEALED = "sealed"  # cannot be unlocked by any key: opened by a rule, if ever


@persistent("item")
@dataclass(slots=True)
class Item(Component):
    """An item made from ``template``; identical stackable items merge into one with a quantity."""

    template: str
    quantity: int = 1


@persistent("container")
@dataclass(slots=True)
class Container(Component):
    """Something that holds items: a chest, a desk, a backpack, a corpse.

    ``capacity`` counts item slots (a stack is one); ``key_template`` names the template of the key
    that locks and unlocks it.
    """

    capacity: int
    closed: bool = False
    lock: LockState = LockState.UNLOCKED
    key_template: str = ""


@persistent("inventory")
@dataclass(slots=True)
class Inventory(Component):
    """A character's carrying capacity in item slots (a stack counts as one slot)."""

    capacity: int = DEFAULT_INVENTORY_CAPACITY


@persistent("corpse")
@dataclass(frozen=True, slots=True)
class Corpse(Component):
    """What is left of a body: a container of what it carried, that rots and then goes.

    ``name`` is who it was ("Armitage", "a ghoul") and ``keywords`` the words that found them.
    ``owner`` is the stable id of the player whose body it was (0 for an NPC's): only they (and
    staff) may take from it until ``grace_until_s``. It rots through ``stage`` 0 (fresh), 1
    (bloated) and 2 (putrid), and goes at ``decays_at_s``, made at ``made_at_s``: simulated
    seconds, so a restart leaves the time it has left. Frozen: a new stage replaces it.
    """

    name: str
    keywords: tuple[str, ...]
    owner: int
    made_at_s: float
    grace_until_s: float
    decays_at_s: float
    stage: int = 0


@persistent("decay")
@dataclass(frozen=True, slots=True)
class Decay(Component):
    """A loose item lying on a floor, which goes at ``at_s`` (simulated seconds) unless picked
    up first. Frozen: setting a new time replaces it, which reschedules it."""

    at_s: float
