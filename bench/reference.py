"""Reference worlds by name, and the seeded players that drive them: what ``kadath profile``, the
per-system benchmarks (``bench/test_reference.py``) and their tests all measure.

``town-10k`` is about 1,000 rooms with 500 active players, 3,000 NPCs and 5,500 items;
``city-100k`` is the same 500 players in a world ten times larger. Both are real game content: a
grid of rooms cut into zones (:mod:`bench.grid`) built by the core plugin's world builder, with
the bundled world's NPC and item templates; NPCs made by their spawn rules at the first check, as
a server makes them; then players (a weapon in hand, minds across every lucidity tier), fights
started by real ``attack`` commands, corpses rotting and loose things decaying. The players stand
in the *district*, the same 32 x 32 rooms in both worlds (the whole town, the middle of the city),
so that the two differ only by the world around the players. Each player then types a command a
second (walk, look, say, get, drop, attack), drawn from a seeded RNG, into the engine's inbox,
and a headless network shell (the real hub, with links nobody reads) delivers what they are told,
after the persistence snapshot of the tick's changes, as in a server.

Installed with Kadath (``kadath profile`` uses it), so it imports only what an installed Kadath
has. Generation and the players' choices draw from their own ``random.Random``, seeded: the same
seed gives the same world and the same run, tick for tick. Nothing here is timed, and the only
I/O is reading the bundled world's template files, once, before the first tick.
"""

from __future__ import annotations

import logging
import random
import weakref
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

from bench.grid import grid_content, grid_room_key, grid_zone_id, paused_gc
from components.body import Dead, Player
from components.content import (
    Content,
    Directory,
    ItemKind,
    ItemStack,
    ItemTemplate,
    NpcTemplate,
    SpawnRule,
)
from components.items import Decay
from components.mind import LUCIDITY_MIN, Encounters, Lucidity
from components.place import DIRECTION_NAMES, Environment, Location, Room
from engine.accounts import Account
from engine.commands import InboxFull
from engine.config import Config, bundled_world_dir
from engine.core import Engine, TickResult
from engine.plugins import Plugin
from engine.world import World
from net.hub import Hub, Session
from persist.schema import Schema
from persist.snapshot import Batch, take_snapshot
from systems.characters import create_character
from systems.common import items_in, npcs_in, template_of
from systems.content.build import build_world
from systems.content.loader import check_content
from systems.corpses import corpse_settings, make_corpse
from systems.decay import DecaySettings
from systems.encounters import encounter_settings
from systems.lucidity import lucidity_settings
from systems.npc_spawn import SPAWN_CHECK_INTERVAL_S, spawn_npc
from systems.stacks import item_components
from systems.whereabouts import move, room_of

__all__ = [
    "COMMAND_INTERVAL_S",
    "COMMAND_MIX",
    "REFERENCE_WORLDS",
    "CommandStream",
    "EngineClock",
    "HeadlessShell",
    "Plan",
    "Population",
    "ReferenceRun",
    "ReferenceWorld",
    "SinkLink",
    "SnapshotHandOff",
    "build_reference_content",
    "district_rooms",
    "drive",
    "open_reference",
    "plan_of",
    "populate",
    "reference_templates",
    "reference_world",
]

