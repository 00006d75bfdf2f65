"""What things are called and where they are: shared helpers for rules that name or move things.

Everything here reads components (and the Directory resource); nothing does I/O or keeps state.
"""

from __future__ import annotations

from collections.abc import Collection

from components.body import Identity
from components.content import Directory, ItemKind, ItemTemplate
from components.items import Container, Item
from components.place import Location, Room
from engine.world import World

#: How far up the holder chain a thing may be nested (a key in a box in a backpack on a body in a
#: room is 4). Guards against a corrupt cycle looping forever.
MAX_NESTING = 16


def item_components(template: ItemTemplate, quantity: int = 1) -> list[object]:
    """The components of a fresh item made from ``template`` (a container gets its state)."""
    components: list[object] = [Item(template.id, quantity)]
    if template.kind == ItemKind.CONTAINER:
        components.append(
            Container(template.capacity, template.closed, template.lock, template.key)
        )
    return components


def template_of(world: World, entity: int) -> ItemTemplate | None:
    item = world.try_get(entity, Item)
    if item is None:
        return None
    return world.resource(Directory).items.get(item.template)


def plural_of(name: str) -> str:
    """A plain English plural of an item name without article: "rusty knife" -> "rusty knives"."""
    for suffix, replacement in (("ife", "ives"), ("fe", "ves"), ("y", "ies")):
        if name.endswith(suffix) and not (suffix == "y" and name[-2:-1] in "aeiou"):
            return name[: -len(suffix)] + replacement
    if name.endswith(("s", "x", "ch", "sh")):
        return name + "es"
    return name + "s"


def strip_article(name: str) -> str:
    for article in ("a ", "an ", "the ", "some "):
        if name.lower().startswith(article):
            return name[len(article) :]
    return name


def display_name(world: World, entity: int) -> str:
    """What a player reads for this thing: "a rusty knife", "5 silver coins", "Armitage"."""
    identity = world.try_get(entity, Identity)
    if identity is not None:
        return identity.name
    room = world.try_get(entity, Room)
    if room is not None:
        return room.name
    item = world.try_get(entity, Item)
    if item is not None:
        template = world.resource(Directory).items.get(item.template)
        if template is None:
            return f"an unknown thing ({item.template})"
        if item.quantity == 1:
            return template.name
        return f"{item.quantity} {template.plural or plural_of(strip_article(template.name))}"
    return "something"


def keywords_of(world: World, entity: int) -> tuple[str, ...]:
    """The words that find this thing, lower-case."""
    identity = world.try_get(entity, Identity)
    if identity is not None:
        words = identity.keywords or tuple(identity.name.split())
        return tuple(w.casefold() for w in words)
    template = template_of(world, entity)
    if template is not None:
        return tuple(w.casefold() for w in template.keywords)
    return ()


def holder_of(world: World, entity: int) -> int | None:
    """The entity that holds ``entity`` (its room, its carrier, its container), if any."""
    location = world.try_get(entity, Location)
    if location is None:
        return None
    return world.entity_of(location.holder)


def room_of(world: World, entity: int) -> int | None:
    """The room ``entity`` is in, however deeply it is nested (the room itself for a room)."""
    current: int | None = entity
    for _ in range(MAX_NESTING):
        if current is None:
            return None
        if world.has(current, Room):
            return current
        current = holder_of(world, current)
    return None


def contents(world: World, holder: int) -> Collection[int]:
    """Entities directly inside ``holder``, in the order they arrived (a live view)."""
    sid = world.stable_id(holder)
    if sid is None:
        return ()
    return world.lookup(Location, "holder", sid)


def move(world: World, entity: int, holder: int, slot: str = "") -> None:
    """Put ``entity`` inside ``holder`` (which must be persistent: it is named by stable id)."""
    sid = world.stable_id(holder)
    if sid is None:
        raise ValueError(f"entity {holder} cannot hold things: it has no stable id")
    world.add(entity, Location(sid, slot))
