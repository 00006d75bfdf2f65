"""Items and containers: inventory, get, drop, put, open, close, lock, unlock, equip and unequip.

Handlers find what a player names within reach, ask the pure rules of :mod:`systems.item_rules`,
then move items by replacing their ``Location``, merge and split stacks, and tell the actor and the
room. A refused command emits one ``error`` event to the actor and changes nothing. Items are never
lost or duplicated: every item is always in exactly one place, a merge adds a quantity before it
destroys the merged entity, and a split creates the new part before it shrinks the old. No I/O.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from components.content import Directory
from components.items import (
    DEFAULT_INVENTORY_CAPACITY,
    EQUIPMENT_SLOTS,
    Container,
    Inventory,
    Item,
    LockState,
)
from components.place import DIRECTION_NAMES, Door, DoorInfo, Location, Room, parse_direction
from engine.commands import Args, Command, CommandSpec
from engine.events import Scope
from engine.plugins import PluginKit
from engine.world import World
from systems import item_rules as rules
from systems.common import (
    capitalised,
    display_name,
    listed,
    quantity_name,
    strip_article,
    template_of,
    the,
)
from systems.item_rules import Latch, Portion, Refusal
from systems.targeting import Target, TargetError, matches, parse_target
from systems.whereabouts import MAX_NESTING, contents, holder_of, move, room_of

#: The word that names any door, whatever it is made of ("open door").
DOOR_WORD = "door"

#: The category these commands are listed under in ``help``.
CATEGORY = "items"


# --------------------------------------------------------------------------------------------------
# Telling players


def _refuse(world: World, actor: int, refusal: Refusal) -> None:
    """The one ``error`` event of a refused command; nothing else happens."""
    world.emit(
        "error",
        Scope.entity(actor),
        refusal.message,
        {"code": refusal.code, "message": refusal.message},
    )


def _tell(
    world: World,
    actor: int,
    room: int,
    action: str,
    own_text: str,
    seen_text: str,
    data: Mapping[str, Any],
) -> None:
    """What the actor did (``msg`` to the actor) and what the room saw (to everyone else there)."""
    payload = {"action": action, "actor": world.stable_id(actor), **data}
    world.emit("msg", Scope.entity(actor), own_text, payload)
    world.emit("msg", Scope.room(room), seen_text, payload, exclude=(actor,))


# --------------------------------------------------------------------------------------------------
# Reading items


def _stack_key(world: World, entity: int) -> str | None:
    """The template id under which ``entity`` merges with identical items, or None if it never
    does (containers never stack: each keeps its own contents and state)."""
    template = template_of(world, entity)
    if template is None or not template.stackable or world.has(entity, Container):
        return None
    return template.id


def _items_in(world: World, holder: int, slot: str = "") -> list[int]:
    """Items directly inside ``holder`` in ``slot`` ("" for carried, lying or inside), in order."""
    return [
        entity
        for entity in contents(world, holder)
        if world.get(entity, Location).slot == slot and world.has(entity, Item)
    ]


def _worn(world: World, actor: int) -> list[int]:
    """Items ``actor`` wears or wields, in the order of :data:`EQUIPMENT_SLOTS`."""
    order = {slot: rank for rank, slot in enumerate(EQUIPMENT_SLOTS)}
    worn = [
        entity
        for entity in contents(world, actor)
        if world.get(entity, Location).slot and world.has(entity, Item)
    ]
    worn.sort(key=lambda entity: order.get(world.get(entity, Location).slot, len(order)))
    return worn


def _stacks_present(world: World, holder: int, slot: str = "") -> set[str]:
    keys = (_stack_key(world, entity) for entity in _items_in(world, holder, slot))
    return {key for key in keys if key is not None}


def _find_stack(world: World, holder: int, slot: str, key: str, exclude: int) -> int | None:
    for entity in _items_in(world, holder, slot):
        if entity != exclude and _stack_key(world, entity) == key:
            return entity
    return None


def _inventory_capacity(world: World, actor: int) -> int:
    inventory = world.try_get(actor, Inventory)
    return DEFAULT_INVENTORY_CAPACITY if inventory is None else inventory.capacity


def _keys_held(world: World, actor: int) -> frozenset[str]:
    """Templates of what ``actor`` holds directly, carried or worn: the keys they can turn."""
    held = (world.try_get(entity, Item) for entity in contents(world, actor))
    return frozenset(item.template for item in held if item is not None)


def _holders(world: World, entity: int) -> list[int]:
    """The chain of holders of ``entity``, innermost first, up to its room."""
    chain: list[int] = []
    current = holder_of(world, entity)
    while current is not None and len(chain) < MAX_NESTING:
        chain.append(current)
        current = holder_of(world, current)
    return chain


def _portion_name(world: World, portion: Portion) -> str:
    template = template_of(world, portion.entity)
    if template is None:
        return display_name(world, portion.entity)
    return quantity_name(template, portion.quantity)


def _item_data(world: World, entity: int) -> dict[str, Any]:
    """An item as rich clients see it: stable id, template, name, quantity."""
    return {
        "id": world.stable_id(entity),
        "template": world.get(entity, Item).template,
        "name": display_name(world, entity),
        "quantity": world.get(entity, Item).quantity,
    }


def _container_latch(world: World, entity: int, container: Container) -> Latch:
    return Latch(
        display_name(world, entity), container.closed, container.lock, container.key_template
    )


# --------------------------------------------------------------------------------------------------
# Moving items: the only code that changes where an item is


def _transfer(world: World, portion: Portion, holder: int, slot: str = "") -> int:
    """Move ``portion`` into ``holder``/``slot``, merging it with an identical stack there; return
    the entity that now holds the moved quantity.

    A whole item has its Location replaced, or, if it merges, its quantity added to the stack there
    before it is destroyed. Part of a stack is created at the destination (or added to the stack
    there) before the source stack shrinks.
    """
    source = world.get(portion.entity, Item)
    key = _stack_key(world, portion.entity)
    into = None if key is None else _find_stack(world, holder, slot, key, portion.entity)
    if portion.quantity >= source.quantity:
        if into is None:
            move(world, portion.entity, holder, slot)
            return portion.entity
        world.get(into, Item).quantity += source.quantity
        world.destroy(portion.entity)
        return into
    if into is None:
        into = world.spawn(
            Item(source.template, portion.quantity),
            persistent=world.is_persistent(portion.entity),
        )
        move(world, into, holder, slot)
    else:
        world.get(into, Item).quantity += portion.quantity
    source.quantity -= portion.quantity
    return into


def _transfer_all(
    world: World, portions: Sequence[Portion], holder: int, slot: str = ""
) -> list[dict[str, Any]]:
    """Move every portion; return what moved, as rich clients see it (named before it moved)."""
    moved: list[dict[str, Any]] = []
    for portion in portions:
        name = _portion_name(world, portion)
        template = world.get(portion.entity, Item).template
        landed = _transfer(world, portion, holder, slot)
        moved.append(
            {
                "id": world.stable_id(landed),
                "template": template,
                "name": name,
                "quantity": portion.quantity,
            }
        )
    return moved


# --------------------------------------------------------------------------------------------------
# Finding what the player names


def _parse(text: str) -> Target | Refusal:
    try:
        return parse_target(text)
    except TargetError as bad:
        return Refusal("bad_target", str(bad))


def _matched(world: World, candidates: Sequence[int], target: Target) -> list[tuple[int, int]]:
    """``(entity, quantity)`` of the candidates whose keywords ``target``'s words match."""
    return [
        (entity, world.get(entity, Item).quantity)
        for entity in candidates
        if matches(world, entity, target.words)
    ]