#: Rooms a side of a zone: a player wakes the 16 rooms of its zone (see systems/dormancy.py).
ZONE_SIDE = 4
#: How long a dead NPC's spawn rule waits before making a new one, in seconds.
RESPAWN_S = 300.0
#: How often each active player types a command, in seconds: "1 command a second".
COMMAND_INTERVAL_S = 1.0
#: What the active players type, with the share of each: walking and looking most, then talk,
#: picking up and dropping, and now and then an attack on a creature in the room.
COMMAND_MIX: tuple[tuple[str, float], ...] = (
    ("walk", 0.42),
    ("look", 0.21),
    ("say", 0.15),
    ("get", 0.10),
    ("drop", 0.10),
    ("attack", 0.02),
)
#: What they say.
PHRASES: tuple[str, ...] = (
    "Has anyone seen the way to the river?",
    "I heard something under the floor.",
    "The stars are wrong tonight.",
    "Stay close, and keep the lantern lit.",
    "Who goes there?",
)
#: The bundled world's NPC templates a reference world is peopled with, by weight: most of them
#: go about their business (wander, act out lines, greet, run when hurt), a few attack on sight.
#: One in seven is unsettling or worse to see: enough that minds wear down as they walk, few
#: enough that a run of minutes is not a run of catatonics (each sighting of a horror costs 5).
#: The eldritch watcher (500 damage points) stays out: it would end every fight it was in.
NPC_WEIGHTS: Mapping[str, float] = {
    "orderly": 12,
    "night_nurse": 8,
    "patient": 10,
    "storekeeper": 5,
    "black_cat": 10,
    "librarian": 5,
    "student": 12,
    "hotel_clerk": 3,
    "fisherman": 4,
    "apparition": 2,
    "grave_rat": 4,
    "cultist": 1,
    "ghoul": 0.5,
    "deep_one": 0.5,
}
#: The kinds of place a zone is, by weight: mostly streets and houses, some of everything else,
#: so that every lucidity flux is felt somewhere.
ENVIRONMENT_WEIGHTS: Mapping[Environment, float] = {
    Environment.STREET: 30,
    Environment.INDOORS: 30,
    Environment.WILDERNESS: 15,
    Environment.GRAVEYARD: 8,
    Environment.SANCTUARY: 7,
    Environment.HAUNTED: 6,
    Environment.ELDRITCH: 3,
    Environment.VOID: 1,
}
#: How the players' minds are spread over the lucidity tiers, soundest first (the catatonic
#: last): the share of each tier.
TIER_SHARES: tuple[float, ...] = (0.60, 0.20, 0.10, 0.06, 0.04)
#: What a player carries besides a weapon: one thing of these kinds.
CARRIED_KINDS = frozenset({ItemKind.FOOD, ItemKind.JUNK, ItemKind.BOOK, ItemKind.LIGHT})
#: The earliest a corpse or a loose thing of a fresh reference world is due, in seconds: none
#: goes in the very first ticks, so that a run starts as a server in its stride does.
FIRST_DUE_S = 5.0
#: The logger of the network hub's logins, which a headless shell keeps to warnings.
HUB_LOGGER = "kadath.net"
#: When the accounts of a reference world's players were made (accounts are not timed).
ACCOUNTS_CREATED = datetime(2026, 1, 1, tzinfo=UTC)


# ------------------------------------------------------------------ the named worlds


@dataclass(frozen=True, slots=True)
class Population:
    """Who and what is put into a built world besides what its spawn rules make: ``players``
    (each wielding a weapon and carrying a thing, minds spread over the tiers and used to every
    creature of the world, as if they had played a while), of whom
    ``fights`` start a fight with a creature of their room; ``corpses`` rotting and
    ``loose_items`` dropped on floors, due over the next ``npc_corpse_decay_s`` and
    ``floor_item_decay_s`` (as if the world had been played that long). All in the district."""

    players: int
    fights: int = 0
    corpses: int = 0
    loose_items: int = 0


@dataclass(frozen=True, slots=True)
class ReferenceWorld:
    """A reference world's recipe: a ``side`` x ``side`` grid of rooms in zones of ``ZONE_SIDE``
    x ``ZONE_SIDE``, ``npcs`` NPCs spread evenly over every room, ``items`` things in all (on
    floors, carried, in corpses), and the population, in the ``district`` x ``district`` rooms
    in the middle. Of the things on the floors, ``district_floor_items`` lie in the district
    (None: they are spread over every room alike)."""

    name: str
    side: int
    district: int
    npcs: int
    items: int
    population: Population
    district_floor_items: int | None = None
    summary: str = ""

    @property
    def rooms(self) -> int:
        return self.side * self.side

    @property
    def players(self) -> int:
        return self.population.players

    @property
    def entities(self) -> int:
        """Rooms, players, NPCs and items: every entity the world starts with."""
        return self.rooms + self.players + self.npcs + self.items

    @property
    def district_origin(self) -> int:
        """The grid cell (x and y) where the district starts: the middle, on a zone's edge, so
        that the district is whole zones in every world."""
        middle = (self.side - self.district) // 2
        return middle - middle % ZONE_SIDE


PLAYERS = Population(players=500, fights=50, corpses=100, loose_items=1_000)
TOWN_FLOOR_ITEMS = 1_632
"""The things on the town's floors with the default seed (0): its 5,500 items less those the NPCs
carry, the corpses hold, the players carry and the players dropped (checked by the tests)."""
"""The 500 active players of both reference worlds, and what they left about them."""

