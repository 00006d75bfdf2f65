"""Looking: what a character sees of its room, of a person or thing, and through an exit, as plain
views (the data of events) and their text; movement and the other senses reuse them. Plugins add
lines through look contributors (``details``). Nothing here changes the world or does I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from components.body import Dead, Identity, Player, Posture, PostureState
from components.content import Directory, ItemKind
from components.items import Container, Item
from components.place import DIRECTIONS, Exit, Location, Room, RoomFlag, parse_direction
from engine.commands import Args, Command, CommandSpec, Refused
from engine.config import setting_field
from engine.events import Scope
from engine.hooks import LookHooks
from engine.plugins import PluginKit
from engine.world import World
from systems.common import (
    PHANTOM_SLOT,
    View,
    WayWords,
    bodies_in,
    capitalised,
    condition_of,
    destination_of,
    direction_name,
    display_name,
    door_view,
    identity_keywords,
    item_data,
    keywords_of,
    listed,
    room_that_way,
    seen_phantoms,
    strip_article,
    template_of,
    worn_items,
)
from systems.targeting import find, read_target
from systems.whereabouts import contents, room_of


@dataclass(frozen=True, slots=True)
class LookSettings:
    """What a room's description shows (the ``[look]`` section)."""

    occupants_shown: int = setting_field(
        30,
        "Most people and creatures a room's description names one by one; the rest are"
        " counted ('and 970 others are here'), so a crowd of a thousand is one line, not a"
        " hundred kilobytes to everyone who walks in.",
        ge=1,
        le=1000,
    )


def look_settings(world: World) -> LookSettings:
    return world.try_resource(LookSettings) or LookSettings()


PITCH_DARK = "It is pitch dark."
SOMEONE = "someone"

#: Words that make ``look`` describe the looker.
SELF_WORDS = frozenset({"me", "self", "myself"})

#: How ``look <direction>`` words a way it cannot see through.
PEEK_WORDS = WayWords("You see no exit {way}.", "The way {way} leads nowhere.", name_door=True)

_WIELD_SLOTS = frozenset({"main_hand", "off_hand"})


# --------------------------------------------------------------------------------------------------
# Words


def slot_label(slot: str) -> str:
    return slot.replace("_", " ")


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
    """Whether nobody in ``room`` can see: it is flagged dark and no light is there.

    A dark room shows only "It is pitch dark." and its exits (directions only: where they lead
    cannot be seen). A light is an item whose template kind is ``light`` that lies on the room's
    floor or is held directly (carried, worn or wielded) by anyone in the room, the viewer
    included; one packed inside a container does not count, and no light reaches into a
    neighbouring room. In the dark, people are "someone" and the things of the room cannot be
    looked at, but what the viewer holds can still be examined by touch.
    """
    definition = world.try_get(room, Room)
    if definition is None or not definition.has_flag(RoomFlag.DARK):
        return False
    return not has_light(world, room)


def seen_as(world: World, room: int | None, entity: int) -> tuple[str, int | None]:
    """``(name, stable id)`` of ``entity`` as those in ``room`` see it: ("someone", None) in the
    dark, so that event data gives away no more than its text."""
    if room is not None and is_dark(world, room):
        return SOMEONE, None
    return display_name(world, entity), world.stable_id(entity)


# --------------------------------------------------------------------------------------------------
# Views: plain data for events


def look_details(world: World, viewer: int | None, seen: int) -> list[str]:
    """The lines the plugins' look contributors add about ``seen`` (a room, a person or a
    thing) for ``viewer``, in their fixed order; a failing contributor adds nothing."""
    hooks = world.try_resource(LookHooks)
    if hooks is None or not len(hooks):
        return []
    return hooks.lines(world, viewer, seen)


def sorted_exits(room: Room) -> list[Exit]:
    """A room's exits in compass order (then any unusual direction, by name)."""
    order = {direction: i for i, direction in enumerate(DIRECTIONS)}
    return sorted(room.exits.values(), key=lambda e: (order.get(e.direction, 99), e.direction))


