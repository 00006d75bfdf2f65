"""Decay: a loose item dropped on a floor goes after ``floor_item_decay_s`` unless picked up first
or permanent. Landings come from the world's feed of new locations, decay is scheduled by due
time, a tick touches only what is due; it removes items by rule, and never does I/O."""

from __future__ import annotations

import operator
from dataclasses import dataclass

from components.content import Directory, ItemKind, ItemTemplate
from components.items import Decay, Item
from components.place import Location, Room, RoomFlag
from engine.config import setting_field
from engine.events import Scope
from engine.plugins import PluginKit
from engine.scheduler import SystemContext, system
from engine.timers import ComponentTimers, component_timers
from engine.world import Additions, World
from systems.common import View, capitalised, items_in, listed, quantity_name
from systems.corpses import CORPSE_TEMPLATE
from systems.item_rules import Portion
from systems.stacks import transfer_all

__all__ = ["DECAY_EVENT", "DecaySettings", "decay_floor_items", "is_loose", "register"]

#: The event type of items crumbling on a floor (a ``msg`` with ``data.event`` "decay").
DECAY_EVENT = "decay"


@dataclass(frozen=True, slots=True)
class DecaySettings:
    """How long dropped things last (the ``[decay]`` section)."""

    floor_item_decay_s: float = setting_field(
        1800.0,
        "How long a loose item dropped on a floor lasts before it crumbles away, unless picked"
        " up (or the room or the item is permanent).",
        unit="s",
        gt=0,
    )


#: A loose item's due point (an attribute getter: read for every item that comes due).
DECAY_DUE = operator.attrgetter("at_s")


@dataclass(slots=True)
class _Floors:
    """The decay rule's state (a resource, transient): the feed of new locations it reads, and
    the loose items by due time (rebuilt from their ``Decay`` after a restart)."""

    landings: Additions
    timers: ComponentTimers[Decay]


class _Judge:
    """Where things may decay, judged once per room and per template within one run (a tick
    where a thousand things crumble asks about a few rooms and kinds of thing, many times)."""

    __slots__ = ("_rooms", "_templates", "world")

    def __init__(self, world: World) -> None:
        self.world = world
        self._rooms: dict[int, int | None] = {}
        self._templates = world.resource(Directory).items

    def loose_in(self, item: int) -> int | None:
        """The room whose floor ``item`` lies loose on, if it does and may decay there: not a
        corpse (corpses rot by their own rule), not a permanent item, not in a permanent room."""
        found = self.loose(item)
        return None if found is None else found[0]

    def loose(self, item: int) -> tuple[int, Item, ItemTemplate | None] | None:
        """:meth:`loose_in`'s room, with the item and its template (None if content lost it)."""
        world = self.world
        location = world.try_get(item, Location)
        thing = world.try_get(item, Item)
        if location is None or thing is None or location.slot:
            return None
        holder = location.holder
        if holder in self._rooms:
            room = self._rooms[holder]
        else:
            room = self._rooms[holder] = self._decaying_room(holder)
        if room is None or thing.template == CORPSE_TEMPLATE.id:
            return None
        template = self._templates.get(thing.template)
        if template is not None and template.permanent:
            return None
        return room, thing, template

    def _decaying_room(self, holder: int) -> int | None:
        room = self.world.entity_of(holder)
        definition = self.world.try_get(room, Room) if room is not None else None
        if definition is None or definition.has_flag(RoomFlag.PERMANENT):
            return None
        return room


def is_loose(world: World, item: int) -> int | None:
    """The room whose floor ``item`` lies loose on, if it does and may decay there: not a corpse
    (corpses rot by their own rule), not a permanent item, not in a permanent room."""
    return _Judge(world).loose_in(item)


def _floors(world: World) -> _Floors:
    floors = world.try_resource(_Floors)
    if floors is None:
        floors = _Floors(world.additions(Location), component_timers(world, Decay, DECAY_DUE))
        world.insert_resource(floors)
    return floors


@system(phase="late", every_s=0.0)
def decay_floor_items(world: World, ctx: SystemContext) -> None:
    """Loose items that landed on a floor get their time; picked up, they lose it; those whose
    time has come crumble (a container spills what it held first), and the room is told."""
    floors = _floors(world)
    landed = floors.landings.drain()
    if landed:
        judge = _Judge(world)
        lasts_s = (world.try_resource(DecaySettings) or DecaySettings()).floor_item_decay_s
        for entity in landed:
            if not world.has(entity, Item):
                continue
            loose = judge.loose_in(entity) is not None
            if loose and not world.has(entity, Decay):
                world.add(entity, Decay(ctx.now_s + lasts_s))
            elif not loose and world.has(entity, Decay):
                world.remove(entity, Decay)
    due = floors.timers.pop_due(world, ctx.now_s)
    if due:
        _crumble(world, due)


def _crumble(world: World, items: list[tuple[int, Decay]]) -> None:
    """The items whose time has come go (a container spills what it held first); each room is
    told once of all that went there, by kind ("7 pebbles and a knife crumble away"). One no
    longer loose (picked up, in a permanent room) is spared.

    The plain things go before any container spills: what a container held lands as it would
    on a floor where those things are already gone, never merged into a pile that is crumbling
    in the same breath (which would take it unseen)."""
    judge = _Judge(world)
    gone: dict[int, dict[str, int]] = {}  # room -> template -> quantity gone
    crumbled: list[int] = []
    spilling: list[tuple[int, int]] = []  # (container, room)
    for item, _decay in items:
        found = judge.loose(item)
        if found is None:
            world.remove(item, Decay)
            continue
        room, thing, template = found
        if template is None or template.kind == ItemKind.CONTAINER:
            spilling.append((item, room))
        else:
            crumbled.append(item)
        kinds = gone.get(room)
        if kinds is None:
            kinds = gone[room] = {}
        kinds[thing.template] = kinds.get(thing.template, 0) + thing.quantity
    world.destroy_all(crumbled)
    for container, room in spilling:
        inside = items_in(world, container)
        transfer_all(world, [Portion(e, world.get(e, Item).quantity) for e in inside], room)
    world.destroy_all([container for container, _room in spilling])
    templates = world.resource(Directory).items
    for room, kinds in gone.items():
        views: list[View] = []
        for template_id, quantity in kinds.items():
            template = templates.get(template_id)
            name = quantity_name(template, quantity) if template else f"{quantity} x {template_id}"
            views.append({"template": template_id, "name": name, "quantity": quantity})
        what = capitalised(listed(view["name"] for view in views))
        verb = "crumbles" if len(views) == 1 and views[0]["quantity"] == 1 else "crumble"
        text = f"{what} {verb} away to nothing."
        world.emit(DECAY_EVENT, Scope.room(room), text, {"items": views})


def register(kit: PluginKit) -> None:
    """Register the decay of loose items."""
    kit.system(decay_floor_items)
