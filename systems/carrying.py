"""Carrying things: ``inventory``, and ``get``, ``drop`` and ``put`` between hands, floor and
containers. Every check, and so every ``Refused``, comes before the first item moves; items
move only through :mod:`systems.stacks`. No I/O."""

from __future__ import annotations

from components.items import Container
from components.place import Location
from engine.commands import Args, Command, CommandSpec, Refused
from engine.events import Scope
from engine.plugins import PluginKit
from engine.world import World
from systems import item_rules as rules
from systems.common import (
    ITEM_CATEGORY,
    View,
    capitalised,
    display_name,
    item_data,
    items_in,
    listed,
    tell_action,
    template_of,
    the,
    worn_items,
)
from systems.corpses import check_may_take
from systems.item_finding import (
    carried_choice,
    choose_one,
    handling_room,
    matched,
    within_reach,
)
from systems.latches import check_reach_inside, container_latch
from systems.stacks import (
    carry_capacity,
    check_carry_room,
    slots_needed_in,
    transfer_all,
)
from systems.targeting import Target, read_target
from systems.whereabouts import holders_of


def open_container(world: World, actor: int, room: int, text: str) -> int:
    """A container within reach that ``text`` names, open for hands to go in."""
    found = choose_one(world, within_reach(world, actor, room), text, "here")
    container = world.try_get(found, Container)
    if container is None:
        name = capitalised(the(display_name(world, found)))
        raise Refused("not_a_container", f"{name} cannot hold anything.")
    check_reach_inside(container_latch(world, found, container))
    return found


# --------------------------------------------------------------------------------------------------
# inventory


def inventory(world: World, cmd: Command, args: Args) -> None:
    """List what the actor carries and wears, with a structured payload for rich clients.

    ``data.items`` holds every carried (``slot`` "") and worn item with its stable ``id``,
    ``template``, ``name``, ``quantity`` and ``slot``; an open container also lists its
    ``contents``. ``used`` of ``capacity`` counts carried slots.
    """
    actor = cmd.actor
    capacity = carry_capacity(world, actor)
    carried = items_in(world, actor)
    worn = worn_items(world, actor)
    if carried:
        lines = [f"You are carrying ({len(carried)}/{capacity}):"]
    else:
        lines = [f"You are carrying nothing (0/{capacity})."]
    entries: list[View] = []
    for entity in (*carried, *worn):
        slot = world.get(entity, Location).slot
        if worn and entity == worn[0]:
            lines.append("You are wearing:")
        entry, line = _inventory_entry(world, entity, slot)
        entries.append(entry)
        lines.append(line)
    data = {"action": "inventory", "items": entries, "capacity": capacity, "used": len(carried)}
    world.emit("msg", Scope.entity(actor), "\n".join(lines), data)


def _inventory_entry(world: World, entity: int, slot: str) -> tuple[View, str]:
    """One inventory line: its structured form and its text."""
    entry: View = {**item_data(world, entity, template=True), "slot": slot}
    line = f"  {display_name(world, entity)}"
    if slot:
        line += f" {rules.slot_phrase(slot)}"
    container = world.try_get(entity, Container)
    if container is not None:
        entry["closed"] = container.closed
        if container.closed:
            line += " (closed)"
        else:
            inside = items_in(world, entity)
            entry["contents"] = [item_data(world, e, template=True) for e in inside]
            names = [display_name(world, e) for e in inside]
            line += f", holding {listed(names)}" if names else " (empty)"
    return entry, line


# --------------------------------------------------------------------------------------------------
# get / take


def get(world: World, cmd: Command, args: Args) -> None:
    """Pick things up from the floor, or take them out of a container within reach."""
    actor = cmd.actor
    room = handling_room(world, actor)
    target = read_target(args.text("item"), "bad_target")
    source, place = room, "here"
    container_text = args.opt_text("container")
    if container_text is not None:
        source = open_container(world, actor, room, container_text)
        check_may_take(world, actor, source, cmd.role)
        place = f"in {the(display_name(world, source))}"
    portions = rules.choose(_portable_matches(world, source, target, place), target, place)
    for portion in portions:
        if not rules.is_portable(template_of(world, portion.entity)):
            raise rules.not_portable(display_name(world, portion.entity))
    check_carry_room(world, actor, portions)

    moved = transfer_all(world, portions, actor)
    what = listed(m["name"] for m in moved)
    who = display_name(world, actor)
    if source == room:
        own, seen = f"You pick up {what}.", f"{who} picks up {what}."
    else:
        container = the(display_name(world, source))
        own, seen = f"You take {what} from {container}.", f"{who} takes {what} from {container}."
    data = {"items": moved, "from": None if source == room else world.stable_id(source)}
    tell_action(world, actor, room, "get", own, seen, data)


