"""Shared words and look-ups of the rules, each written once so that every command says it alike:
names, "the", lists, quantities, directions, worn items, item data, exits and their doors, who is
visibly here (and which phantoms a player alone sees) and whether a body can act. Reads
components only: never changes the world or does I/O (``tell_action`` only emits)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from components.body import Dead, Identity, Npc, Offline, Player, Vitals
from components.combat import Fighting
from components.content import Directory, ItemTemplate, NpcTemplate
from components.items import EQUIPMENT_SLOTS, Corpse, Item
from components.mind import Phantom
from components.place import (
    DIRECTION_NAMES,
    DIRECTION_WORDS,
    DIRECTIONS,
    Door,
    DoorInfo,
    Exit,
    Location,
    Room,
)
from engine.commands import Refused
from engine.events import Scope
from engine.territory import RosterEntry, Rosters
from engine.world import World
from systems.whereabouts import contents

View = dict[str, Any]
"""Plain data about the world, JSON-ready: the ``data`` of an event."""

#: The ``help`` category of the commands that handle things: items, containers and doors.
ITEM_CATEGORY = "items"


# --------------------------------------------------------------------------------------------------
# Words


def capitalised(text: str) -> str:
    """``text`` with its first letter upper-cased, the rest untouched ("the oak door" -> "The…")."""
    return text[:1].upper() + text[1:]


def strip_article(name: str) -> str:
    """A name without its article: "an oak door" -> "oak door"."""
    for article in ("a ", "an ", "the ", "some "):
        if name.lower().startswith(article):
            return name[len(article) :]
    return name


def the(name: str) -> str:
    """The definite form of a singular name: "an oak chest" -> "the oak chest"."""
    return f"the {strip_article(name)}"


def listed(names: Iterable[str]) -> str:
    """Names joined as a sentence lists them: "a, b and c"; "" for none."""
    items = list(names)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def plural_of(name: str) -> str:
    """A plain English plural of an item name without article: "rusty knife" -> "rusty knives"."""
    for suffix, replacement in (("ife", "ives"), ("fe", "ves"), ("y", "ies")):
        if name.endswith(suffix) and not (suffix == "y" and name[-2:-1] in "aeiou"):
            return name[: -len(suffix)] + replacement
    if name.endswith(("s", "x", "ch", "sh")):
        return name + "es"
    return name + "s"


def quantity_name(template: ItemTemplate, quantity: int) -> str:
    """What ``quantity`` of ``template`` is called: "a silver coin", "3 silver coins"."""
    if quantity == 1:
        return template.name
    return f"{quantity} {template.plural or plural_of(strip_article(template.name))}"


def direction_name(direction: str) -> str:
    """The full name of a direction's short form ("n" -> "north"); an unusual one as it is."""
    return DIRECTION_NAMES.get(direction, direction)


#: The single-word command of each direction, from ``components.place``: (verb, aliases, short
#: form used by Room.exits), such as ("north", ("n",), "n") and ("up", ("u",), "up").
DIRECTION_VERBS: tuple[tuple[str, tuple[str, ...], str], ...] = tuple(
    (
        DIRECTION_NAMES[short],
        tuple(
            word
            for word, meant in DIRECTION_WORDS.items()
            if meant == short and word != DIRECTION_NAMES[short]
        ),
        short,
    )
    for short in DIRECTIONS
)


# --------------------------------------------------------------------------------------------------
# What things are and are called


def template_of(world: World, entity: int) -> ItemTemplate | None:
    """The content template an item is made from; None for anything else, or a missing one."""
    item = world.try_get(entity, Item)
    if item is None:
        return None
    return world.resource(Directory).items.get(item.template)


#: Words that find any corpse, besides the keywords of who it was.
CORPSE_WORDS: tuple[str, ...] = ("corpse", "body", "remains")


def corpse_name(corpse: Corpse) -> str:
    """ "the corpse of Armitage", "the corpse of a ghoul"."""
    return f"the corpse of {corpse.name}"


def display_name(world: World, entity: int) -> str:
    """What a player reads for this thing: "a rusty knife", "5 silver coins", "Armitage"."""
    identity = world.try_get(entity, Identity)
    if identity is not None:
        return identity.name
    corpse = world.try_get(entity, Corpse)
    if corpse is not None:
        return corpse_name(corpse)
    room = world.try_get(entity, Room)
    if room is not None:
        return room.name
    item = world.try_get(entity, Item)
    if item is not None:
        template = world.resource(Directory).items.get(item.template)
        if template is None:
            return f"an unknown thing ({item.template})"
        return quantity_name(template, item.quantity)
    return "something"


def identity_keywords(identity: Identity) -> tuple[str, ...]:
    """The words that find someone, lower-case: its keywords, else the words of its name."""
    words = identity.keywords or tuple(identity.name.split())
    return tuple(w.casefold() for w in words)


