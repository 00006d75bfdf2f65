"""Minds: a character's lucidity, what wears it down and what restores it, and the phantoms a
troubled mind sees. Plain data only.

Every due point is in simulated seconds (the world clock, never the wall clock), so a cooldown,
a catatonia or a rescue keeps the time it had left across a logout and a restart.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.component import Component, persistent

#: The lucidity of a new character, and the most a mind can hold.
LUCIDITY_MAX = 100
#: The least a mind can hold.
LUCIDITY_MIN = -100


@persistent("lucidity", version=1)
@dataclass(frozen=True, slots=True)
class Lucidity(Component):
    """How sound a mind is, from ``LUCIDITY_MIN`` to ``LUCIDITY_MAX``; the tier it stands in
    follows from it (see the lucidity rules). Whole points only. Frozen: every change replaces
    it, so the world's feed of additions tells the rules whose mind moved."""

    value: int = LUCIDITY_MAX


@persistent("lucidity_drift", version=1)
@dataclass(slots=True)
class LucidityDrift(Component):
    """Where a mind's passive flux stands: ``fraction`` is the part of a point gained or lost
    but not yet applied (between -1 and 1, carried over); ``room`` (a room's stable id) is the
    room it is getting used to, where it has spent ``here_s`` seconds in the world (adaptive
    resistance: time there cuts that room's drain). 0: no room yet."""

    fraction: float = 0.0
    room: int = 0
    here_s: float = 0.0


@persistent("devotions", version=1)
@dataclass(frozen=True, slots=True)
class Devotions(Component):
    """When a character may next ``pray`` and ``meditate`` (simulated seconds): the cooldowns."""

    pray_ready_s: float = 0.0
    meditate_ready_s: float = 0.0


@persistent("encounters", version=1)
@dataclass(frozen=True, slots=True)
class Encounters(Component):
    """How many times a character has seen a creature of each NPC template: ``(template,
    sightings)`` pairs, in the order first seen. Replaced, never mutated (a tuple, not a dict)."""

    seen: tuple[tuple[str, int], ...] = ()

    def count(self, template: str) -> int:
        """The sightings of ``template`` so far; 0 if never seen."""
        for seen, count in self.seen:
            if seen == template:
                return count
        return 0

    def counted(self, template: str) -> Encounters:
        """These encounters with one more sighting of ``template``."""
        for index, (seen, count) in enumerate(self.seen):
            if seen == template:
                return Encounters(
                    (*self.seen[:index], (template, count + 1), *self.seen[index + 1 :])
                )
        return Encounters((*self.seen, (template, 1)))


@persistent("catatonia", version=1)
@dataclass(frozen=True, slots=True)
class Catatonia(Component):
    """A catatonic mind, since ``since_s``; unless someone grounds it first, it is carried to the
    start room at ``carry_at_s`` (simulated seconds)."""

    since_s: float
    carry_at_s: float


@persistent("grounding", version=1)
@dataclass(frozen=True, slots=True)
class Grounding(Component):
    """On a rescuer: it is talking ``patient`` (a stable id) back from catatonia, which takes
    until ``done_at_s`` (simulated seconds) unless a fight or a step breaks it off."""

    patient: int
    done_at_s: float


@dataclass(frozen=True, slots=True)
class Phantom(Component):
    """A hallucination with a body: seen (and fought) by one player only, ``haunts`` (its stable
    id), in the room of stable id ``room``; it fades at ``fades_at_s``. ``kind`` is ``figure``
    (it stands about) or ``attacker`` (it attacks). Held in its player's mind (its ``Location``
    is the player, in the phantom slot), so nobody else finds it in the room. Transient: never
    saved, gone after a restart (it was never real)."""

    haunts: int
    room: int
    fades_at_s: float
    kind: str = "figure"
