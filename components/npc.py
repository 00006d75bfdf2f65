"""NPCs: what the spawn rules keep between ticks (and restarts). Plain data only: the behaviours
themselves are the rules' (``systems/npc_spawn.py``, ``systems/wander.py``...); a template's
behaviour parameters are content (``components.content.NpcTemplate``)."""

from __future__ import annotations

from dataclasses import dataclass

from engine.component import Component, persistent


@persistent("respawn")
@dataclass(frozen=True, slots=True)
class Respawn(Component):
    """A pending respawn: the spawn rule of NPC template ``npc`` in room ``room`` (a room key)
    makes one more at ``due_s`` (simulated seconds). One entity per pending respawn, saved, so
    that the dead are replaced on time across a restart. Frozen: found by room, scheduled by
    due point."""

    npc: str
    room: str
    due_s: float
