"""Decay: a loose item dropped on a floor goes after ``floor_item_decay_s`` unless someone picks it
up first, or the room or the item is permanent (what content places in a room is left alone until
it is moved). Landings are noticed through the world's feed of new locations, and decay scheduled
by due time: a tick touches only what is due. Decay removes items, by rule; it never does I/O."""

from __future__ import annotations

from dataclasses import dataclass

from components.content import Directory
from components.items import Corpse, Decay, Item
from components.place import Location, Room, RoomFlag
from engine.config.values import setting_field
from engine.events import Scope
from engine.plugins import PluginKit
from engine.scheduler import SystemContext, system
from engine.timers import ComponentTimers, component_timers
from engine.world import Additions, World
from systems.common import View, capitalised, item_data, items_in, listed
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


@dataclass(slots=True)
class _Floors:
    """The decay rule's state (a resource, transient): the feed of new locations it reads, and
    the loose items by due time (rebuilt from their ``Decay`` after a restart)."""

    landings: Additions
    timers: ComponentTimers[Decay]


def is_loose(world: World, item: int) -> int | None:
    """The room whose floor ``item`` lies loose on, if it does and may decay there: not a corpse
    (corpses rot by their own rule), not a permanent item, not in a permanent room."""
    location = world.try_get(item, Location)
    if location is None or location.slot or world.has(item, Corpse):
        return None
    room = world.entity_of(location.holder)
    if room is None:
        return None
    definition = world.try_get(room, Room)
    if definition is None or definition.has_flag(RoomFlag.PERMANENT):
        return None
    template = world.resource(Directory).items.get(world.get(item, Item).template)
    if template is not None and template.permanent:
        return None
    return room


def _floors(world: World) -> _Floors:
    floors = world.try_resource(_Floors)
    if floors is None:
        floors = _Floors(
            world.additions(Location), component_timers(world, Decay, lambda d: d.at_s)
        )
        world.insert_resource(floors)
    return floors


@system(phase="late", every_s=0.0)
def decay_floor_items(world: World, ctx: SystemContext) -> None:
    """Loose items that landed on a floor get their time; picked up, they lose it; those whose
    time has come crumble (a container spills what it held first), and the room is told."""
    floors = _floors(world)
    landed = floors.landings.drain()
    if landed:
        lasts_s = (world.try_resource(DecaySettings) or DecaySettings()).floor_item_decay_s
        for entity in landed:
            if not world.has(entity, Item):
                continue
            loose = is_loose(world, entity) is not None
            if loose and not world.has(entity, Decay):
                world.add(entity, Decay(ctx.now_s + lasts_s))
            elif not loose and world.has(entity, Decay):
                world.remove(entity, Decay)
    due = floors.timers.pop_due(world, ctx.now_s)
    if not due:
        return
    gone: dict[int, list[View]] = {}
    for item, _decay in due:
        room = is_loose(world, item)
        if room is None:
            world.remove(item, Decay)
            continue
        inside = items_in(world, item)
        if inside:
            transfer_all(world, [Portion(e, world.get(e, Item).quantity) for e in inside], room)
        gone.setdefault(room, []).append(item_data(world, item, template=True))
        world.destroy(item)
    for room, items in gone.items():
        what = capitalised(listed(i["name"] for i in items))
        verb = "crumbles" if len(items) == 1 else "crumble"
        text = f"{what} {verb} away to nothing."
        world.emit(DECAY_EVENT, Scope.room(room), text, {"items": items})


def register(kit: PluginKit) -> None:
    """Register the decay of loose items."""
    kit.system(decay_floor_items)
