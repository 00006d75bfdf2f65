"""Looking: what a character sees of its room, of a person or thing, and through an exit.

Pure rules turn components into plain views (JSON-ready dicts, the ``data`` of events) and views
into the text a plain client shows; the ``look`` handler only picks the view and emits it. Movement
and the other senses reuse :func:`show_room`, :func:`is_dark` and :func:`seen_as` from here.
Nothing here changes the world, and nothing here may do I/O.

Darkness: a room flagged ``dark`` shows only "It is pitch dark." and its exits (directions only:
where they lead cannot be seen) unless a light is there. A light is an item whose template kind is
``light`` that lies on the room's floor or is held directly (carried, worn or wielded) by anyone in
the room, the viewer included. A light packed inside a container does not count, and no light
reaches into a neighbouring room. In the dark, people are "someone", the things of the room cannot
be looked at, but what the viewer holds can still be examined by touch.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from components.body import Identity, Player, Posture, PostureState
from components.content import Directory, ItemKind
from components.items import EQUIPMENT_SLOTS, Container, Item
from components.place import (
    DIRECTION_NAMES,
    DIRECTIONS,
    Door,
    DoorInfo,
    Exit,
    Location,
    Room,
    RoomFlag,
    parse_direction,
)
from engine.commands import Args, Command, CommandSpec
from engine.events import Scope
from engine.plugins import PluginKit
from engine.world import World
from systems.targeting import TargetError, find, parse_target
from systems.things import contents, display_name, room_of, strip_article, template_of

PITCH_DARK = "It is pitch dark."
SOMEONE = "someone"

#: Words that make ``look`` describe the looker.
SELF_WORDS = frozenset({"me", "self", "myself"})

_WIELD_SLOTS = frozenset({"main_hand", "off_hand"})

View = dict[str, Any]


# --------------------------------------------------------------------------------------------------
# Words


def cap(text: str) -> str:
    """``text`` with its first letter upper-cased: names at the start of a sentence."""
    return text[:1].upper() + text[1:]


def the(name: str) -> str:
    """ "an oak door" -> "the oak door"."""
    return f"the {strip_article(name)}"


def join_words(words: Iterable[str]) -> str:
    """ "a, b and c"; "" for nothing."""
    items = list(words)
    if len(items) <= 1:
        return "".join(items)
    return f"{', '.join(items[:-1])} and {items[-1]}"


def slot_label(slot: str) -> str:
    return slot.replace("_", " ")


def posture_of(world: World, entity: int) -> PostureState:
    """A body's posture; a body without a Posture component stands."""
    posture = world.try_get(entity, Posture)
    return PostureState.STANDING if posture is None else posture.state


def _posture_phrase(world: World, entity: int) -> str:
    posture = world.try_get(entity, Posture)
    if posture is None:
        return "standing"
    if posture.resting:
        return f"{posture.state} and resting"
    return str(posture.state)


# --------------------------------------------------------------------------------------------------
# Light and darkness


def is_light(world: World, entity: int) -> bool:
    template = template_of(world, entity)
    return template is not None and template.kind == ItemKind.LIGHT


def has_light(world: World, room: int) -> bool:
    """A light lies on the room's floor or is held directly by someone in it."""
    for thing in contents(world, room):
        if world.has(thing, Item):
            if is_light(world, thing):
                return True
        elif world.has(thing, Identity) and any(
            is_light(world, held) for held in contents(world, thing)
        ):
            return True
    return False


def is_dark(world: World, room: int) -> bool:
    """Whether nobody in ``room`` can see: it is flagged dark and no light is there."""
    definition = world.try_get(room, Room)
    if definition is None or not definition.has_flag(RoomFlag.DARK):
        return False
    return not has_light(world, room)


def seen_name(world: World, room: int | None, entity: int) -> str:
    """What those in ``room`` call ``entity``: its name, or "someone" in the dark."""
    return seen_as(world, room, entity)[0]


def seen_as(world: World, room: int | None, entity: int) -> tuple[str, int | None]:
    """``(name, stable id)`` of ``entity`` as those in ``room`` see it: ("someone", None) in the
    dark, so that event data gives away no more than its text."""
    if room is not None and is_dark(world, room):
        return SOMEONE, None
    return display_name(world, entity), world.stable_id(entity)


# --------------------------------------------------------------------------------------------------
# Views: plain data for events


def door_view(world: World, door_key: str | None) -> View | None:
    if door_key is None:
        return None
    entity = world.resource(Directory).doors.get(door_key)
    if entity is None:
        return None
    info = world.try_get(entity, DoorInfo)
    state = world.try_get(entity, Door)
    return {
        "name": info.name if info is not None else "a door",
        "closed": state.closed if state is not None else False,
        "locked": state.locked if state is not None else False,
    }


