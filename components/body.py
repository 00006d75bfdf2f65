"""Bodies: who a character is, their posture and their vitals. Plain data only."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from engine.component import Component, persistent


class PostureState(StrEnum):
    STANDING = "standing"
    SITTING = "sitting"
    LYING = "lying"


@persistent("identity")
@dataclass(slots=True)
class Identity(Component):
    """What others see and call a character: its name, the words that find it, its description."""

    name: str
    keywords: tuple[str, ...] = ()
    description: str = ""


@persistent("player")
@dataclass(slots=True)
class Player(Component):
    """Marks a player character; ``account`` is the account's name."""

    account: str


@persistent("npc")
@dataclass(frozen=True, slots=True)
class Npc(Component):
    """Marks a non-player character made from the template ``template``; ``home_room`` is the
    room of the spawn rule that keeps it ("" for one no rule counts). Frozen, so that NPCs can be
    found by home room (the spawn rules count them so)."""

    template: str
    home_room: str = ""


@persistent("posture")
@dataclass(slots=True)
class Posture(Component):
    """Standing, sitting or lying; ``resting`` while recovering. Moving needs standing."""

    state: PostureState = PostureState.STANDING
    resting: bool = False


@persistent("vitals")
@dataclass(slots=True)
class Vitals(Component):
    """Damage points: above 0 the body is alive; from 0 down to just above the death threshold
    (``DeathSettings.dead_at_dp``) it is mortally wounded; at or below it, dead."""

    dp: int
    max_dp: int


#: The characteristics of a body, in the order a character sheet lists them: (field, abbreviation).
CHARACTERISTICS: tuple[tuple[str, str], ...] = (
    ("strength", "STR"),
    ("dexterity", "DEX"),
    ("constitution", "CON"),
    ("size", "SIZ"),
    ("power", "POW"),
    ("education", "EDU"),
)

#: A characteristic nobody set (an NPC template that leaves it out, a character saved before
#: characteristics existed): the middle of the human range.
AVERAGE_CHARACTERISTIC = 50


@persistent("characteristics")
@dataclass(frozen=True, slots=True)
class Characteristics(Component):
    """What a body is made of, each from 15 to 90 in a person (templates may give more).

    STR adds to the damage of blows, DEX decides who strikes first and who is hit, CON and SIZ
    make the damage points a character can take (``max_dp = (CON + SIZ) // 5``). POW and EDU
    are rolled and shown but no rule reads them yet.
    """

    strength: int = AVERAGE_CHARACTERISTIC
    dexterity: int = AVERAGE_CHARACTERISTIC
    constitution: int = AVERAGE_CHARACTERISTIC
    size: int = AVERAGE_CHARACTERISTIC
    power: int = AVERAGE_CHARACTERISTIC
    education: int = AVERAGE_CHARACTERISTIC


@persistent("experience")
@dataclass(slots=True)
class Experience(Component):
    """What a character has earned by defeating foes: its share of the damage they took."""

    points: int = 0


@persistent("bleeding")
@dataclass(frozen=True, slots=True)
class Bleeding(Component):
    """A mortally wounded body losing blood: it loses a damage point at ``next_bleed_s``
    (simulated seconds), and every bleed interval after, until aided or dead. A mortally wounded
    body without it has been stabilised. Frozen: each bleed replaces it, which reschedules it."""

    next_bleed_s: float


@persistent("dead")
@dataclass(frozen=True, slots=True)
class Dead(Component):
    """A player character that died and waits to wake again: by ``respawn`` or at
    ``respawn_at_s`` (simulated seconds). Its body lies in the room as a corpse; the character
    itself is seen by nobody."""

    respawn_at_s: float


@dataclass(frozen=True, slots=True)
class LinkDead(Component):
    """A player character whose connection dropped: it stays in the world, helpless, until
    ``until_s`` (simulated seconds), unless its player comes back first. Not saved: a restart
    takes every character out of the world anyway."""

    until_s: float


@persistent("offline")
@dataclass(frozen=True, slots=True)
class Offline(Component):
    """A player character out of the world (quit, or link-dead past the grace period).

    Its body waits outside every room, saved; ``room`` (a room's stable id) is where it wakes when
    its player logs in again.
    """

    room: int
