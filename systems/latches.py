"""Latches: ``open``, ``close``, ``lock`` and ``unlock`` for a room's doors and containers in reach.
Doors are not items: they stand in two rooms' exits and are heard on both sides. A refusal
changes nothing; the latch rules are pure functions of a :class:`Latch`. No I/O."""

from __future__ import annotations

from collections.abc import Callable, Set
from dataclasses import dataclass, replace
from typing import Any

from components.content import Directory
from components.items import Container, Item, LockState
from components.place import Door, DoorInfo, Exit, Room, parse_direction
from engine.commands import Args, Command, CommandSpec, Refused
from engine.events import Scope
from engine.plugins import PluginKit
from engine.world import World
from systems import item_rules as rules
from systems.common import (
    ITEM_CATEGORY,
    capitalised,
    destination_of,
    direction_name,
    display_name,
    door_entity,
    strip_article,
    tell_action,
    the,
)
from systems.item_finding import handling_room, within_reach
from systems.targeting import matches, read_target
from systems.whereabouts import contents

#: The word that names any door, whatever it is made of ("open door").
DOOR_WORD = "door"


# --------------------------------------------------------------------------------------------------
# The rules


@dataclass(frozen=True, slots=True)
class Latch:
    """What the open/close/lock rules need of a door or a container.

    ``name`` is how a sentence names it ("the oak chest"); ``key_template`` is the template of the
    key that fits, empty when it has no lock.
    """

    name: str
    closed: bool
    lock: LockState
    key_template: str

    @property
    def locked(self) -> bool:
        return self.lock != LockState.UNLOCKED


def open_latch(latch: Latch) -> Latch:
    """A closed, unlocked door or container opens."""
    if not latch.closed:
        raise Refused("already_open", f"{capitalised(the(latch.name))} is already open.")
    if latch.locked:
        raise Refused("locked", f"{capitalised(the(latch.name))} is locked.")
    return replace(latch, closed=False)


def close_latch(latch: Latch) -> Latch:
    """An open door or container closes."""
    if latch.closed:
        raise Refused("already_closed", f"{capitalised(the(latch.name))} is already closed.")
    return replace(latch, closed=True)


def lock_latch(latch: Latch, keys_held: Set[str]) -> Latch:
    """A closed, unlocked thing with a lock locks, if a key that fits is carried."""
    name = capitalised(the(latch.name))
    if latch.locked:
        raise Refused("already_locked", f"{name} is already locked.")
    if not latch.key_template:
        raise Refused("no_lock", f"{name} has no lock.")
    if not latch.closed:
        raise Refused("not_closed", f"{name} is open: close it first.")
    if latch.key_template not in keys_held:
        raise Refused("no_key", f"You have no key that fits {the(latch.name)}.")
    return replace(latch, lock=LockState.LOCKED)


def unlock_latch(latch: Latch, keys_held: Set[str]) -> Latch:
    """A locked thing unlocks with a key that fits; a sealed one with no key at all."""
    name = capitalised(the(latch.name))
    if latch.lock == LockState.UNLOCKED:
        raise Refused("not_locked", f"{name} is not locked.")
    if latch.lock == LockState.SEALED:
        raise Refused("sealed", f"{name} is sealed: no key will open it.")
    if not latch.key_template or latch.key_template not in keys_held:
        raise Refused("no_key", f"You have no key that fits {the(latch.name)}.")
    return replace(latch, lock=LockState.UNLOCKED)


def check_reach_inside(latch: Latch) -> None:
    """Things go into and out of a container only while it is open."""
    if not latch.closed:
        return
    if latch.locked:
        raise Refused("locked", f"{capitalised(the(latch.name))} is closed and locked.")
    raise Refused("closed", f"{capitalised(the(latch.name))} is closed.")


# --------------------------------------------------------------------------------------------------
# Doors and containers as latches


def container_latch(world: World, entity: int, container: Container) -> Latch:
    return Latch(
        display_name(world, entity), container.closed, container.lock, container.key_template
    )


def _door_latch(world: World, door: int) -> Latch:
    info = world.get(door, DoorInfo)
    state = world.get(door, Door)
    lock = LockState.LOCKED if state.locked else LockState.UNLOCKED
    return Latch(info.name, state.closed, lock, info.key_template)


def _keys_held(world: World, actor: int) -> frozenset[str]:
    """Templates of what ``actor`` holds directly, carried or worn: the keys they can turn."""
    held = (world.try_get(entity, Item) for entity in contents(world, actor))
    return frozenset(item.template for item in held if item is not None)


def _door_in(world: World, exit_: Exit | None) -> int | None:
    """The door standing in ``exit_``, if it has one and the world holds all of that door."""
    door = door_entity(world, exit_.door) if exit_ is not None else None
    return door if door is not None and world.has(door, DoorInfo, Door) else None


def _doors_here(world: World, room: int) -> list[tuple[int, tuple[str, ...]]]:
    """The doors in the exits of ``room``, each once, with the words that name it here."""
    found: dict[int, list[str]] = {}
    for exit_ in world.get(room, Room).exits.values():
        door = _door_in(world, exit_)
        if door is None:
            continue
        if door not in found:
            name = strip_article(world.get(door, DoorInfo).name).casefold()
            found[door] = [*name.split(), DOOR_WORD]
        found[door].append(direction_name(exit_.direction))
    return [(door, tuple(words)) for door, words in found.items()]


