"""Staff commands (``admin`` role only): teleport, goto, summon, kick, mute, unmute, shutdown,
stats, spawn and despawn (to stage fights), system (switch systems off and on) and reload (a
plugin's code), each logged with who did what to whom. Like any rule they only change components
and emit events, never I/O: the shell acts on ``kick`` events and on
:class:`engine.core.StopRequest`, and a reload's files are read off the tick."""

from __future__ import annotations

import difflib
import logging
from dataclasses import dataclass, field

from components.body import Identity, Npc, Offline, Player
from components.content import Directory
from components.items import Item
from components.place import Room
from components.social import Muted
from engine.commands import Args, Command, CommandSpec, Refused
from engine.core import StatsBoard, StopRequest
from engine.events import Scope
from engine.inputs import ASK_ELSEWHERE_EVENT, Relocate
from engine.plugins import PluginKit
from engine.reload import Reloader
from engine.scheduler import Scheduler, SystemContext, SystemStats, system
from engine.world import World
from systems import fights
from systems.common import (
    bodies_in,
    capitalised,
    display_name,
    find_player,
    items_in,
    player_elsewhere,
)
from systems.npc_spawn import spawn_npc
from systems.presence import LEAVING_WORDS, leave_world, relocate
from systems.targeting import find, read_target
from systems.whereabouts import contents, room_of

log = logging.getLogger("kadath.admin")

#: Event type telling the shell to disconnect a player (after the kick is announced).
KICK_EVENT = "kick"
#: Event types of staff messages: a reply to the staff member or a note to the player concerned, a
#: shutdown warning to everyone, and the stats table. Clients see them as ``msg`` with data.event.
ADMIN_EVENT = "admin"
SHUTDOWN_WARNING_EVENT = "shutdown_warning"
STATS_EVENT = "stats"
#: Event type announcing the end of the world to everyone, just before the server stops.
SHUTDOWN_EVENT = "shutdown"
#: Countdown when ``shutdown`` is given no number, in seconds.
SHUTDOWN_DEFAULT_S = 10
#: Seconds before a shutdown at which everyone is warned.
SHUTDOWN_WARNINGS_S: tuple[int, ...] = (600, 300, 120, 60, 30, 10, 5, 4, 3, 2, 1)
#: How often the countdown is checked, in seconds.
SHUTDOWN_CHECK_INTERVAL_S = 1.0
#: A mute without a duration lasts this many minutes.
MUTE_DEFAULT_MINUTES = 10


@dataclass(slots=True)
class ShutdownCountdown:
    """A world resource while a shutdown is pending (transient: a restart cancels it)."""

    at_s: float
    by: str
    warned: set[int] = field(default_factory=set)


def _note(world: World, actor: int, text: str, **data: object) -> None:
    """A staff message: the reply to the staff member, or a note to the player concerned."""
    world.emit(ADMIN_EVENT, Scope.entity(actor), text, dict(data))


def _name(world: World, entity: int) -> str:
    identity = world.try_get(entity, Identity)
    return identity.name if identity is not None else f"entity {entity}"


def _no_such_player(name: str) -> Refused:
    return Refused("no_such_player", f"No one called '{name}' is here.")


def _online_player(world: World, name: str) -> int:
    """:func:`find_player`, for a command: ``Refused`` when no one online is called that."""
    player = find_player(world, name)
    if player is None:
        raise _no_such_player(name)
    return player


def find_room(world: World, words: str) -> int | None:
    """A room by its key (``arkham.square``), or by its name if exactly one room has it."""
    rooms = world.resource(Directory).rooms
    if words in rooms:
        return rooms[words]
    named = [e for e, room in world.query(Room) if room.name.casefold() == words.casefold()]
    return named[0] if len(named) == 1 else None


