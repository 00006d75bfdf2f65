"""Real-content grids for the benchmarks and the reference worlds: rooms on a grid, cut into zones,
built as game content (``components.content.Content``) that the core plugin's world builder builds.

Installed with Kadath (``kadath profile`` builds its reference worlds from it), so it imports only
what an installed Kadath has. Nothing here is timed, and nothing here does I/O.
"""

from __future__ import annotations

import contextlib
import gc
import random
from collections.abc import Iterator

from components.content import (
    Content,
    ExitDef,
    ItemStack,
    ItemTemplate,
    NpcTemplate,
    RoomDef,
    SpawnRule,
    ZoneDef,
)

__all__ = [
    "frozen_heap",
    "grid_content",
    "grid_room_key",
    "grid_zone_id",
    "paused_gc",
    "served_heap",
]


def grid_room_key(x: int, y: int) -> str:
    """The content id of the room at grid cell ``(x, y)`` of :func:`grid_content`."""
    return f"r{x}_{y}"


def grid_zone_id(x: int, y: int, zone_side: int) -> str:
    """The zone of the room at grid cell ``(x, y)`` when zones are ``zone_side`` rooms square."""
    return f"z{x // zone_side}_{y // zone_side}"


def grid_content(
    rng: random.Random,
    *,
    grid: int,
    floor_items: int,
    items: tuple[ItemTemplate, ...],
    npcs: tuple[NpcTemplate, ...] = (),
    floor: tuple[ItemTemplate, ...] = (),
    zone_side: int = 0,
    spawns: tuple[SpawnRule, ...] = (),
) -> Content:
    """Real game content for the world benchmarks: a ``grid`` x ``grid`` zone of rooms joined
    north, east, south and west, with ``floor_items`` items (each of a template drawn from
    ``floor``, default ``items``) spread over the floors, drawn from ``rng``. The start room is
    the middle one. With ``zone_side``, the grid is cut into square zones of that many rooms a
    side (:func:`grid_zone_id`), each a zone of its own; ``spawns`` are the spawn rules."""
    floors: dict[str, list[ItemStack]] = {
        grid_room_key(x, y): [] for x in range(grid) for y in range(grid)
    }
    keys = sorted(floors)
    for _ in range(floor_items):
        floors[rng.choice(keys)].append(ItemStack(rng.choice(floor or items).id))
    rooms = []
    for y in range(grid):
        for x in range(grid):
            exits = [
                ExitDef(direction, grid_room_key(x + dx, y + dy))
                for direction, dx, dy in (("n", 0, -1), ("e", 1, 0), ("s", 0, 1), ("w", -1, 0))
                if 0 <= x + dx < grid and 0 <= y + dy < grid
            ]
            key = grid_room_key(x, y)
            rooms.append(
                RoomDef(
                    key,
                    grid_zone_id(x, y, zone_side) if zone_side else "bench",
                    f"Room {x},{y}",
                    "A room of the benchmark grid.",
                    exits=tuple(exits),
                    items=tuple(floors[key]),
                )
            )
    zones: tuple[ZoneDef, ...] = (ZoneDef("bench", "The Grid"),)
    if zone_side:
        ids = dict.fromkeys(room.zone for room in rooms)
        zones = tuple(ZoneDef(zone, f"Zone {zone}") for zone in ids)
    return Content(
        zones=zones,
        rooms=tuple(rooms),
        items=items,
        npcs=npcs,
        spawns=spawns,
        start_room=grid_room_key(grid // 2, grid // 2),
    )


@contextlib.contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector while building a world, as a loader would.

    Building allocates hundreds of thousands of long-lived objects and no garbage; left running, the
    collector would rescan the growing heap again and again. The previous state is restored.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Freeze the heap for the duration of the block, as the server does after loading its world.

    ``gc.freeze()`` moves every object alive now into a permanent generation that the cyclic garbage
    collector never scans, so a large world costs nothing to later collections. Leaving the block
    unfreezes it, so the next benchmark starts from an ordinary heap. Do not nest.
    """
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.collect()


@contextlib.contextmanager
def served_heap() -> Iterator[None]:
    """The heap as ``kadath serve`` keeps it while its world runs: frozen (:func:`frozen_heap`),
    and young collections every ``GC_THRESHOLDS[0]`` allocations instead of 700, so what a tick
    allocates dies young (``engine/cli.py``). The thresholds are put back after. Do not nest."""
    from engine.cli import GC_THRESHOLDS

    with frozen_heap():
        thresholds = gc.get_threshold()
        gc.set_threshold(*GC_THRESHOLDS)
        try:
            yield
        finally:
            gc.set_threshold(*thresholds)
