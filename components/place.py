"""Places: rooms, exits, doors and where everything is.

Plain data only. Rooms, exits and door definitions come from content files and are rebuilt at every
start (transient); where things are and the state of doors change in play and are persistent.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from engine.component import Component, persistent


class Environment(StrEnum):
    """What kind of place a room is; rules (lucidity, NPC spawns, light) read it."""

    SANCTUARY = "sanctuary"
    STREET = "street"
    INDOORS = "indoors"
    WILDERNESS = "wilderness"
    GRAVEYARD = "graveyard"
    HAUNTED = "haunted"
    ELDRITCH = "eldritch"
    VOID = "void"


class RoomFlag(StrEnum):
    NO_COMBAT = "no_combat"
    SAFE = "safe"
    DARK = "dark"
    REST_LOCATION = "rest_location"
    PERMANENT = "permanent"  # what is left on the floor here never decays
    OUTDOORS = "outdoors"  # under the open sky: weather, stars and moon reach it


#: Directions in the order exits are listed, with their full names and opposites.
DIRECTIONS: tuple[str, ...] = ("n", "ne", "e", "se", "s", "sw", "w", "nw", "up", "down")
DIRECTION_NAMES: dict[str, str] = {
    "n": "north",
    "ne": "northeast",
    "e": "east",
    "se": "southeast",
    "s": "south",
    "sw": "southwest",
    "w": "west",
    "nw": "northwest",
    "up": "up",
    "down": "down",
}
OPPOSITE: dict[str, str] = {
    "n": "s",
    "s": "n",
    "e": "w",
    "w": "e",
    "ne": "sw",
    "sw": "ne",
    "nw": "se",
    "se": "nw",
    "up": "down",
    "down": "up",
}
#: Every word a player may use for a direction, mapped to its short form.
DIRECTION_WORDS: dict[str, str] = {
    **{short: short for short in DIRECTIONS},
    **{name: short for short, name in DIRECTION_NAMES.items()},
    "u": "up",
    "d": "down",
}


def parse_direction(word: str) -> str | None:
    """The short form of a direction word (``North`` -> ``n``), or None."""
    return DIRECTION_WORDS.get(word.strip().casefold())


@dataclass(frozen=True, slots=True)
class Exit:
    """A way out of a room. ``door`` names a door entity's key; ``one_way`` exits have no return."""

    direction: str
    to: str
    door: str | None = None
    one_way: bool = False


@dataclass(frozen=True, slots=True)
class FluxOverride:
    """A builder's lucidity flux for a room or a zone, per game minute, by day and by night; a
    rate left None is the environment's (or, for a room, its zone's)."""

    day: float | None = None
    night: float | None = None

    def over(self, other: FluxOverride | None) -> FluxOverride:
        """These rates, each one left None taken from ``other`` (a room's over its zone's)."""
        if other is None:
            return self
        return FluxOverride(
            other.day if self.day is None else self.day,
            other.night if self.night is None else self.night,
        )


@dataclass(slots=True)
class Room(Component):
    """A room's content definition. Transient: rebuilt from the data files at every start.
    ``lucidity_flux`` is the builder's override of its environment's flux (its zone's merged in),
    if any."""

    key: str
    name: str
    description: str
    zone: str
    subzone: str = ""
    environment: Environment = Environment.STREET
    flags: frozenset[str] = frozenset()
    exits: dict[str, Exit] = field(default_factory=dict)
    lucidity_flux: FluxOverride | None = None

    def has_flag(self, flag: RoomFlag) -> bool:
        return flag in self.flags


@dataclass(slots=True)
class Zone(Component):
    """A zone's content definition (transient): one entity per zone, with a stable id derived
    from its key, so that what plugins keep about a zone (its weather) is saved on it and found
    again at the next start, whatever zones were added since."""

    key: str
    name: str
    description: str = ""


@persistent("location")
@dataclass(frozen=True, slots=True)
class Location(Component):
    """Where an entity is: inside ``holder`` (the stable id of a room, character or container).

    ``slot`` is empty for "in" (on the floor, carried, inside a container) or names the equipment
    slot an item is worn in. Immutable, so moving means replacing it: the world's index of
    entities by holder (who and what is here) can then never go stale, and an item can never be
    in two places.
    """

    holder: int
    slot: str = ""


@dataclass(slots=True)
class DoorInfo(Component):
    """A door's content definition (transient). Both exits it stands in name it by ``key``."""

    key: str
    name: str
    key_template: str = ""


@persistent("door")
@dataclass(slots=True)
class Door(Component):
    """A door's state, which players change and the database keeps."""

    closed: bool = True
    locked: bool = False
