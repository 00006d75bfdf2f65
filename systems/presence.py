"""Presence: player characters entering and leaving the world, link-death, who hears an event,
and the ``quit`` command. A character that leaves is not destroyed (that would delete its saved
rows) but made Offline. Called by the engine inside the tick, from the shell's inputs. No I/O."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping

from components.body import Dead, Identity, LinkDead, Offline, Player, Posture, Vitals
from components.combat import Fighting
from components.content import Directory
from components.mind import Lucidity
from components.place import Location
from engine.commands import Args, Command, CommandSpec, Refused
from engine.events import Scope, ScopeKind
from engine.inputs import LEFT_EVENT
from engine.plugins import PluginKit
from engine.world import World
from systems.borders import simulated_elsewhere
from systems.characters import create_character
from systems.common import condition_of, display_name
from systems.fights import is_fighting
from systems.look import show_room
from systems.lucidity import ensure_mind, lucidity_settings, tier_of
from systems.whereabouts import holder_of, move, room_of

#: Event type telling the shell that a player chose to leave: it says goodbye and closes.
QUIT_EVENT = "quit"

log = logging.getLogger("kadath.presence")


def in_world(world: World, character: int) -> bool:
    return world.has(character, Location) and not world.has(character, Offline)


def enter_world(world: World, character: int) -> None:
    """Bring a character back where it left (or to the start room if that room is gone)."""
    if in_world(world, character):
        return
    offline = world.try_get(character, Offline)
    room_sid = offline.room if offline is not None else None
    if room_sid is None or world.entity_of(room_sid) is None:
        directory = world.resource(Directory)
        room_sid = world.stable_id(directory.rooms[directory.start_room])
    assert room_sid is not None
    world.discard(character, Offline)
    world.add(character, Location(room_sid))
    room = world.entity_of(room_sid)
    assert room is not None
    name = world.get(character, Identity).name
    world.emit(
        "arrive",
        Scope.room(room),
        f"{name} wakes and looks around.",
        {"who": name},
        exclude=(character,),
    )


def leave_world(
    world: World, character: int, how: str = "fades from view", reason: str = "left"
) -> None:
    """Take a character out of the world, remembering its room; tell the shell (``LEFT_EVENT``)
    so that it forgets the character's session."""
    location = world.try_get(character, Location)
    if location is None:
        return
    room = holder_of(world, character)
    world.remove(character, Location)
    world.discard(character, LinkDead)
    world.add(character, Offline(location.holder))
    if room is not None and how:
        name = world.get(character, Identity).name
        world.emit("leave", Scope.room(room), f"{name} {how}.", {"who": name}, exclude=(character,))
    world.emit(LEFT_EVENT, Scope.entity(character), data={"reason": reason})


#: How the room sees a character go, by the reason it leaves.
LEAVING_WORDS: dict[str, str] = {
    "quit": "closes their eyes and is gone",
    "linkdead": "grows still and fades, like a dream half-remembered",
    "kicked": "is pulled out of the world by an unseen hand",
    "idle": "drifts off into sleep and is gone",
    "takeover": "blinks, as if someone else now looks out through their eyes",
    "shutdown": "fades with the rest of the world",
}


