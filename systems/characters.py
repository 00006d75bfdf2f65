"""Characters entering the world: the components a new player character starts with, its
characteristics rolled from the world's seeded RNG.

A pure rule: it builds components and places them; accounts and sessions live in ``net/``.
"""

from __future__ import annotations

from components.body import Experience, Identity, Player, Posture, Vitals
from components.content import Directory
from components.items import Inventory
from components.mind import Lucidity, LucidityDrift
from components.place import Location
from engine.world import World
from systems.characteristics import max_dp_for, roll_characteristics


def create_character(
    world: World, name: str, *, account: str | None = None, room: str | None = None
) -> int:
    """Spawn a persistent player character named ``name`` in ``room`` (default: the start room),
    whole: its damage points are ``(CON + SIZ) // 5`` of the characteristics rolled for it, its
    mind lucid (the lucidity rules' ``LUCIDITY_MAX``)."""
    directory = world.resource(Directory)
    room_key = room or directory.start_room
    if room_key not in directory.rooms:
        raise KeyError(f"no room {room_key!r} to place {name} in")
    room_sid = world.stable_id(directory.rooms[room_key])
    assert room_sid is not None  # rooms are content entities, always persistent
    characteristics = roll_characteristics(world.rng)
    dp = max_dp_for(characteristics)
    return world.spawn(
        Identity(name, (name.casefold(),), f"{name} looks as lost as anyone here."),
        Player(account or name),
        Posture(),
        Vitals(dp, dp),
        characteristics,
        Experience(),
        Inventory(),
        Lucidity(),
        LucidityDrift(room=room_sid),
        Location(room_sid),
        persistent=True,
    )
