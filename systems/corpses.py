"""Corpses: what a body leaves, who may take from it (``loot``), and how it rots and goes, spilling
what it held. Items move only through :mod:`systems.stacks`, so none is lost or made; rot is
scheduled by due time, a corpse not yet due is never looked at; no I/O."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from components.body import Identity
from components.content import Directory, ItemKind, ItemTemplate, LootDrop
from components.items import Container, Corpse, Item
from engine.commands import Args, Command, CommandSpec, Refused
from engine.config import setting_field
from engine.events import Scope
from engine.plugins import PluginKit
from engine.scheduler import SystemContext, system
from engine.timers import component_timers
from engine.world import World
from systems import item_rules as rules
from systems.common import (
    ITEM_CATEGORY,
    View,
    capitalised,
    corpse_name,
    display_name,
    items_in,
    listed,
    tell_action,
    worn_items,
)
from systems.item_finding import choose_one, handling_room
from systems.item_rules import Portion
from systems.stacks import carry_capacity, item_components, slots_needed_in, transfer, transfer_all
from systems.whereabouts import holder_of, move

__all__ = [
    "CORPSE_TEMPLATE",
    "CorpseSettings",
    "add_loot",
    "check_may_take",
    "make_corpse",
    "register",
    "rot_corpses",
]

CORPSE_TEMPLATE = ItemTemplate(
    id="corpse",
    name="a corpse",
    keywords=("corpse", "body", "remains"),
    description=(
        "What is left of someone, or something: cold, still, and already going the way of all"
        " flesh."
    ),
    kind=ItemKind.CONTAINER,
    portable=False,
    capacity=1,
)
"""The item template every corpse is made from (its name comes from its ``Corpse``). The world
builder adds it to every world; the id ``corpse`` is reserved in content."""

#: A corpse holds what its body held, and at least this many item slots besides.
CORPSE_SPARE_SLOTS = 5


@dataclass(frozen=True, slots=True)
class CorpseSettings:
    """How long a corpse is its owner's, and how long it lasts (the ``[corpses]`` section)."""

    corpse_grace_s: float = setting_field(
        300.0,
        "How long only its owner (and staff) may take from a player's corpse; anyone may after.",
        unit="s",
        ge=0,
    )
    player_corpse_decay_s: float = setting_field(
        3600.0,
        "How long a player's corpse lasts before it crumbles and spills what it held.",
        unit="s",
        gt=0,
    )
    npc_corpse_decay_s: float = setting_field(
        300.0,
        "How long an NPC's corpse lasts before it crumbles and spills what it held.",
        unit="s",
        gt=0,
    )
    bloated_at: float = setting_field(
        0.5,
        "Share of its time after which a corpse bloats (the room is told).",
        gt=0,
        le=1,
    )
    putrid_at: float = setting_field(
        0.85,
        "Share of its time after which a corpse turns putrid (the room is told); after bloated_at.",
        gt=0,
        le=1,
    )


#: What the room is told at each stage of rot: stage reached -> "{Corpse} ...".
ROT_WORDS: dict[int, str] = {
    1: "{corpse} has begun to bloat, and the smell of it fills the air.",
    2: "{corpse} is putrid now, and something small moves under the skin.",
}
#: The event type of a corpse's rot and end, to its room (a ``msg`` with ``data.event`` "rot").
ROT_EVENT = "rot"
CRUMBLE_WORDS = "{corpse} collapses into a stinking ruin and is gone."
SPILL_WORDS = " What it held falls to the ground: {what}."


def corpse_settings(world: World) -> CorpseSettings:
    return world.try_resource(CorpseSettings) or CorpseSettings()


def make_corpse(
    world: World, body: int, room: int, *, owner: int, lasts_s: float, grace_s: float
) -> int:
    """Lay ``body``'s corpse in ``room`` holding everything it carried and wore; return it.

    ``owner`` is the stable id of a player whose corpse it is (0: anyone may take from it); it is
    theirs for ``grace_s`` seconds and lasts ``lasts_s``. Items move through
    :func:`systems.stacks.transfer`, so none is lost or made.
    """
    now = world.clock.seconds
    identity = world.try_get(body, Identity)
    name = identity.name if identity is not None else display_name(world, body)
    keywords = identity.keywords if identity is not None else ()
    held = [*items_in(world, body), *worn_items(world, body)]
    corpse = world.spawn(
        Item(CORPSE_TEMPLATE.id),
        Container(max(len(held), 1) + CORPSE_SPARE_SLOTS),
        Corpse(name, keywords, owner, now, now + grace_s, now + lasts_s),
        persistent=True,
    )
    move(world, corpse, room)
    transfer_all(world, [Portion(item, world.get(item, Item).quantity) for item in held], corpse)
    return corpse


def add_loot(world: World, corpse: int, loot: tuple[LootDrop, ...]) -> list[View]:
    """Roll each drop of ``loot`` in turn from the world's RNG and put what comes up in
    ``corpse`` (joining a stack of the same there); return what was added, as clients see it.
    Loot is made by rule: the one way items come into the world besides content."""
    templates = world.resource(Directory).items
    added: list[View] = []
    for drop in loot:
        if world.rng.random() >= drop.chance:
            continue
        template = templates.get(drop.template)
        if template is None:
            continue
        made = world.spawn(*item_components(template, drop.quantity), persistent=True)
        name = display_name(world, made)
        landed = transfer(world, Portion(made, drop.quantity), corpse)
        added.append(
            {
                "id": world.stable_id(landed),
                "template": template.id,
                "name": name,
                "quantity": drop.quantity,
            }
        )
    container = world.get(corpse, Container)
    container.capacity = max(container.capacity, len(items_in(world, corpse)))
    return added


