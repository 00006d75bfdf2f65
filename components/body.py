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
@dataclass(slots=True)
class Npc(Component):
    """Marks a non-player character spawned from the template ``template``."""

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
    """Damage points: a body dies when ``dp`` falls to its death threshold (combat rules)."""

    dp: int
    max_dp: int


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
