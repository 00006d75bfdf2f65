"""Dormancy: work follows players. A zone is awake while a player is in it, and so is any room one
exit from a player's room; NPCs there are awake, and every NPC behaviour runs for them alone.
Everywhere else NPCs are dormant: no tick reads or writes them. Kept from the world's feeds of
moves, of characters leaving the world and of players and NPCs gone, never by scanning the world;
no I/O, no randomness."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from components.body import Npc, Offline, Player
from components.content import Directory, NpcTemplate
from components.place import Location, Room
from engine.plugins import PluginKit
from engine.scheduler import SystemContext, system
from engine.timers import TimerQueue
from engine.world import World
from systems.common import destination_of
from systems.whereabouts import contents

__all__ = [
    "AwakeFeed",
    "BehaviourTimers",
    "Pace",
    "Vigil",
    "behaviour_timers",
    "keep_watch",
    "paced",
    "register",
    "vigil_of",
]


@dataclass(frozen=True, slots=True)
class _Reach:
    """What one player keeps awake: the zone of its room, and the rooms one exit away that lie
    in other zones (those of its own zone are awake with it)."""

    zone: str
    rooms: tuple[int, ...]


class AwakeFeed:
    """One rule's news of NPCs waking and going dormant since it last drained: each NPC once,
    with where it stands now (True: awake), in the order it first changed. Made by
    :meth:`Vigil.feed`, filled at first with every NPC awake then."""

    __slots__ = ("_pending",)

    def __init__(self, awake: Iterable[int]) -> None:
        self._pending: dict[int, bool] = dict.fromkeys(awake, True)

    def __len__(self) -> int:
        return len(self._pending)

    def drain(self) -> list[tuple[int, bool]]:
        """``(npc, awake)`` for every NPC that woke or went dormant since the last drain."""
        if not self._pending:
            return []
        found = list(self._pending.items())
        self._pending.clear()
        return found


class Vigil:
    """The world's awake places and awake NPCs (a resource, made on first use; transient: after
    a restart nobody is in the world until they enter, so every zone sleeps).

    ``awake`` holds the awake NPCs in the order they woke; ``dormant_since`` when each NPC that
    was once awake went dormant (one never awake has slept since ``started_s``). Rules learn of
    NPCs waking and going dormant through a feed of their own (:meth:`feed`).
    """

    __slots__ = (
        "_feeds",
        "_moves",
        "_npcs_gone",
        "_players_gone",
        "_players_leaving",
        "_reach_of_room",
        "_zone_of_room",
        "awake",
        "dormant_since",
        "reach_of_player",
        "room_watchers",
        "started_s",
        "zone_watchers",
    )

    def __init__(self, world: World) -> None:
        self._moves = world.additions(Location)
        self._players_leaving = world.additions(Offline)
        self._players_gone = world.removals(Player)
        self._npcs_gone = world.removals(Npc)
        self._feeds: list[AwakeFeed] = []
        self._zone_of_room: dict[int, str] = {}
        self._reach_of_room: dict[int, _Reach] = {}
        self.reach_of_player: dict[int, _Reach] = {}
        self.zone_watchers: dict[str, int] = {}  # zone -> players keeping it awake
        self.room_watchers: dict[int, int] = {}  # room of another zone -> players next to it
        self.awake: dict[int, None] = {}
        self.dormant_since: dict[int, float] = {}
        self.started_s = world.clock.seconds
        present = world.query(Player, Location, without=(Offline,))
        reaches = {player: self._reach_of(world, player) for player, _ in present}
        self._watch(world, reaches, self.started_s)

    # ------------------------------------------------------------------ what is awake

    def feed(self) -> AwakeFeed:
        """A new feed of NPCs waking and going dormant, starting with every NPC awake now."""
        feed = AwakeFeed(self.awake)
        self._feeds.append(feed)
        return feed

    def zone_awake(self, zone: str) -> bool:
        return zone in self.zone_watchers

    def room_awake(self, world: World, room: int) -> bool:
        """Whether NPCs in ``room`` are awake: its zone has a player, or a player is one exit
        away."""
        return self.zone_of(world, room) in self.zone_watchers or room in self.room_watchers

    def dormant_for(self, npc: int, now_s: float) -> float:
        """How long ``npc`` had been dormant when it last woke (call it as it wakes)."""
        return now_s - self.dormant_since.get(npc, self.started_s)

    def zone_of(self, world: World, room: int) -> str:
        zone = self._zone_of_room.get(room)
        if zone is None:
            definition = world.try_get(room, Room)
            zone = self._zone_of_room[room] = definition.zone if definition is not None else ""
        return zone

    # ------------------------------------------------------------------ keeping watch

    def update(self, world: World, now_s: float) -> None:
        """Take in the tick's moves: players' (which wake and put to sleep whole zones and rooms
        next to them) and NPCs' (which wake or put to sleep the NPC that moved)."""
        moved = self._moves.drain()
        changed: dict[int, _Reach | None] = {}
        npcs_moved: list[int] = []
        for entity in moved:
            if entity in self.reach_of_player or world.has(entity, Player):
                changed[entity] = self._reach_of(world, entity)
            else:
                npcs_moved.append(entity)
        for entity in self._players_leaving.drain():
            changed[entity] = self._reach_of(world, entity)
        for entity, _player in self._players_gone.drain():
            changed[entity] = self._reach_of(world, entity)
        if changed:
            self._watch(world, changed, now_s)
        for npc in npcs_moved:
            self._follow(world, npc, now_s)
        for npc, _gone in self._npcs_gone.drain():
            if npc in self.awake and not world.has(npc, Npc):
                del self.awake[npc]
                self._tell(npc, False)
            if not world.exists(npc):
                self.dormant_since.pop(npc, None)

    def _reach_of(self, world: World, player: int) -> _Reach | None:
        """What ``player`` keeps awake now: nothing unless it is a player in a room."""
        if not world.has(player, Player) or world.has(player, Offline):
            return None
        location = world.try_get(player, Location)
        room = world.entity_of(location.holder) if location is not None else None
        if room is None or not world.has(room, Room):
            return None
        reach = self._reach_of_room.get(room)
        if reach is None:
            zone = self.zone_of(world, room)
            beyond: dict[int, None] = {}
            for exit_ in world.get(room, Room).exits.values():
                there = destination_of(world, exit_)
                if there is not None and self.zone_of(world, there) != zone:
                    beyond[there] = None
            reach = self._reach_of_room[room] = _Reach(zone, tuple(beyond))
        return reach

    def _watch(self, world: World, changed: dict[int, _Reach | None], now_s: float) -> None:
        """Players' reaches changed: count them, then wake or put to sleep each room whose state
        that changed (a whole zone's, or one room next to a player)."""
        zones_before: dict[str, bool] = {}
        rooms_before: dict[int, bool] = {}
        for player, reach in changed.items():
            old = self.reach_of_player.get(player)
            if old == reach:
                continue
            for side in (old, reach):
                if side is not None:
                    zones_before.setdefault(side.zone, side.zone in self.zone_watchers)
                    for room in side.rooms:
                        rooms_before.setdefault(room, room in self.room_watchers)
            if old is not None:
                _count(self.zone_watchers, (old.zone,), -1)
                _count(self.room_watchers, old.rooms, -1)
                del self.reach_of_player[player]
            if reach is not None:
                _count(self.zone_watchers, (reach.zone,), +1)
                _count(self.room_watchers, reach.rooms, +1)
                self.reach_of_player[player] = reach
        affected: dict[int, None] = {}
        directory = world.try_resource(Directory)
        for zone, before in zones_before.items():
            if before != (zone in self.zone_watchers) and directory is not None:
                affected.update(dict.fromkeys(directory.zone_rooms.get(zone, ())))
        for room, before in rooms_before.items():
            if before != (room in self.room_watchers):
                affected[room] = None
        for room in affected:
            zone = self.zone_of(world, room)
            was = zones_before.get(zone, zone in self.zone_watchers) or rooms_before.get(
                room, room in self.room_watchers
            )
            if was != self.room_awake(world, room):
                self._turn(world, room, not was, now_s)

    def _turn(self, world: World, room: int, awake: bool, now_s: float) -> None:
        """The NPCs in ``room`` wake (``awake``) or go dormant."""
        for entity in list(contents(world, room)):
            if awake:
                if entity not in self.awake and world.has(entity, Npc):
                    self.awake[entity] = None
                    self._tell(entity, True)
            elif entity in self.awake:
                del self.awake[entity]
                self.dormant_since[entity] = now_s
                self._tell(entity, False)

    def _follow(self, world: World, entity: int, now_s: float) -> None:
        """Something other than a player moved: an NPC wakes or goes dormant by where it went."""
        was = entity in self.awake
        if not was and not world.has(entity, Npc):
            return  # an item, or an NPC still dormant: nothing to do
        location = world.try_get(entity, Location)
        room = world.entity_of(location.holder) if location is not None else None
        now = room is not None and world.has(room, Room) and self.room_awake(world, room)
        if now == was:
            return
        if now:
            self.awake[entity] = None
        else:
            del self.awake[entity]
            self.dormant_since[entity] = now_s
        self._tell(entity, now)

    def _tell(self, npc: int, awake: bool) -> None:
        for feed in self._feeds:
            feed._pending[npc] = awake