def _no_such_room(world: World, words: str) -> Refused:
    close = difflib.get_close_matches(words, list(world.resource(Directory).rooms), n=3)
    hint = f" Did you mean: {', '.join(close)}?" if close else ""
    return Refused("no_such_room", f"There is no room '{words}'.{hint}")


def _send_player(world: World, name: str, room: int, *, vanish: str, appear: str) -> str:
    """Move the player called ``name`` to ``room`` by staff power, here or, in a sharded world,
    on the shard that holds them (which hands them on if the room lies elsewhere); their name.
    Refused if no one online anywhere is called that."""
    target = find_player(world, name)
    if target is not None:
        relocate(world, target, room, vanish=vanish, appear=appear)
        return _name(world, target)
    elsewhere = player_elsewhere(world, name)
    if elsewhere is None:
        raise _no_such_player(name)
    key = world.get(room, Room).key
    request = Relocate(elsewhere.sid, key, vanish, appear)
    world.emit(ASK_ELSEWHERE_EVENT, Scope.everyone(), data={"input": request})
    return elsewhere.name


def teleport(world: World, cmd: Command, args: Args) -> None:
    """``teleport <player> <room...>``: send a player to a room."""
    room = find_room(world, args.text("room"))
    if room is None:
        raise _no_such_room(world, args.text("room"))
    sent = _send_player(
        world, args.text("player"), room, vanish="vanishes", appear="appears out of thin air"
    )
    log.info("%s teleported %s to %s", _name(world, cmd.actor), sent, args.text("room"))
    _note(world, cmd.actor, f"You send {sent} to {world.get(room, Room).name}.")


def goto(world: World, cmd: Command, args: Args) -> None:
    """``goto <player|room>``: go where a player is, or to a room (in a sharded world, the
    border rule then takes the admin to the shard of that room)."""
    words = args.text("target")
    target = find_player(world, words)
    room = room_of(world, target) if target is not None else find_room(world, words)
    if room is None and target is None:  # a player on another shard: go to their room there
        elsewhere = player_elsewhere(world, words)
        room = find_room(world, elsewhere.room) if elsewhere and elsewhere.room else None
    if room is None:
        raise _no_such_room(world, words)
    relocate(world, cmd.actor, room, vanish="vanishes", appear="steps out of nowhere")
    log.info("%s went to %s", _name(world, cmd.actor), words)


def summon(world: World, cmd: Command, args: Args) -> None:
    """``summon <player>``: bring a player to you."""
    room = room_of(world, cmd.actor)
    if room is None:
        raise Refused("nowhere", "You are nowhere to summon anyone to.")
    sent = _send_player(
        world,
        args.text("player"),
        room,
        vanish="is pulled away",
        appear="is pulled in from elsewhere",
    )
    log.info("%s summoned %s", _name(world, cmd.actor), sent)


def kick(world: World, cmd: Command, args: Args) -> None:
    """``kick <player>``: disconnect a player; the character leaves the world, saved."""
    target = _online_player(world, args.text("player"))
    world.emit(
        KICK_EVENT,
        Scope.entity(target),
        "You have been removed from the game by staff.",
        {"reason": "kicked", "by": _name(world, cmd.actor)},
    )
    leave_world(world, target, LEAVING_WORDS["kicked"], "kicked")
    log.info("%s kicked %s", _name(world, cmd.actor), _name(world, target))
    _note(world, cmd.actor, f"You kick {_name(world, target)}.")


def mute(world: World, cmd: Command, args: Args) -> None:
    """``mute <player> [minutes]``: the player cannot say, emote or whisper for a while."""
    target = _online_player(world, args.text("player"))
    minutes = args.opt_number("minutes")
    minutes = MUTE_DEFAULT_MINUTES if minutes is None else minutes
    if minutes < 1:
        raise Refused("bad_args", "Mute for at least 1 minute (use unmute to lift it).")
    until = world.clock.seconds + minutes * 60
    world.add(target, Muted(until, _name(world, cmd.actor)))
    log.info("%s muted %s for %d minutes", _name(world, cmd.actor), _name(world, target), minutes)
    _note(world, cmd.actor, f"{_name(world, target)} is muted for {minutes} minutes.")
    _note(world, target, f"You have been muted by staff for {minutes} minutes.")


