"""Characters entering the world: the components a new player character starts with.

A pure rule: it builds components and places them; accounts and sessions live in ``net/``.
"""

from __future__ import annotations

from components.body import Identity, Player, Posture, Vitals
from components.content import Directory
from components.items import Inventory
from components.place import Location
from engine.world import World

#: Damage points of a new character (the combat rules read and change them).
STARTING_DP = 20


def create_character(
    world: World, name: str, *, account: str | None = None, room: str | None = None
) -> int:
    """Spawn a persistent player character named ``name`` in ``room`` (default: the start room)."""
    directory = world.resource(Directory)
    room_key = room or directory.start_room
    if room_key not in directory.rooms:
        raise KeyError(f"no room {room_key!r} to place {name} in")
    room_sid = world.stable_id(directory.rooms[room_key])
    assert room_sid is not None  # rooms are content entities, always persistent
    return world.spawn(
        Identity(name, (name.casefold(),), f"{name} looks as lost as anyone here."),
        Player(account or name),
        Posture(),
        Vitals(STARTING_DP, STARTING_DP),
        Inventory(),
        Location(room_sid),
        persistent=True,
    )
