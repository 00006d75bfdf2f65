"""Where everything is: the chain of holders (room, body, container) from a thing up to its room,
and :func:`move`, the one way to change it. Never does I/O or keeps state of its own."""

from __future__ import annotations

from collections.abc import Collection

from components.content import Directory
from components.place import Location, Room, RoomFlag, Zone
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


def zone_entity(world: World, zone: str) -> int | None:
    """The entity of the zone with this content key (where per-zone state is kept), if any."""
    directory = world.try_resource(Directory)
    return directory.zone_entities.get(zone) if directory is not None else None


def zone_of(world: World, entity: int) -> int | None:
    """The entity of the zone ``entity`` is in (its room's zone; a zone for a zone), if any."""
    room = room_of(world, entity)
    if room is None:
        return entity if world.has(entity, Zone) else None
    return zone_entity(world, world.get(room, Room).zone)


def is_outdoors(world: World, entity: int) -> bool:
    """Whether ``entity`` is under the open sky: its room is flagged ``outdoors``."""
    room = room_of(world, entity)
    return room is not None and world.get(room, Room).has_flag(RoomFlag.OUTDOORS)


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
