"""Which zones this process simulates, when one world is sharded across processes.

A resource the shard's shell inserts and the border rule reads: a world without it (a single
server) simulates every zone, and nothing about it changes. Plain data, no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["RosterEntry", "Rosters", "Territory"]


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


@dataclass(frozen=True, slots=True)
class RosterEntry:
    """A player in the world, as other shards see it: enough for ``who``, a ``tell`` and an
    admin's ``goto``."""

    sid: int
    name: str
    zone: str | None
    zone_name: str
    room: str | None


@dataclass(slots=True)
class Rosters:
    """Who plays where, in a sharded world (a resource; none on a single server). ``here`` is
    this shard's players, listed by a rule for the shell to tell the other shards; ``elsewhere``
    holds what the other shards told, by shard, replaced whole at each of their heartbeats."""

    here: tuple[RosterEntry, ...] = ()
    elsewhere: dict[str, tuple[RosterEntry, ...]] = field(default_factory=dict)

    def others(self) -> list[RosterEntry]:
        """Every player on another shard (one listed by two shards in the middle of a hand-off
        is listed once)."""
        seen: dict[int, RosterEntry] = {}
        for entries in self.elsewhere.values():
            for entry in entries:
                seen.setdefault(entry.sid, entry)
        return list(seen.values())

    def find(self, name: str) -> RosterEntry | None:
        """A player on another shard by name: exact (ignoring case) first, else a unique
        prefix."""
        wanted = name.casefold()
        others = self.others()
        exact = [entry for entry in others if entry.name.casefold() == wanted]
        if exact:
            return exact[0]
        prefixed = [entry for entry in others if entry.name.casefold().startswith(wanted)]
        return prefixed[0] if len(prefixed) == 1 else None


@dataclass(slots=True)
class Arrivals:
    """What came from other shards since the rules last looked (a resource of a sharded world):
    the stable id of each arrival's first entity, filled by the engine as it applies an
    :class:`engine.inputs.Arrival`, drained by the border rule, which shows the new room to
    whoever came in and the newcomer to the room."""

    sids: list[int] = field(default_factory=list)
