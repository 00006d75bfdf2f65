"""Speech: saying something to the room, acting out an emote, whispering to one person.

The wording rules (:func:`say_texts`, :func:`emote_text`) are pure functions of names and words; the
handlers find the audience and emit. A whisper's words reach only its speaker and its listener: the
rest of the room learns that a whisper happened, never what was said (not even in event data). In a
dark room the speaker is "someone" to the others. Nothing here may do I/O.
"""

from __future__ import annotations

from typing import Any

from components.body import Identity
from components.social import Muted
from engine.commands import Args, Command, CommandSpec
from engine.events import Scope
from engine.plugins import PluginKit
from engine.world import World
from systems.look import cap, is_dark, seen_as
from systems.targeting import TargetError, find, parse_target
from systems.things import contents, display_name, room_of

_END_PUNCTUATION = (".", "!", "?", "…", '"', "'", ")")


def silenced(world: World, actor: int) -> bool:
    """True (and the actor is told why) while a staff mute lasts; an expired mute is lifted."""
    muted = world.try_get(actor, Muted)
    if muted is None:
        return False
    left_s = muted.until_s - world.clock.seconds
    if left_s <= 0:
        world.remove(actor, Muted)
        return False
    minutes = max(1, round(left_s / 60))
    text = f"You are muted by staff for about {minutes} more minute{'s' if minutes != 1 else ''}."
    world.emit("error", Scope.entity(actor), text, {"code": "muted", "message": text})
    return True


def say_texts(speaker: str, message: str) -> tuple[str, str]:
    """What the speaker reads and what the others read: "You say, '…'" and "Armitage says, '…'"."""
    return f"You say, '{message}'", f"{cap(speaker)} says, '{message}'"


def emote_text(actor: str, action: str) -> str:
    """ "Armitage shivers." from "shivers"; "Armitage's eyes widen." from "'s eyes widen"."""
    action = action.strip()
    joined = f"{cap(actor)}{action}" if action.startswith(("'", ",")) else f"{cap(actor)} {action}"
    return joined if joined.endswith(_END_PUNCTUATION) else f"{joined}."


def whisper_texts(speaker: str, listener: str, message: str) -> tuple[str, str, str]:
    """What the speaker, the listener and the rest of the room read of a whisper."""
    return (
        f"You whisper to {listener}, '{message}'",
        f"{cap(speaker)} whispers to you, '{message}'",
        f"{cap(speaker)} whispers something to {listener}.",
    )


def _refuse(world: World, actor: int, code: str, text: str, **extra: Any) -> None:
    world.emit("error", Scope.entity(actor), text, {"code": code, "message": text, **extra})


def say(world: World, cmd: Command, args: Args) -> None:
    """``say <message...>`` (or ``'message``): everyone in the room hears it."""
    actor = cmd.actor
    if silenced(world, actor):
        return
    message = args.text("message")
    name, sid = display_name(world, actor), world.stable_id(actor)
    yours, _ = say_texts(name, message)
    world.emit("say", Scope.entity(actor), yours, {"from": name, "from_id": sid, "text": message})
    room = room_of(world, actor)
    if room is None:
        return
    heard, heard_id = seen_as(world, room, actor)
    _, theirs = say_texts(heard, message)
    world.emit(
        "say",
        Scope.room(room),
        theirs,
        {"from": heard, "from_id": heard_id, "text": message},
        exclude=(actor,),
    )


def emote(world: World, cmd: Command, args: Args) -> None:
    """``emote <action...>`` (or ``:action``): the room, the actor included, sees it done."""
    actor = cmd.actor
    if silenced(world, actor):
        return
    action = args.text("action")
    room = room_of(world, actor)
    name, sid = display_name(world, actor), world.stable_id(actor)
    own = {"from": name, "from_id": sid, "action": action}
    if room is None:
        world.emit("emote", Scope.entity(actor), emote_text(name, action), own)
    elif not is_dark(world, room):
        world.emit("emote", Scope.room(room), emote_text(name, action), own)
    else:
        seen, seen_id = seen_as(world, room, actor)
        world.emit("emote", Scope.entity(actor), emote_text(name, action), own)
        world.emit(
            "emote",
            Scope.room(room),
            emote_text(seen, action),
            {"from": seen, "from_id": seen_id, "action": action},
            exclude=(actor,),
        )


def whisper(world: World, cmd: Command, args: Args) -> None:
    """``whisper <target> <message...>``: only the target hears; the room sees that it happened."""
    actor = cmd.actor
    if silenced(world, actor):
        return
    message = args.text("message")
    room = room_of(world, actor)
    if room is None:
        _refuse(world, actor, "no_such_target", "There is nobody here to whisper to.")
        return
    try:
        target = parse_target(args.text("target"))
    except TargetError as bad:
        _refuse(world, actor, "no_such_target", str(bad))
        return
    people = [e for e in contents(world, room) if e != actor and world.has(e, Identity)]
    found = find(world, people, target) if not target.every else []
    if not found:
        text = f"There is no '{target.describe()}' here to whisper to."
        _refuse(world, actor, "no_such_target", text, target=target.describe())
        return
    listener = found[0]
    speaker, speaker_id = display_name(world, actor), world.stable_id(actor)
    hearer, hearer_id = display_name(world, listener), world.stable_id(listener)
    seen_speaker, seen_speaker_id = seen_as(world, room, actor)
    seen_hearer, seen_hearer_id = seen_as(world, room, listener)
    yours, _, _ = whisper_texts(speaker, hearer, message)
    _, theirs, overheard = whisper_texts(seen_speaker, seen_hearer, message)
    to = {"to": hearer, "to_id": hearer_id, "text": message}
    world.emit(
        "whisper", Scope.entity(actor), yours, {"from": speaker, "from_id": speaker_id, **to}
    )
    world.emit(
        "whisper",
        Scope.entity(listener),
        theirs,
        {"from": seen_speaker, "from_id": seen_speaker_id, **to},
    )
    world.emit(
        "whisper",
        Scope.room(room),
        overheard,
        {
            "from": seen_speaker,
            "from_id": seen_speaker_id,
            "to": seen_hearer,
            "to_id": seen_hearer_id,
        },
        exclude=(actor, listener),
    )


def register(kit: PluginKit) -> None:
    """Register ``say``, ``emote`` and ``whisper`` (the engine maps ``'`` and ``:`` to the first
    two)."""
    kit.command(
        CommandSpec(
            verb="say",
            handler=say,
            usage="<message...>",
            help="Say something to everyone in the room. Shortcut: 'hello there",
            category="communication",
        )
    )
    kit.command(
        CommandSpec(
            verb="emote",
            handler=emote,
            usage="<action...>",
            help="Act something out: 'emote shivers' shows 'Armitage shivers.' to the room. "
            "Shortcut: :shivers",
            category="communication",
        )
    )
    kit.command(
        CommandSpec(
            verb="whisper",
            handler=whisper,
            usage="<target> <message...>",
            help="Whisper to someone in the room: only they hear the words; the others see "
            "that you whispered to them.",
            category="communication",
        )
    )