def door_blocks(world: World, exit_: Exit) -> str | None:
    """The name of the closed door in ``exit_`` ("an oak door"), or None if the way is open."""
    door = door_view(world, exit_.door)
    if door is None or not door["closed"]:
        return None
    name: str = door["name"]
    return name


def sorted_exits(room: Room) -> list[Exit]:
    """A room's exits in compass order (then any unusual direction, by name)."""
    order = {direction: i for i, direction in enumerate(DIRECTIONS)}
    return sorted(room.exits.values(), key=lambda e: (order.get(e.direction, 99), e.direction))


def exit_views(world: World, room: Room, *, dark: bool) -> list[View]:
    """Each exit: its direction, where it leads (None in the dark) and its door, if any."""
    directory = world.resource(Directory)
    views: list[View] = []
    for exit_ in sorted_exits(room):
        destination = directory.rooms.get(exit_.to)
        to_room = world.try_get(destination, Room) if destination is not None else None
        views.append(
            {
                "direction": exit_.direction,
                "name": DIRECTION_NAMES.get(exit_.direction, exit_.direction),
                "to": None if dark else exit_.to,
                "to_name": None if dark or to_room is None else to_room.name,
                "door": door_view(world, exit_.door),
            }
        )
    return views


def occupant_view(world: World, entity: int, identity: Identity | None = None) -> View:
    """A person in a room: stable id, name, player or NPC, posture."""
    if identity is None:
        identity = world.get(entity, Identity)
    posture = world.try_get(entity, Posture)
    return {
        "id": world.stable_id(entity),
        "name": identity.name,
        "kind": "player" if world.try_get(entity, Player) is not None else "npc",
        "posture": str(PostureState.STANDING if posture is None else posture.state),
    }


def item_view(world: World, entity: int, item: Item | None = None, name: str = "") -> View:
    """A thing: stable id, name (with its quantity, "5 silver coins"), quantity."""
    if item is None:
        item = world.get(entity, Item)
    return {
        "id": world.stable_id(entity),
        "name": name or display_name(world, entity),
        "quantity": item.quantity,
    }


def container_view(
    world: World, entity: int, container: Container | None = None, name: str = ""
) -> View:
    """A container: stable id, name, whether it is closed and how it is locked."""
    if container is None:
        container = world.get(entity, Container)
    return {
        "id": world.stable_id(entity),
        "name": name or display_name(world, entity),
        "closed": container.closed,
        "lock": str(container.lock),
    }


def room_view(world: World, room: int, viewer: int | None) -> View:
    """What ``viewer`` sees of ``room`` (everyone but itself), as the data of a ``room`` event."""
    definition = world.get(room, Room)
    zone = world.resource(Directory).zones.get(definition.zone)
    dark = is_dark(world, room)
    view: View = {
        "id": definition.key,
        "name": definition.name,
        "description": "" if dark else definition.description,
        "zone": definition.zone,
        "zone_name": zone.name if zone is not None else definition.zone,
        "environment": str(definition.environment),
        "dark": dark,
        "exits": exit_views(world, definition, dark=dark),
        "occupants": [],
        "items": [],
        "containers": [],
    }
    if dark:
        return view
    occupants, items, containers = view["occupants"], view["items"], view["containers"]
    # A thing's name depends only on its template and quantity: a crowded room of a few kinds of
    # thing names each kind once.
    names: dict[tuple[str, int], str] = {}
    for thing in contents(world, room):
        if thing == viewer:
            continue
        identity = world.try_get(thing, Identity)
        if identity is not None:
            occupants.append(occupant_view(world, thing, identity))
            continue
        item = world.try_get(thing, Item)
        if item is None:
            bare = world.try_get(thing, Container)  # a container that is not an item
            if bare is not None:
                containers.append(container_view(world, thing, bare))
            continue
        kind = (item.template, item.quantity)
        name = names.get(kind)
        if name is None:
            name = names[kind] = display_name(world, thing)
        container = world.try_get(thing, Container)
        if container is not None:
            containers.append(container_view(world, thing, container, name))
        else:
            items.append(item_view(world, thing, item, name))
    return view


# --------------------------------------------------------------------------------------------------
# Text


def _grouped(labels: Iterable[str]) -> list[tuple[str, int]]:
    """Equal labels counted, in order of first appearance."""
    counts: dict[str, int] = {}
    for label in labels:
        counts[label] = counts.get(label, 0) + 1
    return list(counts.items())


