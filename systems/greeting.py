"""Greeting: an NPC whose template has a greeting says it (as ``say`` does) when a player comes
into its room, once however many came in that tick, unless it is fighting, down, or cannot see
who came in (a dark room). Arrivals come from the world's feed of new locations, so only rooms a
player walked into are looked at; no I/O, no randomness."""

from __future__ import annotations

from dataclasses import dataclass

from components.body import Dead, Offline, Player, Vitals
from components.combat import Fighting
from components.place import Location
from engine.events import Scope
from engine.plugins import PluginKit
from engine.scheduler import SystemContext, system
from engine.world import Additions, World
from systems.common import arrivals_by_room, display_name, npcs_in
from systems.look import is_dark
from systems.speech import say_texts

__all__ = ["greet_arrivals", "register"]


@dataclass(slots=True)
class _Doorkeepers:
    """The rule's state (a resource, transient): the feed of new locations it reads."""

    arrivals: Additions


@system(phase="rules", every_s=0.0)
def greet_arrivals(world: World, ctx: SystemContext) -> None:
    """In each room a player came into, every NPC there with a greeting says it."""
    state = world.try_resource(_Doorkeepers)
    if state is None:
        state = _Doorkeepers(world.additions(Location))
        world.insert_resource(state)
    arrived = state.arrivals.drain()
    if not arrived:
        return
    for room, bodies in arrivals_by_room(world, arrived).items():
        if is_dark(world, room) or not any(_greeted(world, body) for body in bodies):
            continue
        for npc, template in npcs_in(world, room):
            if not template.greet or world.has(npc, Fighting):
                continue
            vitals = world.try_get(npc, Vitals)
            if vitals is not None and vitals.dp <= 0:
                continue
            name = display_name(world, npc)
            _, text = say_texts(name, template.greet)
            data = {"from": name, "from_id": world.stable_id(npc), "text": template.greet}
            world.emit("say", Scope.room(room), text, data, exclude=(npc,))


def _greeted(world: World, body: int) -> bool:
    """A player in the world and alive: someone an NPC greets."""
    return world.has(body, Player) and not world.has(body, Offline) and not world.has(body, Dead)


def register(kit: PluginKit) -> None:
    """Register the greetings of NPCs."""
    kit.system(greet_arrivals)
