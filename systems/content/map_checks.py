"""Map checks: the world file's start room, and the map as a whole (ways back, doors that join one
pair of rooms, rooms reachable from the start). Run once every entry is read and its references
checked; pure: adds problems (mostly warnings), never reads files."""

from __future__ import annotations

from collections import deque

from systems.content.entries import Entries, Placed
from systems.content.reading import WORLD_FILE
from systems.content.schema import RoomModel, WorldModel, closest

__all__ = ["check_map", "check_world"]


def check_world(entries: Entries) -> tuple[str, str]:
    """Check the world files; return the start room (empty if unusable) and the world's name."""
    start, name = "", ""
    setters: dict[str, Placed[WorldModel]] = {}
    for world in entries.worlds:
        for key, value in (("start_room", world.model.start_room), ("name", world.model.name)):
            if not value:
                continue
            if key in setters:
                entries.error(
                    world.file, world.entry, key, f"{key} is already set in {setters[key].file}"
                )
                continue
            setters[key] = world
            if key == "start_room":
                start = value
            else:
                name = value
    if "start_room" not in setters:
        if not entries.world_broken:
            file = entries.worlds[0].file if entries.worlds else WORLD_FILE
            entries.error(
                file,
                "world",
                "start_room",
                'missing: set [world] start_room = "<room id>" in world.toml: where new'
                " characters wake and the dead return",
            )
        return "", name
    world = setters["start_room"]
    if start not in entries.rooms:
        if entries.may_be_missing("room", start):
            hint = closest(start, entries.rooms)
            entries.error(
                world.file,
                world.entry,
                "start_room",
                f"start room {start!r} does not exist"
                + (f"; did you mean {hint!r}?" if hint else ""),
            )
        return "", name
    return start, name


def check_map(entries: Entries, start: str) -> None:
    """Judge the map as a whole: ways back, doors, and what the ``start`` room reaches."""
    rooms = entries.rooms
    for room in rooms.values():
        for direction, exit_ in room.model.exits.items():
            target = rooms.get(exit_.to)
            if target is None or exit_.one_way:
                continue
            if not any(back.to == room.model.id for back in target.model.exits.values()):
                entries.warn(
                    room.file,
                    room.entry,
                    f"exits.{direction}",
                    f"no way back: {exit_.to!r} has no exit leading to {room.model.id!r}"
                    " (add one, or mark this exit one_way = true)",
                )
    if not entries.map_is_whole():
        return  # a broken room may be the missing link: judge the map once it is fixed
    _check_doors(entries)
    if not start:
        return
    reached = {start}
    queue = deque([start])
    while queue:
        for exit_ in rooms[queue.popleft()].model.exits.values():
            if exit_.to in rooms and exit_.to not in reached:
                reached.add(exit_.to)
                queue.append(exit_.to)
    by_zone: dict[str, list[Placed[RoomModel]]] = {}
    for room in rooms.values():
        by_zone.setdefault(room.zone, []).append(room)
    for zone_id, members in by_zone.items():
        lost = [room for room in members if room.model.id not in reached]
        if lost and len(lost) == len(members) and len(members) > 1:
            zone = entries.zones.get(zone_id)
            placed = zone.placed if zone is not None else None
            entries.warn(
                placed.file if placed else lost[0].file,
                placed.entry if placed else f"zone {zone_id}",
                "",
                f"none of its {len(members)} rooms can be reached from the start room {start!r}",
            )
            continue
        for room in lost:
            entries.warn(
                room.file,
                room.entry,
                "",
                f"unreachable: no way leads here from the start room {start!r}",
            )


def _check_doors(entries: Entries) -> None:
    uses: dict[str, list[tuple[Placed[RoomModel], str]]] = {door: [] for door in entries.doors}
    for room in entries.rooms.values():
        for direction, exit_ in room.model.exits.items():
            if exit_.door in uses:
                uses[exit_.door].append((room, direction))
    for door_id, used in uses.items():
        door = entries.doors[door_id]
        if not used:
            entries.warn(door.file, door.entry, "", "no exit goes through this door")
            continue
        pairs = {frozenset((r.model.id, r.model.exits[d].to)) for r, d in used}
        if len(pairs) > 1:
            joined = "; ".join(f"{r.model.id} {d} -> {r.model.exits[d].to}" for r, d in used)
            entries.warn(
                door.file,
                door.entry,
                "",
                f"a door joins one pair of rooms, but exits through it join several: {joined}",
            )
            continue
        for room, direction in used:
            exit_ = room.model.exits[direction]
            target = entries.rooms.get(exit_.to)
            if target is None or exit_.to == room.model.id:
                continue
            backs = [(d, e) for d, e in target.model.exits.items() if e.to == room.model.id]
            if backs and not any(e.door == door_id for _, e in backs):
                d, e = backs[0]
                through = f"door {e.door!r}" if e.door else "no door"
                entries.warn(
                    room.file,
                    room.entry,
                    f"exits.{direction}.door",
                    f"door {door_id!r} is not on the way back: {exit_.to!r} exits.{d}"
                    f" leads here through {through}",
                )


# conversion