def exits_line(exits: list[View]) -> str:
    if not exits:
        return "Obvious exits: none."
    parts = []
    for exit_ in exits:
        door = exit_["door"]
        if door is None:
            parts.append(exit_["name"])
        else:
            state = "closed" if door["closed"] else "open"
            parts.append(f"{exit_['name']} ({strip_article(door['name'])}, {state})")
    return f"Obvious exits: {', '.join(parts)}."


def room_text(view: View) -> str:
    """The text of a ``room`` event: name, description, exits, who is here, what lies here."""
    if view["dark"]:
        return f"{PITCH_DARK}\n{exits_line(view['exits'])}"
    lines = [view["name"], view["description"], exits_line(view["exits"])]
    here = [f"{cap(o['name'])} is {o['posture']} here." for o in view["occupants"]]
    for line, count in _grouped(here):
        lines.append(line if count == 1 else f"{line} (x{count})")
    things = [c["name"] + (" (closed)" if c["closed"] else "") for c in view["containers"]]
    things += [i["name"] for i in view["items"]]
    if things:
        labels = [label if n == 1 else f"{label} (x{n})" for label, n in _grouped(things)]
        lines.append(f"You see {join_words(labels)} here.")
    return "\n".join(line for line in lines if line)


def show_room(world: World, viewer: int) -> bool:
    """Emit to ``viewer`` the ``room`` event of the room it is in; False if it is in none."""
    room = room_of(world, viewer)
    if room is None:
        return False
    view = room_view(world, room, viewer)
    world.emit("room", Scope.entity(viewer), room_text(view), view)
    return True


# --------------------------------------------------------------------------------------------------
# Looking at someone or something


def equipment_of(world: World, body: int) -> list[tuple[str, int]]:
    """``(slot, item)`` worn or wielded by ``body``, in character-sheet order."""
    order = {slot: i for i, slot in enumerate(EQUIPMENT_SLOTS)}
    worn = []
    for thing in contents(world, body):
        location = world.try_get(thing, Location)
        if location is not None and location.slot and world.has(thing, Item):
            worn.append((location.slot, thing))
    worn.sort(key=lambda pair: (order.get(pair[0], 99), pair[0]))
    return worn


def character_view(world: World, entity: int) -> View:
    identity = world.get(entity, Identity)
    posture = world.try_get(entity, Posture)
    return {
        **occupant_view(world, entity),
        "description": identity.description,
        "resting": posture.resting if posture is not None else False,
        "equipment": [
            {"slot": slot, **item_view(world, item)} for slot, item in equipment_of(world, entity)
        ],
    }


def character_text(world: World, entity: int, view: View) -> str:
    name = cap(view["name"])
    lines = [name]
    if view["description"]:
        lines.append(view["description"])
    lines.append(f"{name} is {_posture_phrase(world, entity)}.")
    wielded = [e for e in view["equipment"] if e["slot"] in _WIELD_SLOTS]
    worn = [e for e in view["equipment"] if e["slot"] not in _WIELD_SLOTS]
    if wielded:
        lines.append(f"{name} wields {join_words(e['name'] for e in wielded)}.")
    if worn:
        labels = [f"{e['name']} ({slot_label(e['slot'])})" for e in worn]
        lines.append(f"{name} wears {join_words(labels)}.")
    if not wielded and not worn:
        lines.append(f"{name} carries nothing in hand and wears nothing of note.")
    return "\n".join(lines)


def thing_view(world: World, entity: int) -> View:
    """An item or a container: its description and, for an open container, what is inside."""
    template = template_of(world, entity)
    view: View = {
        **item_view(world, entity),
        "kind": "item",
        "description": template.description if template is not None else "",
    }
    container = world.try_get(entity, Container)
    if container is not None:
        view["kind"] = "container"
        view["closed"] = container.closed
        view["lock"] = str(container.lock)
        view["contents"] = (
            None
            if container.closed
            else [
                item_view(world, inner)
                for inner in contents(world, entity)
                if world.has(inner, Item)
            ]
        )
    return view


def thing_text(view: View) -> str:
    lines = [cap(view["name"])]
    if view["description"]:
        lines.append(view["description"])
    if view["kind"] == "container":
        if view["closed"]:
            lines.append("It is closed.")
        elif view["contents"]:
            lines.append(f"It holds {join_words(i['name'] for i in view['contents'])}.")
        else:
            lines.append("It is empty.")
    return "\n".join(lines)


def peek_view(world: World, room: int) -> View:
    """What can be seen of a neighbouring room from its doorway: its name and who is there."""
    definition = world.get(room, Room)
    dark = is_dark(world, room)
    return {
        "id": definition.key,
        "name": definition.name,
        "dark": dark,
        "occupants": []
        if dark
        else [occupant_view(world, e) for e in contents(world, room) if world.has(e, Identity)],
    }