def keywords_of(world: World, entity: int) -> tuple[str, ...]:
    """The words that find this thing, lower-case."""
    identity = world.try_get(entity, Identity)
    if identity is not None:
        return identity_keywords(identity)
    corpse = world.try_get(entity, Corpse)
    if corpse is not None:
        return tuple(w.casefold() for w in (*CORPSE_WORDS, *corpse.keywords))
    template = template_of(world, entity)
    if template is not None:
        return tuple(w.casefold() for w in template.keywords)
    return ()


# --------------------------------------------------------------------------------------------------
# Bodies: who is here, and in what state


def bodies_in(world: World, room: int, exclude: int | None = None) -> list[int]:
    """The people and creatures visibly in ``room``, in the order they arrived, but ``exclude``
    (the looker). The dead are not among them: their corpse lies here instead."""
    return [
        entity
        for entity in contents(world, room)
        if entity != exclude and world.has(entity, Identity) and not world.has(entity, Dead)
    ]


def npcs_in(world: World, room: int) -> list[tuple[int, NpcTemplate]]:
    """The creatures visibly in ``room``, with their templates, in the order they arrived: what
    a rule about NPCs looks at once per room, never once per player (a room may hold a crowd)."""
    templates = world.resource(Directory).npcs
    found: list[tuple[int, NpcTemplate]] = []
    for entity in contents(world, room):
        npc = world.try_get(entity, Npc)
        template = templates.get(npc.template) if npc is not None else None
        if template is not None and not world.has(entity, Dead):
            found.append((entity, template))
    return found


def arrivals_by_room(world: World, arrived: Iterable[int]) -> dict[int, list[int]]:
    """The bodies that came into a room (a tick's feed of new locations), by the room they came
    into, rooms and bodies in the order they came: so that a rule about arrivals looks at each
    room once however many arrive (a thousand logging in at once come into one room)."""
    rooms: dict[int, list[int]] = {}
    for body in arrived:
        if not world.has(body, Identity):
            continue
        location = world.try_get(body, Location)
        room = world.entity_of(location.holder) if location is not None else None
        if room is not None and world.has(room, Room):
            rooms.setdefault(room, []).append(body)
    return rooms


#: The slot of a phantom's ``Location``: it is held in the mind of the one player it haunts, so
#: nobody else finds it among the room's contents (see ``systems/phantoms.py``).
PHANTOM_SLOT = "phantom"


def is_phantom(world: World, entity: int) -> bool:
    """Whether ``entity`` is a hallucination with a body (a phantom)."""
    return world.has(entity, Phantom)


def phantoms_of(world: World, player: int) -> list[int]:
    """Every phantom haunting ``player``, in the order they appeared."""
    return [
        entity
        for entity in contents(world, player)
        if world.get(entity, Location).slot == PHANTOM_SLOT and world.has(entity, Phantom)
    ]


def seen_phantoms(world: World, viewer: int, room: int) -> list[int]:
    """The phantoms ``viewer`` alone sees in ``room``: its own, that appeared there."""
    sid = world.stable_id(room)
    return [e for e in phantoms_of(world, viewer) if world.get(e, Phantom).room == sid]


def seen_by(world: World, entity: int, viewer: int) -> bool:
    """Whether ``viewer`` can see ``entity`` at all: anyone but someone else's phantom."""
    phantom = world.try_get(entity, Phantom)
    return phantom is None or phantom.haunts == world.stable_id(viewer)


#: The states a body can be in besides plain good health, as ``status`` names them.
FIGHTING, MORTALLY_WOUNDED, DEAD = "fighting", "mortally_wounded", "dead"


def condition_of(world: World, body: int) -> str | None:
    """``dead``, ``mortally_wounded`` (0 dp or less), ``fighting``, or None (none of those)."""
    if world.has(body, Dead):
        return DEAD
    vitals = world.try_get(body, Vitals)
    if vitals is not None and vitals.dp <= 0:
        return MORTALLY_WOUNDED
    if world.has(body, Fighting):
        return FIGHTING
    return None


def check_able(world: World, actor: int) -> None:
    """``Refused`` unless ``actor`` can act: the dead and the mortally wounded can only talk (and
    look, and ask). Every command that does something calls this first."""
    if world.has(actor, Dead):
        raise Refused(
            "dead", "You are dead. Type 'respawn' to wake again, or wait to be called back."
        )
    vitals = world.try_get(actor, Vitals)
    if vitals is not None and vitals.dp <= 0:
        raise Refused(
            "helpless", "You are mortally wounded: you can do nothing but talk, and wait for aid."
        )


# --------------------------------------------------------------------------------------------------
# Items held


def items_in(world: World, holder: int, slot: str = "") -> list[int]:
    """Items directly inside ``holder`` in ``slot`` ("" for carried, lying or inside), in order."""
    return [
        entity
        for entity in contents(world, holder)
        if world.get(entity, Location).slot == slot and world.has(entity, Item)
    ]