def _portable_matches(
    world: World, source: int, target: Target, place: str
) -> list[tuple[int, int]]:
    """What ``target`` matches in ``source``; for "get all", only what can be carried (fixtures
    stay where they are), and ``Refused`` if that leaves nothing of what matched."""
    found = matched(world, items_in(world, source), target)
    if not target.every:
        return found
    portable = [m for m in found if rules.is_portable(template_of(world, m[0]))]
    if found and not portable:
        if not target.words:
            raise Refused("no_such_item", f"There is nothing {place} that you can carry.")
        raise rules.not_portable(display_name(world, found[0][0]))
    return portable


# --------------------------------------------------------------------------------------------------
# drop


def drop(world: World, cmd: Command, args: Args) -> None:
    """Put carried things down on the floor, where identical ones join the stack already there."""
    actor = cmd.actor
    room = handling_room(world, actor)
    target = read_target(args.text("item"), "bad_target")
    portions = carried_choice(world, actor, target)

    moved = transfer_all(world, portions, room)
    what = listed(m["name"] for m in moved)
    who = display_name(world, actor)
    own, seen = f"You drop {what}.", f"{who} drops {what}."
    tell_action(world, actor, room, "drop", own, seen, {"items": moved})


# --------------------------------------------------------------------------------------------------
# put


def put(world: World, cmd: Command, args: Args) -> None:
    """Put carried things into a container within reach (a chest, a carried or worn backpack)."""
    actor = cmd.actor
    room = handling_room(world, actor)
    target = read_target(args.text("item"), "bad_target")
    container = open_container(world, actor, room, args.text("container"))
    container_name = display_name(world, container)
    holders = holders_of(world, container)
    carried = items_in(world, actor)
    if target.every:  # "put all in bag" leaves the bag, and whatever holds it, out
        carried = [e for e in carried if e != container and e not in holders]
    portions = carried_choice(world, actor, target, carried)
    for portion in portions:
        name = display_name(world, portion.entity)
        rules.check_nesting(portion.entity, name, container, container_name, holders)
    capacity = world.get(container, Container).capacity
    used = len(items_in(world, container))
    needed = slots_needed_in(world, container, portions)
    rules.check_container_room(container_name, used, capacity, needed)

    moved = transfer_all(world, portions, container)
    what = listed(m["name"] for m in moved)
    into = the(display_name(world, container))
    who = display_name(world, actor)
    own, seen = f"You put {what} in {into}.", f"{who} puts {what} in {into}."
    data = {"items": moved, "into": world.stable_id(container)}
    tell_action(world, actor, room, "put", own, seen, data)


def register(kit: PluginKit) -> None:
    """Register ``inventory``, ``get``, ``drop`` and ``put``."""
    for spec in (
        CommandSpec(
            verb="inventory",
            handler=inventory,
            category=ITEM_CATEGORY,
            aliases=("i", "inv"),
            help="List what you carry and what you wear or wield.",
        ),
        CommandSpec(
            verb="get",
            handler=get,
            category=ITEM_CATEGORY,
            usage="<item...> [from <container...>]",
            aliases=("take",),
            help=(
                "Pick something up, or take it out of a container you can reach. "
                "'get all', 'get all.coin', 'get 3 coins', 'get 2.knife', "
                "'get key from chest'."
            ),
        ),
        CommandSpec(
            verb="drop",
            handler=drop,
            category=ITEM_CATEGORY,
            usage="<item...>",
            help="Put something you carry down on the floor: 'drop knife', 'drop 2 coins', "
            "'drop all'.",
        ),
        CommandSpec(
            verb="put",
            handler=put,
            category=ITEM_CATEGORY,
            usage="<item...> in <container...>",
            help="Put something you carry into an open container you can reach: "
            "'put key in backpack', 'put all.coin in chest'.",
        ),
    ):
        kit.command(spec)