def _one_at_a_time(target: Target) -> Refusal | None:
    """Some commands act on one thing: refuse "all" and counts above one for them."""
    if target.every or (target.count is not None and target.count > 1):
        return Refusal("bad_target", "Name one thing at a time.")
    return None


def _choose_one(world: World, candidates: Sequence[int], text: str, place: str) -> int | Refusal:
    """The one item among ``candidates`` that ``text`` names ("chest", "2.bag")."""
    target = _parse(text)
    if isinstance(target, Refusal):
        return target
    refusal = _one_at_a_time(target)
    if refusal is not None:
        return refusal
    chosen = rules.choose(_matched(world, candidates, target), target, place)
    return chosen if isinstance(chosen, Refusal) else chosen[0].entity


def _within_reach(world: World, actor: int, room: int) -> list[int]:
    """Items the actor can handle where they are: carried, worn, then lying on the floor."""
    return [*_items_in(world, actor), *_worn(world, actor), *_items_in(world, room)]


def _open_container(world: World, actor: int, room: int, text: str) -> int | Refusal:
    """A container within reach that ``text`` names, open for hands to go in."""
    found = _choose_one(world, _within_reach(world, actor, room), text, "here")
    if isinstance(found, Refusal):
        return found
    container = world.try_get(found, Container)
    if container is None:
        name = capitalised(the(display_name(world, found)))
        return Refusal("not_a_container", f"{name} cannot hold anything.")
    refusal = rules.check_reach_inside(_container_latch(world, found, container))
    return found if refusal is None else refusal