def unmute(world: World, cmd: Command, args: Args) -> None:
    """``unmute <player>``: lift a mute."""
    target = find_player(world, args.text("player"))
    if target is None or not world.has(target, Muted):
        raise Refused("not_muted", f"'{args.text('player')}' is not muted.")
    world.remove(target, Muted)
    log.info("%s unmuted %s", _name(world, cmd.actor), _name(world, target))
    _note(world, cmd.actor, f"{_name(world, target)} may speak again.")
    _note(world, target, "You may speak again.")


def shutdown(world: World, cmd: Command, args: Args) -> None:
    """``shutdown [seconds]``: warn everyone, count down, then save and stop the server."""
    seconds = args.opt_number("seconds")
    seconds = SHUTDOWN_DEFAULT_S if seconds is None else seconds
    if seconds < 0:
        raise Refused("bad_args", "Give a number of seconds, 0 or more.")
    by = _name(world, cmd.actor)
    already = {mark for mark in SHUTDOWN_WARNINGS_S if mark >= seconds}  # said in the order
    world.insert_resource(ShutdownCountdown(world.clock.seconds + seconds, by, already))
    log.info("%s ordered a shutdown in %d seconds", by, seconds)
    world.emit(
        SHUTDOWN_WARNING_EVENT,
        Scope.everyone(),
        f"The world will end in {seconds} second{'s' if seconds != 1 else ''} ({by}).",
        {"seconds": seconds},
    )


@system(phase="late", every_s=SHUTDOWN_CHECK_INTERVAL_S)
def shutdown_countdown(world: World, ctx: SystemContext) -> None:
    """Warn at fixed points before a pending shutdown, then ask the server to stop."""
    countdown = world.try_resource(ShutdownCountdown)
    if countdown is None or world.try_resource(StopRequest) is not None:
        return
    remaining = countdown.at_s - ctx.now_s
    if remaining <= 1e-9:
        world.emit(
            SHUTDOWN_EVENT,
            Scope.everyone(),
            "The world dissolves into grey. Saved.",
            {"reason": "shutdown"},
        )
        world.insert_resource(StopRequest(f"shutdown ordered by {countdown.by}"))
        return
    passed = [mark for mark in SHUTDOWN_WARNINGS_S if remaining <= mark + 1e-9]
    if passed and min(passed) not in countdown.warned:
        mark = min(passed)  # the nearest mark just crossed; larger ones are stale news
        countdown.warned.update(passed)
        world.emit(
            SHUTDOWN_WARNING_EVENT,
            Scope.everyone(),
            f"The world will end in {mark} second{'s' if mark != 1 else ''}.",
            {"seconds": mark},
        )


