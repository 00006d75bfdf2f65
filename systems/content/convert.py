"""Conversion of checked entries into :class:`components.content.Content`: the frozen dataclasses
the world is built from, never a pydantic object. Run only when the check found no error; it
judges nothing and reads no file."""

from __future__ import annotations

from collections.abc import Sequence

from components.body import Characteristics
from components.content import (
    Content,
    DoorDef,
    Emotes,
    ExitDef,
    ItemStack,
    ItemTemplate,
    LootDrop,
    NpcTemplate,
    RoomContainerDef,
    RoomDef,
    SpawnRule,
    TableContent,
    Wander,
    ZoneDef,
)
from components.place import DIRECTIONS, FluxOverride
from systems.content.entries import Entries
from systems.content.schema import FluxModel, ItemModel, NpcModel, RoomModel, StackModel

__all__ = ["to_content"]


def to_content(entries: Entries, start: str) -> Content:
    """The content of checked ``entries``, whose world begins in the ``start`` room."""
    zones = []
    for zone_id in entries.zone_order:
        zone = entries.zones[zone_id]
        if zone.placed is None:
            continue
        z = zone.placed.model
        subzones = tuple((s.model.id, s.model.name) for s in zone.subzones.values())
        zones.append(ZoneDef(z.id, z.name, z.description, subzones, _to_flux(z.lucidity_flux)))
    return Content(
        zones=tuple(zones),
        rooms=tuple(_to_room(r.model, r.zone) for r in entries.rooms.values()),
        doors=tuple(
            DoorDef(m.id, m.name, m.closed, m.locked, m.key)
            for m in (d.model for d in entries.doors.values())
        ),
        items=tuple(_to_item(i.model) for i in entries.items.values()),
        npcs=tuple(_to_npc(n.model) for n in entries.npcs.values()),
        spawns=tuple(
            SpawnRule(m.npc, m.room, m.max, m.respawn_s) for m in (s.model for s in entries.spawns)
        ),
        start_room=start,
        tables=tuple(
            TableContent(name, model, tuple(p.model for p in entries.tables[name]))
            for name, model in entries.table_models.items()
        ),
    )


def _to_flux(m: FluxModel | None) -> FluxOverride | None:
    return None if m is None else FluxOverride(m.day, m.night)


def _to_stacks(stacks: Sequence[StackModel]) -> tuple[ItemStack, ...]:
    return tuple(ItemStack(s.template, s.quantity) for s in stacks)


def _to_room(m: RoomModel, zone: str) -> RoomDef:
    order = {d: i for i, d in enumerate(DIRECTIONS)}
    exits = sorted(m.exits.items(), key=lambda kv: order.get(kv[0], len(order)))
    return RoomDef(
        id=m.id,
        zone=zone,
        name=m.name,
        description=m.description,
        subzone=m.subzone,
        environment=m.environment,
        flags=frozenset(m.flags),
        exits=tuple(ExitDef(d, e.to, e.door, e.one_way) for d, e in exits),
        containers=tuple(
            RoomContainerDef(c.id, c.template, _to_stacks(c.contents), c.closed, c.lock)
            for c in m.containers
        ),
        items=_to_stacks(m.items),
        lucidity_flux=_to_flux(m.lucidity_flux),
    )


def _to_item(m: ItemModel) -> ItemTemplate:
    return ItemTemplate(
        id=m.id,
        name=m.name,
        keywords=tuple(m.keywords),
        description=m.description,
        kind=m.kind,
        stackable=m.stackable,
        portable=m.portable,
        slot=m.slot,
        weight=m.weight,
        capacity=m.capacity,
        closed=m.closed,
        lock=m.lock,
        key=m.key,
        stats=tuple(m.stats.items()),
        plural=m.plural,
        damage=m.damage,
        armour=m.armour,
        permanent=m.permanent,
    )


def _to_npc(m: NpcModel) -> NpcTemplate:
    return NpcTemplate(
        id=m.id,
        name=m.name,
        keywords=tuple(m.keywords),
        description=m.description,
        behaviour=m.behaviour,
        category=m.category,
        dp=m.dp,
        stats=tuple(m.stats.items()),
        carries=_to_stacks(m.carries),
        damage=m.damage,
        armour=m.armour,
        characteristics=Characteristics(
            strength=m.characteristics.str,
            dexterity=m.characteristics.dex,
            constitution=m.characteristics.con,
            size=m.characteristics.siz,
            power=m.characteristics.pow,
            education=m.characteristics.edu,
        ),
        loot=tuple(LootDrop(d.template, d.chance, d.quantity) for d in m.loot),
        wander=Wander(m.wander.interval_s, m.wander.chance) if m.wander is not None else None,
        emotes=(
            Emotes(tuple(m.emotes.lines), m.emotes.interval_s, m.emotes.chance)
            if m.emotes is not None
            else None
        ),
        greet=m.greet,
        flee_below=m.flee_below,
    )