def _worn_instead(world: World, actor: int, target: Target) -> Refusal | None:
    """When a player names a worn thing where a carried one is needed, say so."""
    for entity in _worn(world, actor):
        if matches(world, entity, target.words):
            slot = world.get(entity, Location).slot
            name = display_name(world, entity)
            return Refusal("worn", f"You have {name} {rules.slot_phrase(slot)}: remove it first.")
    return None


def _carried_choice(world: World, actor: int, target: Target) -> list[Portion] | Refusal:
    """What ``target`` names among the actor's carried things."""
    chosen = rules.choose(
        _matched(world, _items_in(world, actor), target), target, "in your inventory"
    )
    if isinstance(chosen, Refusal) and chosen.code == "no_such_item":
        return _worn_instead(world, actor, target) or chosen
    return chosen


def _where(world: World, actor: int) -> int | Refusal:
    """The room the actor stands in."""
    room = room_of(world, actor)
    if room is None or room == actor:
        return Refusal("nowhere", "You are nowhere: there is nothing here to handle.")
    return room


def _carry_room(world: World, actor: int, portions: Sequence[Portion]) -> Refusal | None:
    """Whether the actor has free carried slots for ``portions``."""
    needed = rules.slots_needed(
        [_stack_key(world, p.entity) for p in portions], _stacks_present(world, actor)
    )
    used = len(_items_in(world, actor))
    return rules.check_inventory_room(used, _inventory_capacity(world, actor), needed)


# --------------------------------------------------------------------------------------------------
# inventory


def inventory(world: World, cmd: Command, args: Args) -> None:
    """List what the actor carries and wears, with a structured payload for rich clients.

    ``data.items`` holds every carried (``slot`` "") and worn item with its stable ``id``,
    ``template``, ``name``, ``quantity`` and ``slot``; an open container also lists its
    ``contents``. ``used`` of ``capacity`` counts carried slots.
    """
    actor = cmd.actor
    capacity = _inventory_capacity(world, actor)
    carried = _items_in(world, actor)
    worn = _worn(world, actor)
    if carried:
        lines = [f"You are carrying ({len(carried)}/{capacity}):"]
    else:
        lines = [f"You are carrying nothing (0/{capacity})."]
    entries: list[dict[str, Any]] = []
    for entity in (*carried, *worn):
        slot = world.get(entity, Location).slot
        if worn and entity == worn[0]:
            lines.append("You are wearing:")
        entry, line = _inventory_entry(world, entity, slot)
        entries.append(entry)
        lines.append(line)
    data = {"action": "inventory", "items": entries, "capacity": capacity, "used": len(carried)}
    world.emit("msg", Scope.entity(actor), "\n".join(lines), data)


def _inventory_entry(world: World, entity: int, slot: str) -> tuple[dict[str, Any], str]:
    """One inventory line: its structured form and its text."""
    entry: dict[str, Any] = {**_item_data(world, entity), "slot": slot}
    line = f"  {display_name(world, entity)}"
    if slot:
        line += f" {rules.slot_phrase(slot)}"
    container = world.try_get(entity, Container)
    if container is not None:
        entry["closed"] = container.closed
        if container.closed:
            line += " (closed)"
        else:
            inside = _items_in(world, entity)
            entry["contents"] = [_item_data(world, e) for e in inside]
            names = [display_name(world, e) for e in inside]
            line += f", holding {listed(names)}" if names else " (empty)"
    return entry, line


# --------------------------------------------------------------------------------------------------
# get / take


def get(world: World, cmd: Command, args: Args) -> None:
    """Pick things up from the floor, or take them out of a container within reach."""
    actor = cmd.actor
    outcome = _plan_get(world, actor, args.text("item"), args.opt_text("container"))
    if isinstance(outcome, Refusal):
        return _refuse(world, actor, outcome)
    room, source, portions = outcome
    moved = _transfer_all(world, portions, actor)
    what = listed([m["name"] for m in moved])
    who = display_name(world, actor)
    if source == room:
        own, seen = f"You pick up {what}.", f"{who} picks up {what}."
    else:
        container = the(display_name(world, source))
        own, seen = f"You take {what} from {container}.", f"{who} takes {what} from {container}."
    data = {"items": moved, "from": None if source == room else world.stable_id(source)}
    _tell(world, actor, room, "get", own, seen, data)