REFERENCE_WORLDS: Mapping[str, ReferenceWorld] = {
    world.name: world
    for world in (
        ReferenceWorld(
            "town-10k",
            side=32,
            district=32,
            npcs=3_000,
            items=5_500,
            population=PLAYERS,
            summary="1,024 rooms, 500 active players, 3,000 NPCs, 5,500 items",
        ),
        ReferenceWorld(
            "city-100k",
            side=100,
            district=32,
            npcs=30_000,
            items=55_000,
            population=PLAYERS,
            # The town's, so that the players' rooms are the same in both worlds: as crowded
            # with things as the town's (the rest of the city has more: 3.5 a room).
            district_floor_items=TOWN_FLOOR_ITEMS,
            summary="10,000 rooms, the same 500 players, 30,000 NPCs, 55,000 items",
        ),
    )
}
"""The reference worlds, by name."""


def reference_world(name: str) -> ReferenceWorld:
    """The reference world called ``name``; a ``KeyError`` that lists the names otherwise."""
    try:
        return REFERENCE_WORLDS[name]
    except KeyError:
        raise KeyError(
            f"no reference world {name!r}; the reference worlds are {', '.join(REFERENCE_WORLDS)}"
        ) from None


def district_rooms(spec: ReferenceWorld) -> list[str]:
    """The room keys of the district, row by row."""
    start = spec.district_origin
    cells = range(start, start + spec.district)
    return [grid_room_key(x, y) for y in cells for x in cells]


# ------------------------------------------------------------------ content


def reference_templates() -> Content:
    """The bundled world's content, for its NPC and item templates (read and checked by the
    real loader: the reference worlds use what players meet)."""
    return check_content(bundled_world_dir()).require()


@dataclass(frozen=True, slots=True)
class Plan:
    """Every random choice of a reference world, drawn in one order from one seeded RNG, so that
    its content and its population agree: the things on the floors are what the NPCs, the
    corpses, the players' kits and the loose things leave of ``ReferenceWorld.items``."""

    templates: Content
    spawns: tuple[SpawnRule, ...]
    environments: dict[str, Environment]  # by zone
    corpse_templates: tuple[NpcTemplate, ...]
    kits: tuple[tuple[ItemTemplate, ...], ...]  # what each player wields and carries
    floor_items: int


def plan_of(spec: ReferenceWorld, seed: int, templates: Content | None = None) -> Plan:
    """The plan of reference world ``spec`` for ``seed``, over the bundled world's templates
    (or ``templates``): what :func:`build_reference_content` builds and :func:`populate` puts in.
    """
    if templates is None:
        templates = reference_templates()
    rng = random.Random(f"{spec.name}:{seed}")
    npcs = {t.id: t for t in templates.npcs}
    missing = sorted(set(NPC_WEIGHTS) - set(npcs))
    if missing:
        raise LookupError(f"the bundled world has no NPC templates {missing}: update NPC_WEIGHTS")
    kinds = [npcs[name] for name in NPC_WEIGHTS]
    weights = list(NPC_WEIGHTS.values())
    keys = [grid_room_key(x, y) for y in range(spec.side) for x in range(spec.side)]
    per_room, extra = divmod(spec.npcs, len(keys))
    crowded = set(rng.sample(range(len(keys)), extra))
    spawns: list[SpawnRule] = []
    carried = 0
    for index, room in enumerate(keys):
        count = per_room + (1 if index in crowded else 0)
        drawn = rng.choices(kinds, weights, k=count)
        carried += sum(len(t.carries) for t in drawn)
        for template in sorted({t.id: t for t in drawn}.values(), key=lambda t: t.id):
            share = sum(1 for t in drawn if t.id == template.id)
            spawns.append(SpawnRule(template.id, room, max=share, respawn_s=RESPAWN_S))
    zones = sorted(
        {grid_zone_id(x, y, ZONE_SIDE) for y in range(spec.side) for x in range(spec.side)}
    )
    places = list(ENVIRONMENT_WEIGHTS)
    environments = dict(
        zip(
            zones,
            rng.choices(places, list(ENVIRONMENT_WEIGHTS.values()), k=len(zones)),
            strict=True,
        )
    )
    population = spec.population
    corpse_templates = tuple(rng.choices(kinds, weights, k=population.corpses))
    kits = tuple(_kit(rng, templates.items) for _ in range(population.players))
    others = (
        carried
        + sum(1 + len(t.carries) for t in corpse_templates)
        + sum(len(kit) for kit in kits)
        + population.loose_items
    )
    if others > spec.items:
        raise ValueError(f"{spec.name}: {others} items carried or made, more than {spec.items}")
    return Plan(templates, tuple(spawns), environments, corpse_templates, kits, spec.items - others)


