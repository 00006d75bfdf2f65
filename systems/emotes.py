"""Ambient emotes: an NPC whose template has lines acts one out now and then, as a player's
``emote`` reads ("A black cat washes a paw."), unless it is fighting or down. One rule over every
awake NPC with lines, each due by its time; dormant NPCs are never looked at. Randomness from the
world's RNG only; no I/O."""

from __future__ import annotations

from dataclasses import dataclass

from components.body import Vitals
from components.combat import Fighting
from components.content import NpcTemplate
from engine.config.values import setting_field
from engine.events import Scope
from engine.plugins import PluginKit
from engine.scheduler import SystemContext, system
from engine.world import World
from systems.dormancy import BehaviourTimers
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


@dataclass(slots=True)
class _Emoters:
    """The awake NPCs with lines by their next moment (a resource; transient)."""

    timers: BehaviourTimers


def _emoters(world: World) -> tuple[EmoteSettings, BehaviourTimers]:
    settings = world.try_resource(EmoteSettings) or EmoteSettings()
    emoters = world.try_resource(_Emoters)
    if emoters is None:

        def interval(template: NpcTemplate) -> float | None:
            spec = template.emotes
            if spec is None:
                return None
            return spec.interval_s if spec.interval_s is not None else settings.interval_s

        emoters = _Emoters(BehaviourTimers(world, interval))
        world.insert_resource(emoters)
    return settings, emoters.timers


@system(phase="rules", every_s=0.0)
def act_out_emotes(world: World, ctx: SystemContext) -> None:
    """Every awake NPC with lines whose moment has come acts one out, with its chance."""
    settings, timers = _emoters(world)
    due = timers.pop_due(world, ctx.now_s)
    if not due:
        return
    rng = world.rng
    for npc, template, due_s in due:
        spec = template.emotes
        if spec is None:
            continue
        interval = spec.interval_s if spec.interval_s is not None else settings.interval_s
        chance = spec.chance if spec.chance is not None else settings.chance
        timers.again(npc, due_s + interval)
        vitals = world.try_get(npc, Vitals)
        room = room_of(world, npc)
        if room is None or world.has(npc, Fighting) or (vitals is not None and vitals.dp <= 0):
            continue
        if rng.random() >= chance:
            continue
        line = rng.choice(spec.lines)
        name, sid = seen_as(world, room, npc)
        data = {"from": name, "from_id": sid, "action": line}
        world.emit("emote", Scope.room(room), emote_text(name, line), data)


def register(kit: PluginKit) -> None:
    """Register the ambient emotes of NPCs."""
    kit.system(act_out_emotes)