def _plan_get(
    world: World, actor: int, item_text: str, container_text: str | None
) -> tuple[int, int, list[Portion]] | Refusal:
    """The room, the source (room or container) and the portions a ``get`` moves, or why not."""
    room = _where(world, actor)
    if isinstance(room, Refusal):
        return room
    target = _parse(item_text)
    if isinstance(target, Refusal):
        return target
    source, place = room, "here"
    if container_text is not None:
        found = _open_container(world, actor, room, container_text)
        if isinstance(found, Refusal):
            return found
        source, place = found, f"in {the(display_name(world, found))}"
    matched = _matched(world, _items_in(world, source), target)
    if target.every:  # "get all" means all that can be carried: fixtures stay where they are
        portable = [m for m in matched if rules.is_portable(template_of(world, m[0]))]
        if matched and not portable:
            if not target.words:
                return Refusal("no_such_item", f"There is nothing {place} that you can carry.")
            return rules.not_portable(display_name(world, matched[0][0]))
        matched = portable
    portions = rules.choose(matched, target, place)
    if isinstance(portions, Refusal):
        return portions
    for portion in portions:
        if not rules.is_portable(template_of(world, portion.entity)):
            return rules.not_portable(display_name(world, portion.entity))
    refusal = _carry_room(world, actor, portions)
    return refusal or (room, source, portions)


# --------------------------------------------------------------------------------------------------
# drop


def drop(world: World, cmd: Command, args: Args) -> None:
    """Put carried things down on the floor, where identical ones join the stack already there."""
    actor = cmd.actor
    outcome = _plan_drop(world, actor, args.text("item"))
    if isinstance(outcome, Refusal):
        return _refuse(world, actor, outcome)
    room, portions = outcome
    moved = _transfer_all(world, portions, room)
    what = listed([m["name"] for m in moved])
    who = display_name(world, actor)
    _tell(world, actor, room, "drop", f"You drop {what}.", f"{who} drops {what}.", {"items": moved})


def _plan_drop(world: World, actor: int, text: str) -> tuple[int, list[Portion]] | Refusal:
    """The room and the carried portions a ``drop`` puts on its floor, or why not."""
    room = _where(world, actor)
    if isinstance(room, Refusal):
        return room
    target = _parse(text)
    if isinstance(target, Refusal):
        return target
    portions = _carried_choice(world, actor, target)
    return portions if isinstance(portions, Refusal) else (room, portions)


# --------------------------------------------------------------------------------------------------
# put


def put(world: World, cmd: Command, args: Args) -> None:
    """Put carried things into a container within reach (a chest, a carried or worn backpack)."""
    actor = cmd.actor
    outcome = _plan_put(world, actor, args.text("item"), args.text("container"))
    if isinstance(outcome, Refusal):
        return _refuse(world, actor, outcome)
    room, container, portions = outcome
    moved = _transfer_all(world, portions, container)
    what = listed([m["name"] for m in moved])
    into = the(display_name(world, container))
    who = display_name(world, actor)
    data = {"items": moved, "into": world.stable_id(container)}
    _tell(
        world,
        actor,
        room,
        "put",
        f"You put {what} in {into}.",
        f"{who} puts {what} in {into}.",
        data,
    )


def _plan_put(
    world: World, actor: int, item_text: str, container_text: str
) -> tuple[int, int, list[Portion]] | Refusal:
    """The room, the container and the portions a ``put`` moves, or why not."""
    room = _where(world, actor)
    if isinstance(room, Refusal):
        return room
    target = _parse(item_text)
    if isinstance(target, Refusal):
        return target
    container = _open_container(world, actor, room, container_text)
    if isinstance(container, Refusal):
        return container
    container_name = display_name(world, container)
    holders = _holders(world, container)
    candidates = _items_in(world, actor)
    if target.every:  # "put all in bag" leaves the bag, and whatever holds it, out
        candidates = [e for e in candidates if e != container and e not in holders]
    portions = rules.choose(_matched(world, candidates, target), target, "in your inventory")
    if isinstance(portions, Refusal):
        if portions.code == "no_such_item":
            return _worn_instead(world, actor, target) or portions
        return portions
    for portion in portions:
        name = display_name(world, portion.entity)
        refusal = rules.check_nesting(portion.entity, name, container, container_name, holders)
        if refusal is not None:
            return refusal
    needed = rules.slots_needed(
        [_stack_key(world, p.entity) for p in portions], _stacks_present(world, container)
    )
    capacity = world.get(container, Container).capacity
    used = len(_items_in(world, container))
    refusal = rules.check_container_room(container_name, used, capacity, needed)
    return refusal or (room, container, portions)


