"""Speech: saying, emoting, whispering and shouting. A whisper's words reach only its speaker and
listener, never the rest of the room, not even as event data; a shout reaches the whole zone,
but not from a deranged mind; in the dark the speaker is "someone"; a staff mute refuses all four.
Nothing here does I/O."""

from __future__ import annotations

from collections.abc import Callable

from components.body import Identity
from components.place import Room
from components.social import Muted
from engine.commands import Args, Command, CommandSpec, Refused
from engine.events import Scope
from engine.plugins import PluginKit
from engine.world import World
from systems.common import capitalised, display_name, find_player, player_elsewhere
from systems.look import is_dark, seen_as
from systems.lucidity import RANK, Tier, tier_now
from systems.targeting import find, read_target
from systems.whereabouts import contents, room_of

_END_PUNCTUATION = (".", "!", "?", "…", '"', "'", ")")


def check_not_muted(world: World, actor: int) -> None:
    """``Refused`` while a staff mute lasts. Once this passes, any Muted left has run out, and the
    handler lifts it when it speaks (after its other checks: a refusal changes nothing)."""
    muted = world.try_get(actor, Muted)
    if muted is None:
        return
    left_s = muted.until_s - world.clock.seconds
    if left_s > 0:
        minutes = max(1, round(left_s / 60))
        plural = "s" if minutes != 1 else ""
        raise Refused("muted", f"You are muted by staff for about {minutes} more minute{plural}.")


def _lift_lapsed_mute(world: World, actor: int) -> None:
    """Once :func:`check_not_muted` has passed, a Muted still there has run out: it goes."""
    world.discard(actor, Muted)


def say_texts(speaker: str, message: str) -> tuple[str, str]:
    """What the speaker reads and what the others read: "You say, '…'" and "Armitage says, '…'"."""
    return f"You say, '{message}'", f"{capitalised(speaker)} says, '{message}'"


def emote_text(actor: str, action: str) -> str:
    """ "Armitage shivers." from "shivers"; "Armitage's eyes widen." from "'s eyes widen"."""
    action = action.strip()
    name = capitalised(actor)
    joined = f"{name}{action}" if action.startswith(("'", ",")) else f"{name} {action}"
    return joined if joined.endswith(_END_PUNCTUATION) else f"{joined}."


def whisper_texts(speaker: str, listener: str, message: str) -> tuple[str, str, str]:
    """What the speaker, the listener and the rest of the room read of a whisper."""
    return (
        f"You whisper to {listener}, '{message}'",
        f"{capitalised(speaker)} whispers to you, '{message}'",
        f"{capitalised(speaker)} whispers something to {listener}.",
    )


def say(world: World, cmd: Command, args: Args) -> None:
    """``say <message...>`` (or ``'message``): everyone in the room hears it."""
    actor = cmd.actor
    check_not_muted(world, actor)
    _lift_lapsed_mute(world, actor)
    room = room_of(world, actor)
    audience = Scope.room(room) if room is not None else None
    _speak(world, actor, room, "say", args.text("message"), say_texts, audience)


def _speak(
    world: World,
    actor: int,
    room: int | None,
    kind: str,
    message: str,
    texts: Callable[[str, str], tuple[str, str]],
    audience: Scope | None,
    **more: object,
) -> None:
    """Words spoken aloud: the speaker reads its own (``texts``' first), ``audience`` (if any)
    the others', naming the speaker as ``room`` sees it; the data is who said what, and ``more``."""
    name, sid = display_name(world, actor), world.stable_id(actor)
    yours, _ = texts(name, message)
    data = {"from": name, "from_id": sid, "text": message, **more}
    world.emit(kind, Scope.entity(actor), yours, data)
    if audience is None or room is None:
        return
    heard, heard_id = seen_as(world, room, actor)
    _, theirs = texts(heard, message)
    world.emit(
        kind, audience, theirs, {**data, "from": heard, "from_id": heard_id}, exclude=(actor,)
    )


def emote(world: World, cmd: Command, args: Args) -> None:
    """``emote <action...>`` (or ``:action``): the room, the actor included, sees it done."""
    actor = cmd.actor
    check_not_muted(world, actor)
    _lift_lapsed_mute(world, actor)
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
    check_not_muted(world, actor)
    message = args.text("message")
    room = room_of(world, actor)
    if room is None:
        raise Refused("no_such_target", "There is nobody here to whisper to.")
    target = read_target(args.text("target"), "no_such_target")
    people = [e for e in contents(world, room) if e != actor and world.has(e, Identity)]
    found = find(world, people, target) if not target.every else []
    if not found:
        text = f"There is no '{target.describe()}' here to whisper to."
        raise Refused("no_such_target", text, target=target.describe())
    listener = found[0]
    _lift_lapsed_mute(world, actor)
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


