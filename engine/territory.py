"""Which zones this process simulates, when one world is sharded across processes.

A resource the shard's shell inserts and the border rule reads: a world without it (a single
server) simulates every zone, and nothing about it changes. Plain data, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Territory"]


@dataclass(frozen=True, slots=True)
class Territory:
    """Shard ``shard`` simulates ``zones``; a thing that enters a room of a zone in ``elsewhere``
    (simulated by another shard) is handed to that shard. A zone in neither is unassigned: what
    enters it stays here (``kadath cluster up`` assigns every zone). ``start_zone`` is the zone
    of the room new characters start in, filled in by the border rule at the first tick."""

    shard: str
    zones: frozenset[str]
    elsewhere: frozenset[str] = frozenset()
    start_zone: str | None = None

    def holds(self, zone: str) -> bool:
        return zone in self.zones

    def other_shards_hold(self, zone: str) -> bool:
        return zone in self.elsewhere