def _kit(rng: random.Random, items: Sequence[ItemTemplate]) -> tuple[ItemTemplate, ...]:
    """What a player starts with: a weapon to wield and a thing to carry (to drop, to put down),
    drawn from the world's item templates (none of either if the world has none)."""
    arms = [t for t in items if t.kind == ItemKind.WEAPON and t.portable]
    things = [t for t in items if t.portable and t.kind in CARRIED_KINDS]
    return (*((rng.choice(arms),) if arms else ()), *((rng.choice(things),) if things else ()))


def build_reference_content(engine: Engine, spec: ReferenceWorld, seed: int) -> Plan:
    """Build the reference world's content into ``engine``'s world, as a server builds its data
    files (the content is not saved: it is made again at every start), and return its plan.
    Its spawn rules make the NPCs at the first check; :func:`populate` does the rest."""
    plan = plan_of(spec, seed)
    portable = tuple(t for t in plan.templates.items if t.portable and t.kind != ItemKind.CONTAINER)
    grid = grid_content(
        random.Random(f"{spec.name}:{seed}:floors"),
        grid=spec.side,
        floor_items=0,
        items=plan.templates.items,
        npcs=plan.templates.npcs,
        zone_side=ZONE_SIDE,
        spawns=plan.spawns,
    )
    floors = _floors(spec, plan.floor_items, portable, random.Random(f"{spec.name}:{seed}:floors"))
    rooms = tuple(
        replace(
            room,
            name=f"{plan.environments[room.zone].value.title()} {room.name.removeprefix('Room ')}",
            environment=plan.environments[room.zone],
            items=tuple(floors.get(room.id, ())),
        )
        for room in grid.rooms
    )
    center = spec.district_origin + spec.district // 2
    content = replace(grid, rooms=rooms, start_room=grid_room_key(center, center))
    with paused_gc():
        build_world(engine.world, content)
    engine.world.mark_clean()  # content is not a change to save
    return plan


def _floors(
    spec: ReferenceWorld, count: int, kinds: Sequence[ItemTemplate], rng: random.Random
) -> dict[str, list[ItemStack]]:
    """``count`` things of ``kinds`` on the floors, by room key: ``district_floor_items`` of them
    in rooms of the district drawn at random, the rest in the other rooms (all of them in any
    room, when the spec does not say)."""
    district = district_rooms(spec)
    inside = set(district)
    outside = [
        grid_room_key(x, y)
        for y in range(spec.side)
        for x in range(spec.side)
        if grid_room_key(x, y) not in inside
    ]
    if spec.district_floor_items is None or not outside:
        shares = [(sorted([*district, *outside]), count)]
    else:
        near = min(count, spec.district_floor_items)
        shares = [(district, near), (outside, count - near)]
    floors: dict[str, list[ItemStack]] = {}
    for rooms, share in shares:
        for _ in range(share):
            floors.setdefault(rng.choice(rooms), []).append(ItemStack(rng.choice(kinds).id))
    return floors


# ------------------------------------------------------------------ population