def exit_views(world: World, room: Room, *, dark: bool) -> list[View]:
    """Each exit: its direction, where it leads (None in the dark) and its door, if any."""
    views: list[View] = []
    for exit_ in sorted_exits(room):
        destination = destination_of(world, exit_)
        to_room = world.get(destination, Room) if destination is not None else None
        views.append(
            {
                "direction": exit_.direction,
                "name": direction_name(exit_.direction),
                "to": None if dark else exit_.to,
                "to_name": None if dark or to_room is None else to_room.name,
                "door": door_view(world, exit_.door),
            }
        )
    return views


def occupant_view(world: World, entity: int, identity: Identity | None = None) -> View:
    """A person in a room: stable id, name, player or NPC, posture, ``state`` (``fighting``,
    ``mortally_wounded`` or None) and ``keyword``, the word that names it."""
    if identity is None:
        identity = world.get(entity, Identity)
    return _occupant_view(world, entity, identity, identity_keywords(identity))


def _occupant_view(
    world: World, entity: int, identity: Identity, keywords: tuple[str, ...]
) -> View:
    """:func:`occupant_view`, for a caller that has the occupant's identity and keywords."""
    posture = world.try_get(entity, Posture)
    return {
        "id": world.stable_id(entity),
        "name": identity.name,
        "kind": "player" if world.has(entity, Player) else "npc",
        "posture": str(PostureState.STANDING if posture is None else posture.state),
        "state": condition_of(world, entity),
        "keyword": keywords[0] if keywords else None,
    }


def add_targets(
    world: World,
    occupants: list[View],
    entities: list[int],
    named: list[tuple[str, ...]] | None = None,
) -> None:
    """Give each occupant view its ``target``: the words that name exactly it in a command typed
    by the viewer (``ghoul``, ``2.ghoul``), so a client can offer ``attack``/``consider`` on a
    click. ``entities`` are the occupants' entities, in the order commands search them, and
    ``named`` their keywords, if the caller has them.

    A word names an entity when it begins one of its keywords (``targeting.matches``), so the
    ordinal of an occupant is one more than the earlier entities having a keyword that begins
    with its own: counted from the prefixes seen so far, in one pass (a look in a crowded room
    asks this for every occupant)."""
    assert len(occupants) == len(entities)
    if named is None:
        named = [keywords_of(world, entity) for entity in entities]  # each looked up once
    seen: dict[str, int] = {}  # prefix -> how many earlier entities have a keyword beginning so
    for view, words in zip(occupants, named, strict=True):
        keyword = view["keyword"]
        if keyword is None:
            view["target"] = None
        else:
            ordinal = 1 + seen.get(keyword, 0)
            view["target"] = keyword if ordinal == 1 else f"{ordinal}.{keyword}"
        for prefix in {word[:end] for word in words for end in range(1, len(word) + 1)}:
            seen[prefix] = seen.get(prefix, 0) + 1


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
    """What ``viewer`` sees of ``room`` (everyone but itself, and the phantoms it alone sees
    there, as if they were anyone else), as the data of a ``room`` event."""
    definition = world.get(room, Room)
    zone = world.resource(Directory).zones.get(definition.zone)
    dark = is_dark(world, room)
    view: View = {
        "id": definition.key,
        "name": definition.name,
        "description": "" if dark else definition.description,
        "details": [] if dark else look_details(world, viewer, room),
        "zone": definition.zone,
        "zone_name": zone.name if zone is not None else definition.zone,
        "environment": str(definition.environment),
        "dark": dark,
        "exits": exit_views(world, definition, dark=dark),
        "occupants": [],
        "more_occupants": 0,
        "items": [],
        "containers": [],
    }
    if dark:
        return view
    occupants, items, containers = view["occupants"], view["items"], view["containers"]
    people: list[int] = []
    named: list[tuple[str, ...]] = []  # the people's keywords, for their targets
    shown = look_settings(world).occupants_shown
    more = 0
    # A thing's name depends only on its template and quantity: a crowded room of a few kinds of
    # thing names each kind once.
    names: dict[tuple[str, int], str] = {}
    for thing in contents(world, room):
        if thing == viewer:
            continue
        identity = world.try_get(thing, Identity)
        if identity is not None:
            if world.has(thing, Dead):  # the dead are seen only as their corpse
                continue
            if len(people) < shown:
                keywords = identity_keywords(identity)
                occupants.append(_occupant_view(world, thing, identity, keywords))
                people.append(thing)
                named.append(keywords)
            else:
                more += 1
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
            items.append(item_data(world, thing, item=item, name=name))
    if viewer is not None:
        for phantom in seen_phantoms(world, viewer, room):
            occupants.append(occupant_view(world, phantom))
            people.append(phantom)
            named.append(keywords_of(world, phantom))
    add_targets(world, occupants, people, named)
    view["more_occupants"] = more
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
    lines = [view["name"], view["description"], *view["details"], exits_line(view["exits"])]
    here = [f"{capitalised(o['name'])} is {o['posture']} here." for o in view["occupants"]]
    for line, count in _grouped(here):
        lines.append(line if count == 1 else f"{line} (x{count})")
    if view["more_occupants"]:
        lines.append(_others(view["more_occupants"], "here"))
    things = [c["name"] + (" (closed)" if c["closed"] else "") for c in view["containers"]]
    things += [i["name"] for i in view["items"]]
    if things:
        labels = [label if n == 1 else f"{label} (x{n})" for label, n in _grouped(things)]
        lines.append(f"You see {listed(labels)} here.")
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


