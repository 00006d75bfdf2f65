"""Fighting: who is fighting whom, and what an NPC holds against its attackers. Plain data only.

The fights themselves (who shares a round, when it comes, what each fighter has queued) are the
combat rules' transient state; these components are what the rest of the world, the status bar
and the database see of them.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.component import Component, persistent


@persistent("fighting")
@dataclass(frozen=True, slots=True)
class Fighting(Component):
    """In a fight, attacking ``target`` (a stable id). Saved so that the status bar and the
    database see it; a restart ends every fight (the combat rules take it off whoever still has
    it), so nobody is left fighting nobody. Frozen: a new target replaces it."""

    target: int


@persistent("threat")
@dataclass(frozen=True, slots=True)
class Threat(Component):
    """What a body holds against each attacker: ``(stable id, threat)`` pairs, in the order the
    attackers first hurt it. Damage adds threat point for point. An NPC turns on whoever it holds
    the most against (by a margin, see the combat rules); when it dies, its attackers are credited
    with experience by their share. Replaced, never mutated (a tuple of pairs, not a dict)."""

    entries: tuple[tuple[int, int], ...] = ()

    def of(self, attacker: int) -> int:
        """The threat held against ``attacker`` (a stable id); 0 if none."""
        for sid, amount in self.entries:
            if sid == attacker:
                return amount
        return 0

    def total(self) -> int:
        return sum(amount for _, amount in self.entries)
