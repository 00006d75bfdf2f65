"""Fights: who fights whom in which room, when each fight's next round comes, what each fighter
has queued; joining, leaving and finding a new foe, so that nobody is ever left fighting nobody.
Transient (a restart ends every fight); no I/O, no randomness."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from components.body import Dead, Npc, Player, Vitals
from components.combat import Fighting, Threat
from components.place import Location
from engine.events import Scope
from engine.timers import TimerQueue
from engine.world import World
from systems.common import View, display_name, the
from systems.look import SOMEONE
from systems.whereabouts import room_of

__all__ = [
    "Fight",
    "Fights",
    "Flee",
    "SwitchTarget",
    "choose_target",
    "emit_combat",
    "fight_of",
    "fighter_name",
    "fights_of",
    "is_fighting",
    "join",
    "leave",
    "opponents",
    "retarget",
    "target_of",
    "turn_on",
    "valid_target",
]

#: The event type of everything that happens in a fight (a ``combat`` message on the wire).
COMBAT_EVENT = "combat"


@dataclass(frozen=True, slots=True)
class Flee:
    """A fighter's queued action: run through a random open exit at its next turn."""


@dataclass(frozen=True, slots=True)
class SwitchTarget:
    """A fighter's queued action: turn on ``target`` (an entity) at its next turn, and strike."""

    target: int


Action = Flee | SwitchTarget


@dataclass(slots=True)
class Fight:
    """One fight: its ``room``, its ``members`` in the order they joined, its ``round`` count."""

    id: int
    room: int
    members: list[int] = field(default_factory=list)
    round: int = 0
    next_round_s: float = 0.0


@dataclass(slots=True)
class Fights:
    """Every fight of the world (a resource): by id, each fighter's, the rounds by due time and
    what each fighter has queued (one action per round: a second replaces the first)."""

    by_id: dict[int, Fight] = field(default_factory=dict)
    fight_of: dict[int, int] = field(default_factory=dict)
    rounds: TimerQueue[int] = field(default_factory=TimerQueue)
    queued: dict[int, Action] = field(default_factory=dict)
    next_id: int = 1


def fights_of(world: World) -> Fights:
    """The world's fights, made on first use. Made after a restart, they are empty: whoever
    still has a ``Fighting`` saved is out of the fight it was in (and told so). That settling is
    the one change a first look makes, whoever looks (a command, before it refuses, or a rule)."""
    fights = world.try_resource(Fights)
    if fights is None:
        fights = Fights()
        world.insert_resource(fights)
        for body, _fighting in list(world.query(Fighting)):
            world.remove(body, Fighting)
            _tell_end(world, body, "The fight is over.")
    return fights


def is_fighting(world: World, body: int) -> bool:
    """Whether ``body`` is in a fight (a saved ``Fighting`` from before a restart is not one)."""
    fights_of(world)
    return world.has(body, Fighting)


def fight_of(world: World, body: int) -> Fight | None:
    """The fight ``body`` is in, if any."""
    fights = fights_of(world)
    fight_id = fights.fight_of.get(body)
    return None if fight_id is None else fights.by_id.get(fight_id)


def target_of(world: World, body: int) -> int | None:
    """The entity ``body`` is attacking, if it is fighting and its target exists."""
    fighting = world.try_get(body, Fighting)
    return None if fighting is None else world.entity_of(fighting.target)


def valid_target(world: World, attacker: int, target: int | None) -> bool:
    """Whether ``target`` can still be fought by ``attacker``: there, in the same room, alive
    (mortally wounded counts: it can be finished off)."""
    if target is None or target == attacker or not world.has(target, Vitals):
        return False
    if world.has(target, Dead) or not world.has(target, Location):
        return False
    return room_of(world, target) == room_of(world, attacker)


def opponents(world: World, body: int) -> list[int]:
    """Those in ``body``'s fight who attack it and can still be fought, in the order they joined."""
    fight = fight_of(world, body)
    if fight is None:
        return []
    sid = world.stable_id(body)
    return [
        member
        for member in fight.members
        if member != body
        and (fighting := world.try_get(member, Fighting)) is not None
        and fighting.target == sid
        and valid_target(world, body, member)
    ]


def choose_target(world: World, body: int, candidates: Sequence[int]) -> int | None:
    """Whom ``body`` turns on among ``candidates``: an NPC the one it holds the most threat
    against (the first of equals), anyone else the first; None when there is no one."""
    if not candidates:
        return None
    threat = world.try_get(body, Threat) if world.has(body, Npc) else None
    if threat is None:
        return candidates[0]
    best = candidates[0]
    best_threat = threat.of(world.stable_id(best) or 0)
    for candidate in candidates[1:]:
        amount = threat.of(world.stable_id(candidate) or 0)
        if amount > best_threat:
            best, best_threat = candidate, amount
    return best