def worn_items(world: World, body: int) -> list[int]:
    """Items ``body`` wears or wields, in character-sheet order (:data:`EQUIPMENT_SLOTS`)."""
    order = {slot: rank for rank, slot in enumerate(EQUIPMENT_SLOTS)}
    worn = [
        entity
        for entity in contents(world, body)
        if world.get(entity, Location).slot and world.has(entity, Item)
    ]
    worn.sort(key=lambda entity: order.get(world.get(entity, Location).slot, len(order)))
    return worn


def item_data(
    world: World, entity: int, *, item: Item | None = None, name: str = "", template: bool = False
) -> View:
    """An item as rich clients see it: stable id, (its template,) name and quantity.

    ``item`` and ``name`` save looking them up again when the caller has them ("5 silver coins").
    """
    if item is None:
        item = world.get(entity, Item)
    data: View = {"id": world.stable_id(entity)}
    if template:
        data["template"] = item.template
    data["name"] = name or display_name(world, entity)
    data["quantity"] = item.quantity
    return data


# --------------------------------------------------------------------------------------------------
# Ways out: exits, their doors and where they lead


def door_entity(world: World, door_key: str | None) -> int | None:
    """The door entity an exit names by its content key, if the world has it."""
    if not door_key:
        return None
    return world.resource(Directory).doors.get(door_key)


def door_view(world: World, door_key: str | None) -> View | None:
    """A door as clients see it: its name, whether it is closed and whether it is locked."""
    entity = door_entity(world, door_key)
    if entity is None:
        return None
    info = world.try_get(entity, DoorInfo)
    state = world.try_get(entity, Door)
    return {
        "name": info.name if info is not None else "a door",
        "closed": state.closed if state is not None else False,
        "locked": state.locked if state is not None else False,
    }


def closed_door(world: World, exit_: Exit) -> str | None:
    """The name of the closed door in ``exit_`` ("an oak door"), or None if the way is open."""
    door = door_view(world, exit_.door)
    if door is None or not door["closed"]:
        return None
    name: str = door["name"]
    return name


def destination_of(world: World, exit_: Exit) -> int | None:
    """The room ``exit_`` leads to, or None if it leads nowhere (no such room in the world)."""
    destination = world.resource(Directory).rooms.get(exit_.to)
    if destination is None or not world.has(destination, Room):
        return None
    return destination


@dataclass(frozen=True, slots=True)
class WayWords:
    """How a command words the refusals of :func:`room_that_way`; ``{way}`` is the direction's
    name. ``name_door``: whether a closed door's refusal also gives the door's name as data."""

    no_exit: str
    leads_nowhere: str
    name_door: bool = False


def room_that_way(world: World, room: int, direction: str, words: WayWords) -> int:
    """The room reached going ``direction`` (a short form) out of ``room``.

    ``Refused`` (with the ``direction`` as data) when there is no exit that way (``no_exit``), a
    closed door stands in it (``door_closed``) or it leads to no room (``no_exit``).
    """
    way = direction_name(direction)
    exit_ = world.get(room, Room).exits.get(direction)
    if exit_ is None:
        raise Refused("no_exit", words.no_exit.format(way=way), direction=direction)
    door = closed_door(world, exit_)
    if door is not None:
        named: Mapping[str, str] = {"door": door} if words.name_door else {}
        text = f"{capitalised(the(door))} is closed."
        raise Refused("door_closed", text, direction=direction, **named)
    destination = destination_of(world, exit_)
    if destination is None:
        raise Refused("no_exit", words.leads_nowhere.format(way=way), direction=direction)
    return destination


# --------------------------------------------------------------------------------------------------
# Telling


def tell_action(
    world: World,
    actor: int,
    room: int,
    action: str,
    own_text: str,
    seen_text: str,
    data: Mapping[str, Any],
) -> None:
    """What the actor did (``msg`` to the actor) and what the room saw (to everyone else there),
    with one payload: the ``action``, the actor's stable id and ``data``."""
    payload = {"action": action, "actor": world.stable_id(actor), **data}
    world.emit("msg", Scope.entity(actor), own_text, payload)
    world.emit("msg", Scope.room(room), seen_text, payload, exclude=(actor,))


def find_player(world: World, name: str) -> int | None:
    """An online player by name: exact (ignoring case) first, else a unique prefix."""
    wanted = name.casefold()
    candidates = [
        (entity, identity.name.casefold())
        for entity, (_player, identity) in world.query(Player, Identity, without=(Offline,))
    ]
    exact = [entity for entity, n in candidates if n == wanted]
    if exact:
        return exact[0]
    prefixed = [entity for entity, n in candidates if n.startswith(wanted)]
    return prefixed[0] if len(prefixed) == 1 else None


def player_elsewhere(world: World, name: str) -> RosterEntry | None:
    """A player on another shard of a sharded world, by name (as :func:`find_player`); None on
    a single server."""
    rosters = world.try_resource(Rosters)
    return rosters.find(name) if rosters is not None else None
