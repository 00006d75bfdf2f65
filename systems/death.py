"""Death: a body at the death threshold leaves a corpse; an NPC credits its attackers and is gone,
a player waits dead until ``respawn`` or ``respawn_s`` wakes them whole in the start room.
Respawns are scheduled by due time; no I/O, no randomness but the world's RNG (an NPC's loot)."""

from __future__ import annotations

from dataclasses import dataclass

from components.body import (
    Bleeding,
    Dead,
    Experience,
    Npc,
    Offline,
    Player,
    Posture,
    PostureState,
    Vitals,
)
from components.combat import Threat
from components.content import Directory
from engine.commands import Args, Command, CommandSpec, Refused
from engine.config import setting_field
from engine.events import Scope
from engine.plugins import PluginKit
from engine.scheduler import SystemContext, system
from engine.timers import component_timers
from engine.world import World
from systems import fights
from systems.common import View, capitalised, display_name
from systems.corpses import add_loot, corpse_settings, make_corpse
from systems.look import show_room
from systems.whereabouts import move, room_of

__all__ = ["DeathSettings", "credit_experience", "die", "register", "respawn", "wake_the_dead"]


@dataclass(frozen=True, slots=True)
class DeathSettings:
    """When a body dies, how it bleeds on the way, and when the dead wake (``[death]``)."""

    dead_at_dp: int = setting_field(
        -10,
        "Damage points at or below which a body is dead. From 0 down to just above it, a body"
        " is mortally wounded: it lies helpless and bleeds.",
        le=-1,
    )
    bleed_interval_s: float = setting_field(
        3.0,
        "Seconds between two damage points lost by a mortally wounded body that nobody aided.",
        unit="s",
        gt=0,
    )
    respawn_s: float = setting_field(
        60.0,
        "How long a dead player waits before waking in the start room, if they do not type"
        " 'respawn' first.",
        unit="s",
        ge=0,
    )


def death_settings(world: World) -> DeathSettings:
    return world.try_resource(DeathSettings) or DeathSettings()


DIED_TEXT = (
    "You have died. Your body lies where you fell, with everything you had. Type 'respawn' to"
    " wake again in the world, or wait to be called back."
)


def die(world: World, body: int) -> None:
    """``body`` dies where it is: out of its fight, into a corpse. An NPC is gone (its attackers
    credited); a player waits dead."""
    room = room_of(world, body) or _offline_room(world, body)
    name = display_name(world, body)
    sid = world.stable_id(body)
    world.discard(body, Bleeding)
    corpses = corpse_settings(world)
    is_npc = world.has(body, Npc)
    corpse = None
    loot: list[View] = []
    if room is not None:
        if is_npc:
            corpse = make_corpse(
                world, body, room, owner=0, lasts_s=corpses.npc_corpse_decay_s, grace_s=0.0
            )
            template = world.resource(Directory).npcs.get(world.get(body, Npc).template)
            loot = add_loot(world, corpse, template.loot) if template is not None else []
        else:
            corpse = make_corpse(
                world,
                body,
                room,
                owner=sid or 0,
                lasts_s=corpses.player_corpse_decay_s,
                grace_s=corpses.corpse_grace_s,
            )
    data = {
        "kind": "death",
        "id": sid,
        "name": name,
        "corpse": world.stable_id(corpse) if corpse is not None else None,
        "loot": loot,
    }
    told = [(body, DIED_TEXT)] if world.has(body, Player) else []
    seen = f"{capitalised(fights.fighter_name(world, body))} is dead!"
    fights.emit_combat(world, room, data, told, seen)
    # Out of its fight after the death is told, so its foes hear of the death before the end.
    fights.leave(world, body, why=f"{capitalised(name)} is dead.")
    if is_npc:
        credit_experience(world, body)
        world.destroy(body)
        return
    world.add(body, Dead(world.clock.seconds + death_settings(world).respawn_s))


def _offline_room(world: World, body: int) -> int | None:
    offline = world.try_get(body, Offline)
    return world.entity_of(offline.room) if offline is not None else None


def credit_experience(world: World, body: int) -> None:
    """Share out what ``body`` was worth: each attacker that still exists gains the damage it
    dealt (its threat), and is told."""
    threat = world.try_get(body, Threat)
    if threat is None:
        return
    name = fights.fighter_name(world, body)
    for attacker_sid, points in threat.entries:
        attacker = world.entity_of(attacker_sid)
        if attacker is None or points <= 0:
            continue
        experience = world.try_get(attacker, Experience)
        if experience is None:
            experience = Experience()
            world.add(attacker, experience)
        experience.points += points
        if world.has(attacker, Player):
            data = {"kind": "experience", "points": points, "total": experience.points}
            text = f"You gain {points} experience for your part in the death of {name}."
            world.emit(fights.COMBAT_EVENT, Scope.entity(attacker), text, data)


# --------------------------------------------------------------------------------------------------
# Waking again


def respawn(world: World, body: int) -> None:
    """Wake a dead player in the start room: whole, standing, carrying nothing (their things
    lie in their corpse). One out of the world wakes there when it next comes in."""
    directory = world.resource(Directory)
    start = directory.rooms[directory.start_room]
    world.remove(body, Dead)
    world.discard(body, Bleeding)
    vitals = world.try_get(body, Vitals)
    if vitals is not None:
        vitals.dp = vitals.max_dp
    posture = world.try_get(body, Posture)
    if posture is not None:
        posture.state, posture.resting = PostureState.STANDING, False
    if world.has(body, Offline):
        start_sid = world.stable_id(start)
        assert start_sid is not None  # rooms are content entities
        world.add(body, Offline(start_sid))
        return
    move(world, body, start)
    name = display_name(world, body)
    world.emit(
        "arrive",
        Scope.room(start),
        f"{capitalised(name)} wakes with a gasp, as if from a long nightmare.",
        {"who": name, "id": world.stable_id(body), "respawn": True},
        exclude=(body,),
    )
    world.emit(
        "respawn",
        Scope.entity(body),
        "You wake with a gasp, whole again, with nothing but the memory of dying.",
        {"room": directory.start_room},
    )
    show_room(world, body)


def respawn_command(world: World, cmd: Command, args: Args) -> None:
    """``respawn``: a dead player wakes at once in the start room."""
    if not world.has(cmd.actor, Dead):
        raise Refused("not_dead", "You are not dead.")
    respawn(world, cmd.actor)


@system(phase="late", every_s=0.0)
def wake_the_dead(world: World, ctx: SystemContext) -> None:
    """Dead players whose ``respawn_s`` has run out wake in the start room."""
    timers = component_timers(world, Dead, lambda dead: dead.respawn_at_s)
    for body, _dead in timers.pop_due(world, ctx.now_s):
        respawn(world, body)


def register(kit: PluginKit) -> None:
    """Register ``respawn`` and the waking of the dead."""
    kit.command(
        CommandSpec(
            verb="respawn",
            handler=respawn_command,
            help="When you are dead: wake at once in the start room, whole, carrying nothing.",
            category="combat",
        )
    )
    kit.system(wake_the_dead)