# --------------------------------------------------------------------------------------------------
# open / close / lock / unlock


@dataclass(frozen=True, slots=True)
class _LatchVerb:
    """How one of open/close/lock/unlock reads, and the rule that decides it."""

    verb: str
    third_person: str
    heard_beyond: str  # what the room beyond a door hears, after "The oak door"
    rule: Callable[[Latch, frozenset[str]], Latch | Refusal]


_LATCH_VERBS: dict[str, _LatchVerb] = {
    "open": _LatchVerb("open", "opens", "opens.", lambda latch, _keys: rules.open_latch(latch)),
    "close": _LatchVerb(
        "close", "closes", "closes.", lambda latch, _keys: rules.close_latch(latch)
    ),
    "lock": _LatchVerb("lock", "locks", "clicks as it is locked.", rules.lock_latch),
    "unlock": _LatchVerb("unlock", "unlocks", "clicks as it is unlocked.", rules.unlock_latch),
}


def _door_latch(world: World, door: int) -> Latch:
    info = world.get(door, DoorInfo)
    state = world.get(door, Door)
    lock = LockState.LOCKED if state.locked else LockState.UNLOCKED
    return Latch(info.name, state.closed, lock, info.key_template)


def _doors_here(world: World, room: int) -> list[tuple[int, tuple[str, ...]]]:
    """The doors in the exits of ``room``, each once, with the words that name it here."""
    directory = world.resource(Directory)
    found: dict[int, list[str]] = {}
    for exit_ in world.get(room, Room).exits.values():
        door = directory.doors.get(exit_.door) if exit_.door else None
        if door is None or not world.has(door, DoorInfo, Door):
            continue
        if door not in found:
            name = strip_article(world.get(door, DoorInfo).name).casefold()
            found[door] = [*name.split(), DOOR_WORD]
        found[door].append(DIRECTION_NAMES.get(exit_.direction, exit_.direction))
    return [(door, tuple(words)) for door, words in found.items()]


def _find_latch(world: World, actor: int, room: int, text: str) -> tuple[str, int] | Refusal:
    """What ``text`` names to open or lock: ("door", entity) or ("container", entity).

    A direction ("north", "n") names the door that way; otherwise the words are matched against
    the items within reach (carried, worn, on the floor), then the doors of the room.
    """
    directory = world.resource(Directory)
    direction = parse_direction(text)
    if direction is not None:
        exit_ = world.get(room, Room).exits.get(direction)
        door = directory.doors.get(exit_.door) if exit_ is not None and exit_.door else None
        if door is not None and world.has(door, DoorInfo, Door):
            return "door", door
    target = _parse(text)
    if isinstance(target, Refusal):
        return target
    refusal = _one_at_a_time(target)
    if refusal is not None:
        return refusal
    found: list[tuple[str, int]] = [
        ("container", e)
        for e in _within_reach(world, actor, room)
        if matches(world, e, target.words)
    ]
    for door, words in _doors_here(world, room):
        if all(any(word.startswith(w) for word in words) for w in target.words):
            found.append(("door", door))
    chosen = rules.choose([(entity, 1) for _, entity in found], target, "here")
    if isinstance(chosen, Refusal):
        if direction is not None and not found:
            way = DIRECTION_NAMES.get(direction, direction)
            return Refusal("no_door", f"There is no door leading {way}.")
        return chosen
    entity = chosen[0].entity
    kind = next(kind for kind, found_entity in found if found_entity == entity)
    if kind == "container" and not world.has(entity, Container):
        name = capitalised(the(display_name(world, entity)))
        return Refusal("not_a_container", f"{name} cannot be opened, closed or locked.")
    return kind, entity


