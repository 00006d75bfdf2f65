"""Build the live world from validated content: zones, rooms, doors, room containers, placed
items, and the plugins' content tables.

Content-defined entities get stable ids derived from their content keys, so saved state (a door
left open, a chest emptied) finds them again at the next start. Pure world-building: no I/O.
"""

from __future__ import annotations

from components.content import Content, ContentTables, Directory, ItemStack, ZoneDef
from components.items import Container, Item
from components.place import Door, DoorInfo, Exit, FluxOverride, Location, Room, Zone
from engine.ids import content_stable_id
from engine.world import World
from systems.corpses import CORPSE_TEMPLATE
from systems.stacks import item_components


class ContentIdCollision(ValueError):
    """Two content keys hash to the same stable id: rename one of them (astronomically rare)."""


def room_stable_id(room_key: str) -> int:
    return content_stable_id(f"room:{room_key}")


def zone_stable_id(zone_key: str) -> int:
    return content_stable_id(f"zone:{zone_key}")


def _flux(own: FluxOverride | None, zone: ZoneDef | None) -> FluxOverride | None:
    """A room's lucidity flux override: its own rates, each one it leaves out its zone's."""
    zone_flux = zone.lucidity_flux if zone is not None else None
    if own is None:
        return zone_flux
    return own.over(zone_flux)


def prepare_world(world: World) -> None:
    """Declare the indexes every world needs: who and what is inside each holder."""
    world.add_index(Location, "holder")


class _Builder:
    def __init__(self, world: World, directory: Directory) -> None:
        self.world = world
        self.directory = directory
        self.keys: dict[int, str] = {}

    def entity(self, key: str, *components: object) -> int:
        sid = content_stable_id(key)
        if sid in self.keys:
            raise ContentIdCollision(f"content keys {self.keys[sid]!r} and {key!r} share an id")
        self.keys[sid] = key
        return self.world.spawn(*components, stable_id=sid)

    def place(self, key: str, stack: ItemStack, holder_sid: int) -> None:
        template = self.directory.items[stack.template]
        self.entity(key, *item_components(template, stack.quantity), Location(holder_sid))


def build_world(world: World, content: Content) -> Directory:
    """Spawn the content's entities into ``world``; return the directory (also a resource)."""
    prepare_world(world)
    directory = Directory(
        items={CORPSE_TEMPLATE.id: CORPSE_TEMPLATE, **{t.id: t for t in content.items}},
        npcs={t.id: t for t in content.npcs},
        zones={z.id: z for z in content.zones},
        spawns=content.spawns,
        start_room=content.start_room or (content.rooms[0].id if content.rooms else ""),
    )
    build = _Builder(world, directory)
    for zone in content.zones:
        directory.zone_entities[zone.id] = build.entity(
            f"zone:{zone.id}", Zone(zone.id, zone.name, zone.description)
        )
    for door in content.doors:
        directory.doors[door.id] = build.entity(
            f"door:{door.id}",
            DoorInfo(door.id, door.name, door.key),
            Door(closed=door.closed, locked=door.locked),
        )
    for room in content.rooms:
        exits = {
            e.direction: Exit(e.direction, e.to, e.door or None, e.one_way) for e in room.exits
        }
        directory.rooms[room.id] = build.entity(
            f"room:{room.id}",
            Room(
                key=room.id,
                name=room.name,
                description=room.description,
                zone=room.zone,
                subzone=room.subzone,
                environment=room.environment,
                flags=frozenset(room.flags),
                exits=exits,
                lucidity_flux=_flux(room.lucidity_flux, directory.zones.get(room.zone)),
            ),
        )
    for room in content.rooms:
        room_sid = room_stable_id(room.id)
        for fixture in room.containers:
            template = directory.items[fixture.template]
            key = f"item:{fixture.key(room.id)}"
            build.entity(
                key,
                Item(fixture.template),
                Container(
                    capacity=template.capacity,
                    closed=template.closed if fixture.closed is None else fixture.closed,
                    lock=template.lock if fixture.lock is None else fixture.lock,
                    key_template=template.key,
                ),
                Location(room_sid),
            )
            for i, stack in enumerate(fixture.contents):
                build.place(f"{key}#{i}", stack, content_stable_id(key))
        for i, stack in enumerate(room.items):
            build.place(f"item:{room.id}#{i}", stack, room_sid)
    zones: dict[str, list[int]] = {}
    for room in content.rooms:
        zones.setdefault(room.zone, []).append(directory.rooms[room.id])
    directory.zone_rooms = {zone: tuple(rooms) for zone, rooms in zones.items()}
    world.insert_resource(directory)
    world.insert_resource(ContentTables({table.model: table.rows for table in content.tables}))
    return directory