def character_view(world: World, entity: int, viewer: int | None = None) -> View:
    identity = world.get(entity, Identity)
    posture = world.try_get(entity, Posture)
    return {
        **occupant_view(world, entity),
        "description": identity.description,
        "details": look_details(world, viewer, entity),
        "resting": posture.resting if posture is not None else False,
        "equipment": [
            {"slot": world.get(item, Location).slot, **item_data(world, item)}
            for item in worn_items(world, entity)
        ],
    }


def character_text(world: World, entity: int, view: View) -> str:
    name = capitalised(view["name"])
    lines = [name]
    if view["description"]:
        lines.append(view["description"])
    lines.extend(view["details"])
    lines.append(f"{name} is {_posture_phrase(world, entity)}.")
    wielded = [e for e in view["equipment"] if e["slot"] in _WIELD_SLOTS]
    worn = [e for e in view["equipment"] if e["slot"] not in _WIELD_SLOTS]
    if wielded:
        lines.append(f"{name} wields {listed(e['name'] for e in wielded)}.")
    if worn:
        labels = [f"{e['name']} ({slot_label(e['slot'])})" for e in worn]
        lines.append(f"{name} wears {listed(labels)}.")
    if not wielded and not worn:
        lines.append(f"{name} carries nothing in hand and wears nothing of note.")
    return "\n".join(lines)


def thing_view(world: World, entity: int, viewer: int | None = None) -> View:
    """An item or a container: its description and, for an open container, what is inside."""
    template = template_of(world, entity)
    view: View = {
        **item_data(world, entity),
        "kind": "item",
        "description": template.description if template is not None else "",
        "details": look_details(world, viewer, entity),
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
                item_data(world, inner)
                for inner in contents(world, entity)
                if world.has(inner, Item)
            ]
        )
    return view


def thing_text(view: View) -> str:
    lines = [capitalised(view["name"])]
    if view["description"]:
        lines.append(view["description"])
    lines.extend(view["details"])
    if view["kind"] == "container":
        if view["closed"]:
            lines.append("It is closed.")
        elif view["contents"]:
            lines.append(f"It holds {listed(i['name'] for i in view['contents'])}.")
        else:
            lines.append("It is empty.")
    return "\n".join(lines)