def join(world: World, attacker: int, defender: int, now_s: float) -> Fight:
    """``attacker`` attacks ``defender``: both are in one fight from now on (a new one, whose
    first round comes at once, or the one either is in; two fights merge). A defender not yet
    fighting fights back, unless it is helpless. The caller has checked that the attack is
    allowed."""
    fights = fights_of(world)
    room = room_of(world, attacker)
    assert room is not None, "a fighter must be somewhere"
    own, theirs = fight_of(world, attacker), fight_of(world, defender)
    if own is None and theirs is None:
        fight = Fight(fights.next_id, room, next_round_s=now_s)
        fights.next_id += 1
        fights.by_id[fight.id] = fight
        fights.rounds.schedule(fight.id, now_s)
    elif own is None or theirs is None:
        fight = own or theirs  # type: ignore[assignment]
    else:
        fight = own
        if theirs is not own:
            _merge(fights, theirs, into=own)
    for body in (attacker, defender):
        if fights.fight_of.get(body) != fight.id:
            fight.members.append(body)
            fights.fight_of[body] = fight.id
    _attack(world, attacker, defender)
    vitals = world.try_get(defender, Vitals)
    if not world.has(defender, Fighting) and vitals is not None and vitals.dp > 0:
        _attack(world, defender, attacker)  # it fights back; a helpless one cannot
    return fight


def _attack(world: World, attacker: int, target: int) -> None:
    sid = world.stable_id(target)
    assert sid is not None, "fighters are persistent"
    current = world.try_get(attacker, Fighting)
    if current is None or current.target != sid:
        world.add(attacker, Fighting(sid))


def turn_on(world: World, attacker: int, target: int) -> None:
    """Make ``attacker`` (already in a fight) attack ``target`` from now on."""
    _attack(world, attacker, target)


def _merge(fights: Fights, merged: Fight, *, into: Fight) -> None:
    for member in merged.members:
        into.members.append(member)
        fights.fight_of[member] = into.id
    fights.rounds.cancel(merged.id)
    del fights.by_id[merged.id]


def leave(world: World, body: int, *, why: str = "", tell: bool = False) -> None:
    """Take ``body`` out of its fight (it died, fled, left the world; ``tell``: say so to it).

    Whoever was attacking it turns on another who attacks them or, with no one left, is out of
    the fight too, told why ("Armitage is dead."). A fight left with fewer than two ends."""
    fights = fights_of(world)
    fight_id = fights.fight_of.pop(body, None)
    fights.queued.pop(body, None)
    if world.has(body, Fighting):
        world.remove(body, Fighting)
        if tell:
            _tell_end(world, body, _ending(why))
    fight = fights.by_id.get(fight_id) if fight_id is not None else None
    if fight is None or body not in fight.members:
        return
    fight.members.remove(body)
    sid = world.stable_id(body)
    stranded = []
    for member in fight.members:
        fighting = world.try_get(member, Fighting)
        if fighting is None or fighting.target != sid:
            continue
        found = choose_target(world, member, opponents(world, member))
        if found is None:
            stranded.append(member)
        else:
            _attack(world, member, found)
    for member in stranded:
        leave(world, member, why=why, tell=True)
    if fights.by_id.get(fight.id) is fight and len(fight.members) < 2:
        for member in list(fight.members):
            leave(world, member, why=why, tell=True)
        fights.rounds.cancel(fight.id)
        fights.by_id.pop(fight.id, None)


def retarget(world: World, body: int, *, why: str = "") -> int | None:
    """``body``'s target is gone or out of reach: turn on another who attacks it, or leave the
    fight if there is none (told ``why``). Returns the new target, if any."""
    found = choose_target(world, body, opponents(world, body))
    if found is None:
        leave(world, body, why=why, tell=True)
        return None
    _attack(world, body, found)
    return found


def _ending(why: str) -> str:
    return f"{why} The fight is over." if why else "The fight is over."


def _tell_end(world: World, body: int, text: str) -> None:
    if world.has(body, Player):
        data = {"kind": "end", "id": world.stable_id(body)}
        world.emit(COMBAT_EVENT, Scope.entity(body), text, data)


# --------------------------------------------------------------------------------------------------
# Telling


def emit_combat(
    world: World,
    room: int | None,
    data: View,
    told: Iterable[tuple[int, str]],
    seen: str,
) -> None:
    """One thing that happened in a fight: each ``(entity, text)`` of ``told`` (players only)
    reads its own words, the rest of the room reads ``seen``; all get the same ``data``."""
    payload: dict[str, Any] = data
    excluded: list[int] = []
    for entity, text in told:
        excluded.append(entity)
        if world.has(entity, Player):
            world.emit(COMBAT_EVENT, Scope.entity(entity), text, payload)
    if room is not None and seen:
        world.emit(COMBAT_EVENT, Scope.room(room), seen, payload, exclude=excluded)


def fighter_name(world: World, entity: int, *, dark: bool = False) -> str:
    """A fighter as a sentence names it after a verb: "the ghoul", "Armitage", in the dark
    "someone"."""
    if dark:
        return SOMEONE
    name = display_name(world, entity)
    return name if world.has(entity, Player) else the(name)
