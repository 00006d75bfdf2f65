"""Recovery: what a player does to steady their own mind. ``pray`` and ``meditate`` (sitting)
give back some lucidity, each then resting for a while: their cooldowns are due points of game
time in a saved component, so they survive a logout and a restart. (Resting in a sanctuary, the
other way back, is a part of the flux: see ``systems/lucidity.py``.) No I/O, no randomness."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from components.body import PostureState
from components.mind import LUCIDITY_MAX, Devotions, Lucidity
from engine.commands import Args, Command, CommandSpec, Refused
from engine.config import setting_field
from engine.events import Scope
from engine.plugins import PluginKit
from engine.world import World
from systems.common import capitalised, check_able
from systems.look import seen_as
from systems.lucidity import change_lucidity
from systems.posture import posture_of
from systems.whereabouts import room_of

__all__ = ["RecoverySettings", "meditate", "pray", "register"]


@dataclass(frozen=True, slots=True)
class RecoverySettings:
    """What praying and meditating give back, and how often (the ``[recovery]`` section)."""

    pray_gain: int = setting_field(8, "Lucidity 'pray' gives back.", ge=0)
    pray_cooldown_s: float = setting_field(
        900.0, "Seconds after praying before 'pray' helps again.", unit="s", ge=0
    )
    meditate_gain: int = setting_field(6, "Lucidity 'meditate' gives back.", ge=0)
    meditate_cooldown_s: float = setting_field(
        600.0, "Seconds after meditating before 'meditate' helps again.", unit="s", ge=0
    )


def recovery_settings(world: World) -> RecoverySettings:
    return world.try_resource(RecoverySettings) or RecoverySettings()


def _minutes(seconds: float) -> str:
    minutes = max(1, math.ceil(seconds / 60 - 1e-9))
    return f"{minutes} more minute{'s' if minutes != 1 else ''}"


@dataclass(frozen=True, slots=True)
class _Practice:
    """A way to steady one's mind: its verb (which names its settings, ``<verb>_gain`` and
    ``<verb>_cooldown_s``, and its cooldown, ``Devotions.<verb>_ready_s``), whether it needs
    sitting, and its words to the actor and the room (``{name}``)."""

    verb: str
    sitting: bool
    own: str
    seen: str


PRAYER = _Practice(
    "pray",
    False,
    "You bow your head and pray. A measure of calm comes back to you.",
    "{name} bows their head in prayer.",
)
MEDITATION = _Practice(
    "meditate",
    True,
    "You close your eyes and breathe slowly, and your thoughts settle.",
    "{name} sits very still, eyes closed, breathing slowly.",
)


def _practise(world: World, actor: int, practice: _Practice) -> None:
    """``actor`` prays or meditates: refused on cooldown (or, meditating, not sitting); else its
    gain is given back, its cooldown starts, and the actor and the room are told (before the
    tier change it may bring)."""
    check_able(world, actor)
    mind = world.try_get(actor, Lucidity)
    if mind is None:
        raise Refused("no_mind", "There is no mind here to steady.")
    verb = practice.verb
    if practice.sitting and posture_of(world, actor) != PostureState.SITTING:
        raise Refused("not_sitting", f"You must be sitting to {verb} ('sit' first).")
    devotions = world.try_get(actor, Devotions) or Devotions()
    ready_field = f"{verb}_ready_s"
    left_s = getattr(devotions, ready_field) - world.clock.seconds
    if left_s > 1e-9:
        raise Refused(
            "on_cooldown",
            f"You cannot {verb} again yet: about {_minutes(left_s)}.",
            verb=verb,
            ready_in_s=round(left_s, 1),
        )

    settings = recovery_settings(world)
    gain: int = getattr(settings, f"{verb}_gain")
    ready = world.clock.seconds + getattr(settings, f"{verb}_cooldown_s")
    world.add(actor, dataclasses.replace(devotions, **{ready_field: ready}))
    data = {"action": verb, "gain": gain, "lucidity": min(LUCIDITY_MAX, mind.value + gain)}
    world.emit(verb, Scope.entity(actor), practice.own, data)
    room = room_of(world, actor)
    if room is not None:
        name, sid = seen_as(world, room, actor)
        shown = {"who": name, "id": sid, "action": verb}
        text = practice.seen.format(name=capitalised(name))
        world.emit(verb, Scope.room(room), text, shown, exclude=(actor,))
    change_lucidity(world, actor, gain)


def pray(world: World, cmd: Command, args: Args) -> None:
    """``pray``: a moment of prayer gives back ``pray_gain`` lucidity; then not again for
    ``pray_cooldown_s``."""
    _practise(world, cmd.actor, PRAYER)


def meditate(world: World, cmd: Command, args: Args) -> None:
    """``meditate``: sitting, a spell of stillness gives back ``meditate_gain`` lucidity; then not
    again for ``meditate_cooldown_s``."""
    _practise(world, cmd.actor, MEDITATION)


def register(kit: PluginKit) -> None:
    """Register ``pray`` and ``meditate``."""
    kit.command(
        CommandSpec(
            verb="pray",
            handler=pray,
            help="Pray for a moment: your mind steadies a little. Not again for a while.",
            category="lucidity",
        )
    )
    kit.command(
        CommandSpec(
            verb="meditate",
            handler=meditate,
            help="Sitting, meditate: your mind steadies a little. Not again for a while.",
            category="lucidity",
        )
    )
