"""Bleeding: a mortally wounded body loses a damage point every bleed interval until it dies or
someone stabilises it with ``aid`` (at 0, from where it recovers). Bleeds are scheduled by due
time: a tick looks only at the bodies due to bleed. No I/O, no randomness."""

from __future__ import annotations

from components.body import Bleeding, Player, Vitals
from engine.commands import Args, Command, CommandSpec, Refused
from engine.events import Scope
from engine.plugins import PluginKit
from engine.scheduler import SystemContext, system
from engine.timers import component_timers
from engine.world import World
from systems import fights
from systems.common import bodies_in, capitalised, display_name
from systems.death import death_settings
from systems.item_finding import handling_room
from systems.look import SELF_WORDS
from systems.targeting import find, read_target
from systems.wounds import DIED, hurt

__all__ = ["aid", "bleed", "register"]


@system(phase="rules", every_s=0.0, after=("fight_rounds",))
def bleed(world: World, ctx: SystemContext) -> None:
    """Every body due to bleed loses a damage point (and is told how it goes), then waits a bleed
    interval for the next; a body no longer mortally wounded stops bleeding."""
    timers = component_timers(world, Bleeding, lambda bleeding: bleeding.next_bleed_s)
    due = timers.pop_due(world, ctx.now_s)
    if not due:
        return
    interval = death_settings(world).bleed_interval_s
    for body, bleeding in due:
        vitals = world.try_get(body, Vitals)
        if vitals is None or vitals.dp > 0:
            world.remove(body, Bleeding)
            continue
        if hurt(world, body, 1) == DIED:
            continue
        world.add(body, Bleeding(bleeding.next_bleed_s + interval))
        if world.has(body, Player):
            data = {"kind": "bleed", "id": world.stable_id(body), "dp": vitals.dp}
            text = f"You are bleeding to death ({vitals.dp} dp)."
            world.emit(fights.COMBAT_EVENT, Scope.entity(body), text, data)


def aid(world: World, cmd: Command, args: Args) -> None:
    """``aid <someone>``: bind the wounds of a mortally wounded body here; it stops bleeding at
    0 damage points, and recovers from there."""
    actor = cmd.actor
    room = handling_room(world, actor)
    words = args.text("target")
    if words.casefold() in SELF_WORDS:
        raise Refused("aid_self", "You cannot bind your own wounds: you are not mortally wounded.")
    if fights.is_fighting(world, actor):
        raise Refused("fighting", "You cannot tend wounds in the middle of a fight.")
    target = read_target(words, "no_such_target")
    found = find(world, bodies_in(world, room, exclude=actor), target)
    if not found:
        raise Refused("no_such_target", f"You see no '{target.describe()}' here.")
    patient = found[0]
    name = display_name(world, patient)
    vitals = world.try_get(patient, Vitals)
    if vitals is None or vitals.dp > 0:
        raise Refused("not_wounded", f"{capitalised(name)} is not mortally wounded.")
    if not world.has(patient, Bleeding):
        raise Refused("already_stable", f"{capitalised(name)} is not bleeding any more.")

    vitals.dp = 0
    world.remove(patient, Bleeding)
    who = capitalised(display_name(world, actor))
    data = {"action": "aid", "actor": world.stable_id(actor), "patient": world.stable_id(patient)}
    world.emit("msg", Scope.entity(actor), f"You bind {name}'s wounds; the bleeding stops.", data)
    world.emit(
        "msg",
        Scope.entity(patient),
        f"{who} binds your wounds; the bleeding stops. You will live.",
        data,
    )
    world.emit(
        "msg", Scope.room(room), f"{who} binds {name}'s wounds.", data, exclude=(actor, patient)
    )


def register(kit: PluginKit) -> None:
    """Register ``aid`` and the bleeding of the mortally wounded."""
    kit.system(bleed)
    kit.command(
        CommandSpec(
            verb="aid",
            handler=aid,
            usage="<target...>",
            help=(
                "Bind the wounds of someone mortally wounded here, so they stop bleeding to"
                " death and can recover ('aid armitage')."
            ),
            category="combat",
        )
    )
