"""Madness: what a troubled mind does to its owner's actions. A command gate asked before every
command: a catatonic mind cannot act at all, a fractured or deranged one's commands misfire now
and then (it is told; nothing happens, nothing is lost); and a deranged fighter may break and
flee when one hit takes much of its damage points. Every roll comes from the world's RNG within
the tick, so a replay misfires alike; no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from components.body import Dead, Vitals
from components.mind import Lucidity
from engine.commands import Command, CommandSpec, Refused
from engine.config import setting_field
from engine.events import Scope
from engine.plugins import PluginKit
from engine.world import World
from systems import fights
from systems.fights import Flee
from systems.lucidity import Tier, lucidity_settings, tier_of

__all__ = ["MISFIRE_TEXTS", "MadnessSettings", "panic", "register", "troubled_mind"]


@dataclass(frozen=True, slots=True)
class MadnessSettings:
    """How a troubled mind trips up its owner (the ``[madness]`` section)."""

    fractured_misfire_chance: float = setting_field(
        0.10, "Chance that a fractured mind's command misfires (nothing happens).", ge=0, le=1
    )
    deranged_misfire_chance: float = setting_field(
        0.25, "Chance that a deranged mind's command misfires (nothing happens).", ge=0, le=1
    )
    panic_hit_share: float = setting_field(
        0.15,
        "A hit that takes more than this share of a deranged fighter's maximum damage points"
        " may make it flee in panic.",
        ge=0,
        le=1,
    )
    panic_chance: float = setting_field(
        0.20, "Chance that such a hit makes a deranged fighter flee in panic.", ge=0, le=1
    )
    steady_verbs: tuple[str, ...] = setting_field(
        ("help", "score", "who", "quit"),
        "Commands a troubled mind can always use: they never misfire, and a catatonic mind can"
        " still use them (every other command it types is refused).",
    )


def madness_settings(world: World) -> MadnessSettings:
    return world.try_resource(MadnessSettings) or MadnessSettings()


#: What a misfiring command tells its owner, one drawn at random.
MISFIRE_TEXTS: tuple[str, ...] = (
    "Your hands will not do what you ask of them. Nothing happens.",
    "You lose the thread of what you meant to do, and stand there, blinking.",
    "Halfway through, you forget what you were doing. Nothing happens.",
    "The intention slides away before you can act on it. Nothing happens.",
)

CATATONIC_TEXT = (
    "You cannot move. Your mind is somewhere far away, and your body will not answer."
    " (Someone may 'ground' you.)"
)


def troubled_mind(world: Any, cmd: Command, spec: CommandSpec[Any]) -> None:
    """The command gate: ``Refused`` (``catatonic``) for any command of a catatonic mind but the
    steady ones, and (``misfire``) for a fractured or deranged mind's command that misfires.
    Staff commands, the steady verbs and the dead (whose mind is elsewhere) are never stopped."""
    if spec.role != "player":
        return
    mind = world.try_get(cmd.actor, Lucidity)
    if mind is None:
        return
    tier = tier_of(mind.value, lucidity_settings(world))
    if tier in (Tier.LUCID, Tier.UNEASY):
        return
    settings = madness_settings(world)
    if spec.verb in settings.steady_verbs or world.has(cmd.actor, Dead):
        return
    if tier == Tier.CATATONIC:
        raise Refused("catatonic", CATATONIC_TEXT)
    chance = (
        settings.fractured_misfire_chance
        if tier == Tier.FRACTURED
        else settings.deranged_misfire_chance
    )
    rng = world.rng
    if chance > 0 and rng.random() < chance:
        raise Refused("misfire", rng.choice(MISFIRE_TEXTS), verb=spec.verb)


PANIC_TEXT = "Terror takes you: you turn to run!"


def panic(world: World, body: int, damage: int) -> None:
    """A blow of ``damage`` just landed on ``body``: a deranged fighter still on its feet whom it
    took more than ``panic_hit_share`` of its maximum damage points flees in panic, with
    ``panic_chance``: a ``flee`` is queued for its next turn (the combat rules' own flight)."""
    mind = world.try_get(body, Lucidity)
    if mind is None or tier_of(mind.value, lucidity_settings(world)) != Tier.DERANGED:
        return
    vitals = world.get(body, Vitals)
    settings = madness_settings(world)
    if vitals.dp <= 0 or damage <= settings.panic_hit_share * vitals.max_dp:
        return
    if not fights.is_fighting(world, body):
        return
    state = fights.fights_of(world)
    if isinstance(state.queued.get(body), Flee):
        return
    if world.rng.random() >= settings.panic_chance:
        return
    state.queued[body] = Flee()
    data = {"kind": "panic", "id": world.stable_id(body)}
    world.emit(fights.COMBAT_EVENT, Scope.entity(body), PANIC_TEXT, data)


def register(kit: PluginKit) -> None:
    """Register the gate of troubled minds."""
    kit.command_gate(troubled_mind)