def _latch_command(world: World, cmd: Command, args: Args, how: _LatchVerb) -> None:
    """open / close / lock / unlock a container within reach or a door of the room."""
    actor = cmd.actor
    room = _where(world, actor)
    if isinstance(room, Refusal):
        return _refuse(world, actor, room)
    found = _find_latch(world, actor, room, args.text("thing"))
    if isinstance(found, Refusal):
        return _refuse(world, actor, found)
    kind, entity = found
    latch = (
        _door_latch(world, entity)
        if kind == "door"
        else _container_latch(world, entity, world.get(entity, Container))
    )
    keys = _keys_held(world, actor)
    outcome = how.rule(latch, keys)
    if isinstance(outcome, Refusal):
        return _refuse(world, actor, outcome)
    data: dict[str, Any] = {"kind": kind, "closed": outcome.closed, "locked": outcome.locked}
    if kind == "door":
        state = world.get(entity, Door)
        state.closed = outcome.closed
        state.locked = outcome.locked
        data["door"] = world.get(entity, DoorInfo).key
    else:
        container = world.get(entity, Container)
        container.closed = outcome.closed
        container.lock = outcome.lock
        data["id"] = world.stable_id(entity)
    name = the(latch.name)
    who = display_name(world, actor)
    own = f"You {how.verb} {name}."
    if how.verb in ("lock", "unlock"):
        key_template = latch.key_template
        own = f"You {how.verb} {name} with {_key_name(world, key_template)}."
    _tell(world, actor, room, how.verb, own, f"{who} {how.third_person} {name}.", data)
    if kind == "door":
        _tell_beyond(world, room, entity, f"{capitalised(name)} {how.heard_beyond}", how.verb)


def _key_name(world: World, key_template: str) -> str:
    template = world.resource(Directory).items.get(key_template)
    return template.name if template is not None else "your key"


def _tell_beyond(world: World, room: int, door: int, text: str, action: str) -> None:
    """Tell the room on the other side of ``door`` what it heard."""
    directory = world.resource(Directory)
    key = world.get(door, DoorInfo).key
    told: set[int] = {room}
    for exit_ in world.get(room, Room).exits.values():
        beyond = directory.rooms.get(exit_.to)
        if exit_.door != key or beyond is None or beyond in told:
            continue
        told.add(beyond)
        back = next(
            (e.direction for e in world.get(beyond, Room).exits.values() if e.door == key), None
        )
        data = {"action": action, "door": key, "direction": back, "beyond": True}
        world.emit("msg", Scope.room(beyond), text, data)


def open_thing(world: World, cmd: Command, args: Args) -> None:
    """Open a closed, unlocked door or container."""
    _latch_command(world, cmd, args, _LATCH_VERBS["open"])


def close_thing(world: World, cmd: Command, args: Args) -> None:
    """Close an open door or container."""
    _latch_command(world, cmd, args, _LATCH_VERBS["close"])


def lock_thing(world: World, cmd: Command, args: Args) -> None:
    """Lock a closed door or container with a carried key that fits."""
    _latch_command(world, cmd, args, _LATCH_VERBS["lock"])


def unlock_thing(world: World, cmd: Command, args: Args) -> None:
    """Unlock a locked door or container with a carried key that fits."""
    _latch_command(world, cmd, args, _LATCH_VERBS["unlock"])


# --------------------------------------------------------------------------------------------------
# equip / unequip


def equip(world: World, cmd: Command, args: Args) -> None:
    """Wear or wield a carried item in its template's slot."""
    actor = cmd.actor
    outcome = _plan_equip(world, actor, args.text("item"))
    if isinstance(outcome, Refusal):
        return _refuse(world, actor, outcome)
    room, portion, slot = outcome
    moved = _transfer_all(world, [portion], actor, slot)
    you, they = rules.equip_verb(slot)
    what = moved[0]["name"]
    who = display_name(world, actor)
    own = f"You {you} {what}."
    if you == "wear":
        own = f"You wear {what} {rules.slot_phrase(slot)}."
    _tell(world, actor, room, "equip", own, f"{who} {they} {what}.", {"items": moved, "slot": slot})


