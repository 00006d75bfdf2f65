"""Who plays on this shard, for the other shards of a sharded world: their ``who`` lists these
players, and a ``tell`` or an admin's ``goto`` finds them. A single server has no rosters and
this rule does nothing. Pure: it fills a resource the shell sends on."""

from __future__ import annotations

from typing import Final

from engine.plugins import PluginKit
from engine.scheduler import SystemContext, system
from engine.territory import Rosters
from engine.world import World
from systems.info import players_here

ROSTER_INTERVAL_S: Final = 1.0
"""Seconds between two listings of this shard's players: how stale another shard's ``who`` may
be (a listing costs one pass over the players online)."""


@system(phase="late", every_s=ROSTER_INTERVAL_S)
def list_players_for_other_shards(world: World, ctx: SystemContext) -> None:
    """This shard's players, by name and where they are."""
    rosters = world.try_resource(Rosters)
    if rosters is None:
        return
    rosters.here = tuple(players_here(world))


def register(kit: PluginKit) -> None:
    """Register the listing of players for the other shards."""
    kit.system(list_players_for_other_shards)
