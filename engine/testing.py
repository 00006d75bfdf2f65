"""Test helpers for plugins (and Kadath's own tests): a world from inline TOML, players in its
rooms, the engine driven tick by tick, and the events each player received.

Everything is deterministic: the world's RNG is seeded (``engine.seed``, 0 by default), nothing
sleeps or reads the wall clock, and time passes only as ticks run. Like :mod:`engine.api`, this
module sits outside the engine's layers (it builds worlds with the core plugin's content loader);
the server never imports it. It reads no file but the installed plugins' content folders.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from components.content import Directory
from components.place import Room
from engine.config import Config
from engine.core import Engine, TickResult
from engine.events import Event, ScopeKind
from engine.plugins import Plugin
from engine.world import World
from systems import plugin as core
from systems.characters import create_character
from systems.content.loader import read_sources
from systems.content.plugin import build_from_content, build_from_files
from systems.content.reading import WORLD_FILE, ContentSource, SourceFile
from systems.content.schema import FileKind
from systems.whereabouts import room_of, zone_entity

__all__ = ["INLINE", "Stage", "heard_by", "world_from_toml"]

INLINE = "inline"
"""How content reports name inline files: ``inline:zones/town.toml``."""


def heard_by(world: World, events: Iterable[Event], entity: int) -> list[Event]:
    """The events ``entity`` receives: addressed to it, to its room or zone, or to everyone, and
    not excluded. Rooms and zones are judged where ``entity`` is now."""
    room = room_of(world, entity)
    zone = world.get(room, Room).zone if room is not None else None
    found = []
    for event in events:
        if entity in event.exclude:
            continue
        kind, target = event.scope.kind, event.scope.target
        if (
            (kind == ScopeKind.ENTITY and target == entity)
            or (kind == ScopeKind.ROOM and target == room)
            or (kind == ScopeKind.ZONE and target == zone)
            or kind == ScopeKind.ALL
            or (kind == ScopeKind.PLAYER and target == world.stable_id(entity))
        ):
            found.append(event)
    return found


class Stage:
    """An engine and what a test put in it, driven one tick at a time.

    ``log`` keeps every event of every tick run through the stage; :meth:`received` gives the
    ones a player made by :meth:`player` (or :meth:`watch`) received, judged at the end of the
    tick that emitted them (where the player was then).
    """

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.log: list[Event] = []
        self._inboxes: dict[int, list[Event]] = {}

    @property
    def world(self) -> World:
        return self.engine.world

    @property
    def now_s(self) -> float:
        """Simulated seconds since the world began."""
        return self.world.clock.seconds

    # ------------------------------------------------------------------ places and people

    def room(self, key: str) -> int:
        """The entity of the room with this content key."""
        return self.world.resource(Directory).rooms[key]

    def zone(self, key: str) -> int:
        """The entity of the zone with this content key (where per-zone state is kept)."""
        found = zone_entity(self.world, key)
        if found is None:
            raise KeyError(f"no zone {key!r} in this world")
        return found

    def player(self, name: str, room: str | None = None) -> int:
        """A new player character in ``room`` (default: the start room), whose events are
        recorded from now on."""
        body = create_character(self.world, name, room=room)
        self.watch(body)
        return body

    def watch(self, entity: int) -> None:
        """Record from now on the events ``entity`` receives (see :meth:`received`)."""
        self._inboxes.setdefault(entity, [])

    def received(self, entity: int, *types: str) -> list[Event]:
        """The events a watched entity received since it was watched (or since :meth:`clear`),
        in order; only those of ``types``, if any are given."""
        inbox = self._inboxes[entity]
        return [event for event in inbox if not types or event.type in types]

    def clear(self) -> None:
        """Forget what was logged and received so far."""
        self.log.clear()
        for inbox in self._inboxes.values():
            inbox.clear()

    # ------------------------------------------------------------------ time

    def type(self, actor: int, line: str, *, role: str = "player") -> list[Event]:
        """``actor`` types ``line``; one tick runs; every event of that tick."""
        self.engine.submit_line(actor, line, role=role)
        return self.tick().events

    def tick(self) -> TickResult:
        """Run one tick, recording its events."""
        result = self.engine.tick()
        if result.events:
            self.log.extend(result.events)
            for entity, inbox in self._inboxes.items():
                if self.world.exists(entity):
                    inbox.extend(heard_by(self.world, result.events, entity))
        return result

    def run_ticks(self, count: int) -> list[TickResult]:
        """Run ``count`` ticks back to back."""
        return [self.tick() for _ in range(count)]

    def run_s(self, seconds: float) -> None:
        """Run the world for ``seconds`` of game time (whole ticks, rounded up)."""
        for _ in range(self.world.clock.ticks_for(seconds)):
            self.tick()


def world_from_toml(
    *,
    zones: Iterable[str] = (),
    items: Iterable[str] = (),
    npcs: Iterable[str] = (),
    tables: Mapping[str, str | Sequence[str]] | None = None,
    world: str | None = None,
    plugins: Sequence[Plugin] = (),
    config: Config | None = None,
) -> Stage:
    """A world built from TOML written in the test, with the core plugin and ``plugins``.

    ``zones``, ``items`` and ``npcs`` are the texts of zone, item and NPC files; ``tables`` the
    texts of files of the plugins' content tables, by table name; ``world`` the world file's
    (by default the first room of the first zone is the start room). The plugins' own content
    folders are read too, as the server reads them. Content with errors raises
    ``ContentError`` with the same report ``kadath check-world`` prints. The world has run no
    tick yet.
    """
    others = [plugin for plugin in plugins if plugin.name != core.name]  # core may be given too
    engine = Engine(config or Config(), plugins=[core, *others])
    registry = engine.registry
    undeclared = sorted(set(tables or {}) - set(registry.content_tables))
    if undeclared:
        raise ValueError(
            f"no plugin given declares the content table(s) {', '.join(map(repr, undeclared))}"
        )
    files = _inline_files(zones, items, npcs, tables or {}, world)
    plugin_files, problems = read_sources(
        [ContentSource(path, name) for name, path in registry.content_dirs],
        registry.content_tables,
    )
    for _plugin, builder in registry.world_builders:
        if builder is build_from_content:  # the content loader, given these files for the world's
            build_from_files(engine.world, registry, [*files, *plugin_files], problems)
        else:
            builder(engine.world, registry)
    engine.world.mark_clean()
    return Stage(engine)


def _inline_files(
    zones: Iterable[str],
    items: Iterable[str],
    npcs: Iterable[str],
    tables: Mapping[str, str | Sequence[str]],
    world: str | None,
) -> list[SourceFile]:
    zone_files = [_parsed(text) for text in zones]
    if world is None:
        first_room = next(
            (rooms[0].get("id") for data in zone_files if (rooms := data.get("rooms"))), None
        )
        world = f'[world]\nstart_room = "{first_room}"\n' if first_room else "[world]\n"
    files = [SourceFile(f"{INLINE}:{WORLD_FILE}", FileKind.WORLD, _parsed(world))]
    for index, data in enumerate(zone_files, 1):
        header = data.get("zone")
        zone_id = header.get("id") if isinstance(header, dict) else None
        name = zone_id if isinstance(zone_id, str) else f"zone{index}"
        files.append(SourceFile(f"{INLINE}:zones/{name}.toml", FileKind.ZONE, data))
    for folder, kind, texts in (("items", FileKind.ITEMS, items), ("npcs", FileKind.NPCS, npcs)):
        for index, text in enumerate(texts, 1):
            files.append(SourceFile(f"{INLINE}:{folder}/{index}.toml", kind, _parsed(text)))
    for table, given in sorted(tables.items()):
        texts = [given] if isinstance(given, str) else list(given)
        for index, text in enumerate(texts, 1):
            name = f"{INLINE}:{table}/{index}.toml"
            files.append(SourceFile(name, FileKind.TABLE, _parsed(text), table))
    return files


def _parsed(text: str) -> dict[str, Any]:
    """TOML text as data; a syntax error is the test's own mistake, raised as it is."""
    return tomllib.loads(text)