def _plan_equip(world: World, actor: int, text: str) -> tuple[int, Portion, str] | Refusal:
    room = _where(world, actor)
    if isinstance(room, Refusal):
        return room
    target = _parse(text)
    if isinstance(target, Refusal):
        return target
    refusal = _one_at_a_time(target)
    if refusal is not None:
        return refusal
    chosen = rules.choose(
        _matched(world, _items_in(world, actor), target), target, "in your inventory"
    )
    if isinstance(chosen, Refusal):
        worn = [e for e in _worn(world, actor) if matches(world, e, target.words)]
        if chosen.code != "no_such_item" or not worn:
            return chosen
        where = rules.slot_phrase(world.get(worn[0], Location).slot)
        name = display_name(world, worn[0])
        return Refusal("already_equipped", f"You already have {name} {where}.")
    entity = chosen[0].entity
    template = template_of(world, entity)
    slot = template.slot if template is not None else ""
    occupant = next(iter(_items_in(world, actor, slot)), None) if slot else None
    refusal = rules.check_equip(
        display_name(world, entity),
        slot,
        None if occupant is None else display_name(world, occupant),
    )
    if refusal is not None:
        return refusal
    return room, Portion(entity, rules.EQUIP_QUANTITY), slot


def unequip(world: World, cmd: Command, args: Args) -> None:
    """Take off worn or wielded things (named, or by their slot) and carry them."""
    actor = cmd.actor
    outcome = _plan_unequip(world, actor, args.text("item"))
    if isinstance(outcome, Refusal):
        return _refuse(world, actor, outcome)
    room, portions = outcome
    slots = [world.get(p.entity, Location).slot for p in portions]
    moved = _transfer_all(world, portions, actor)
    what = listed([m["name"] for m in moved])
    who = display_name(world, actor)
    data = {"items": moved, "slots": slots}
    _tell(world, actor, room, "unequip", f"You remove {what}.", f"{who} removes {what}.", data)


def _plan_unequip(world: World, actor: int, text: str) -> tuple[int, list[Portion]] | Refusal:
    room = _where(world, actor)
    if isinstance(room, Refusal):
        return room
    worn = _worn(world, actor)
    slot = "_".join(text.casefold().split())
    portions: list[Portion] | Refusal
    if slot in EQUIPMENT_SLOTS:
        in_slot = _items_in(world, actor, slot)
        if not in_slot:
            return Refusal("slot_empty", f"You have nothing {rules.slot_phrase(slot)}.")
        portions = [Portion(in_slot[0], world.get(in_slot[0], Item).quantity)]
    else:
        target = _parse(text)
        if isinstance(target, Refusal):
            return target
        portions = rules.choose(_matched(world, worn, target), target, "on you")
        if isinstance(portions, Refusal):
            return portions
    refusal = _carry_room(world, actor, portions)
    return refusal or (room, portions)


# --------------------------------------------------------------------------------------------------
# Registration


def register(kit: PluginKit) -> None:
    """Register the item commands."""
    specs = (
        CommandSpec(
            verb="inventory",
            handler=inventory,
            category=CATEGORY,
            aliases=("i", "inv"),
            help="List what you carry and what you wear or wield.",
        ),
        CommandSpec(
            verb="get",
            handler=get,
            category=CATEGORY,
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
            category=CATEGORY,
            usage="<item...>",
            help="Put something you carry down on the floor: 'drop knife', 'drop 2 coins', "
            "'drop all'.",
        ),
        CommandSpec(
            verb="put",
            handler=put,
            category=CATEGORY,
            usage="<item...> in <container...>",
            help="Put something you carry into an open container you can reach: "
            "'put key in backpack', 'put all.coin in chest'.",
        ),
        CommandSpec(
            verb="equip",
            handler=equip,
            category=CATEGORY,
            usage="<item...>",
            aliases=("wear", "wield"),
            help="Wear or wield something you carry, in the slot it is made for.",
        ),
        CommandSpec(
            verb="unequip",
            handler=unequip,
            category=CATEGORY,
            usage="<item...>",
            aliases=("remove",),
            help="Take off something you wear or wield, named or by its slot "
            "('remove knife', 'remove main hand', 'remove all').",
        ),
    )
    for spec in specs:
        kit.command(spec)
    latch_specs = (
        ("open", open_thing, "Open a door (by name or direction) or a container you can reach."),
        ("close", close_thing, "Close a door (by name or direction) or a container you can reach."),
        ("lock", lock_thing, "Lock a closed door or container with a key you carry."),
        ("unlock", unlock_thing, "Unlock a door or container with a key you carry."),
    )
    for verb, handler, help_text in latch_specs:
        kit.command(
            CommandSpec(
                verb=verb, handler=handler, usage="<thing...>", help=help_text, category=CATEGORY
            )
        )
