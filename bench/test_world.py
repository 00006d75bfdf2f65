"""World benchmarks: what one ``look`` and one move cost in a world of 10,000 entities.

The world is real game content (``Content`` built by ``build_world``, the core plugin's commands):
100 rooms on a 10 x 10 grid, 2,000 NPCs and 7,899 items spread over them at random (seeded), and
one player, so every room holds about a hundred things and every ``look`` lists them all. A command
is measured the way it runs in the server: ``engine.submit_line`` then ``engine.tick()``; an empty
tick of the same engine is measured in the same run, interleaved, so that the difference is the
command's own cost. Under ``--benchmark-disable`` (the default) each runs once as a plain test and
only facts are asserted, never a time.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable, Mapping
from typing import Any

from pytest_benchmark.fixture import BenchmarkFixture

from bench.conftest import Figures
from bench.worldgen import frozen_heap, grid_room_key, paused_gc
from bench.worldgen import grid_content as generate_grid
from components.body import Identity, Npc, Posture, Vitals
from components.content import (
    Content,
    Directory,
    ItemKind,
    ItemTemplate,
    NpcTemplate,
)
from components.place import Location
from engine.config import Config
from engine.core import Engine, TickResult
from systems import plugin as core
from systems.characters import create_character
from systems.content.build import build_world
from systems.whereabouts import room_of

SEED = 1927
ENTITIES = 10_000
GRID = 10  # rooms per side
NPCS = 2_000
ITEMS = ENTITIES - GRID * GRID - 1 - NPCS - 1  # the grid's zone (an entity), one player
ROUNDS = 2_000
WARMUP = 50

ITEM_TEMPLATES = tuple(
    ItemTemplate(f"thing{i}", f"a strange thing {i}", (f"thing{i}", "thing"), "Odd.", ItemKind.JUNK)
    for i in range(8)
)
NPC_TEMPLATES = tuple(
    NpcTemplate(f"ghoul{i}", f"a ghoul of kind {i}", (f"ghoul{i}", "ghoul"), "It gnaws.")
    for i in range(8)
)


room_key = grid_room_key


def grid_content(rng: random.Random) -> Content:
    """A 10 x 10 grid of rooms joined north/south/east/west, with ``ITEMS`` items on the floors."""
    return generate_grid(
        rng, grid=GRID, floor_items=ITEMS, items=ITEM_TEMPLATES, npcs=NPC_TEMPLATES
    )


def crowded_world() -> tuple[Engine, int]:
    """The engine over the 10,000-entity grid world, and the player standing in its middle."""
    rng = random.Random(SEED)
    engine = Engine(Config(), plugins=[core])
    world = engine.world
    with paused_gc():
        directory = build_world(world, grid_content(rng))
        rooms = sorted(directory.rooms)
        for _ in range(NPCS):
            template = rng.choice(NPC_TEMPLATES)
            room_sid = world.stable_id(directory.rooms[rng.choice(rooms)])
            assert room_sid is not None
            world.spawn(
                Identity(template.name, template.keywords, template.description),
                Npc(template.id),
                Posture(),
                Vitals(template.dp, template.dp),
                Location(room_sid),
                persistent=True,
            )
        player = create_character(world, "Armitage")
        world.mark_clean()
    engine.run_ticks(engine.world.clock.ticks_for(2.0))  # let start-up systems settle
    return engine, player


def command(engine: Engine, actor: int, line: str) -> Callable[[], TickResult]:
    def run() -> TickResult:
        engine.submit_line(actor, line)
        return engine.tick()

    return run


def paired_medians(
    variants: Mapping[str, Callable[[], object]], *, rounds: int, warmup: int
) -> dict[str, float]:
    """Median nanoseconds per call of each variant, interleaved round by round, rotating the order
    so that warm caches and the machine's other load fall evenly on all of them."""
    for _ in range(warmup):
        for fn in variants.values():
            fn()
    names = list(variants)
    samples: dict[str, list[int]] = {name: [] for name in names}
    clock = time.perf_counter_ns
    for r in range(rounds):
        for i in range(len(names)):
            name = names[(r + i) % len(names)]
            started = clock()
            variants[name]()
            samples[name].append(clock() - started)
    return {name: float(statistics.median(values)) for name, values in samples.items()}


def pedantic(benchmark: BenchmarkFixture, fn: Callable[[], Any], *, rounds: int) -> Any:
    run = benchmark.pedantic  # untyped in pytest-benchmark
    return run(fn, rounds=rounds, warmup_rounds=WARMUP)  # type: ignore[no-untyped-call]


def _ms(ns: float) -> float:
    return ns / 1e6


def test_look_in_a_crowded_room(benchmark: BenchmarkFixture, figures: Figures) -> None:
    """``look`` in a room of about a hundred things, in a world of 10,000 entities."""
    engine, player = crowded_world()
    assert len(engine.world) == ENTITIES
    look = command(engine, player, "look")
    with frozen_heap():
        result: TickResult = pedantic(benchmark, look, rounds=ROUNDS)
        medians = (
            paired_medians(
                {"empty_tick": engine.tick, "look_tick": look}, rounds=ROUNDS, warmup=WARMUP
            )
            if figures.enabled
            else {}
        )
    (shown,) = [e for e in result.events if e.type == "room"]
    things = len(shown.data["occupants"]) + len(shown.data["items"])
    assert things > 50  # a crowded room, every thing listed
    if medians:
        figures.record(
            entities=ENTITIES,
            things_in_room=things,
            empty_tick_median_ms=_ms(medians["empty_tick"]),
            look_tick_median_ms=_ms(medians["look_tick"]),
            look_own_median_ms=_ms(medians["look_tick"] - medians["empty_tick"]),
        )


def test_move_between_crowded_rooms(benchmark: BenchmarkFixture, figures: Figures) -> None:
    """A step east or west (leave, arrive and the new room shown), in a world of 10,000 entities."""
    engine, player = crowded_world()
    world = engine.world
    east, west = command(engine, player, "east"), command(engine, player, "west")
    steps = [east, west]
    count = 0

    def step() -> TickResult:
        nonlocal count
        count += 1
        return steps[count % 2 - 1]()  # east, west, east, ...

    with frozen_heap():
        result: TickResult = pedantic(benchmark, step, rounds=ROUNDS)
        medians = (
            paired_medians(
                {"empty_tick": engine.tick, "move_tick": step}, rounds=ROUNDS, warmup=WARMUP
            )
            if figures.enabled
            else {}
        )
    assert sorted(e.type for e in result.events) == ["arrive", "leave", "room"]
    rooms = world.resource(Directory).rooms
    middle = GRID // 2
    assert room_of(world, player) in {
        rooms[room_key(middle, middle)],
        rooms[room_key(middle + 1, middle)],
    }
    (shown,) = [e for e in result.events if e.type == "room"]
    if medians:
        figures.record(
            entities=ENTITIES,
            things_in_new_room=len(shown.data["occupants"]) + len(shown.data["items"]),
            empty_tick_median_ms=_ms(medians["empty_tick"]),
            move_tick_median_ms=_ms(medians["move_tick"]),
            move_own_median_ms=_ms(medians["move_tick"] - medians["empty_tick"]),
        )
