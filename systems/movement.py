"""Movement: walking through a room's exits (what the mover holds goes with it), and listing them.
:func:`check_move` is the rule, a read of components that raises ``Refused``; :func:`step` applies
it and tells both rooms, for players and NPCs alike. Nothing here does I/O."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from components.body import PostureState
from components.place import DIRECTIONS, OPPOSITE, Room, parse_direction
from engine.commands import Args, Command, CommandSpec, Refused
from engine.events import Scope
from engine.plugins import PluginKit
from engine.world import World
from systems.borders import simulated_elsewhere
from systems.common import (
    DIRECTION_VERBS,
    WayWords,
    capitalised,
    check_able,
    direction_name,
    room_that_way,
    the,
)
from systems.fights import is_fighting
from systems.look import exit_views, is_dark, seen_as, show_room, sorted_exits
from systems.posture import posture_of
from systems.whereabouts import move, room_of

#: How walking words a way it cannot take.
WALK_WORDS = WayWords("You cannot go {way}.", "That way leads nowhere.")


@dataclass(frozen=True, slots=True)
class Route:
    """An allowed move: out of ``origin`` into ``destination`` (room entities), ``direction``."""

    origin: int
    destination: int
    direction: str


def check_move(world: World, mover: int, direction: str) -> Route:
    """May ``mover`` go ``direction`` (a short form) from where it is, and where does that lead?

    A body must be able to act, out of any fight (it must ``flee``), standing, in a room, with an
    exit that way whose door (if any) is open; else ``Refused``, with the ``direction`` as data.
    """
    check_able(world, mover)
    origin = room_of(world, mover)
    if origin is None:
        raise Refused("nowhere", "You are nowhere; there is no way to go.", direction=direction)
    if is_fighting(world, mover):
        raise Refused(
            "fighting", "You are fighting for your life! Flee if you must.", direction=direction
        )
    if posture_of(world, mover) != PostureState.STANDING:
        raise Refused("not_standing", "You must stand up first.", direction=direction)
    return Route(origin, room_that_way(world, origin, direction, WALK_WORDS), direction)


def open_ways(world: World, room: int) -> list[tuple[str, int]]:
    """The ways out of ``room`` that could be taken now, in compass order: each direction with
    the room it leads to (an exit with a closed door in it, or leading nowhere, is no way)."""
    ways = []
    for exit_ in sorted_exits(world.get(room, Room)):
        try:
            ways.append((exit_.direction, room_that_way(world, room, exit_.direction, WALK_WORDS)))
        except Refused:
            continue
    return ways


def leave_phrase(direction: str) -> str:
    """ "north" in "Armitage leaves north."; "upwards"/"downwards" for up and down."""
    return {"up": "upwards", "down": "downwards"}.get(direction, direction_name(direction))


def arrive_phrase(direction: str) -> str:
    """Where an arrival by ``direction`` is seen coming from: "from the south", "from below"."""
    came_from = OPPOSITE.get(direction)
    if came_from is None:
        return "from somewhere"
    if came_from == "up":
        return "from above"
    if came_from == "down":
        return "from below"
    return f"from the {direction_name(came_from)}"


def walk(world: World, mover: int, direction: str) -> None:
    """Move ``mover`` one step ``direction`` and tell everyone concerned; ``Refused`` (by
    :func:`check_move`) changes nothing.

    The old room (but the mover) sees it leave, the new room (but the mover) sees it arrive, and the
    mover is shown the new room. In a dark room the mover is "someone"; the old room is judged
    before the move and the new one after, so a mover carrying a light is seen both times.
    """
    route = check_move(world, mover, direction)
    step(world, mover, route)
    if not simulated_elsewhere(world, route.destination):  # else the shard over there shows it
        show_room(world, mover)


def step(world: World, mover: int, route: Route) -> None:
    """Move ``mover`` along ``route`` (which :func:`check_move` allowed) and tell both rooms: the
    old room (but the mover) sees it leave, the new room (but the mover) sees it arrive. In a
    dark room the mover is "someone"; the old room is judged before the move, the new one after.
    """
    direction = route.direction
    leaving, sid = seen_as(world, route.origin, mover)
    world.emit(
        "leave",
        Scope.room(route.origin),
        f"{capitalised(leaving)} leaves {leave_phrase(direction)}.",
        {"who": leaving, "id": sid, "direction": direction},
        exclude=(mover,),
    )
    move(world, mover, route.destination)
    arriving, sid = seen_as(world, route.destination, mover)
    world.emit(
        "arrive",
        Scope.room(route.destination),
        f"{capitalised(arriving)} arrives {arrive_phrase(direction)}.",
        {"who": arriving, "id": sid, "from": OPPOSITE.get(direction)},
        exclude=(mover,),
    )


def go(world: World, cmd: Command, args: Args) -> None:
    """``go <direction>``: walk through the exit that way."""
    word = args.text("direction")
    direction = parse_direction(word)
    if direction is None:
        names = ", ".join(direction_name(d) for d in DIRECTIONS)
        raise Refused(
            "bad_direction", f"'{word[:20]}' is not a direction. Directions are: {names}."
        )
    walk(world, cmd.actor, direction)


def _direction_handler(direction: str) -> Callable[[World, Command, Args], None]:
    def handler(world: World, cmd: Command, args: Args) -> None:
        walk(world, cmd.actor, direction)

    handler.__name__ = handler.__qualname__ = f"go_{direction_name(direction)}"
    handler.__doc__ = f"Walk {direction_name(direction)}."
    return handler


def exits(world: World, cmd: Command, args: Args) -> None:
    """``exits``: the ways out of the room, where they lead and the state of their doors."""
    actor = cmd.actor
    room = room_of(world, actor)
    if room is None:
        raise Refused("nowhere", "You are nowhere; there is no way out.")
    dark = is_dark(world, room)
    views = exit_views(world, world.get(room, Room), dark=dark)
    if not views:
        text = "There is no obvious way out."
    else:
        lines = ["Obvious exits:"]
        for view in views:
            where = "(too dark to tell)" if dark else view["to_name"] or "(nowhere)"
            door = view["door"]
            state = ""
            if door is not None:
                condition = "locked" if door["locked"] else "closed" if door["closed"] else "open"
                state = f" [{the(door['name'])}, {condition}]"
            lines.append(f"  {capitalised(view['name']):<10} - {where}{state}")
        text = "\n".join(lines)
    world.emit("exits", Scope.entity(actor), text, {"dark": dark, "exits": views})


def register(kit: PluginKit) -> None:
    """Register ``go``, one command per direction, and ``exits``."""
    kit.command(
        CommandSpec(
            verb="go",
            handler=go,
            usage="<direction>",
            help=(
                "Walk through the exit in that direction ('go north', 'go ne', 'go up'). You must "
                "be standing, and a door in the way must be open."
            ),
            category="movement",
        )
    )
    for verb, aliases, direction in DIRECTION_VERBS:
        kit.command(
            CommandSpec(
                verb=verb,
                handler=_direction_handler(direction),
                aliases=aliases,
                help=f"Walk {verb} (the same as 'go {verb}').",
                category="movement",
            )
        )
    kit.command(
        CommandSpec(
            verb="exits",
            handler=exits,
            help="List the ways out of the room, where they lead, and their doors.",
            category="movement",
        )
    )
