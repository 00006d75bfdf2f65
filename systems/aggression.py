"""Aggression: an aggressive NPC attacks a player who comes into its room, or whom it finds on
coming into one, after a reaction delay (never in a ``no_combat`` room). Arrivals come from the
world's feed of new locations, strikes are scheduled by due time; no I/O, no randomness."""

from __future__ import annotations

from dataclasses import dataclass, field

from components.body import Dead, Npc, Offline, Player, Vitals
from components.combat import Fighting
from components.content import Behaviour, Directory
from components.place import Location, Room, RoomFlag
from engine.config import setting_field
from engine.plugins import PluginKit
from engine.scheduler import SystemContext, system
from engine.timers import TimerQueue
from engine.world import Additions, World
from systems import fights
from systems.common import arrivals_by_room, bodies_in, capitalised, display_name, npcs_in
from systems.cowardice import losing_heart
from systems.whereabouts import room_of

__all__ = ["AggressionSettings", "is_aggressive", "register", "watch_for_prey"]


@dataclass(frozen=True, slots=True)
class AggressionSettings:
    """How quickly aggressive NPCs attack (the ``[aggression]`` section)."""

    reaction_s: float = setting_field(
        1.0,
        "How long an aggressive NPC takes to attack a player who comes into its room (or whom it"
        " finds on coming into one): the moment a player has to turn and run.",
        unit="s",
        ge=0,
    )


@dataclass(slots=True)
class _Hunting:
    """The world's aggressive NPCs about to strike (a resource): the feed of arrivals it reads,
    and each NPC's prey by the time it strikes. Transient: a restart forgets a pending attack."""

    arrivals: Additions
    strikes: TimerQueue[int] = field(default_factory=TimerQueue)
    prey: dict[int, int] = field(default_factory=dict)


def is_aggressive(world: World, body: int) -> bool:
    """Whether ``body`` is an NPC whose template attacks on sight."""
    npc = world.try_get(body, Npc)
    if npc is None:
        return False
    template = world.resource(Directory).npcs.get(npc.template)
    return template is not None and template.behaviour == Behaviour.AGGRESSIVE


def _ready(world: World, body: int) -> bool:
    """Able and free to fight: standing on its damage points, not already fighting, not so hurt
    that it would rather run (its template's ``flee_below``)."""
    vitals = world.try_get(body, Vitals)
    if vitals is None or vitals.dp <= 0 or world.has(body, Fighting):
        return False
    npc = world.try_get(body, Npc)
    template = world.resource(Directory).npcs.get(npc.template) if npc is not None else None
    return not losing_heart(vitals, template)


def _prey(world: World, body: int) -> bool:
    """A player who can be attacked: in the world, alive and not helpless."""
    if not world.has(body, Player) or world.has(body, Offline):
        return False
    vitals = world.try_get(body, Vitals)
    return vitals is not None and vitals.dp > 0 and not world.has(body, Dead)


def _calm_here(world: World, room: int) -> bool:
    definition = world.try_get(room, Room)
    return definition is None or definition.has_flag(RoomFlag.NO_COMBAT)


@system(phase="rules", every_s=0.0, before=("fight_rounds",))
def watch_for_prey(world: World, ctx: SystemContext) -> None:
    """Aggressive NPCs notice the players who arrive where they are (and where they arrive),
    and strike ``reaction_s`` later if their prey is still there."""
    hunting = world.try_resource(_Hunting)
    if hunting is None:
        hunting = _Hunting(world.additions(Location))
        world.insert_resource(hunting)
    arrived = hunting.arrivals.drain()
    if arrived:
        delay = (world.try_resource(AggressionSettings) or AggressionSettings()).reaction_s
        for room, bodies in arrivals_by_room(world, arrived).items():
            _notice(world, hunting, room, bodies, ctx.now_s + delay)
    for npc in hunting.strikes.pop_due(ctx.now_s):
        prey = hunting.prey.pop(npc, None)
        if prey is not None:
            _strike_first(world, npc, prey, ctx.now_s)


def _notice(world: World, hunting: _Hunting, room: int, arrived: list[int], due_s: float) -> None:
    """The hunters of ``room`` mark their prey among who came in (or, coming in themselves,
    among who is there): the room's creatures and players are each looked at once, however
    many came in."""
    if _calm_here(world, room):
        return
    came = set(arrived)
    hunters = [
        npc
        for npc, template in npcs_in(world, room)
        if npc not in hunting.prey
        and template.behaviour == Behaviour.AGGRESSIVE
        and _ready(world, npc)
    ]
    if not hunters:
        return
    newcomers = [body for body in arrived if _prey(world, body)]
    present: list[int] | None = None  # every prey in the room, found only if a hunter came in
    for npc in hunters:
        if newcomers and npc not in came:
            prey = newcomers[0]
        else:
            if present is None:
                present = [body for body in bodies_in(world, room) if _prey(world, body)]
            if not present:
                continue
            prey = present[0]
        hunting.prey[npc] = prey
        hunting.strikes.schedule(npc, due_s)


def _strike_first(world: World, npc: int, prey: int, now_s: float) -> None:
    if not world.exists(npc) or not world.exists(prey):
        return
    room = room_of(world, npc)
    if room is None or room != room_of(world, prey) or _calm_here(world, room):
        return
    if not _ready(world, npc) or not _prey(world, prey):
        return
    fights.join(world, npc, prey, now_s)
    name = capitalised(fights.fighter_name(world, npc))
    data = {
        "kind": "engage",
        "attacker": world.stable_id(npc),
        "attacker_name": display_name(world, npc),
        "defender": world.stable_id(prey),
        "defender_name": display_name(world, prey),
    }
    prey_name = fights.fighter_name(world, prey)
    fights.emit_combat(
        world, room, data, [(prey, f"{name} attacks you!")], f"{name} attacks {prey_name}!"
    )


def register(kit: PluginKit) -> None:
    """Register the aggression of NPCs that attack on sight."""
    kit.system(watch_for_prey)
