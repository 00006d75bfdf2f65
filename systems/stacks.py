"""Items as stacks: making one, moving it (merging into an identical stack, splitting part off) and
the room a move takes. The only code that moves items; it never loses or duplicates one, and it
never checks a rule: callers refuse before they move. No I/O."""

from __future__ import annotations

from collections.abc import Sequence

from components.content import ItemKind, ItemTemplate
from components.items import DEFAULT_INVENTORY_CAPACITY, Container, Inventory, Item
from engine.world import World
from systems import item_rules as rules
from systems.common import View, display_name, items_in, quantity_name, template_of
from systems.item_rules import Portion
from systems.whereabouts import move


def item_components(template: ItemTemplate, quantity: int = 1) -> list[object]:
    """The components of a fresh item made from ``template`` (a container gets its state)."""
    components: list[object] = [Item(template.id, quantity)]
    if template.kind == ItemKind.CONTAINER:
        components.append(
            Container(template.capacity, template.closed, template.lock, template.key)
        )
    return components


# --------------------------------------------------------------------------------------------------
# Stacks


def stack_key(world: World, entity: int) -> str | None:
    """The template id under which ``entity`` merges with identical items, or None if it never
    does (containers never stack: each keeps its own contents and state)."""
    template = template_of(world, entity)
    if template is None or not template.stackable or world.has(entity, Container):
        return None
    return template.id


def _stacks_present(world: World, holder: int, slot: str = "") -> set[str]:
    keys = (stack_key(world, entity) for entity in items_in(world, holder, slot))
    return {key for key in keys if key is not None}


def _find_stack(world: World, holder: int, slot: str, key: str, exclude: int) -> int | None:
    for entity in items_in(world, holder, slot):
        if entity != exclude and stack_key(world, entity) == key:
            return entity
    return None


def portion_name(world: World, portion: Portion) -> str:
    """What a portion is called: "3 silver coins" of a stack of 5."""
    template = template_of(world, portion.entity)
    if template is None:
        return display_name(world, portion.entity)
    return quantity_name(template, portion.quantity)


# --------------------------------------------------------------------------------------------------
# Room


def slots_needed_in(world: World, holder: int, portions: Sequence[Portion]) -> int:
    """Item slots ``portions`` would take in ``holder``, beside the stacks already there."""
    keys = [stack_key(world, portion.entity) for portion in portions]
    return rules.slots_needed(keys, _stacks_present(world, holder))


def carry_capacity(world: World, body: int) -> int:
    """Carried item slots ``body`` has (a stack counts as one; worn things do not count)."""
    inventory = world.try_get(body, Inventory)
    return DEFAULT_INVENTORY_CAPACITY if inventory is None else inventory.capacity


def check_carry_room(world: World, body: int, portions: Sequence[Portion]) -> None:
    """``Refused`` unless ``body`` has free carried slots for ``portions``."""
    needed = slots_needed_in(world, body, portions)
    rules.check_inventory_room(len(items_in(world, body)), carry_capacity(world, body), needed)


# --------------------------------------------------------------------------------------------------
# Moving: the only code that changes where an item is


def transfer(world: World, portion: Portion, holder: int, slot: str = "") -> int:
    """Move ``portion`` into ``holder``/``slot``, merging it with an identical stack there; return
    the entity that now holds the moved quantity.

    Items are never lost or duplicated, and every item is always in exactly one place: a whole
    item has its Location replaced, or, if it merges, its quantity added to the stack there
    before it is destroyed. Part of a stack is created at the destination (or added to the stack
    there) before the source stack shrinks.
    """
    source = world.get(portion.entity, Item)
    key = stack_key(world, portion.entity)
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


def transfer_all(
    world: World, portions: Sequence[Portion], holder: int, slot: str = ""
) -> list[View]:
    """Move every portion; return what moved, as rich clients see it (named before it moved)."""
    moved: list[View] = []
    for portion in portions:
        name = portion_name(world, portion)
        template = world.get(portion.entity, Item).template
        landed = transfer(world, portion, holder, slot)
        moved.append(
            {
                "id": world.stable_id(landed),
                "template": template,
                "name": name,
                "quantity": portion.quantity,
            }
        )
    return moved
