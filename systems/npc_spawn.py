"""NPC spawning: each spawn rule fills its room when the world first starts, then keeps count: an
NPC of its that is lost (dead, or taken out of the world) is replaced ``respawn_s`` later, in the
rule's room. A pending replacement is a saved ``Respawn`` entity, due by its time, and counts
with the living, so a rule never holds more than its ``max``. Losses come from the world's feed
of NPCs gone, replacements by due time: nothing is scanned. NPC behaviour is not here; no I/O."""

from __future__ import annotations

import operator
from dataclasses import dataclass

from components.body import Identity, Npc, Posture, Vitals
from components.content import Directory, NpcTemplate, SpawnRule
from components.npc import Respawn
from components.place import Location
from engine.events import Scope
from engine.plugins import PluginKit
from engine.scheduler import SystemContext, system
from engine.timers import ComponentTimers, component_timers
from engine.world import Removals, World
from systems.borders import NpcsElsewhere, simulated_elsewhere
from systems.common import capitalised
from systems.stacks import item_components

__all__ = ["SPAWN_CHECK_INTERVAL_S", "population", "register", "spawn_npc", "spawn_npcs"]

#: How often the spawn rules take in their losses and make what is due, in seconds. A lost NPC's
#: replacement is due ``respawn_s`` after the check that noticed the loss: up to this much later
#: than ``respawn_s`` after the loss itself.
SPAWN_CHECK_INTERVAL_S = 1.0

#: A pending respawn's due point (read for every one that comes due).
RESPAWN_DUE = operator.attrgetter("due_s")


@dataclass(slots=True)
class _Census:
    """The spawn rules' state (a resource; transient, rebuilt from the saved NPCs and
    ``Respawn`` entities after a restart): the rules by NPC and room, the feed of NPCs lost,
    the pending respawns by due time."""

    rules: dict[tuple[str, str], SpawnRule]
    lost: Removals[Npc]
    due: ComponentTimers[Respawn]


def spawn_npc(world: World, template: NpcTemplate, room: int, home_room: str) -> int:
    """Create one NPC from its template in ``room``, with what it carries; ``home_room`` is the
    room key of the spawn rule that counts it ("" for none)."""
    room_sid = world.stable_id(room)
    assert room_sid is not None  # rooms are content entities
    npc = world.spawn(
        Identity(template.name, template.keywords, template.description),
        Npc(template.id, home_room),
        Posture(),
        Vitals(template.dp, template.dp),
        Location(room_sid),
        persistent=True,
    )
    npc_sid = world.stable_id(npc)
    assert npc_sid is not None
    items = world.resource(Directory).items
    for stack in template.carries:
        world.spawn(
            *item_components(items[stack.template], stack.quantity),
            Location(npc_sid),
            persistent=True,
        )
    return npc


def population(world: World, rule: SpawnRule) -> tuple[int, int]:
    """How many NPCs of ``rule`` are alive (wherever they are: in a sharded world, those let go
    of to other shards too), and how many are pending."""
    census = _census(world)
    assert census is not None, "a world with spawn rules"
    alive = sum(
        1
        for npc in world.lookup(Npc, "home_room", rule.room)
        if world.get(npc, Npc).template == rule.npc
    )
    elsewhere = world.try_resource(NpcsElsewhere)
    if elsewhere is not None:
        key = (rule.npc, rule.room)
        alive += sum(
            1
            for sid, rule_of in elsewhere.npcs.items()
            if rule_of == key and world.entity_of(sid) is None  # not back here
        )
    pending = sum(
        1
        for entity in world.lookup(Respawn, "room", rule.room)
        if world.get(entity, Respawn).npc == rule.npc
    )
    return alive, pending


def _census(world: World) -> _Census | None:
    census = world.try_resource(_Census)
    if census is None:
        directory = world.try_resource(Directory)
        if directory is None or not directory.spawns:
            return None
        world.add_index(Npc, "home_room")
        world.add_index(Respawn, "room")
        census = _Census(
            rules={(rule.npc, rule.room): rule for rule in directory.spawns},
            # An NPC handed to another shard lives on there: not a loss to make good.
            lost=world.removals(Npc, evictions=False),
            due=component_timers(world, Respawn, RESPAWN_DUE),
        )
        world.insert_resource(census)
    return census


@system(phase="late", every_s=SPAWN_CHECK_INTERVAL_S)
def spawn_npcs(world: World, ctx: SystemContext) -> None:
    """Every spawn rule fills its room at the first check; after that, each NPC a rule lost is
    due again ``respawn_s`` later, and those whose time has come appear."""
    first = world.try_resource(_Census) is None
    census = _census(world)
    if census is None:
        return
    now = ctx.now_s
    if first:
        for rule in census.rules.values():
            if _ours(world, rule):
                alive, pending = population(world, rule)
                for _ in range(rule.max - alive - pending):
                    _appear(world, rule)
    else:
        short: dict[tuple[str, str], None] = {}
        for _entity, npc in census.lost.drain():
            if (npc.template, npc.home_room) in census.rules:
                short[(npc.template, npc.home_room)] = None
        for key in short:
            rule = census.rules[key]
            if _ours(world, rule):
                alive, pending = population(world, rule)
                for _ in range(rule.max - alive - pending):
                    world.spawn(Respawn(rule.npc, rule.room, now + rule.respawn_s), persistent=True)
    for entity, respawn in census.due.pop_due(world, now):
        found = census.rules.get((respawn.npc, respawn.room))
        if found is not None and not _ours(world, found):
            continue  # the shard that simulates the room makes it, from its own copy
        world.destroy(entity)
        if found is not None and population(world, found)[0] < found.max:
            _appear(world, found)


def _ours(world: World, rule: SpawnRule) -> bool:
    """Whether this process fills the rule's room: always on a single server; in a sharded
    world, only the shard that simulates the room's zone does (as the zone map says now)."""
    return not simulated_elsewhere(world, world.resource(Directory).rooms[rule.room])


def _appear(world: World, rule: SpawnRule) -> None:
    """One NPC of ``rule`` appears in its room, and the room sees it."""
    directory = world.resource(Directory)
    room = directory.rooms[rule.room]
    template = directory.npcs[rule.npc]
    spawn_npc(world, template, room, rule.room)
    world.emit(
        "arrive",
        Scope.room(room),
        f"{capitalised(template.name)} appears.",
        {"who": template.name, "npc": template.id},
    )


def register(kit: PluginKit) -> None:
    kit.system(spawn_npcs)
