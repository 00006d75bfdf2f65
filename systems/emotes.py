"""Ambient emotes: an NPC whose template has lines acts one out now and then, as a player's
``emote`` reads ("A black cat washes a paw."), unless it is fighting or down. One rule over every
awake NPC with lines, each due by its time; dormant NPCs are never looked at. Randomness from the
world's RNG only; no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from components.body import Vitals
from components.combat import Fighting
from engine.config import setting_field
from engine.events import Scope
from engine.plugins import PluginKit
from engine.scheduler import SystemContext, system
from engine.world import World
from systems.dormancy import behaviour_timers, paced
from systems.look import seen_as
from systems.speech import emote_text
from systems.whereabouts import room_of

__all__ = ["EmoteSettings", "act_out_emotes", "register"]


@dataclass(frozen=True, slots=True)
class EmoteSettings:
    """How often NPCs act out their lines when their template does not say (``[emotes]``)."""

    interval_s: float = setting_field(
        60.0,
        "How often an NPC with ambient lines may act one out, if its template gives no interval_s.",
        unit="s",
        gt=0,
    )
    chance: float = setting_field(
        0.5,
        "The chance that it acts one out each time, if its template gives no chance.",
        gt=0,
        le=1,
    )


@system(phase="rules", every_s=0.0)
def act_out_emotes(world: World, ctx: SystemContext) -> None:
    """Every awake NPC with lines whose moment has come acts one out, with its chance, unless
    it is fighting or down."""
    settings = world.try_resource(EmoteSettings) or EmoteSettings()
    timers = behaviour_timers(world, "emotes", lambda template: paced(template.emotes, settings))
    for npc, template in timers.pop_acting(world, ctx.now_s):
        vitals = world.try_get(npc, Vitals)
        room = room_of(world, npc)
        if room is None or world.has(npc, Fighting) or (vitals is not None and vitals.dp <= 0):
            continue
        assert template.emotes is not None  # it has the behaviour
        line = world.rng.choice(template.emotes.lines)
        name, sid = seen_as(world, room, npc)
        data = {"from": name, "from_id": sid, "action": line}
        world.emit("emote", Scope.room(room), emote_text(name, line), data)


def register(kit: PluginKit) -> None:
    """Register the ambient emotes of NPCs."""
    kit.system(act_out_emotes)