def populate(
    engine: Engine,
    population: Population,
    district: Sequence[str],
    seed: int,
    *,
    plan: Plan | None = None,
) -> list[int]:
    """Fill a freshly built world: its spawn rules make their NPCs at the first check (ticks of
    the engine, nobody in the world yet), then the population goes into the ``district`` rooms
    (keys), and a last tick starts the fights. Returns the players, in the order made. A
    reference world's ``plan`` says what the players wield and what the corpses were; without
    one (a world from data files) they are drawn here. Every change is made in or before a tick,
    so a listener that saves ticks (the persistence service) saves all of it."""
    advance = engine.run_ticks
    world = engine.world
    directory = world.resource(Directory)
    rng = random.Random(f"population:{seed}")
    advance(world.clock.ticks_for(SPAWN_CHECK_INTERVAL_S))
    rooms = [directory.rooms[key] for key in district]
    templates = directory.items
    kinds_of_item = sorted(templates.values(), key=lambda t: t.id)
    settings = lucidity_settings(world)
    bounds = (
        (settings.lucid_from, 100),
        (settings.uneasy_from, settings.lucid_from - 1),
        (settings.fractured_from, settings.uneasy_from - 1),
        (settings.deranged_from, settings.fractured_from - 1),
        (LUCIDITY_MIN, settings.deranged_from - 1),
    )
    # Veterans: every creature of the world seen often enough to be used to it, so that a
    # sighting costs what it costs a mind that has been here a while (half a later sighting).
    used_to = encounter_settings(world).habituated_after
    seen = tuple((template, used_to) for template in sorted(directory.npcs))
    players: list[int] = []
    with paused_gc():
        for index in range(population.players):
            room = rng.choice(rooms)
            player = create_character(world, f"Dreamer{index}", room=_key_of(world, room))
            for thing in plan.kits[index] if plan is not None else _kit(rng, kinds_of_item):
                held = world.spawn(*item_components(thing), persistent=True)
                move(world, held, player, thing.slot if thing.kind == ItemKind.WEAPON else "")
            low, high = rng.choices(bounds, TIER_SHARES)[0]
            world.add(player, Lucidity(rng.randint(low, high)))
            world.add(player, Encounters(seen))
            players.append(player)
        now = world.clock.seconds
        corpses = corpse_settings(world)
        kinds = plan.corpse_templates if plan is not None else ()
        for index in range(population.corpses):
            template = kinds[index] if kinds else rng.choice(list(directory.npcs.values()))
            room = rng.choice(rooms)
            body = spawn_npc(world, template, room, "")
            lasts = rng.uniform(FIRST_DUE_S, corpses.npc_corpse_decay_s)
            make_corpse(world, body, room, owner=0, lasts_s=lasts, grace_s=0.0)
            world.destroy(body)
        loose = [t for t in templates.values() if t.portable and not t.permanent]
        lasts_s = (world.try_resource(DecaySettings) or DecaySettings()).floor_item_decay_s
        for _ in range(population.loose_items if loose else 0):
            room_sid = world.stable_id(rng.choice(rooms))
            assert room_sid is not None  # rooms are content entities
            due = now + rng.uniform(FIRST_DUE_S, lasts_s)
            thing = rng.choice(loose)
            world.spawn(*item_components(thing), Location(room_sid), Decay(due), persistent=True)
    for player in players[: population.fights]:
        here = room_of(world, player)
        creatures = npcs_in(world, here) if here is not None else []
        if creatures:
            engine.submit_line(player, f"attack {creatures[0][1].keywords[0]}")
    advance(1)
    return players


def _key_of(world: World, room: int) -> str:
    return world.get(room, Room).key


# ------------------------------------------------------------------ the players' commands