def _count(counts: dict[Any, int], keys: Iterable[Any], step: int) -> None:
    for key in keys:
        left = counts.get(key, 0) + step
        if left > 0:
            counts[key] = left
        else:
            counts.pop(key, None)


def vigil_of(world: World) -> Vigil:
    """The world's :class:`Vigil`, made on first use from the players in the world then."""
    vigil = world.try_resource(Vigil)
    if vigil is None:
        vigil = Vigil(world)
        world.insert_resource(vigil)
    return vigil


@system(phase="early", every_s=0.0)
def keep_watch(world: World, ctx: SystemContext) -> None:
    """Zones and rooms wake as players come near and sleep when the last one goes; NPCs wake
    and sleep with the room they are in, and with where they walk to."""
    vigil_of(world).update(world, ctx.now_s)


# --------------------------------------------------------------------------------------------------
# Behaviours on due times, for awake NPCs only

Pace = tuple[float, float]
"""How often an NPC considers acting (seconds) and the chance that it does each time."""


class _Paced(Protocol):
    """A template's pace for a behaviour (``Wander``, ``Emotes``): None is the setting's."""

    @property
    def interval_s(self) -> float | None: ...
    @property
    def chance(self) -> float | None: ...


class _Defaults(Protocol):
    """A behaviour's settings (``WanderSettings``, ``EmoteSettings``)."""

    @property
    def interval_s(self) -> float: ...
    @property
    def chance(self) -> float: ...