class CorePresence:
    """The core plugin's :class:`engine.plugins.PresenceRules`."""

    def character_for(self, world: World, account: str, character: int | None) -> int:
        entity = world.entity_of(character) if character is not None else None
        if entity is not None:
            return entity
        if character is None:  # an account record older than its character: never make two
            for found, player in world.query(Player):
                if player.account.casefold() == account.casefold():
                    return found
        entity = create_character(world, account)
        leave_world(world, entity, "")  # out of the world until the player enters it
        return entity

    def enter_world(self, world: World, character: int) -> None:
        if world.discard(character, LinkDead) is not None or in_world(world, character):
            return  # back from link-death, or played from another connection: nothing to show
        ensure_mind(world, character)  # a character saved before minds existed gets one
        enter_world(world, character)
        show_room(world, character)

    def drop(self, world: World, character: int, grace_s: float) -> None:
        if not in_world(world, character):
            return
        if grace_s > 0:
            world.add(character, LinkDead(world.clock.seconds + grace_s))
        else:
            self.leave_world(world, character, "linkdead")

    def leave_world(self, world: World, character: int, reason: str) -> None:
        leave_world(world, character, LEAVING_WORDS.get(reason, "fades from view"), reason)

    def relocate(self, world: World, character: int, room: str, vanish: str, appear: str) -> None:
        found = world.resource(Directory).rooms.get(room)
        if found is None:  # content that differs between shards: say so, change nothing
            log.warning("no room %r here to move entity %d to; it stays", room, character)
            return
        relocate(world, character, found, vanish=vanish, appear=appear)

    def in_world(self, world: World) -> list[int]:
        return [character for character, _ in world.query(Player, Location, without=(Offline,))]

    def audience(self, world: World, scope: Scope) -> Iterable[int]:
        if scope.kind is ScopeKind.ENTITY:
            return (scope.target,) if isinstance(scope.target, int) else ()
        if scope.kind is ScopeKind.ROOM:
            room = world.stable_id(scope.target) if isinstance(scope.target, int) else None
            return world.lookup(Location, "holder", room) if room is not None else ()
        if scope.kind is ScopeKind.ZONE:
            # Room by room: the cost is the zone's occupants, never every player in the world.
            directory = world.try_resource(Directory)
            rooms = directory.zone_rooms.get(str(scope.target), ()) if directory else ()
            heard: list[int] = []
            for room in rooms:
                sid = world.stable_id(room)
                if sid is not None:
                    heard.extend(world.lookup(Location, "holder", sid))
            return heard
        return [character for character, _ in world.query(Player, Location)]

    def status(self, world: World, character: int) -> Mapping[str, object]:
        vitals = world.try_get(character, Vitals)
        posture = world.try_get(character, Posture)
        state = condition_of(world, character)
        mind = world.try_get(character, Lucidity)
        return {
            "dp": vitals.dp if vitals else None,
            "max_dp": vitals.max_dp if vitals else None,
            "lucidity": mind.value if mind else None,
            "tier": str(tier_of(mind.value, lucidity_settings(world))) if mind else None,
            # The dead have no body to stand or lie in: their corpse lies in the room.
            "posture": str(posture.state) if posture and state != "dead" else None,
            "state": state,
        }

    def status_components(self) -> tuple[type, ...]:
        return (Vitals, Posture, Fighting, Dead, Lucidity)


def relocate(world: World, who: int, room: int, *, vanish: str, appear: str) -> None:
    """Move ``who`` to ``room`` by staff power, telling both rooms and showing the new one."""
    old = room_of(world, who)
    name = display_name(world, who)
    if old is not None:
        world.emit("leave", Scope.room(old), f"{name} {vanish}.", {"who": name}, exclude=(who,))
    move(world, who, room)
    world.emit("arrive", Scope.room(room), f"{name} {appear}.", {"who": name}, exclude=(who,))
    if not simulated_elsewhere(world, room):  # else its shard shows it, with who is there
        show_room(world, who)


def quit_game(world: World, cmd: Command, args: Args) -> None:
    """Leave the world now; the character is saved where it stands (not in the middle of a
    fight: that would be a way out of it)."""
    if not world.has(cmd.actor, Player):
        raise Refused("not_a_player", "Only players can quit.")
    if is_fighting(world, cmd.actor):
        raise Refused("fighting", "You cannot quit in the middle of a fight! Flee first.")
    world.emit(QUIT_EVENT, Scope.entity(cmd.actor), "You close your eyes. Until next time.")
    leave_world(world, cmd.actor, LEAVING_WORDS["quit"], "quit")


def register(kit: PluginKit) -> None:
    kit.presence(CorePresence())
    kit.command(
        CommandSpec(
            verb="quit",
            handler=quit_game,
            help="Leave the game. Your character is saved where it stands.",
            category="information",
        )
    )