def tell_texts(speaker: str, listener: str, message: str) -> tuple[str, str]:
    """What the teller reads and what the told one reads."""
    return f"You tell {listener}, '{message}'", f"{capitalised(speaker)} tells you, '{message}'"


def tell(world: World, cmd: Command, args: Args) -> None:
    """``tell <player> <message...>``: a private word to a player anywhere in the world (in a
    sharded world, on whichever shard they play); nobody else hears anything."""
    actor = cmd.actor
    check_not_muted(world, actor)
    wanted = args.text("player")
    local = find_player(world, wanted)
    elsewhere = player_elsewhere(world, wanted) if local is None else None
    if local is None and elsewhere is None:
        raise Refused("no_such_player", f"No one called '{wanted}' is in the world.")
    if local == actor:
        raise Refused("tell_self", "You mutter something to yourself.")
    _lift_lapsed_mute(world, actor)
    speaker, message = display_name(world, actor), args.text("message")
    if local is not None:
        listener, listener_id, heard_by = (
            display_name(world, local),
            world.stable_id(local),
            (Scope.entity(local)),
        )
    else:
        assert elsewhere is not None
        listener, listener_id = elsewhere.name, elsewhere.sid
        heard_by = Scope.player(elsewhere.sid)
    yours, theirs = tell_texts(speaker, listener, message)
    data = {
        "from": speaker,
        "from_id": world.stable_id(actor),
        "to": listener,
        "to_id": listener_id,
        "text": message,
    }
    world.emit("tell", Scope.entity(actor), yours, data)
    world.emit("tell", heard_by, theirs, data)


def gossip_texts(speaker: str, message: str) -> tuple[str, str]:
    """What the speaker reads and what everyone else reads on the gossip channel."""
    return f"You gossip, '{message}'", f"[gossip] {capitalised(speaker)}: {message}"


def gossip(world: World, cmd: Command, args: Args) -> None:
    """``gossip <message...>``: the world-wide channel; every player hears it, on every shard
    of a sharded world."""
    actor = cmd.actor
    check_not_muted(world, actor)
    _lift_lapsed_mute(world, actor)
    speaker, message = display_name(world, actor), args.text("message")
    yours, theirs = gossip_texts(speaker, message)
    data = {"from": speaker, "from_id": world.stable_id(actor), "text": message}
    world.emit("gossip", Scope.entity(actor), yours, data)
    world.emit("gossip", Scope.everyone(), theirs, data, exclude=(actor,))


def shout_texts(speaker: str, message: str) -> tuple[str, str]:
    """What the shouter reads and what the zone hears: "You shout, '…'" and "Armitage shouts,
    '…'"."""
    return f"You shout, '{message}'", f"{capitalised(speaker)} shouts, '{message}'"


def shout(world: World, cmd: Command, args: Args) -> None:
    """``shout <message...>``: everyone in the zone hears it (everyone in the world, nobody
    else); a deranged (or catatonic) mind cannot get the words out."""
    actor = cmd.actor
    check_not_muted(world, actor)
    tier = tier_now(world, actor)
    if tier is not None and RANK[tier] >= RANK[Tier.DERANGED]:
        raise Refused(
            "cannot_shout",
            "You open your mouth to shout, and only a thin, broken laugh comes out.",
        )
    room = room_of(world, actor)
    if room is None:
        raise Refused("nowhere", "You are nowhere; there is no one to hear you.")
    _lift_lapsed_mute(world, actor)
    zone = world.get(room, Room).zone
    message = args.text("message")
    _speak(world, actor, room, "shout", message, shout_texts, Scope.zone(zone), zone=zone)


def register(kit: PluginKit) -> None:
    """Register ``say``, ``emote``, ``whisper``, ``tell``, ``gossip`` and ``shout`` (the engine
    maps ``'`` and ``:`` to the first two)."""
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
    kit.command(
        CommandSpec(
            verb="tell",
            handler=tell,
            usage="<player> <message...>",
            help="Say something privately to a player anywhere in the world ('tell armitage"
            " Meet me at the library').",
            category="communication",
        )
    )
    kit.command(
        CommandSpec(
            verb="gossip",
            handler=gossip,
            usage="<message...>",
            help="Say something on the world-wide channel: every player hears it.",
            category="communication",
        )
    )
    kit.command(
        CommandSpec(
            verb="shout",
            handler=shout,
            usage="<message...>",
            help=(
                "Shout something for the whole region to hear ('shout Help, in the crypt!')."
                " A deranged mind cannot get the words out."
            ),
            category="communication",
        )
    )