def paced(spec: _Paced | None, defaults: _Defaults) -> Pace | None:
    """The pace of a template's behaviour ``spec``, what it leaves out taken from ``defaults``;
    None when the template has no such behaviour."""
    if spec is None:
        return None
    interval = spec.interval_s if spec.interval_s is not None else defaults.interval_s
    chance = spec.chance if spec.chance is not None else defaults.chance
    return interval, chance


class BehaviourTimers:
    """The awake NPCs that have one behaviour, each with its next moment, in one timer queue (a
    behaviour is one rule over all the NPCs that have it, never a timer or a task of each).

    An NPC that wakes (its zone woke, it came into an awake room, it was made there) is due at a
    random moment within its first interval, so that a room's NPCs do not all act at once and
    nothing missed while dormant is replayed; one that goes dormant is dropped. ``pace_of`` says
    how often a template's NPCs consider acting and with what chance they do (None: this
    behaviour is not theirs). The chances are rolled from the world's RNG.
    """

    __slots__ = ("_feed", "_next", "_pace_of", "_paces", "queue")

    def __init__(self, world: World, pace_of: Callable[[NpcTemplate], Pace | None]) -> None:
        self._feed = vigil_of(world).feed()
        self._pace_of = pace_of
        self._paces: dict[str, Pace | None] = {}  # by template id: read once each
        self.queue: TimerQueue[int] = TimerQueue()
        self._next: dict[int, float] = {}

    def __len__(self) -> int:
        return len(self.queue)

    def scheduled(self) -> Collection[int]:
        return self._next.keys()

    def pop_acting(self, world: World, now_s: float) -> list[tuple[int, NpcTemplate]]:
        """The NPCs whose moment has come and whose chance came up, with their template (by
        moment, ties by entity). Each whose moment came is due again an interval after it."""
        rng = world.rng
        queue, scheduled = self.queue, self._next
        directory = world.try_resource(Directory)
        templates = directory.npcs if directory is not None else {}
        for npc, awake in self._feed.drain():
            if not awake:
                if scheduled.pop(npc, None) is not None:
                    queue.cancel(npc)
            elif npc not in scheduled:
                pace = self._pace(world, templates, npc)[1]
                if pace is not None:
                    scheduled[npc] = due_s = now_s + pace[0] * rng.random()
                    queue.schedule(npc, due_s)
        acting = []
        for npc in queue.pop_due(now_s):
            due_s = scheduled.pop(npc)
            template, pace = self._pace(world, templates, npc)
            if template is None or pace is None:
                continue
            interval, chance = pace
            scheduled[npc] = due_s = due_s + interval
            queue.schedule(npc, due_s)
            if rng.random() < chance:
                acting.append((npc, template))
        return acting

    def _pace(
        self, world: World, templates: dict[str, NpcTemplate], npc: int
    ) -> tuple[NpcTemplate | None, Pace | None]:
        """``npc``'s template, and its pace for this behaviour (None: not its behaviour)."""
        found = world.try_get(npc, Npc)
        template = templates.get(found.template) if found is not None else None
        if template is None:
            return None, None
        paces = self._paces
        if template.id not in paces:
            paces[template.id] = self._pace_of(template)
        return template, paces[template.id]


class _Behaviours:
    """A world resource: each behaviour's timers by name, made on first use."""

    __slots__ = ("by_name",)

    def __init__(self) -> None:
        self.by_name: dict[str, BehaviourTimers] = {}


def behaviour_timers(
    world: World, name: str, pace_of: Callable[[NpcTemplate], Pace | None]
) -> BehaviourTimers:
    """The world's :class:`BehaviourTimers` of the behaviour ``name``, made on first use (with
    every NPC awake then); ``pace_of`` is read only then."""
    board = world.try_resource(_Behaviours)
    if board is None:
        board = _Behaviours()
        world.insert_resource(board)
    timers = board.by_name.get(name)
    if timers is None:
        timers = board.by_name[name] = BehaviourTimers(world, pace_of)
    return timers


def register(kit: PluginKit) -> None:
    """Register the watch over which zones are awake."""
    kit.system(keep_watch)