def spawn(world: World, cmd: Command, args: Args) -> None:
    """``spawn <npc template>``: make an NPC from a template, here (no spawn rule counts it)."""
    key = args.text("template").casefold()
    npcs = world.resource(Directory).npcs
    template = npcs.get(key)
    if template is None:
        close = difflib.get_close_matches(key, list(npcs), n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else ""
        raise Refused("no_such_template", f"There is no NPC template '{key}'.{hint}")
    room = room_of(world, cmd.actor)
    if room is None:
        raise Refused("nowhere", "You are nowhere: there is nowhere to spawn it.")
    npc = spawn_npc(world, template, room, "")
    name = capitalised(template.name)
    world.emit(
        "arrive",
        Scope.room(room),
        f"{name} appears.",
        {"who": template.name, "npc": template.id, "id": world.stable_id(npc)},
        exclude=(cmd.actor,),
    )
    log.info("%s spawned %s in %s", _name(world, cmd.actor), template.id, world.get(room, Room).key)
    _note(world, cmd.actor, f"You spawn {template.name}.", npc=world.stable_id(npc))


def despawn(world: World, cmd: Command, args: Args) -> None:
    """``despawn <target>``: take an NPC (with what it holds) or a thing lying here out of the
    world for good."""
    room = room_of(world, cmd.actor)
    if room is None:
        raise Refused("nowhere", "You are nowhere: there is nothing here.")
    target = read_target(args.text("target"), "no_such_target")
    here = [*bodies_in(world, room, exclude=cmd.actor), *items_in(world, room)]
    found = find(world, here, target)
    if not found:
        raise Refused("no_such_target", f"You see no '{target.describe()}' here.")
    thing = found[0]
    if world.has(thing, Player):
        raise Refused("not_despawnable", "Players cannot be despawned: kick them instead.")
    if not (world.has(thing, Npc) or world.has(thing, Item)):
        raise Refused("not_despawnable", f"You cannot despawn {display_name(world, thing)}.")

    name = display_name(world, thing)
    fights.leave(world, thing, why=f"{capitalised(fights.fighter_name(world, thing))} is gone.")
    removed = destroy_with_contents(world, thing)
    world.emit(
        "leave",
        Scope.room(room),
        f"{capitalised(name)} winks out of existence.",
        {"who": name, "despawned": True},
        exclude=(cmd.actor,),
    )
    log.info("%s despawned %s (%d entities)", _name(world, cmd.actor), name, removed)
    _note(world, cmd.actor, f"You despawn {name}.", removed=removed)


def destroy_with_contents(world: World, entity: int) -> int:
    """Destroy ``entity`` and everything inside it, however deeply; return how many went."""
    removed = 0
    for inner in list(contents(world, entity)):
        removed += destroy_with_contents(world, inner)
    world.destroy(entity)
    return removed + 1


def stats(world: World, cmd: Command, args: Args) -> None:
    """``stats``: the engine's per-system cost table, the writer's state and who is online."""
    board = world.try_resource(StatsBoard)
    online = world.count(Player, without=(Offline,))
    text = board.text() if board is not None else "(no statistics in this world)"
    services = board.services() if board is not None else {}
    world.emit(
        STATS_EVENT,
        Scope.entity(cmd.actor),
        f"{text}\nplayers online: {online}",
        {"players": online, "services": services},
    )


#: What ``system`` does: show every system, or switch one off or back on.
SYSTEM_ACTIONS = ("list", "enable", "disable")


def _system_row(row: SystemStats) -> str:
    every = f"{row.every_s:g}s" if row.every_s else "tick"
    state = "on" if row.enabled else f"OFF: {row.disabled_reason}"
    return (
        f"{row.order:>3} {row.name:<24} {row.plugin or '-':<10} {row.phase:<6} {every:>6} "
        f"{row.runs:>8} {row.failures:>5}  {state}"
    )


def _system_data(row: SystemStats) -> dict[str, object]:
    return {
        "name": row.name,
        "plugin": row.plugin,
        "phase": row.phase,
        "every_s": row.every_s,
        "enabled": row.enabled,
        "reason": row.disabled_reason,
        "runs": row.runs,
        "failures": row.failures,
    }


def system_admin(world: World, cmd: Command, args: Args) -> None:
    """``system list``, ``system disable <name>``, ``system enable <name>``: see every system and
    whether it runs; switch one off, or back on (one the scheduler disabled after repeated
    failures, once its plugin is fixed or reloaded), from the next run, without a restart."""
    action = args.text("action").casefold()
    if action not in SYSTEM_ACTIONS:
        raise Refused("bad_args", f"Use system {' | '.join(SYSTEM_ACTIONS)} [<name>].")
    scheduler = world.resource(Scheduler)
    rows = scheduler.stats()
    if action == "list":
        header = (
            f"{'#':>3} {'system':<24} {'plugin':<10} {'phase':<6} {'every':>6} "
            f"{'runs':>8} {'fail':>5}  state"
        )
        off = sum(1 for row in rows if not row.enabled)
        text = "\n".join([header, *map(_system_row, rows), f"{len(rows)} systems, {off} off"])
        _note(world, cmd.actor, text, systems=[_system_data(row) for row in rows])
        return
    name = args.opt_text("name")
    if name is None:
        raise Refused("bad_args", f"Name the system to {action}: system {action} <name>.")
    by_name = {row.name: row for row in rows}
    row = by_name.get(name)
    if row is None:
        close = difflib.get_close_matches(name, list(by_name), n=3)
        hint = f" Did you mean: {', '.join(close)}?" if close else " See: system list."
        raise Refused("no_such_system", f"There is no system '{name}'.{hint}")
    who = _name(world, cmd.actor)
    if action == "disable":
        if not row.enabled:
            raise Refused("already_disabled", f"{name} is off already ({row.disabled_reason}).")
        scheduler.disable(name, f"disabled by {who} at tick {world.clock.tick}")
        log.info("%s disabled system %s", who, name)
        _note(world, cmd.actor, f"{name} is off: it will not run until enabled.", system=name)
        return
    if row.enabled:
        raise Refused("not_disabled", f"{name} is running already.")
    scheduler.enable(name, world.clock.seconds)
    log.info("%s enabled system %s (it was %s)", who, name, row.disabled_reason)
    _note(
        world,
        cmd.actor,
        f"{name} is on again, from this tick (it was {row.disabled_reason}).",
        system=name,
    )


def reload_plugin(world: World, cmd: Command, args: Args) -> None:
    """``reload <plugin>``: re-import a plugin's code and swap its systems, commands and hooks
    between two ticks; the world and every connection stay. The files are read off the tick; the
    admin is told when the new code runs, or why it was refused (the old code then keeps
    running)."""
    name = args.text("plugin")
    reloader = world.try_resource(Reloader)
    if reloader is None:
        raise Refused("reload_unavailable", "Hot reload is not available in this world.")
    reloader.request(name, world.stable_id(cmd.actor))
    log.info("%s asked for plugin %s to be reloaded", _name(world, cmd.actor), name)
    _note(world, cmd.actor, f"Reloading plugin '{name}': its code is being read.", plugin=name)


def register(kit: PluginKit) -> None:
    for verb, handler, usage, help_text in (
        ("teleport", teleport, "<player> <room...>", "Send a player to a room (by key or name)."),
        ("goto", goto, "<target...>", "Go to a player or a room."),
        ("summon", summon, "<player>", "Bring a player to you."),
        ("kick", kick, "<player>", "Disconnect a player; the character is saved and leaves."),
        ("mute", mute, "<player> [<minutes:int>]", "Stop a player speaking for a while."),
        ("unmute", unmute, "<player>", "Let a muted player speak again."),
        ("shutdown", shutdown, "[<seconds:int>]", "Count down, then save and stop the server."),
        ("stats", stats, "", "Show the tick's cost table, the database writer and players."),
        ("spawn", spawn, "<template>", "Make an NPC from its template here (to stage a fight)."),
        ("despawn", despawn, "<target...>", "Take an NPC or a thing here out of the world."),
        (
            "system",
            system_admin,
            "<action> [<name>]",
            "See every system (system list), or switch one off or back on (system disable"
            " <name>, system enable <name>) without a restart.",
        ),
        (
            "reload",
            reload_plugin,
            "<plugin>",
            "Re-import a plugin's code and swap it in between two ticks, keeping the world.",
        ),
    ):
        kit.command(
            CommandSpec(
                verb=verb,
                handler=handler,
                usage=usage,
                help=help_text,
                category="admin",
                role="admin",
            )
        )
    kit.system(shutdown_countdown)
