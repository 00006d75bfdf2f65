"""Reference checks: every id one entry names (an exit's room and door, a stack's template, a key,
a spawn's NPC and room, a subzone) names an entry that exists, and fits how it is used. Pure:
reads the entries, adds problems, never reads files or judges the map as a whole."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from components.content import ItemKind
from components.items import LockState
from components.place import DIRECTIONS, parse_direction
from systems.content.entries import Entries, Placed
from systems.content.schema import ItemModel, RoomModel, StackModel, closest
from systems.corpses import CORPSE_TEMPLATE

__all__ = ["check_references"]


def _report_missing(
    entries: Entries, at: Placed[Any], field_: str, kind: str, id_: str, known: Iterable[str]
) -> None:
    """Report a reference to an entry that does not exist (unless it exists but is broken)."""
    if not entries.may_be_missing(kind, id_):
        return
    what = {"item": "item template", "npc": "NPC template"}.get(kind, kind)
    hint = closest(id_, known)
    entries.error(
        at.file,
        at.entry,
        field_,
        f"unknown {what} {id_!r}" + (f"; did you mean {hint!r}?" if hint else ""),
    )


def _item_template(
    entries: Entries, at: Placed[Any], field_: str, template: str
) -> Placed[ItemModel] | None:
    """The item template ``template`` names, or None once it is reported missing."""
    item = entries.items.get(template)
    if item is None:
        _report_missing(entries, at, field_, "item", template, entries.items)
    return item


def _check_stacks(
    entries: Entries, at: Placed[Any], where: str, stacks: Sequence[StackModel]
) -> None:
    for i, stack in enumerate(stacks, 1):
        item = _item_template(entries, at, f"{where}#{i}.template", stack.template)
        if item is not None and stack.quantity > 1 and not item.model.stackable:
            entries.error(
                at.file,
                at.entry,
                f"{where}#{i}.quantity",
                f"{stack.quantity} of {stack.template!r}, which is not stackable: list it"
                " once per item, or make its template stackable",
            )


def _check_key(entries: Entries, at: Placed[Any], key: str) -> None:
    if key:
        _item_template(entries, at, "key", key)


def check_references(entries: Entries) -> None:
    """Check every reference of every entry, reporting each that names nothing or misfits."""
    for room in entries.rooms.values():
        _check_room(entries, room)
    for door in entries.doors.values():
        _check_key(entries, door, door.model.key)
        if door.model.locked and not door.model.key:
            entries.warn(
                door.file, door.entry, "key", "locked with no key: no one can ever unlock it"
            )
    for item in entries.items.values():
        _check_key(entries, item, item.model.key)
        if item.model.lock == LockState.LOCKED and not item.model.key:
            entries.warn(
                item.file, item.entry, "key", "locked with no key: no one can ever unlock it"
            )
    for npc in entries.npcs.values():
        _check_stacks(entries, npc, "carries", npc.model.carries)
        _check_stacks(entries, npc, "loot", npc.model.loot)
    reserved = entries.items.get(CORPSE_TEMPLATE.id)
    if reserved is not None:
        entries.error(
            reserved.file,
            reserved.entry,
            "id",
            f"the item id {CORPSE_TEMPLATE.id!r} is reserved for the corpses that death leaves:"
            " give this item another id",
        )
    first_rule: dict[tuple[str, str], Placed[Any]] = {}
    for spawn in entries.spawns:
        if spawn.model.npc not in entries.npcs:
            _report_missing(entries, spawn, "npc", "npc", spawn.model.npc, entries.npcs)
        if spawn.model.room not in entries.rooms:
            _report_missing(entries, spawn, "room", "room", spawn.model.room, entries.rooms)
        pair = (spawn.model.npc, spawn.model.room)
        first = first_rule.setdefault(pair, spawn)
        if first is not spawn:
            where = "earlier in this file" if first.file == spawn.file else f"in {first.file}"
            entries.error(
                spawn.file,
                spawn.entry,
                "npc",
                f"{spawn.model.npc!r} already spawns in {spawn.model.room!r} ({first.entry}"
                f" {where}): one rule per NPC and room; raise that rule's max instead",
            )


def _check_room(entries: Entries, room: Placed[RoomModel]) -> None:
    model = room.model
    zone = entries.zones.get(room.zone)
    if (
        model.subzone
        and zone is not None
        and zone.placed is not None
        and model.subzone not in zone.subzones
        and model.subzone not in zone.broken_subzones
    ):
        hint = closest(model.subzone, zone.subzones)
        entries.error(
            room.file,
            room.entry,
            "subzone",
            f"subzone {model.subzone!r} is not declared in [[subzones]] of zone"
            f" {room.zone!r}" + (f"; did you mean {hint!r}?" if hint else ""),
        )
    for direction, exit_ in model.exits.items():
        where = f"exits.{direction}"
        if direction not in DIRECTIONS:
            near = parse_direction(direction) or closest(direction, DIRECTIONS)
            hint = f"; did you mean {near!r}?" if near else ""
            entries.error(
                room.file,
                room.entry,
                where,
                f"{direction!r} is not a direction: use one of {' '.join(DIRECTIONS)}{hint}",
            )
        if exit_.to not in entries.rooms and entries.may_be_missing("room", exit_.to):
            hint = closest(exit_.to, entries.rooms)
            entries.error(
                room.file,
                room.entry,
                where,
                f"exit leads to missing room {exit_.to!r}"
                + (f"; did you mean {hint!r}?" if hint else ""),
            )
        if exit_.door and exit_.door not in entries.doors:
            _report_missing(entries, room, f"{where}.door", "door", exit_.door, entries.doors)
    _check_stacks(entries, room, "items", model.items)
    seen: set[str] = set()
    for fixture in model.containers:
        where = f"containers.{fixture.id}"
        if fixture.id in seen:
            entries.error(
                room.file,
                room.entry,
                f"{where}.id",
                f"two containers are called {fixture.id!r}",
            )
        seen.add(fixture.id)
        template = _item_template(entries, room, f"{where}.template", fixture.template)
        _check_stacks(entries, room, f"{where}.contents", fixture.contents)
        if template is None:
            continue
        t = template.model
        if t.kind != ItemKind.CONTAINER:
            entries.error(
                room.file,
                room.entry,
                f"{where}.template",
                f"item template {t.id!r} is not a container (its kind is {str(t.kind)!r})",
            )
            continue
        if len(fixture.contents) > t.capacity:
            entries.error(
                room.file,
                room.entry,
                f"{where}.contents",
                f"{len(fixture.contents)} stacks in a container that holds {t.capacity}",
            )
        lock = t.lock if fixture.lock is None else fixture.lock
        closed = t.closed if fixture.closed is None else fixture.closed
        if lock != LockState.UNLOCKED and not closed:
            entries.error(
                room.file, room.entry, f"{where}.closed", f"a {lock} container must be closed"
            )
        if lock == LockState.LOCKED and not t.key:
            entries.warn(
                room.file,
                room.entry,
                f"{where}.lock",
                f"locked, but template {t.id!r} has no key: no one can ever unlock it",
            )


# the map as a whole
