"""NPC spawning: each spawn rule keeps up to ``max`` of its NPC in its room, replacing the fallen
``respawn_s`` seconds after a shortfall is noticed (at once at start-up). Only transient timers
are kept; NPC behaviour is not here, and nothing here does I/O."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from components.body import Identity, Npc, Posture, Vitals
from components.content import Directory, NpcTemplate, SpawnRule
from components.place import Location
from engine.events import Scope
from engine.plugins import PluginKit
from engine.scheduler import SystemContext, system
from engine.world import World
from systems.common import capitalised
from systems.stacks import item_components

#: How often spawn rules are checked, in seconds. A fallen NPC's replacement can appear up to this
#: much later than its rule's ``respawn_s``.
SPAWN_CHECK_INTERVAL_S = 1.0


@dataclass(slots=True)
class SpawnTimers:
    """When each short rule may next spawn (simulated seconds), by rule index. Transient: after a
    restart, rules short of their maximum fill at once."""

    due_s: dict[int, float] = field(default_factory=dict)
    started: bool = False


def spawn_npc(world: World, template: NpcTemplate, room: int, home_room: str) -> int:
    """Create one NPC from its template in ``room``, with what it carries."""
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


def shortfalls(world: World, rules: tuple[SpawnRule, ...]) -> dict[int, int]:
    """How many NPCs each rule (by index) is missing; rules at their maximum are absent."""
    alive = Counter((npc.template, npc.home_room) for _, npc in world.query(Npc))
    return {
        i: rule.max - alive[(rule.npc, rule.room)]
        for i, rule in enumerate(rules)
        if alive[(rule.npc, rule.room)] < rule.max
    }


@system(phase="late", every_s=SPAWN_CHECK_INTERVAL_S)
def spawn_npcs(world: World, ctx: SystemContext) -> None:
    """Top up every spawn rule: at once at start-up, then ``respawn_s`` after a shortfall."""
    directory = world.try_resource(Directory)
    if directory is None or not directory.spawns:
        return
    timers = world.try_resource(SpawnTimers)
    if timers is None:
        timers = SpawnTimers()
        world.insert_resource(timers)
    missing = shortfalls(world, directory.spawns)
    for index in list(timers.due_s):
        if index not in missing:
            del timers.due_s[index]  # back to full by other means (a restore, a builder)
    for index, count in missing.items():
        rule = directory.spawns[index]
        if not timers.started:
            due = ctx.now_s
        else:
            due = timers.due_s.setdefault(index, ctx.now_s + rule.respawn_s)
        if ctx.now_s + 1e-9 < due:
            continue
        room = directory.rooms[rule.room]
        template = directory.npcs[rule.npc]
        for _ in range(count if not timers.started else 1):
            spawn_npc(world, template, room, rule.room)
            world.emit(
                "arrive",
                Scope.room(room),
                f"{capitalised(template.name)} appears.",
                {"who": template.name, "npc": template.id},
            )
        timers.due_s.pop(index, None)
    timers.started = True


def register(kit: PluginKit) -> None:
    kit.system(spawn_npcs)
