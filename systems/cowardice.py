"""Cowardice: an NPC whose template has ``flee_below`` tries to run from a fight once its damage
points fall below that share of its whole, through the combat rules' own ``flee`` (queued for its
next turn, again every turn it stays); nor does an aggressive one start a fight so hurt. One rule
over every such NPC in a fight, fed by the world's feed of new fighters; no I/O, no randomness."""

from __future__ import annotations

from dataclasses import dataclass, field

from components.body import Npc, Vitals
from components.combat import Fighting
from components.content import Directory, NpcTemplate
from engine.plugins import PluginKit
from engine.scheduler import SystemContext, system
from engine.world import Additions, World
from systems import fights
from systems.fights import Flee

__all__ = ["losing_heart", "register", "run_when_losing"]


def losing_heart(vitals: Vitals, template: NpcTemplate | None) -> bool:
    """Whether a body of ``template`` with these ``vitals`` is hurt below its ``flee_below``
    (and still standing: a body down cannot run)."""
    if template is None or template.flee_below <= 0:
        return False
    return 0 < vitals.dp < template.flee_below * vitals.max_dp


@dataclass(slots=True)
class _Cowards:
    """The rule's state (a resource, transient: a restart ends every fight): the feed of new
    fighters, and the NPCs in fights that flee below a share, with their template."""

    fighters: Additions
    watched: dict[int, NpcTemplate] = field(default_factory=dict)


@system(phase="rules", every_s=0.0, before=("fight_rounds",))
def run_when_losing(world: World, ctx: SystemContext) -> None:
    """Every NPC in a fight that is hurt below its template's ``flee_below`` tries to flee at its
    next turn."""
    cowards = world.try_resource(_Cowards)
    if cowards is None:
        cowards = _Cowards(world.additions(Fighting))
        world.insert_resource(cowards)
    joined = cowards.fighters.drain()
    directory = world.try_resource(Directory)
    if joined and directory is not None:
        templates = directory.npcs
        for body in joined:
            npc = world.try_get(body, Npc)
            template = templates.get(npc.template) if npc is not None else None
            if template is not None and template.flee_below > 0:
                cowards.watched[body] = template
    if not cowards.watched:
        return
    queued = fights.fights_of(world).queued
    for body, template in list(cowards.watched.items()):
        vitals = world.try_get(body, Vitals)
        if vitals is None or not world.has(body, Fighting):
            del cowards.watched[body]  # out of the fight (fled, won, down and left, gone)
        elif losing_heart(vitals, template) and not isinstance(queued.get(body), Flee):
            queued[body] = Flee()


def register(kit: PluginKit) -> None:
    """Register the fleeing of NPCs that lose heart."""
    kit.system(run_when_losing)
