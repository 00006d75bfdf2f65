"""Borders between shards: a thing that enters a room of a zone this process does not simulate
leaves this process's world, with everything it holds, to be handed to the shard that does.

Runs only in a sharded world (the shell inserts a :class:`engine.territory.Territory`); a single
server has no borders and this rule does nothing. One rule covers every way of crossing: walking,
fleeing, being thrown, teleported or summoned, a character logging in where it left. Pure: the
things go out as a :class:`engine.inputs.Departure` in an event, and the shell does the sending.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from components.body import Identity, Npc, Offline, Player
from components.content import Directory
from components.place import Location, Room
from engine.events import Scope
from engine.inputs import HANDED_OFF_EVENT, Departure
from engine.plugins import PluginKit
from engine.scheduler import SystemContext, system
from engine.territory import Arrivals, Territory
from engine.world import Additions, World
from systems.common import capitalised
from systems.look import seen_as, show_room
from systems.whereabouts import MAX_NESTING, contents, room_of


@dataclass(slots=True)
class NpcsElsewhere:
    """The NPCs this world let go of to other shards (at its first tick, or as they crossed),
    by stable id, with the ``(template, home room)`` of their spawn rule (a resource,
    transient): the spawn rules count them as alive, so that an NPC that fled over a border is
    not made again beside itself. One that dies over there is never heard of, and stays
    counted (docs/scaling.md, *Limits*)."""

    npcs: dict[int, tuple[str, str]] = field(default_factory=dict)


def _note_npcs_leaving(world: World, things: list[int]) -> None:
    leaving = {
        sid: (npc.template, npc.home_room)
        for thing in things
        if (npc := world.try_get(thing, Npc)) is not None
        and (sid := world.stable_id(thing)) is not None
    }
    if leaving:
        elsewhere = world.try_resource(NpcsElsewhere)
        if elsewhere is None:
            elsewhere = NpcsElsewhere()
            world.insert_resource(elsewhere)
        elsewhere.npcs.update(leaving)


@dataclass(slots=True)
class _Settled:
    """Marks a shard's world as cleared of other shards' things (a resource, transient)."""


@dataclass(slots=True)
class _Moves:
    """The rule's state (a resource, transient): the feed of things that moved, and the zones
    this shard held when it last looked."""

    moved: Additions
    held: frozenset[str] | None = None


def held_within(world: World, entity: int) -> list[int]:
    """Everything inside ``entity``, however deep (what it carries and wears, what is inside
    those), outermost first; a corrupt cycle stops at :data:`MAX_NESTING` levels."""
    found: list[int] = []
    layer = [entity]
    for _ in range(MAX_NESTING):
        layer = [inner for holder in layer for inner in contents(world, holder)]
        if not layer:
            break
        found.extend(layer)
    return found


def foreign_zone(world: World, entity: int, territory: Territory) -> str | None:
    """The zone ``entity`` stands in, if it stands in a room of a zone another shard simulates;
    None if it is inside something else (it goes where its holder goes), at home, or in a zone
    no shard has (it stays here)."""
    location = world.try_get(entity, Location)
    holder = world.entity_of(location.holder) if location is not None else None
    room = world.try_get(holder, Room) if holder is not None else None
    if room is None or not territory.other_shards_hold(room.zone):
        return None
    return room.zone


def cross(world: World, entity: int, zone: str) -> None:
    """Take ``entity`` and all it holds out of this world, for zone ``zone``'s shard. Transient
    things inside it (a phantom of the mind) cannot travel and end here."""
    bundle = [entity, *held_within(world, entity)]
    travelling = [thing for thing in bundle if world.is_persistent(thing)]
    world.destroy_all(thing for thing in bundle if not world.is_persistent(thing))
    _note_npcs_leaving(world, travelling)
    departure = Departure(zone, tuple(world.evict(travelling)))
    world.emit(HANDED_OFF_EVENT, Scope.entity(entity), data={"departure": departure})


@system(phase="late", every_s=0.0)
def send_across_borders(world: World, ctx: SystemContext) -> None:
    """Whatever entered a room of another shard's zone this tick goes to that shard; when one
    of this shard's zones has been given to another (``kadath cluster move``), everything in it
    goes too."""
    moves = world.try_resource(_Moves)
    if moves is None:
        moves = _Moves(world.additions(Location))
        world.insert_resource(moves)
    moved = moves.moved.drain()
    territory = world.try_resource(Territory)
    if territory is None:
        return
    if moves.held is None:
        moves.held = territory.zones
    released = (moves.held - territory.zones) & territory.elsewhere
    moves.held = territory.zones
    for entity in moved:
        if not world.exists(entity) or world.stable_id(entity) is None:
            continue  # gone again within the tick, or carried off with its holder already
        zone = foreign_zone(world, entity, territory)
        if zone is not None:
            cross(world, entity, zone)
    if released:
        for entity, zone in strangers(world, territory):
            if zone in released and world.exists(entity):
                cross(world, entity, zone)


def _zone_of_room(world: World, room_sid: int) -> str | None:
    room = world.entity_of(room_sid)
    found = world.try_get(room, Room) if room is not None else None
    return found.zone if found is not None else None


def strangers(world: World, territory: Territory) -> list[tuple[int, str]]:
    """Things standing in other shards' zones, and characters out of the world who would wake
    there, with the zone: what a shard that restored the whole saved world must let go of, and
    what it hands on when it gives a zone away."""
    found = [
        (entity, zone)
        for entity, location in world.query(Location)
        if (zone := _zone_of_room(world, location.holder)) is not None and not territory.holds(zone)
    ]
    found += [
        (character, zone)
        for character, offline in world.query(Offline)
        if (zone := _zone_of_room(world, offline.room)) is not None and not territory.holds(zone)
    ]
    return found


@system(phase="early", every_s=0.0)
def let_go_of_other_zones(world: World, ctx: SystemContext) -> None:
    """At a shard's first tick: every shard restores the whole saved world, and what lies in
    another's zones is that one's to simulate and save. Let go of it (evicted, not deleted),
    before any rule runs on it."""
    territory = world.try_resource(Territory)
    if territory is None or world.try_resource(_Settled) is not None:
        return
    world.insert_resource(_Settled())
    directory = world.try_resource(Directory)
    start = directory.rooms.get(directory.start_room) if directory is not None else None
    if start is not None:
        world.insert_resource(replace(territory, start_zone=world.get(start, Room).zone))
    for entity, _zone in strangers(world, territory):
        if world.exists(entity) and world.is_persistent(entity):
            bundle = [entity, *held_within(world, entity)]
            world.destroy_all(thing for thing in bundle if not world.is_persistent(thing))
            let_go = [thing for thing in bundle if world.is_persistent(thing)]
            _note_npcs_leaving(world, let_go)
            world.evict(let_go)


@system(phase="early", every_s=0.0, after=("let_go_of_other_zones",))
def welcome_arrivals(world: World, ctx: SystemContext) -> None:
    """Who came in from another shard is shown where they are now, with everyone there, and
    that room sees them arrive (the shard they left told only its own side)."""
    arrivals = world.try_resource(Arrivals)
    if arrivals is None or not arrivals.sids:
        return
    sids, arrivals.sids = arrivals.sids, []
    for sid in sids:
        entity = world.entity_of(sid)
        room = room_of(world, entity) if entity is not None else None
        if entity is None or room is None or not world.has(entity, Identity):
            continue
        name, seen_id = seen_as(world, room, entity)
        world.emit(
            "arrive",
            Scope.room(room),
            f"{capitalised(name)} arrives.",
            {"who": name, "id": seen_id},
            exclude=(entity,),
        )
        if world.has(entity, Player):
            show_room(world, entity)


def simulated_elsewhere(world: World, room: int) -> bool:
    """Whether another shard of a sharded world simulates ``room``: a step into it takes the
    walker there (the room is drawn for them by that shard, with what stands in it), and what
    happens in it (NPCs filling it) is that shard's to do. Never on a single server."""
    territory = world.try_resource(Territory)
    found = world.try_get(room, Room)
    return territory is not None and found is not None and territory.other_shards_hold(found.zone)


def register(kit: PluginKit) -> None:
    """Register the border rules of a sharded world."""
    kit.system(let_go_of_other_zones)
    kit.system(welcome_arrivals)
    kit.system(send_across_borders)
