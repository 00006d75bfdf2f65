"""Link-death: a character whose connection dropped stays in the world for its grace period, then
is taken out, saved. A rule of the tick like any other, so that a replay does the same; it never
looks at connections (the shell reports a drop as an input) and does no I/O."""

from __future__ import annotations

from components.body import LinkDead
from engine.plugins import PluginKit
from engine.scheduler import SystemContext, system
from engine.world import World
from systems.presence import LEAVING_WORDS, leave_world

#: How the grace period is checked: every tick, since only link-dead characters are looked at.
LINKDEAD_CHECK_INTERVAL_S = 0.0


@system(phase="late", every_s=LINKDEAD_CHECK_INTERVAL_S)
def expire_linkdead(world: World, ctx: SystemContext) -> None:
    """Take out every link-dead character whose grace period is over."""
    for character, linkdead in world.query(LinkDead):
        if ctx.now_s >= linkdead.until_s:
            leave_world(world, character, LEAVING_WORDS["linkdead"], "linkdead")


def register(kit: PluginKit) -> None:
    kit.system(expire_linkdead)
