"""Movement: walking through a room's exits, and listing them.

:func:`check_move` is the rule (may this body go that way, and where does it lead?), a pure read of
components; the handlers apply it by replacing the mover's Location and tell the two rooms and the
mover. Whatever the mover holds moves with it (it is held by the mover, not by the room). Nothing
here may do I/O.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from components.body import PostureState
from components.content import Directory
from components.place import DIRECTION_NAMES, DIRECTIONS, OPPOSITE, Exit, Room, parse_direction
from engine.commands import Args, Command, CommandSpec
from engine.events import Scope
from engine.plugins import PluginKit
from engine.world import World
from systems.look import (
    cap,
    door_blocks,
    exit_views,
    is_dark,
    posture_of,
    seen_as,
    show_room,
    the,
)
from systems.things import move, room_of

#: The single-word commands for each direction: (verb, aliases, short form used by Room.exits).
DIRECTION_VERBS: tuple[tuple[str, tuple[str, ...], str], ...] = (
    ("north", ("n",), "n"),
    ("northeast", ("ne",), "ne"),
    ("east", ("e",), "e"),
    ("southeast", ("se",), "se"),
    ("south", ("s",), "s"),
    ("southwest", ("sw",), "sw"),
    ("west", ("w",), "w"),
    ("northwest", ("nw",), "nw"),
    ("up", ("u",), "up"),
    ("down", ("d",), "down"),
)


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a body may not do something: an error ``code`` and the text the player reads."""

    code: str
    text: str


@dataclass(frozen=True, slots=True)
class Route:
    """An allowed move: out of ``origin`` by ``exit`` into ``destination`` (room entities)."""

    origin: int
    exit: Exit
    destination: int


def check_move(world: World, mover: int, direction: str) -> Route | Refusal:
    """May ``mover`` go ``direction`` (a short form) from where it is, and where does that lead?

    A body must be standing, in a room, with an exit that way whose door (if any) is open.
    """
    origin = room_of(world, mover)
    if origin is None:
        return Refusal("nowhere", "You are nowhere; there is no way to go.")
    if posture_of(world, mover) != PostureState.STANDING:
        return Refusal("not_standing", "You must stand up first.")
    room = world.get(origin, Room)
    exit_ = room.exits.get(direction)
    if exit_ is None:
        return Refusal("no_exit", f"You cannot go {DIRECTION_NAMES.get(direction, direction)}.")
    door = door_blocks(world, exit_)
    if door is not None:
        return Refusal("door_closed", f"{cap(the(door))} is closed.")
    destination = world.resource(Directory).rooms.get(exit_.to)
    if destination is None or not world.has(destination, Room):
        return Refusal("no_exit", "That way leads nowhere.")
    return Route(origin, exit_, destination)


def leave_phrase(direction: str) -> str:
    """ "north" in "Armitage leaves north."; "upwards"/"downwards" for up and down."""
    return {"up": "upwards", "down": "downwards"}.get(
        direction, DIRECTION_NAMES.get(direction, direction)
    )


def arrive_phrase(direction: str) -> str:
    """Where an arrival by ``direction`` is seen coming from: "from the south", "from below"."""
    came_from = OPPOSITE.get(direction)
    if came_from is None:
        return "from somewhere"
    if came_from == "up":
        return "from above"
    if came_from == "down":
        return "from below"
    return f"from the {DIRECTION_NAMES[came_from]}"


def walk(world: World, mover: int, direction: str) -> Refusal | None:
    """Move ``mover`` one step ``direction`` and tell everyone concerned; the refusal, if any.

    The old room (but the mover) sees it leave, the new room (but the mover) sees it arrive, and the
    mover is shown the new room. In a dark room the mover is "someone"; the old room is judged
    before the move and the new one after, so a mover carrying a light is seen both times.
    """
    route = check_move(world, mover, direction)
    if isinstance(route, Refusal):
        return route
    leaving, sid = seen_as(world, route.origin, mover)
    world.emit(
        "leave",
        Scope.room(route.origin),
        f"{cap(leaving)} leaves {leave_phrase(direction)}.",
        {"who": leaving, "id": sid, "direction": direction},
        exclude=(mover,),
    )
    move(world, mover, route.destination)
    arriving, sid = seen_as(world, route.destination, mover)
    world.emit(
        "arrive",
        Scope.room(route.destination),
        f"{cap(arriving)} arrives {arrive_phrase(direction)}.",
        {"who": arriving, "id": sid, "from": OPPOSITE.get(direction)},
        exclude=(mover,),
    )
    show_room(world, mover)
    return None


def _refuse(world: World, actor: int, refusal: Refusal, **extra: object) -> None:
    world.emit(
        "error",
        Scope.entity(actor),
        refusal.text,
        {"code": refusal.code, "message": refusal.text, **extra},
    )


def _go_to(world: World, actor: int, direction: str) -> None:
    refusal = walk(world, actor, direction)
    if refusal is not None:
        _refuse(world, actor, refusal, direction=direction)


def go(world: World, cmd: Command, args: Args) -> None:
    """``go <direction>``: walk through the exit that way."""
    word = args.text("direction")
    direction = parse_direction(word)
    if direction is None:
        names = ", ".join(DIRECTION_NAMES[d] for d in DIRECTIONS)
        text = f"'{word[:20]}' is not a direction. Directions are: {names}."
        _refuse(world, cmd.actor, Refusal("bad_direction", text))
        return
    _go_to(world, cmd.actor, direction)


def _direction_handler(direction: str) -> Callable[[World, Command, Args], None]:
    def handler(world: World, cmd: Command, args: Args) -> None:
        _go_to(world, cmd.actor, direction)

    handler.__name__ = handler.__qualname__ = f"go_{DIRECTION_NAMES[direction]}"
    handler.__doc__ = f"Walk {DIRECTION_NAMES[direction]}."
    return handler


def exits(world: World, cmd: Command, args: Args) -> None:
    """``exits``: the ways out of the room, where they lead and the state of their doors."""
    actor = cmd.actor
    room = room_of(world, actor)
    if room is None:
        _refuse(world, actor, Refusal("nowhere", "You are nowhere; there is no way out."))
        return
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
            lines.append(f"  {cap(view['name']):<10} - {where}{state}")
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