# --------------------------------------------------------------------------------------------------
# Who may take from a corpse


def check_may_take(world: World, actor: int, container: int, role: str) -> None:
    """``Refused`` when ``container`` is a player's corpse still in its grace and ``actor`` is
    neither its owner nor staff (``role`` admin)."""
    corpse = world.try_get(container, Corpse)
    if corpse is None or not corpse.owner or role == "admin":
        return
    if world.stable_id(actor) == corpse.owner:
        return
    left_s = corpse.grace_until_s - world.clock.seconds
    if left_s <= 0:
        return
    minutes, seconds = divmod(max(1, round(left_s)), 60)
    wait = f"{minutes} min {seconds} s" if minutes else f"{seconds} s"
    raise Refused(
        "corpse_in_grace",
        f"{capitalised(corpse_name(corpse))} is still theirs: only {corpse.name} may take from"
        f" it for another {wait}.",
        owner=corpse.owner,
        seconds=round(left_s),
    )


# --------------------------------------------------------------------------------------------------
# loot


def loot(world: World, cmd: Command, args: Args) -> None:
    """Take everything from a corpse that may be taken and that there is room to carry."""
    actor = cmd.actor
    room = handling_room(world, actor)
    corpses = [e for e in items_in(world, room) if world.has(e, Corpse)]
    words = args.opt_text("corpse") or "corpse"
    corpse = choose_one(world, corpses, words, "here")
    check_may_take(world, actor, corpse, cmd.role)
    inside = items_in(world, corpse)
    portable = [e for e in inside if rules.is_portable(_template(world, e))]
    name = corpse_name(world.get(corpse, Corpse))
    if not portable:
        raise Refused("corpse_empty", f"There is nothing on {name} to take.")
    taken = _what_fits(world, actor, portable)
    if not taken:
        rules.check_inventory_room(
            len(items_in(world, actor)), carry_capacity(world, actor), len(portable)
        )

    moved = transfer_all(world, taken, actor)
    what = listed(m["name"] for m in moved)
    who = display_name(world, actor)
    own = f"You take {what} from {name}."
    if len(taken) < len(portable):
        own += " You cannot carry the rest."
    data = {"items": moved, "from": world.stable_id(corpse)}
    tell_action(world, actor, room, "loot", own, f"{who} loots {name}.", data)


def _template(world: World, entity: int) -> ItemTemplate | None:
    item = world.get(entity, Item)
    return world.resource(Directory).items.get(item.template)


def _what_fits(world: World, actor: int, candidates: list[int]) -> list[Portion]:
    """The whole items of ``candidates``, in order, that fit in ``actor``'s hands together."""
    room_left = carry_capacity(world, actor) - len(items_in(world, actor))
    taken: list[Portion] = []
    for entity in candidates:
        portion = Portion(entity, world.get(entity, Item).quantity)
        if slots_needed_in(world, actor, [*taken, portion]) <= room_left:
            taken.append(portion)
    return taken


# --------------------------------------------------------------------------------------------------
# Rot


def next_rot_s(corpse: Corpse, settings: CorpseSettings) -> float:
    """When ``corpse`` next changes: its next stage of rot, or the moment it goes."""
    span = corpse.decays_at_s - corpse.made_at_s
    if corpse.stage == 0:
        return corpse.made_at_s + span * settings.bloated_at
    if corpse.stage == 1:
        return corpse.made_at_s + span * max(settings.putrid_at, settings.bloated_at)
    return corpse.decays_at_s


@system(phase="late", every_s=0.0)
def rot_corpses(world: World, ctx: SystemContext) -> None:
    """Corpses whose time has come rot a stage further (the room is told) or go, spilling what
    they held onto the floor, where it lies loose (and decays in its turn)."""
    settings = corpse_settings(world)
    timers = component_timers(world, Corpse, lambda corpse: next_rot_s(corpse, settings))
    for corpse, state in timers.pop_due(world, ctx.now_s):
        where = holder_of(world, corpse)
        name = capitalised(corpse_name(state))
        data: dict[str, object] = {"corpse": world.stable_id(corpse), "stage": state.stage + 1}
        if state.stage < 2:
            world.add(corpse, dataclasses.replace(state, stage=state.stage + 1))
            if where is not None:
                text = ROT_WORDS[state.stage + 1].format(corpse=name)
                world.emit(ROT_EVENT, Scope.room(where), text, data)
            continue
        inside = items_in(world, corpse)
        text = CRUMBLE_WORDS.format(corpse=name)
        spilled: list[View] = []
        if where is not None and inside:
            portions = [Portion(e, world.get(e, Item).quantity) for e in inside]
            spilled = transfer_all(world, portions, where)
            text += SPILL_WORDS.format(what=listed(m["name"] for m in spilled))
        world.destroy(corpse)
        if where is not None:
            world.emit(ROT_EVENT, Scope.room(where), text, {**data, "items": spilled})


def register(kit: PluginKit) -> None:
    """Register ``loot`` and the rot of corpses."""
    kit.command(
        CommandSpec(
            verb="loot",
            handler=loot,
            usage="[<corpse...>]",
            abbreviable=False,  # "loo" stays "look"
            category=ITEM_CATEGORY,
            help=(
                "Take everything you can carry from a corpse ('loot', 'loot ghoul'). A player's"
                " corpse is theirs alone for a while; 'get x from corpse' works too."
            ),
        )
    )
    kit.system(rot_corpses)