class CommandStream:
    """The active players' commands: each types one every ``interval_s`` (their turns spread
    evenly over the interval, so every tick has its share), drawn from ``COMMAND_MIX`` with a
    seeded RNG, its words read from where the player stands (a way out, a thing on the floor, a
    creature present), as a player reading the room would. A dead player types ``respawn``.
    ``type_line`` puts a line into the inbox and says whether it was taken.

    Players walk only into the rooms of ``roam`` (room keys; default: anywhere): a reference
    world's players keep to its district, so that the town and the city see the same play."""

    def __init__(
        self,
        world: World,
        players: Sequence[int],
        seed: int,
        type_line: Callable[[int, str], bool],
        *,
        interval_s: float = COMMAND_INTERVAL_S,
        roam: Collection[str] | None = None,
    ) -> None:
        self.world = world
        self.players = list(players)
        self.roam = frozenset(roam) if roam is not None else None
        self.rng = random.Random(f"commands:{seed}")
        self.type_line = type_line
        self.period = max(1, world.clock.ticks_for(interval_s))
        self.verbs = [verb for verb, _ in COMMAND_MIX]
        self.weights = [share for _, share in COMMAND_MIX]
        self.typed: dict[str, int] = dict.fromkeys([*self.verbs, "respawn"], 0)
        self.refused = 0
        """Lines the inbox did not take (full)."""

    def type_due(self) -> int:
        """Type the lines of the players whose turn comes with the next tick; how many."""
        turn = (self.world.clock.tick + 1) % self.period
        typed = 0
        for player in self.players[turn :: self.period]:
            line, verb = self.line_for(player)
            if self.type_line(player, line):
                self.typed[verb] += 1
                typed += 1
            else:
                self.refused += 1
        return typed

    def line_for(self, player: int) -> tuple[str, str]:
        """What ``player`` types now, and the kind of command it is."""
        world = self.world
        if world.has(player, Dead):
            return "respawn", "respawn"
        verb = self.rng.choices(self.verbs, self.weights)[0]
        room = room_of(world, player)
        if room is None:
            return "look", "look"
        if verb == "walk":
            exits = world.get(room, Room).exits
            roam = self.roam
            ways = sorted(way for way, to in exits.items() if roam is None or to.to in roam)
            if ways:
                return DIRECTION_NAMES[self.rng.choice(ways)], verb
        elif verb == "say":
            return f"say {self.rng.choice(PHRASES)}", verb
        elif verb == "get":
            word = self._word(items_in(world, room), portable=True)
            if word:
                return f"get {word}", verb
        elif verb == "drop":
            word = self._word(items_in(world, player))
            if word:
                return f"drop {word}", verb
        elif verb == "attack":
            creatures = npcs_in(world, room)
            if creatures:
                return f"attack {self.rng.choice(creatures)[1].keywords[0]}", verb
        return "look", "look"

    def _word(self, items: Sequence[int], *, portable: bool = False) -> str:
        """A word for one of ``items`` (a portable one, if asked), or "" if there is none."""
        found = [
            template
            for item in items
            if (template := template_of(self.world, item)) is not None
            and (template.portable or not portable)
        ]
        return self.rng.choice(found).keywords[0] if found else ""


# ------------------------------------------------------------------ the headless shell


@dataclass(eq=False, slots=True)
class SinkLink:
    """A connection with a client that reads everything at once: it counts what it is sent and
    keeps nothing, so the hub's delivery is measured without sockets."""

    messages: int = 0
    frames: int = 0
    sent_bytes: int = 0
    closed: str = ""

    def send(self, frame: bytes, count: int = 1) -> None:
        self.messages += count
        self.frames += 1
        self.sent_bytes += len(frame)

    def close(self, code: int, reason: str) -> None:
        self.closed = reason

    def backlog(self) -> int:
        return 0