def peek_text(direction: str, view: View) -> str:
    where = DIRECTION_NAMES.get(direction, direction)
    heading = "Above" if direction == "up" else "Below" if direction == "down" else cap(where)
    if view["dark"]:
        return f"{heading}: darkness. You cannot make out anything there."
    lines = [f"{heading}: {view['name']}."]
    for line, count in _grouped(
        f"{cap(o['name'])} is {o['posture']} there." for o in view["occupants"]
    ):
        lines.append(line if count == 1 else f"{line} (x{count})")
    if not view["occupants"]:
        lines.append("Nobody is there.")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# The command


def _refuse(world: World, actor: int, code: str, text: str, **extra: Any) -> None:
    world.emit("error", Scope.entity(actor), text, {"code": code, "message": text, **extra})


def _strip_preposition(words: str) -> str:
    head, _, rest = words.partition(" ")
    if head.casefold() in {"at", "in", "into", "inside"} and rest.strip():
        return rest.strip()
    return words


def lookable(world: World, actor: int, room: int, *, dark: bool) -> list[int]:
    """What ``actor`` can look at, in the order a name is matched: people here, then what it holds
    (carried and worn), then things in the room. In the dark, only what it holds."""
    held = list(contents(world, actor))
    if dark:
        return held
    here = [e for e in contents(world, room) if e != actor]
    people = [e for e in here if world.has(e, Identity)]
    things = [e for e in here if not world.has(e, Identity)]
    return people + held + things


def look(world: World, cmd: Command, args: Args) -> None:
    """``look``: the room; ``look <direction>``: peek through an exit; ``look <thing>``: examine."""
    actor = cmd.actor
    room = room_of(world, actor)
    if room is None:
        _refuse(world, actor, "nowhere", "You are nowhere at all; there is nothing to see.")
        return
    words = args.opt_text("target")
    if words is None:
        show_room(world, actor)
        return
    words = _strip_preposition(words)
    direction = parse_direction(words)
    if direction is not None:
        _peek(world, actor, room, direction)
        return
    if words.casefold() in SELF_WORDS:
        _look_at(world, actor, actor)
        return
    dark = is_dark(world, room)
    try:
        target = parse_target(words)
    except TargetError as bad:
        _refuse(world, actor, "no_such_target", str(bad))
        return
    if target.every or target.count is not None:
        _refuse(world, actor, "bad_target", "Look at one thing at a time.")
        return
    found = find(world, lookable(world, actor, room, dark=dark), target)
    if not found:
        if dark:
            _refuse(world, actor, "too_dark", "It is too dark to see that.")
        else:
            text = f"You see no '{target.describe()}' here."
            _refuse(world, actor, "no_such_target", text, target=target.describe())
        return
    _look_at(world, actor, found[0])


def _look_at(world: World, actor: int, entity: int) -> None:
    if world.has(entity, Identity):
        view = character_view(world, entity)
        world.emit("look", Scope.entity(actor), character_text(world, entity, view), view)
    else:
        view = thing_view(world, entity)
        world.emit("look", Scope.entity(actor), thing_text(view), view)


def _peek(world: World, actor: int, room: int, direction: str) -> None:
    definition = world.get(room, Room)
    exit_ = definition.exits.get(direction)
    where = DIRECTION_NAMES.get(direction, direction)
    if exit_ is None:
        _refuse(world, actor, "no_exit", f"You see no exit {where}.", direction=direction)
        return
    door = door_blocks(world, exit_)
    if door is not None:
        text = f"{cap(the(door))} is closed."
        _refuse(world, actor, "door_closed", text, direction=direction, door=door)
        return
    destination = world.resource(Directory).rooms.get(exit_.to)
    if destination is None or not world.has(destination, Room):
        _refuse(world, actor, "no_exit", f"The way {where} leads nowhere.", direction=direction)
        return
    view = {"direction": direction, **peek_view(world, destination)}
    world.emit("peek", Scope.entity(actor), peek_text(direction, view), view)


def register(kit: PluginKit) -> None:
    """Register ``look``."""
    kit.command(
        CommandSpec(
            verb="look",
            handler=look,
            usage="[<target...>]",
            aliases=("l",),
            help=(
                "Look around the room; at someone or something here or carried ('look knife', "
                "'look at 2.knife', 'look me'); into a container ('look in chest'); or through "
                "an exit at the next room ('look north'). In the dark you see only the exits."
            ),
            category="information",
        )
    )