def _find_latch(world: World, actor: int, room: int, text: str) -> tuple[str, int]:
    """What ``text`` names to open or lock: ("door", entity) or ("container", entity).

    A direction ("north", "n") names the door that way; otherwise the words are matched against
    the items within reach (carried, worn, on the floor), then the doors of the room.
    """
    direction = parse_direction(text)
    if direction is not None:
        door = _door_in(world, world.get(room, Room).exits.get(direction))
        if door is not None:
            return "door", door
    target = read_target(text, "bad_target")
    rules.check_one_at_a_time(target)
    found: list[tuple[str, int]] = [
        ("container", e)
        for e in within_reach(world, actor, room)
        if matches(world, e, target.words)
    ]
    for door, words in _doors_here(world, room):
        if all(any(word.startswith(w) for word in words) for w in target.words):
            found.append(("door", door))
    if direction is not None and not found:
        raise Refused("no_door", f"There is no door leading {direction_name(direction)}.")
    entity = rules.choose([(entity, 1) for _, entity in found], target, "here")[0].entity
    kind = next(kind for kind, found_entity in found if found_entity == entity)
    if kind == "container" and not world.has(entity, Container):
        name = capitalised(the(display_name(world, entity)))
        raise Refused("not_a_container", f"{name} cannot be opened, closed or locked.")
    return kind, entity


# --------------------------------------------------------------------------------------------------
# The commands


@dataclass(frozen=True, slots=True)
class _LatchVerb:
    """How one of open/close/lock/unlock reads, and the rule that decides it."""

    verb: str
    third_person: str
    heard_beyond: str  # what the room beyond a door hears, after "The oak door"
    rule: Callable[[Latch, frozenset[str]], Latch]


_LATCH_VERBS: dict[str, _LatchVerb] = {
    "open": _LatchVerb("open", "opens", "opens.", lambda latch, _keys: open_latch(latch)),
    "close": _LatchVerb("close", "closes", "closes.", lambda latch, _keys: close_latch(latch)),
    "lock": _LatchVerb("lock", "locks", "clicks as it is locked.", lock_latch),
    "unlock": _LatchVerb("unlock", "unlocks", "clicks as it is unlocked.", unlock_latch),
}


def _latch_command(world: World, cmd: Command, args: Args, how: _LatchVerb) -> None:
    """open / close / lock / unlock a container within reach or a door of the room."""
    actor = cmd.actor
    room = handling_room(world, actor)
    kind, entity = _find_latch(world, actor, room, args.text("thing"))
    latch = (
        _door_latch(world, entity)
        if kind == "door"
        else container_latch(world, entity, world.get(entity, Container))
    )
    outcome = how.rule(latch, _keys_held(world, actor))
    data: dict[str, Any] = {"kind": kind, "closed": outcome.closed, "locked": outcome.locked}
    if kind == "door":
        state = world.get(entity, Door)
        state.closed = outcome.closed
        state.locked = outcome.locked
        data["door"] = world.get(entity, DoorInfo).key
    else:
        container = world.get(entity, Container)
        container.closed = outcome.closed
        container.lock = outcome.lock
        data["id"] = world.stable_id(entity)
    name = the(latch.name)
    who = display_name(world, actor)
    own = f"You {how.verb} {name}."
    if how.verb in ("lock", "unlock"):
        own = f"You {how.verb} {name} with {_key_name(world, latch.key_template)}."
    tell_action(world, actor, room, how.verb, own, f"{who} {how.third_person} {name}.", data)
    if kind == "door":
        _tell_beyond(world, room, entity, f"{capitalised(name)} {how.heard_beyond}", how.verb)


def _key_name(world: World, key_template: str) -> str:
    template = world.resource(Directory).items.get(key_template)
    return template.name if template is not None else "your key"


def _tell_beyond(world: World, room: int, door: int, text: str, action: str) -> None:
    """Tell the room on the other side of ``door`` what it heard."""
    key = world.get(door, DoorInfo).key
    told: set[int] = {room}
    for exit_ in world.get(room, Room).exits.values():
        beyond = destination_of(world, exit_)
        if exit_.door != key or beyond is None or beyond in told:
            continue
        told.add(beyond)
        back = next(
            (e.direction for e in world.get(beyond, Room).exits.values() if e.door == key), None
        )
        data = {"action": action, "door": key, "direction": back, "beyond": True}
        world.emit("msg", Scope.room(beyond), text, data)


def open_thing(world: World, cmd: Command, args: Args) -> None:
    """Open a closed, unlocked door or container."""
    _latch_command(world, cmd, args, _LATCH_VERBS["open"])


def close_thing(world: World, cmd: Command, args: Args) -> None:
    """Close an open door or container."""
    _latch_command(world, cmd, args, _LATCH_VERBS["close"])


def lock_thing(world: World, cmd: Command, args: Args) -> None:
    """Lock a closed door or container with a carried key that fits."""
    _latch_command(world, cmd, args, _LATCH_VERBS["lock"])


def unlock_thing(world: World, cmd: Command, args: Args) -> None:
    """Unlock a locked door or container with a carried key that fits."""
    _latch_command(world, cmd, args, _LATCH_VERBS["unlock"])


def register(kit: PluginKit) -> None:
    """Register ``open``, ``close``, ``lock`` and ``unlock``."""
    for verb, handler, help_text in (
        ("open", open_thing, "Open a door (by name or direction) or a container you can reach."),
        ("close", close_thing, "Close a door (by name or direction) or a container you can reach."),
        ("lock", lock_thing, "Lock a closed door or container with a key you carry."),
        ("unlock", unlock_thing, "Unlock a door or container with a key you carry."),
    ):
        kit.command(
            CommandSpec(
                verb=verb,
                handler=handler,
                usage="<thing...>",
                help=help_text,
                category=ITEM_CATEGORY,
            )
        )
