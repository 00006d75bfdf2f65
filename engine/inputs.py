"""The inputs a tick consumes besides typed commands: a player entering the world, a connection
dropping, a character being taken out, a plugin's reloaded code swapped in. Plain, immutable data
naming characters by stable id.

Every change to the world happens inside the tick, from an input in the inbox, so that a journal of
the inputs replays to the same world. The network shell submits these; the engine hands each to
the plugin-provided presence rules. Nothing here does anything: no I/O, no world access.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

__all__ = [
    "ARRIVED_EVENT",
    "ASK_ELSEWHERE_EVENT",
    "ENTERED_EVENT",
    "HANDED_OFF_EVENT",
    "LEFT_EVENT",
    "Arrival",
    "Departure",
    "DropConnection",
    "EnterWorld",
    "LeaveWorld",
    "PresenceInput",
    "ReloadPlugin",
    "Relocate",
]

ENTERED_EVENT: Final = "entered_world"
"""Emitted to a character as it enters the world from an :class:`EnterWorld`, before anything it
sees there, with ``{"account", "character"}``: the shell binds the waiting connection to it. Never
delivered to a client."""

LEFT_EVENT: Final = "left_world"
"""Emitted to a character taken out of the world, with ``{"reason"}``: the shell forgets its resume
token. Never delivered to a client."""


HANDED_OFF_EVENT: Final = "handed_off"
"""Emitted by a sharded world's border rule when it takes things out of this process's world
because they crossed into a zone another shard simulates, with ``{"departure": Departure}``: the
shell sends them on. Never delivered to a client."""

ARRIVED_EVENT: Final = "arrived_from_shard"
"""Emitted to the first entity of an :class:`Arrival` once it is in the world, with
``{"handoff"}``: the shell takes over its player's connection, if it has one. Never delivered to a
client."""

ASK_ELSEWHERE_EVENT: Final = "ask_elsewhere"
"""Emitted by a rule of a sharded world that wants a character another shard holds changed (an
admin's ``teleport`` or ``summon``), with ``{"input": Relocate}``: the shell tells the other
shards, and the one holding the character submits the input to its own tick. Never delivered to
a client."""


@dataclass(frozen=True, slots=True)
class Departure:
    """Things that left this process's world for zone ``zone``, with every component they had:
    ``entities`` holds (stable id, components) pairs, the one that crossed first, then everything
    it held. Made by the border rule inside the tick; the shell turns it into a hand-off."""

    zone: str
    entities: tuple[tuple[int, tuple[object, ...]], ...]

    @property
    def root(self) -> int:
        """The stable id of the one that crossed (a player, an NPC, a thrown thing)."""
        return self.entities[0][0]


@dataclass(frozen=True, slots=True)
class Arrival:
    """Things another shard handed over (hand-off ``handoff_id``): spawned with their stable ids
    and components, the first one being the one that crossed. Applied once: an arrival whose
    first entity is already in the world (a hand-off delivered twice) changes nothing."""

    handoff_id: str
    entities: tuple[tuple[int, tuple[object, ...]], ...]


@dataclass(frozen=True, slots=True)
class EnterWorld:
    """An authenticated player asks to play ``account``'s character (stable id ``character``; None
    when the account has none yet, and one is made). Brings it into the world, or back from
    link-death; a character already playing stays where it is."""

    account: str
    character: int | None


@dataclass(frozen=True, slots=True)
class DropConnection:
    """The connection playing ``character`` is gone: it stays in the world link-dead for
    ``grace_s`` seconds of game time (the setting at the time, recorded so that a replay does not
    depend on today's configuration), or leaves at once when ``grace_s`` is 0."""

    character: int
    grace_s: float


@dataclass(frozen=True, slots=True)
class LeaveWorld:
    """Take ``character`` out of the world, saved where it stands (server shutdown, restart)."""

    character: int
    reason: str


@dataclass(frozen=True, slots=True)
class Relocate:
    """Move ``character`` by staff power to the room whose key is ``room``, the room it leaves
    seeing it ``vanish`` and the one it enters seeing it ``appear``: an admin's ``teleport`` or
    ``summon`` of a player another shard holds, applied by that shard (whose border rule then
    hands the player on if the room lies in a third shard's zone)."""

    character: int
    room: str
    vanish: str
    appear: str


PresenceInput = EnterWorld | DropConnection | LeaveWorld | Relocate


@dataclass(frozen=True, slots=True)
class ReloadPlugin:
    """Swap a plugin's re-imported code in, between two ticks (an admin's ``reload``).

    The code was read and imported off the tick (``prepared``: an
    :class:`engine.reload.PreparedReload`), or could not be (``refused`` says why); ``by`` is the
    stable id of the admin who asked, who is told how it went. A journal keeps the plugin, the
    admin and any refusal, not the code: a replay runs the code installed when it runs."""

    plugin: str
    by: int | None
    prepared: object = None
    refused: str = ""