def peek_view(world: World, room: int) -> View:
    """What can be seen of a neighbouring room from its doorway: its name and who is there (as
    many as a room's description names; the rest counted)."""
    definition = world.get(room, Room)
    dark = is_dark(world, room)
    bodies = [] if dark else bodies_in(world, room)
    shown = look_settings(world).occupants_shown
    return {
        "id": definition.key,
        "name": definition.name,
        "dark": dark,
        "occupants": [occupant_view(world, e) for e in bodies[:shown]],
        "more_occupants": max(0, len(bodies) - shown),
    }


def _others(count: int, where: str) -> str:
    return f"{count} other{'s are' if count > 1 else ' is'} {where}."


def peek_text(direction: str, view: View) -> str:
    where = direction_name(direction)
    heading = (
        "Above" if direction == "up" else "Below" if direction == "down" else capitalised(where)
    )
    if view["dark"]:
        return f"{heading}: darkness. You cannot make out anything there."
    lines = [f"{heading}: {view['name']}."]
    for line, count in _grouped(
        f"{capitalised(o['name'])} is {o['posture']} there." for o in view["occupants"]
    ):
        lines.append(line if count == 1 else f"{line} (x{count})")
    if view["more_occupants"]:
        lines.append(_others(view["more_occupants"], "there"))
    if not view["occupants"]:
        lines.append("Nobody is there.")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# The command


def _strip_preposition(words: str) -> str:
    head, _, rest = words.partition(" ")
    if head.casefold() in {"at", "in", "into", "inside"} and rest.strip():
        return rest.strip()
    return words


def lookable(world: World, actor: int, room: int, *, dark: bool) -> list[int]:
    """What ``actor`` can look at, in the order a name is matched: people here (the phantoms it
    alone sees among them), then what it holds (carried and worn), then things in the room. In
    the dark, only what it holds."""
    held = [e for e in contents(world, actor) if world.get(e, Location).slot != PHANTOM_SLOT]
    if dark:
        return held
    here = [e for e in contents(world, room) if e != actor]
    people = [*bodies_in(world, room, exclude=actor), *seen_phantoms(world, actor, room)]
    things = [e for e in here if not world.has(e, Identity)]
    return people + held + things


def look(world: World, cmd: Command, args: Args) -> None:
    """``look``: the room; ``look <direction>``: peek through an exit; ``look <thing>``: examine."""
    actor = cmd.actor
    room = room_of(world, actor)
    if room is None:
        raise Refused("nowhere", "You are nowhere at all; there is nothing to see.")
    words = args.opt_text("target")
    if words is None:
        show_room(world, actor)
        return
    words = _strip_preposition(words)
    direction = parse_direction(words)
    if direction is not None:
        _peek(world, actor, room, direction)
    elif words.casefold() in SELF_WORDS:
        _look_at(world, actor, actor)
    else:
        _look_at(world, actor, _looked_at(world, actor, room, words))


def _looked_at(world: World, actor: int, room: int, words: str) -> int:
    """The one person or thing ``words`` names among what ``actor`` can see or touch."""
    dark = is_dark(world, room)
    target = read_target(words, "no_such_target")
    if target.every or target.count is not None:
        raise Refused("bad_target", "Look at one thing at a time.")
    found = find(world, lookable(world, actor, room, dark=dark), target)
    if not found and dark:
        raise Refused("too_dark", "It is too dark to see that.")
    if not found:
        text = f"You see no '{target.describe()}' here."
        raise Refused("no_such_target", text, target=target.describe())
    return found[0]


def _look_at(world: World, actor: int, entity: int) -> None:
    if world.has(entity, Identity):
        view = character_view(world, entity, actor)
        world.emit("look", Scope.entity(actor), character_text(world, entity, view), view)
    else:
        view = thing_view(world, entity, actor)
        world.emit("look", Scope.entity(actor), thing_text(view), view)


def _peek(world: World, actor: int, room: int, direction: str) -> None:
    destination = room_that_way(world, room, direction, PEEK_WORDS)
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
