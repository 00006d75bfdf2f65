"""Driving a world as a player does, through the command inbox: one line, one tick, its events.

:func:`ready_engine` gives the fixture world at rest; :func:`play` submits a line and ticks;
:func:`heard_by` (from :mod:`engine.testing`) picks the events a given entity receives.
:func:`walk_every_exit` is the scripted walk: from the walker's room it takes every exit of every
room reachable from there (rooms in breadth-first order over ``Room.exits``), checks that each move
lands where the exit says, and reports the rooms it never reached. It runs on any built world: the
fixture world and the bundled one. Test helpers only: nothing here is imported by the server.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from components.body import Posture, PostureState
from components.content import Directory
from components.place import DIRECTION_NAMES, Door, Room
from engine.commands import CommandRegistry
from engine.core import Engine
from engine.events import Event
from engine.testing import heard_by
from engine.world import World
from systems.look import sorted_exits
from systems.whereabouts import move, room_of
from tests.systems.world_fixture import make_engine

#: Seconds of game time after which the fixture world is at rest (spawn rules have filled rooms).
SETTLE_S = 2.0


def ready_engine() -> Engine:
    """The fixture world's engine, run for :data:`SETTLE_S` so that start-up spawns are done.

    It also publishes the engine's command registry as a world resource (what ``help`` reads),
    which the engine itself should do; this line goes once it does.
    """
    engine = make_engine()
    if engine.world.try_resource(CommandRegistry) is None:
        engine.world.insert_resource(engine.commands)
    engine.run_ticks(engine.world.clock.ticks_for(SETTLE_S))
    return engine


def play(engine: Engine, actor: int, line: str) -> list[Event]:
    """Type ``line`` as ``actor``, run one tick, and return every event of that tick."""
    engine.submit_line(actor, line)
    return engine.tick().events


def room_key(world: World, entity: int) -> str | None:
    """The content key of the room ``entity`` is in."""
    room = room_of(world, entity)
    return world.get(room, Room).key if room is not None else None


def open_every_door(world: World) -> int:
    """Open and unlock every door, as a builder's master key would; return how many there are."""
    doors = world.query(Door)
    for _entity, door in doors:
        door.closed = False
        door.locked = False
    return len(doors)


class WalkError(AssertionError):
    """A move did not land where its exit says (or was refused); the message tells the story."""


@dataclass(slots=True)
class WalkReport:
    """What a scripted walk did: rooms reached, exits taken, and the rooms it never reached."""

    start: str
    reached: list[str] = field(default_factory=list)  # in order of first arrival, start first
    exits_taken: int = 0  # distinct exits checked
    steps: int = 0  # moves made, including the walking between exits
    recalls: int = 0  # times the walker was carried back to the start (after a one-way trap)
    unreached: frozenset[str] = frozenset()


def _graph(world: World) -> dict[str, list[tuple[str, str]]]:
    """Room key -> its exits as ``(direction, destination key)``, in compass order."""
    return {
        room.key: [(e.direction, e.to) for e in sorted_exits(room)]
        for _entity, room in world.query(Room)
    }


def _path(graph: dict[str, list[tuple[str, str]]], src: str, dst: str) -> list[tuple[str, str]]:
    """Shortest list of ``(direction, room reached)`` steps from ``src`` to ``dst``; [] if none
    is needed; raises LookupError if ``dst`` cannot be reached from ``src``."""
    if src == dst:
        return []
    came: dict[str, tuple[str, str]] = {}
    queue = deque([src])
    while queue:
        here = queue.popleft()
        for direction, there in graph.get(here, ()):
            if there in came or there == src or there not in graph:
                continue
            came[there] = (here, direction)
            if there == dst:
                steps = []
                node = dst
                while node != src:
                    parent, how = came[node]
                    steps.append((how, node))
                    node = parent
                return steps[::-1]
            queue.append(there)
    raise LookupError(f"no way from {src!r} to {dst!r}")


def walk_every_exit(engine: Engine, walker: int) -> WalkReport:
    """Walk ``walker`` through every exit of every room reachable from its room.

    Doors are opened first (by setting ``Door`` directly) and the walker is stood up. Rooms are
    visited in breadth-first order over ``Room.exits``; the walker walks (by commands, one tick
    each) to each exit's room, takes the exit, and must land in the room the exit names and be
    shown it.
    If a one-way exit leaves it where the next exit's room cannot be walked to, it is carried back
    to the start room (counted in ``recalls``). Raises :class:`WalkError` on the first bad move.
    """
    world = engine.world
    directory = world.resource(Directory)
    open_every_door(world)
    posture = world.try_get(walker, Posture)
    if posture is not None:
        posture.state, posture.resting = PostureState.STANDING, False
    start = room_key(world, walker)
    if start is None:
        raise WalkError("the walker is not in a room")
    graph = _graph(world)
    report = WalkReport(start=start, reached=[start])
    seen = {start}
    order = [start]
    queue = deque([start])
    while queue:
        for _direction, there in graph[queue.popleft()]:
            if there not in seen and there in graph:
                seen.add(there)
                order.append(there)
                queue.append(there)
    here = start

    def step(direction: str, expected: str) -> None:
        nonlocal here
        events = play(engine, walker, DIRECTION_NAMES.get(direction, direction))
        report.steps += 1
        now = room_key(world, walker)
        mine = heard_by(world, events, walker)
        if now != expected:
            said = "; ".join(e.text for e in mine if e.type == "error") or "no error"
            raise WalkError(
                f"exit {direction!r} of room {here!r} should lead to {expected!r}, but the "
                f"walker is in {now!r} ({said})"
            )
        shown = [e.data.get("id") for e in mine if e.type == "room"]
        if shown != [expected]:
            raise WalkError(f"moving {direction!r} into {expected!r} showed rooms {shown}")
        if expected not in report.reached:
            report.reached.append(expected)
        here = expected

    for source in order:
        for direction, destination in graph[source]:
            try:
                route = _path(graph, here, source)
            except LookupError:
                move(world, walker, directory.rooms[start])
                report.recalls += 1
                here = start
                route = _path(graph, here, source)
            for how, room in route:
                step(how, room)
            step(direction, destination)
            report.exits_taken += 1
    report.unreached = frozenset(directory.rooms) - set(report.reached)
    return report
