"""Greeting: an NPC whose template has a greeting says it (as ``say`` does) when a player comes
into its room, once however many came in that tick, unless it is fighting, down, or cannot see
who came in (a dark room). Arrivals come from the world's feed of new locations, so only rooms a
player walked into are looked at; no I/O, no randomness."""

from __future__ import annotations

from dataclasses import dataclass

from components.body import Dead, Npc, Offline, Player, Vitals
from components.combat import Fighting
from components.content import Directory
from components.place import Location, Room
from engine.events import Scope
from engine.plugins import PluginKit
from engine.scheduler import SystemContext, system
from engine.world import Additions, World
from systems.common import bodies_in, display_name
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
    rooms: dict[int, None] = {}
    for body in arrived:
        if not world.has(body, Player) or world.has(body, Offline) or world.has(body, Dead):
            continue
        location = world.try_get(body, Location)
        room = world.entity_of(location.holder) if location is not None else None
        if room is not None and world.has(room, Room):
            rooms[room] = None
    if not rooms:
        return
    templates = world.resource(Directory).npcs
    for room in rooms:
        if is_dark(world, room):
            continue
        for npc in bodies_in(world, room):
            found = world.try_get(npc, Npc)
            template = templates.get(found.template) if found is not None else None
            if template is None or not template.greet or world.has(npc, Fighting):
                continue
            vitals = world.try_get(npc, Vitals)
            if vitals is not None and vitals.dp <= 0:
                continue
            name = display_name(world, npc)
            _, text = say_texts(name, template.greet)
            data = {"from": name, "from_id": world.stable_id(npc), "text": template.greet}
            world.emit("say", Scope.room(room), text, data, exclude=(npc,))


def register(kit: PluginKit) -> None:
    """Register the greetings of NPCs."""
    kit.system(greet_arrivals)
