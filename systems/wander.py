"""Wandering: an NPC whose template wanders takes a step now and then through an open exit (never
through a closed door) into a room of its zone, never out of it; one that fled out of its zone
heads home when an exit leads there. One rule over every awake wanderer, each due by its time;
dormant NPCs are never looked at. Randomness from the world's RNG only; no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from components.body import Npc
from components.content import Directory
from engine.commands import Refused
from engine.config import setting_field
from engine.plugins import PluginKit
from engine.scheduler import SystemContext, system
from engine.world import World
from systems.dormancy import Vigil, behaviour_timers, paced, vigil_of
from systems.movement import check_move, open_ways, step
from systems.whereabouts import room_of

__all__ = ["WanderSettings", "register", "wander"]


@dataclass(frozen=True, slots=True)
class WanderSettings:
    """How wandering NPCs wander when their template does not say (the ``[wander]`` section)."""

    interval_s: float = setting_field(
        30.0,
        "How often a wandering NPC considers a step, if its template gives no interval_s.",
        unit="s",
        gt=0,
    )
    chance: float = setting_field(
        0.5,
        "The chance that a wandering NPC takes a step when it considers one, if its template"
        " gives no chance.",
        gt=0,
        le=1,
    )


def wander_settings(world: World) -> WanderSettings:
    return world.try_resource(WanderSettings) or WanderSettings()


@system(phase="rules", every_s=0.0)
def wander(world: World, ctx: SystemContext) -> None:
    """Every awake wanderer whose moment has come takes a step, with its chance."""
    settings = wander_settings(world)
    timers = behaviour_timers(world, "wander", lambda template: paced(template.wander, settings))
    acting = timers.pop_acting(world, ctx.now_s)
    if acting:
        vigil = vigil_of(world)
        for npc, _template in acting:
            _step(world, vigil, npc)


def _step(world: World, vigil: Vigil, npc: int) -> None:
    """``npc`` walks through a random open exit into a room of its home zone (or, strayed out
    of it with no way home from here, of the zone it is in); a refused move changes nothing."""
    room = room_of(world, npc)
    if room is None:
        return
    here = vigil.zone_of(world, room)
    home_room = world.resource(Directory).rooms.get(world.get(npc, Npc).home_room)
    home = vigil.zone_of(world, home_room) if home_room is not None else here
    ways = open_ways(world, room)
    inside = [(d, there) for d, there in ways if vigil.zone_of(world, there) == home]
    if not inside and here != home:
        inside = [(d, there) for d, there in ways if vigil.zone_of(world, there) == here]
    if not inside:
        return
    direction, _there = world.rng.choice(inside)
    try:
        route = check_move(world, npc, direction)
    except Refused:
        return  # fighting, down, sitting: it stays
    step(world, npc, route)


def register(kit: PluginKit) -> None:
    """Register the wandering of NPCs."""
    kit.system(wander)
