"""Deterministic synthetic worlds for the benchmarks: rooms on a grid, players, NPCs and items.

Every benchmark builds its world here, so that figures measured by different suites describe the
same kind of world. Generation uses its own ``random.Random(seed)``, never the global RNG nor the
world's: the same seed and size always give the same world (``World.dump()`` compares equal).
Nothing here is timed, and nothing here does I/O.

Three kinds of world: ``generate_world`` (the engine's own ``bench_*`` components, for the engine
and persistence suites), ``grid_content`` (real game content on a grid, ``bench/grid.py``) and
the reference worlds by name (``reference_world``, ``open_reference``: ``town-10k`` and
``city-100k``, ``bench/reference.py``), which ``kadath profile`` runs too.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from bench.grid import frozen_heap, grid_content, grid_room_key, grid_zone_id, paused_gc
from bench.reference import REFERENCE_WORLDS, open_reference, reference_world
from engine.component import Component, persistent
from engine.world import World

__all__ = [
    "DEFAULT_MIX",
    "ITEM_KINDS",
    "NPC_KINDS",
    "REFERENCE_WORLDS",
    "CarriedBy",
    "Exits",
    "InCombat",
    "Item",
    "Location",
    "Mix",
    "Name",
    "Npc",
    "Player",
    "Position",
    "Room",
    "TransientVitals",
    "Velocity",
    "Vitals",
    "WorldLayout",
    "frozen_heap",
    "generate_world",
    "grid_content",
    "grid_room_key",
    "grid_zone_id",
    "open_reference",
    "paused_gc",
    "reference_world",
    "spawn_movers",
]

# ------------------------------------------------------------------ persistent components
#
# References between entities (a location's room, an exit's target, an item's holder) hold the
# *stable id* of the target in a persistent world and its esper entity id in a transient one; see
# ``WorldLayout.entity_of``. Stable names start with ``bench_`` so they never collide with a real
# plugin's tables.


@persistent("bench_room")
@dataclass(slots=True)
class Room(Component):
    """A room of the grid: its cell and its title."""

    x: int
    y: int
    title: str


@persistent("bench_exits")
@dataclass(slots=True)
class Exits(Component):
    """The ways out of a room: ``(direction, room reference)`` pairs, in compass order."""

    ways: tuple[tuple[str, int], ...]


@persistent("bench_name")
@dataclass(slots=True)
class Name(Component):
    """What players call an entity."""

    text: str


@persistent("bench_player")
@dataclass(slots=True)
class Player(Component):
    """Marks a player character and names its account."""

    account: str


@persistent("bench_npc")
@dataclass(slots=True)
class Npc(Component):
    """Marks a non-player character made from a template."""

    template: str
    aggressive: bool


@persistent("bench_item")
@dataclass(slots=True)
class Item(Component):
    """An object that can lie in a room or be carried."""

    template: str
    weight: int
    value: int


@persistent("bench_location")
@dataclass(slots=True)
class Location(Component):
    """The room (reference) an entity stands or lies in."""

    room: int


@persistent("bench_carried_by")
@dataclass(slots=True)
class CarriedBy(Component):
    """The mobile (reference) carrying an item; a carried item has no ``Location``."""

    holder: int


@persistent("bench_vitals")
@dataclass(slots=True)
class Vitals(Component):
    """Health of a player or NPC: the persistent component the tracking benchmarks write to."""

    hp: int
    max_hp: int


# ------------------------------------------------------------------ transient components
#
# Plain slotted dataclasses, not even subclasses of Component: the engine never tracks them, so they
# are the baseline every tracked or queried access is compared with.


@dataclass(slots=True)
class TransientVitals:
    """The same fields as ``Vitals``, never tracked: the baseline of the tracking benchmarks."""

    hp: int
    max_hp: int


@dataclass(slots=True)
class Position:
    """A point on a continuous plane (ECS-style movement benchmarks, not MUD rooms)."""

    x: float
    y: float


@dataclass(slots=True)
class Velocity:
    """Displacement per tick of a ``Position``."""

    dx: float
    dy: float


@dataclass(slots=True)
class InCombat:
    """A tag added and removed often: the structural-churn benchmarks toggle it."""


# ------------------------------------------------------------------ generation

NPC_KINDS: tuple[str, ...] = (
    "ghoul",
    "ghast",
    "gug",
    "night-gaunt",
    "zoog",
    "moon-beast",
    "shantak",
    "cultist",
)
ITEM_KINDS: tuple[tuple[str, int, int], ...] = (
    # (template, weight, value)
    ("lantern", 3, 12),
    ("brass key", 1, 4),
    ("onyx idol", 5, 90),
    ("tattered map", 1, 20),
    ("silver dagger", 2, 45),
    ("tallow candle", 1, 1),
    ("strange coin", 1, 30),
    ("bone flute", 1, 15),
)
_COMPASS: tuple[tuple[str, int, int], ...] = (
    ("north", 0, -1),
    ("east", 1, 0),
    ("south", 0, 1),
    ("west", -1, 0),
)


@dataclass(frozen=True, slots=True)
class Mix:
    """The share of each kind of entity; items take whatever the others leave.

    The default, 1% rooms, 5% players, 20% NPCs and 74% items, is roughly a busy MUD: a hundred
    things per room, most of them objects lying about or carried.
    """

    rooms: float = 0.01
    players: float = 0.05
    npcs: float = 0.20
    carried_items: float = 0.2
    """Share of the items carried by a player or NPC rather than lying in a room."""

    def __post_init__(self) -> None:
        shares = {"rooms": self.rooms, "players": self.players, "npcs": self.npcs}
        for name, share in {**shares, "carried_items": self.carried_items}.items():
            if not 0.0 <= share <= 1.0:
                raise ValueError(f"Mix.{name} must be a share between 0 and 1, got {share!r}")
        if sum(shares.values()) > 1.0:
            raise ValueError(
                f"rooms + players + npcs must not exceed 1 (items take the rest), got {shares}"
            )

    def counts(self, entities: int) -> tuple[int, int, int, int]:
        """``(rooms, players, npcs, items)`` summing to ``entities``; there is always a room."""
        if entities < 1:
            raise ValueError(f"a world needs at least one entity (a room), got {entities}")
        rooms = max(1, round(entities * self.rooms))
        players = min(round(entities * self.players), entities - rooms)
        npcs = min(round(entities * self.npcs), entities - rooms - players)
        return rooms, players, npcs, entities - rooms - players - npcs


DEFAULT_MIX = Mix()


@dataclass(frozen=True, slots=True)
class WorldLayout:
    """What ``generate_world`` made: entity ids by kind, in creation order, and the room grid.

    ``rooms`` is row-major on a ``width`` x ``height`` grid whose last row may be partly empty.
    ``refs`` holds the value components store to point at an entity (see ``entity_of``).
    """

    seed: int
    entities: int
    width: int
    height: int
    persistent: bool
    rooms: tuple[int, ...]
    players: tuple[int, ...]
    npcs: tuple[int, ...]
    items: tuple[int, ...]
    refs: dict[int, int]
    """Reference (stable id, or entity id in a transient world) -> entity id, for every entity a
    component may point at: the rooms and the mobiles."""

    @property
    def mobiles(self) -> tuple[int, ...]:
        """Players then NPCs: everything that has ``Vitals`` and a ``Location``."""
        return self.players + self.npcs

    def room_at(self, x: int, y: int) -> int:
        """The room entity at grid cell ``(x, y)``."""
        index = y * self.width + x
        if not (0 <= x < self.width and 0 <= y < self.height and index < len(self.rooms)):
            raise IndexError(f"no room at ({x}, {y}) on a {self.width}x{self.height} grid")
        return self.rooms[index]

    def entity_of(self, ref: int) -> int:
        """The entity a component reference (``Location.room``, ``CarriedBy.holder``) points at."""
        return self.refs[ref]


def generate_world(
    world: World,
    *,
    entities: int,
    seed: int,
    mix: Mix = DEFAULT_MIX,
    persistent: bool = True,
    motion: bool = False,
    mark_clean: bool = True,
) -> WorldLayout:
    """Fill ``world`` with exactly ``entities`` entities: rooms, players, NPCs and items.

    - Rooms form a square-ish grid, each with a ``Room`` and ``Exits`` to its compass neighbours.
    - Players (``Name``, ``Player``, ``Location``, ``Vitals``) and NPCs (``Name``, ``Npc``,
      ``Location``, ``Vitals``) stand in rooms drawn uniformly; with ``motion`` they also get a
      transient ``Position`` and ``Velocity``.
    - Items (``Item`` and either ``Location`` or ``CarriedBy``) lie in random rooms or are carried
      by random mobiles (``mix.carried_items``).

    ``persistent`` spawns every entity with a stable id, as a server's world is. ``mark_clean``
    collects (and forgets) the creation changes, as if the world had just been loaded from the
    database; pass False to keep them pending for a first-save benchmark. Entities are created in
    the order rooms, players, NPCs, items, so the same arguments always give the same entity ids.
    Call :func:`frozen_heap` after set-up, as the server does after loading.
    """
    with paused_gc():
        return _generate(world, entities, seed, mix, persistent, motion, mark_clean)


def _generate(
    world: World,
    entities: int,
    seed: int,
    mix: Mix,
    persistent: bool,
    motion: bool,
    mark_clean: bool,
) -> WorldLayout:
    rng = random.Random(seed)
    n_rooms, n_players, n_npcs, n_items = mix.counts(entities)
    width = math.ceil(math.sqrt(n_rooms))
    height = math.ceil(n_rooms / width)
    refs: dict[int, int] = {}

    def ref(entity: int) -> int:
        sid = world.stable_id(entity)
        value = entity if sid is None else sid
        refs[value] = entity
        return value

    rooms: list[int] = []
    room_refs: list[int] = []
    for index in range(n_rooms):
        x, y = index % width, index // width
        room = world.spawn(Room(x, y, f"Room {x},{y}"), persistent=persistent)
        rooms.append(room)
        room_refs.append(ref(room))
    for index, room in enumerate(rooms):
        x, y = index % width, index // width
        ways: list[tuple[str, int]] = []
        for direction, step_x, step_y in _COMPASS:
            nx, ny = x + step_x, y + step_y
            neighbour = ny * width + nx
            if 0 <= nx < width and 0 <= ny < height and neighbour < n_rooms:
                ways.append((direction, room_refs[neighbour]))
        world.add(room, Exits(tuple(ways)))

    def mobile_extras() -> tuple[object, ...]:
        if not motion:
            return ()
        angle = rng.random() * math.tau
        return (
            Position(rng.random() * width, rng.random() * height),
            Velocity(math.cos(angle) * 0.1, math.sin(angle) * 0.1),
        )

    players: list[int] = []
    for index in range(n_players):
        players.append(
            world.spawn(
                Name(f"Dreamer{index}"),
                Player(f"account-{index}"),
                Location(rng.choice(room_refs)),
                Vitals(100, 100),
                *mobile_extras(),
                persistent=persistent,
            )
        )
    npcs: list[int] = []
    for _ in range(n_npcs):
        kind = rng.choice(NPC_KINDS)
        max_hp = rng.randint(10, 60)
        npcs.append(
            world.spawn(
                Name(f"a {kind}"),
                Npc(kind, rng.random() < 0.3),
                Location(rng.choice(room_refs)),
                Vitals(rng.randint(1, max_hp), max_hp),
                *mobile_extras(),
                persistent=persistent,
            )
        )
    holders = [ref(mobile) for mobile in players + npcs]
    items: list[int] = []
    for _ in range(n_items):
        template, weight, value = rng.choice(ITEM_KINDS)
        place: Location | CarriedBy
        if holders and rng.random() < mix.carried_items:
            place = CarriedBy(rng.choice(holders))
        else:
            place = Location(rng.choice(room_refs))
        items.append(world.spawn(Item(template, weight, value), place, persistent=persistent))
    if mark_clean:
        world.mark_clean()
    return WorldLayout(
        seed=seed,
        entities=entities,
        width=width,
        height=height,
        persistent=persistent,
        rooms=tuple(rooms),
        players=tuple(players),
        npcs=tuple(npcs),
        items=tuple(items),
        refs=refs,
    )


def spawn_movers(world: World, *, count: int, seed: int, persistent: bool = False) -> list[int]:
    """Spawn ``count`` entities holding only a ``Position`` and a ``Velocity``; return their ids.

    The smallest world an ECS movement benchmark needs: every entity matches a
    ``(Position, Velocity)`` query. Values come from ``random.Random(seed)``.
    """
    rng = random.Random(seed)
    movers: list[int] = []
    with paused_gc():
        for _ in range(count):
            angle = rng.random() * math.tau
            movers.append(
                world.spawn(
                    Position(rng.uniform(-1e3, 1e3), rng.uniform(-1e3, 1e3)),
                    Velocity(math.cos(angle), math.sin(angle)),
                    persistent=persistent,
                )
            )
    return movers
