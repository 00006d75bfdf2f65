"""Where everything is: the chain of holders (room, body, container) from a thing up to its room,
and :func:`move`, the one way to change it. Never does I/O or keeps state of its own."""

from __future__ import annotations

from collections.abc import Collection

from components.place import Location, Room
from engine.world import World

#: How far up the holder chain a thing may be nested (a key in a box in a backpack on a body in a
#: room is 4). Guards against a corrupt cycle looping forever.
MAX_NESTING = 16


def holder_of(world: World, entity: int) -> int | None:
    """The entity that holds ``entity`` (its room, its carrier, its container), if any."""
    location = world.try_get(entity, Location)
    if location is None:
        return None
    return world.entity_of(location.holder)


def holders_of(world: World, entity: int) -> list[int]:
    """The chain of holders of ``entity``, innermost first, up to its room."""
    chain: list[int] = []
    current = holder_of(world, entity)
    while current is not None and len(chain) < MAX_NESTING:
        chain.append(current)
        current = holder_of(world, current)
    return chain


def room_of(world: World, entity: int) -> int | None:
    """The room ``entity`` is in, however deeply it is nested (the room itself for a room)."""
    current: int | None = entity
    for _ in range(MAX_NESTING):
        if current is None:
            return None
        if world.has(current, Room):
            return current
        current = holder_of(world, current)
    return None


def contents(world: World, holder: int) -> Collection[int]:
    """Entities directly inside ``holder``, in the order they arrived (a live view)."""
    sid = world.stable_id(holder)
    if sid is None:
        return ()
    return world.lookup(Location, "holder", sid)


def move(world: World, entity: int, holder: int, slot: str = "") -> None:
    """Put ``entity`` inside ``holder`` (which must be persistent: it is named by stable id)."""
    sid = world.stable_id(holder)
    if sid is None:
        raise ValueError(f"entity {holder} cannot hold things: it has no stable id")
    world.add(entity, Location(sid, slot))
