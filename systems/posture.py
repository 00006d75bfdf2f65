"""Posture: standing, sitting, lying down and resting. :func:`change_posture` is the rule, a pure
function that raises ``Refused``; the handlers apply it to the Posture component and tell the
actor and the room. Nothing here does I/O."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from components.body import Posture, PostureState
from components.place import Room, RoomFlag
from engine.commands import Args, Command, CommandSpec, Refused
from engine.events import Scope
from engine.plugins import PluginKit
from engine.world import World
from systems.common import capitalised, check_able
from systems.look import seen_as
from systems.whereabouts import room_of

STANDING, SITTING, LYING = PostureState.STANDING, PostureState.SITTING, PostureState.LYING


@dataclass(frozen=True, slots=True)
class Change:
    """A new posture and its wording: ``you`` to the actor, ``others`` (``{name}``) to the room."""

    state: PostureState
    resting: bool
    you: str
    others: str


#: (from, to) -> (to the actor, to the room). Staying put is refused, not listed.
_WORDS: dict[tuple[PostureState, PostureState], tuple[str, str]] = {
    (SITTING, STANDING): ("You stand up.", "{name} stands up."),
    (LYING, STANDING): ("You get up.", "{name} gets up."),
    (STANDING, SITTING): ("You sit down.", "{name} sits down."),
    (LYING, SITTING): ("You sit up.", "{name} sits up."),
    (STANDING, LYING): ("You lie down.", "{name} lies down."),
    (SITTING, LYING): ("You lie down.", "{name} lies down."),
}
_REST_WORDS: dict[PostureState, tuple[str, str]] = {
    STANDING: ("You sit down and rest.", "{name} sits down to rest."),
    SITTING: ("You settle down to rest.", "{name} settles down to rest."),
    LYING: ("You sit up and rest.", "{name} sits up to rest."),
}
_ALREADY: dict[PostureState, str] = {
    STANDING: "You are already standing.",
    SITTING: "You are already sitting.",
    LYING: "You are already lying down.",
}
NO_REST_HERE = "this is no place to rest"


def posture_of(world: World, body: int) -> PostureState:
    """A body's posture; a body without a Posture component stands."""
    posture = world.try_get(body, Posture)
    return PostureState.STANDING if posture is None else posture.state


def change_posture(
    current: Posture, wanted: PostureState, *, rest: bool = False, rest_allowed: bool = False
) -> Change:
    """What ``current`` becomes when its body takes ``wanted`` (``rest``: sit down to rest);
    ``Refused`` when it is that already, or cannot rest here and already sits.

    Resting sits the body down and marks it ``resting``, which the recovery rules read
    (regeneration and lucidity; not written yet), and only a room flagged ``rest_location``
    allows it. Elsewhere ``rest`` still sits the body down, saying that this is no place to rest,
    and leaves ``resting`` false. Any other posture ends resting (``sit`` while resting: "You stop
    resting."). There is no ``sleep``: sleeping should also shut a character's senses (no
    hearing, no seeing), which a posture alone cannot promise.
    """
    if rest:
        if rest_allowed:
            if current.state == SITTING and current.resting:
                raise Refused("already", "You are already resting.")
            you, others = _REST_WORDS[current.state]
            return Change(SITTING, True, you, others)
        if current.state == SITTING:
            raise Refused("cannot_rest", f"You cannot rest here: {NO_REST_HERE}.")
        you, others = _WORDS[(current.state, SITTING)]
        return Change(SITTING, False, f"{you[:-1]}, but {NO_REST_HERE}.", others)
    if current.state == wanted:
        if current.resting:
            return Change(wanted, False, "You stop resting.", "{name} stops resting.")
        raise Refused("already", _ALREADY[wanted])
    you, others = _WORDS[(current.state, wanted)]
    return Change(wanted, False, you, others)


def take_posture(world: World, body: int, wanted: PostureState, *, rest: bool = False) -> None:
    """Apply :func:`change_posture` to ``body`` and tell it and its room; ``Refused`` changes
    nothing (a body without a Posture is taken as standing, and gets one only if it moves)."""
    posture = world.try_get(body, Posture)
    room = room_of(world, body)
    definition = world.try_get(room, Room) if room is not None else None
    rest_allowed = definition is not None and definition.has_flag(RoomFlag.REST_LOCATION)
    current = posture if posture is not None else Posture()
    change = change_posture(current, wanted, rest=rest, rest_allowed=rest_allowed)
    if posture is None:
        posture = Posture()
        world.add(body, posture)
    posture.state = change.state
    posture.resting = change.resting
    data = {"posture": str(change.state), "resting": change.resting}
    world.emit("posture", Scope.entity(body), change.you, data)
    if room is not None:
        name, sid = seen_as(world, room, body)
        world.emit(
            "posture",
            Scope.room(room),
            change.others.format(name=capitalised(name)),
            {"who": name, "id": sid, **data},
            exclude=(body,),
        )


def _posture_command(
    wanted: PostureState, *, rest: bool = False
) -> Callable[[World, Command, Args], None]:
    def handler(world: World, cmd: Command, args: Args) -> None:
        check_able(world, cmd.actor)
        take_posture(world, cmd.actor, wanted, rest=rest)

    return handler


def register(kit: PluginKit) -> None:
    """Register ``stand``, ``sit``, ``lie`` and ``rest``."""
    for verb, wanted, rest, text in (
        ("stand", STANDING, False, "Stand up (you must stand to walk)."),
        ("sit", SITTING, False, "Sit down."),
        ("lie", LYING, False, "Lie down."),
        (
            "rest",
            SITTING,
            True,
            "Sit down and rest, which speeds recovery; only in a place of rest (such as a ward "
            "or an inn). Elsewhere you only sit down.",
        ),
    ):
        kit.command(
            CommandSpec(
                verb=verb,
                handler=_posture_command(wanted, rest=rest),
                help=text,
                category="posture",
            )
        )