class HeadlessShell:
    """The network shell without a network: the real :class:`net.hub.Hub`, delivering every
    tick's events in the tick's hand-off as a server's does, to a :class:`SinkLink` per player
    (logged in through the hub, speaking protocol version 2). Lines are typed as a connection
    types them: the session is active, the inbox may refuse."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.hub = Hub(engine, engine.config.net, server_name="Kadath (headless)")
        self.links: dict[int, SinkLink] = {}
        engine.on_tick_end(self.hub.after_tick)
        engine.stats_board.add("net", self.hub)

    def log_in(self, players: Sequence[int]) -> None:
        """Connect and log in every player (in the world already): the next tick attaches them.
        The hub logs each login; a headless login is no news, so only warnings are kept."""
        world = self.engine.world
        logging.getLogger(HUB_LOGGER).setLevel(logging.WARNING)
        for player in players:
            link = SinkLink()
            session = self.hub.connect(link, "headless")
            self.hub.use_protocol(session, 2)
            name = world.get(player, Player).account
            sid = world.stable_id(player)
            self.hub.login(session, Account(name, "", "player", ACCOUNTS_CREATED, None, sid))
            self.links[player] = link

    def session_of(self, player: int) -> Session | None:
        return self.hub.playing.get(player)

    def type_line(self, player: int, line: str) -> bool:
        """``player`` types ``line``: taken into the inbox (True), or refused (the inbox is full,
        or the player is not connected)."""
        session = self.hub.playing.get(player)
        if session is None or session.account is None:
            return False
        session.last_active_s = self.hub.now_s
        try:
            self.engine.submit_line(player, line, role=session.account.role)
        except InboxFull:
            return False
        return True


# ------------------------------------------------------------------ the snapshot, no database


class SnapshotHandOff:
    """The persistence service's part of a tick's hand-off, without its database: the tick's
    changes made into the writer's batch (:func:`persist.snapshot.take_snapshot`, what a server
    does on the tick thread every tick), which is then kept until the next and dropped."""

    def __init__(self, engine: Engine) -> None:
        self.world = engine.world
        self.schema = Schema(engine.registry.component_types)
        self.last: Batch | None = None

    def __call__(self, result: TickResult) -> None:
        self.last = take_snapshot(result.changes, self.schema, self.world)


# ------------------------------------------------------------------ timing a system


class EngineClock:
    """A pytest-benchmark timer that reads the engine's own cost table: the seconds its named
    phases and systems have taken so far. Around one tick it advances by what they cost in that
    tick, as the engine measured it, so a benchmark of a system times it the one way the engine
    times it (``@pytest.mark.benchmark(timer=clock)``). Bound to an engine with :meth:`watch`
    before each use; it holds the engine weakly, so a clock made once for a module keeps no
    world alive after its test."""

    def __init__(self, *names: str) -> None:
        self.names = frozenset(names)
        self._engine: weakref.ref[Engine] | None = None
        self.__name__ = f"EngineClock({', '.join(names)})"

    def watch(self, engine: Engine) -> None:
        self._engine = weakref.ref(engine)

    @property
    def engine(self) -> Engine:
        engine = self._engine() if self._engine is not None else None
        if engine is None:
            raise RuntimeError(f"{self.__name__} watches no engine: call watch(engine) first")
        return engine

    def __call__(self) -> float:
        rows = self.engine.stats().rows
        return sum(row.cost.total_ns for row in rows if row.name in self.names) / 1e9

    def ran(self) -> int:
        """Runs of the watched phases and systems so far."""
        return sum(row.runs for row in self.engine.stats().rows if row.name in self.names)


# ------------------------------------------------------------------ a run


@dataclass(slots=True)
class ReferenceRun:
    """An engine over a world with its players logged in to a headless shell, and their
    commands: :meth:`tick` is one tick of play."""

    engine: Engine
    shell: HeadlessShell
    stream: CommandStream
    players: list[int] = field(default_factory=list)

    def tick(self) -> TickResult:
        """The players whose turn it is type, then the engine ticks."""
        self.stream.type_due()
        return self.engine.tick()

    def type_lines(self) -> None:
        """The players whose turn comes with the next tick type their lines: a benchmark's
        set-up before it times ``engine.tick`` (it returns nothing, as a set-up must)."""
        self.stream.type_due()

    def run(self, ticks: int) -> None:
        for _ in range(ticks):
            self.tick()


def drive(
    engine: Engine,
    seed: int,
    *,
    snapshots: bool = True,
    interval_s: float = COMMAND_INTERVAL_S,
    roam: Collection[str] | None = None,
) -> ReferenceRun:
    """Log every player in the world in to a headless shell (one tick) and give them their
    command stream. The players are found in the world (in stable-id order), so a restored
    world is driven as the one it was saved from. ``snapshots`` adds the persistence service's
    snapshot to the hand-off (:class:`SnapshotHandOff`), before the shell's delivery as in a
    server; leave it out where the real service is there. The players walk only into the rooms
    of ``roam`` (keys; default: anywhere)."""
    world = engine.world
    if snapshots:
        engine.on_tick_end(SnapshotHandOff(engine))
    players = sorted(
        (entity for entity, _ in world.query(Player, Location)),
        key=lambda entity: world.stable_id(entity) or 0,
    )
    shell = HeadlessShell(engine)
    shell.log_in(players)
    engine.tick()
    stream = CommandStream(world, players, seed, shell.type_line, interval_s=interval_s, roam=roam)
    return ReferenceRun(engine, shell, stream, players)


def open_reference(
    name: str, *, config: Config | None = None, plugins: Sequence[Plugin] | None = None
) -> ReferenceRun:
    """The reference world ``name``, built, populated and driven, ready to tick: in one call,
    for benchmarks and tests (``kadath profile`` does the same in steps, to restore from a
    database instead of populating). The world, its population and the players' commands are
    all seeded by ``config.engine.seed``; ``plugins`` default to the core plugin alone."""
    from systems import plugin as core

    config = config or Config()
    seed = config.engine.seed
    spec = reference_world(name)
    engine = Engine(config, plugins=list(plugins) if plugins is not None else [core])
    plan = build_reference_content(engine, spec, seed)
    district = district_rooms(spec)
    populate(engine, spec.population, district, seed, plan=plan)
    return drive(engine, seed, roam=district)
