"""Regeneration: a wounded body out of combat heals a point every ``regen_interval_s``, twice as
fast sitting, three times lying or resting (never fighting, bleeding or dead), a stabilised one
included; an NPC made whole forgets its grudges. Dormant NPCs are not looked at: one heals the
time it slept when it wakes. No I/O, no randomness."""

from __future__ import annotations

from dataclasses import dataclass, field

from components.body import Bleeding, Dead, Npc, Posture, PostureState, Vitals
from components.combat import Fighting, Threat
from engine.config import setting_field
from engine.plugins import PluginKit
from engine.scheduler import SystemContext, system
from engine.world import Additions, World
from systems.dormancy import AwakeFeed, vigil_of

__all__ = ["REGEN_CHECK_INTERVAL_S", "RegenerationSettings", "regenerate", "register"]

REGEN_CHECK_INTERVAL_S = 1.0
"""How often healing is reckoned, in seconds: each check adds the time since the last one, at the
body's rate then, so a point comes within a second of when its rate says, at any tick rate."""


@dataclass(frozen=True, slots=True)
class RegenerationSettings:
    """How fast bodies heal (the ``[regeneration]`` section)."""

    regen_interval_s: float = setting_field(
        30.0,
        "Seconds to heal one damage point standing, out of combat.",
        unit="s",
        gt=0,
    )
    sitting_rate: float = setting_field(
        2.0, "How many times faster a sitting body heals than a standing one.", gt=0
    )
    lying_rate: float = setting_field(
        3.0, "How many times faster a body lying down, or resting, heals than a standing one.", gt=0
    )


@dataclass(slots=True)
class _Healing:
    """Each healing body's progress towards its next point (a resource; transient: a restart
    loses less than a point each), the news of NPCs waking and of bodies coming into a fight,
    and the awake NPCs that may be short of their whole (``wounded``): those woken wounded or
    fighting, and those that came into a fight since. A body is hurt only in a fight (a blow,
    or the bleeding that follows one), so an awake NPC outside this set is whole, and a check
    costs the NPCs that fought, never every awake one (3,000 in a busy town: 3.7 ms a check)."""

    waking: AwakeFeed
    fights: Additions
    wounded: dict[int, None] = field(default_factory=dict)
    progress: dict[int, float] = field(default_factory=dict)


def heal_rate(posture: Posture | None, settings: RegenerationSettings) -> float:
    """Points per ``regen_interval_s`` for a body in ``posture`` (None: standing)."""
    if posture is None:
        return 1.0
    if posture.resting or posture.state == PostureState.LYING:
        return settings.lying_rate
    if posture.state == PostureState.SITTING:
        return settings.sitting_rate
    return 1.0


@system(phase="early", every_s=REGEN_CHECK_INTERVAL_S, after=("keep_watch",))
def regenerate(world: World, ctx: SystemContext) -> None:
    """Every wounded body out of combat, not bleeding and not dead, heals by the time since the
    last check at its posture's rate."""
    settings = world.try_resource(RegenerationSettings) or RegenerationSettings()
    vigil = vigil_of(world)
    healing = world.try_resource(_Healing)
    if healing is None:
        healing = _Healing(vigil.feed(), world.additions(Fighting))
        world.insert_resource(healing)
    step = ctx.dt_s / settings.regen_interval_s
    for body, vitals in world.query(Vitals, without=(Npc,)):
        if vitals.dp < vitals.max_dp:
            _heal(world, healing, body, vitals, step, settings)
    awake, wounded, progress = vigil.awake, healing.wounded, healing.progress
    for body in healing.fights.drain():
        if body in awake:
            wounded[body] = None
    # NPCs just woken heal the time they slept (their rest of the interval comes below); those
    # gone dormant are forgotten (less than a point), so that nothing here looks at them again.
    for npc, is_awake in healing.waking.drain():
        if not is_awake:
            progress.pop(npc, None)
            wounded.pop(npc, None)
            continue
        woken = world.try_get(npc, Vitals)
        if woken is None:
            continue
        if woken.dp < woken.max_dp:
            slept = vigil.dormant_for(npc, ctx.now_s) / settings.regen_interval_s
            _heal(world, healing, npc, woken, slept, settings)
        if woken.dp < woken.max_dp or world.has(npc, Fighting):
            wounded[npc] = None
    for npc in list(wounded):
        found = world.try_get(npc, Vitals)
        if found is None or npc not in awake:
            del wounded[npc]
            progress.pop(npc, None)
        elif found.dp < found.max_dp:
            _heal(world, healing, npc, found, step, settings)
        elif not world.has(npc, Fighting):
            del wounded[npc]  # whole, and out of harm's way
    for body in [b for b in progress if not world.exists(b)]:
        del progress[body]


def _heal(
    world: World,
    healing: _Healing,
    body: int,
    vitals: Vitals,
    intervals: float,
    settings: RegenerationSettings,
) -> None:
    """``body``, wounded, heals for ``intervals`` regeneration intervals at its posture's rate,
    unless it is fighting, bleeding or dead."""
    progress = healing.progress
    if world.has(body, Fighting) or world.has(body, Bleeding) or world.has(body, Dead):
        progress.pop(body, None)
        return
    rate = heal_rate(world.try_get(body, Posture), settings)
    gained = progress.get(body, 0.0) + intervals * rate
    points = int(gained + 1e-9)
    if points:
        vitals.dp = min(vitals.max_dp, vitals.dp + points)
        gained -= points
    if vitals.dp >= vitals.max_dp:
        progress.pop(body, None)
        if world.has(body, Npc):
            world.discard(body, Threat)
    else:
        progress[body] = gained


def register(kit: PluginKit) -> None:
    """Register the healing of bodies."""
    kit.system(regenerate)
