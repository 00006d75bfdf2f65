"""Equipment: wearing or wielding a carried thing in its slot (``equip``) and taking it off again
(``unequip``). Every check, and so every ``Refused``, comes before the first item moves; items
move only through :mod:`systems.stacks`. No I/O."""

from __future__ import annotations

from components.items import EQUIPMENT_SLOTS, Item
from components.place import Location
from engine.commands import Args, Command, CommandSpec, Refused
from engine.plugins import PluginKit
from engine.world import World
from systems import item_rules as rules
from systems.common import (
    ITEM_CATEGORY,
    display_name,
    items_in,
    listed,
    tell_action,
    template_of,
    worn_items,
)
from systems.item_finding import handling_room, matched, worn_match
from systems.item_rules import Portion
from systems.stacks import check_carry_room, transfer_all
from systems.targeting import Target, read_target


def equip(world: World, cmd: Command, args: Args) -> None:
    """Wear or wield a carried item in its template's slot."""
    actor = cmd.actor
    room = handling_room(world, actor)
    target = read_target(args.text("item"), "bad_target")
    rules.check_one_at_a_time(target)
    entity = _carried_to_equip(world, actor, target)
    template = template_of(world, entity)
    slot = template.slot if template is not None else ""
    occupant = next(iter(items_in(world, actor, slot)), None) if slot else None
    occupant_name = None if occupant is None else display_name(world, occupant)
    rules.check_equip(display_name(world, entity), slot, occupant_name)

    moved = transfer_all(world, [Portion(entity, rules.EQUIP_QUANTITY)], actor, slot)
    you, they = rules.equip_verb(slot)
    what = moved[0]["name"]
    who = display_name(world, actor)
    own = f"You {you} {what}."
    if you == "wear":
        own = f"You wear {what} {rules.slot_phrase(slot)}."
    data = {"items": moved, "slot": slot}
    tell_action(world, actor, room, "equip", own, f"{who} {they} {what}.", data)


def _carried_to_equip(world: World, actor: int, target: Target) -> int:
    """The carried item ``target`` names; when only something worn fits, it is already on."""
    try:
        chosen = rules.choose(
            matched(world, items_in(world, actor), target), target, "in your inventory"
        )
    except Refused as refused:
        worn = worn_match(world, actor, target) if refused.code == "no_such_item" else None
        if worn is None:
            raise
        where = rules.slot_phrase(world.get(worn, Location).slot)
        text = f"You already have {display_name(world, worn)} {where}."
        raise Refused("already_equipped", text) from None
    return chosen[0].entity


def unequip(world: World, cmd: Command, args: Args) -> None:
    """Take off worn or wielded things (named, or by their slot) and carry them."""
    actor = cmd.actor
    room = handling_room(world, actor)
    slot = "_".join(args.text("item").casefold().split())
    if slot in EQUIPMENT_SLOTS:
        in_slot = items_in(world, actor, slot)
        if not in_slot:
            raise Refused("slot_empty", f"You have nothing {rules.slot_phrase(slot)}.")
        portions = [Portion(in_slot[0], world.get(in_slot[0], Item).quantity)]
    else:
        target = read_target(args.text("item"), "bad_target")
        portions = rules.choose(matched(world, worn_items(world, actor), target), target, "on you")
    check_carry_room(world, actor, portions)

    slots = [world.get(p.entity, Location).slot for p in portions]
    moved = transfer_all(world, portions, actor)
    what = listed(m["name"] for m in moved)
    who = display_name(world, actor)
    data = {"items": moved, "slots": slots}
    tell_action(
        world, actor, room, "unequip", f"You remove {what}.", f"{who} removes {what}.", data
    )


def register(kit: PluginKit) -> None:
    """Register ``equip`` and ``unequip``."""
    kit.command(
        CommandSpec(
            verb="equip",
            handler=equip,
            category=ITEM_CATEGORY,
            usage="<item...>",
            aliases=("wear", "wield"),
            help="Wear or wield something you carry, in the slot it is made for.",
        )
    )
    kit.command(
        CommandSpec(
            verb="unequip",
            handler=unequip,
            category=ITEM_CATEGORY,
            usage="<item...>",
            aliases=("remove",),
            help="Take off something you wear or wield, named or by its slot "
            "('remove knife', 'remove main hand', 'remove all').",
        )
    )
