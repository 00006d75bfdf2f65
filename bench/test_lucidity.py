"""Lucidity benchmark: 2,000 players online in a town of every environment, their minds in every
tier, some of them walking every tick: what the rules of the mind cost a tick.

Real game content (``build_world``, the core plugin's rules and commands): a 10 x 10 grid of rooms
whose environments go round all eight (some with their own flux), a creature (of each category
in turn) standing about in every fourth room, 20 players to a room on average (so company
counts), their lucidity spread over the tiers (so hallucinations, misfires and phantoms happen),
and 1 % of the players walking each tick (so sightings, arrivals and resistance reset happen).
What is timed: the four systems of the mind (``lucidity``, ``encounters``, ``hallucinate``,
``rescue``), summed per tick from what the scheduler measures around each; and, paired in the
same run, the whole tick of this world and of its twin built and driven the same way with those
four systems disabled, ticked in turn. Under ``--benchmark-disable`` (the default) the test runs
a few ticks as a plain test and asserts facts.
"""

from __future__ import annotations

import dataclasses
import random
import statistics
import time

from pytest_benchmark.fixture import BenchmarkFixture

from bench.conftest import Figures
from bench.test_combat import pedantic
from bench.worldgen import frozen_heap, grid_content, paused_gc
from components.content import Content, EncounterCategory, NpcTemplate
from components.mind import Encounters, Lucidity, Phantom
from components.place import Environment, FluxOverride
from engine.config import Config, EngineConfig
from engine.core import Engine
from systems import plugin as core
from systems.characters import create_character
from systems.content.build import build_world
from systems.lucidity import Tier, lucidity_settings, tier_of
from systems.npc_spawn import spawn_npc
from systems.whereabouts import move

SEED = 1928
PLAYERS = 2_000
GRID = 10
TICK_HZ = 10.0
WALKERS_PER_TICK = PLAYERS // 100
MEASURED_TICKS = 1_200  # two minutes of game time
WARMUP_S = 5.0
MIND_SYSTEMS = ("lucidity", "encounters", "hallucinate", "rescue")
CREATURE_EVERY = 4
#: How the players' minds are spread over the tiers when the benchmark starts (value ranges).
TIER_SPREAD = ((70, 100, 0.60), (40, 69, 0.20), (20, 39, 0.12), (1, 19, 0.08))

CREATURES = tuple(
    NpcTemplate(f"{category}_thing", f"a {category} thing", ("thing",), "It is.", category=category)
    for category in EncounterCategory
)


def mind_content() -> Content:
    """The grid, its rooms going round every environment; every seventh room has its own flux."""
    grid = grid_content(random.Random(SEED), grid=GRID, floor_items=0, items=(), npcs=CREATURES)
    environments = list(Environment)
    rooms = tuple(
        dataclasses.replace(
            room,
            environment=environments[index % len(environments)],
            lucidity_flux=FluxOverride(night=-1.0) if index % 7 == 0 else None,
        )
        for index, room in enumerate(grid.rooms)
    )
    return dataclasses.replace(grid, rooms=rooms)


def mind_town(*, window: int) -> tuple[Engine, list[int]]:
    """The town with its creatures and players, minds spread over the tiers (seeded)."""
    engine = Engine(
        Config(engine=EngineConfig(tick_rate_hz=TICK_HZ, stats_window=window)), plugins=[core]
    )
    world = engine.world
    rng = random.Random(SEED)
    players: list[int] = []
    with paused_gc():
        directory = build_world(world, mind_content())
        rooms = [directory.rooms[key] for key in sorted(directory.rooms)]
        for index, room in enumerate(rooms):
            if index % CREATURE_EVERY == 0:  # a creature in every fourth room
                spawn_npc(world, CREATURES[index // CREATURE_EVERY % len(CREATURES)], room, "")
        for index in range(PLAYERS):
            player = create_character(world, f"Mind{index}")
            move(world, player, rng.choice(rooms))
            low, high, _share = rng.choices(TIER_SPREAD, [s for *_, s in TIER_SPREAD])[0]
            world.add(player, Lucidity(rng.randint(low, high)))
            players.append(player)
        world.mark_clean()
    return engine, players


def walks(rng: random.Random, players: list[int]) -> list[tuple[int, str]]:
    """One tick's walkers and where they try to go (a wall refuses some: commands all the same)."""
    return [
        (player, rng.choice(("north", "east", "south", "west")))
        for player in rng.sample(players, WALKERS_PER_TICK)
    ]


def mind_cost_ns(engine: Engine) -> int:
    """The time the scheduler has measured in the mind's systems so far."""
    return sum(s.cost.total_ns for s in engine.scheduler.stats() if s.name in MIND_SYSTEMS)


def test_the_minds_of_two_thousand_players(benchmark: BenchmarkFixture, figures: Figures) -> None:
    """2,000 players online, minds in every tier, 1 % walking each tick: what the mind costs."""
    ticks = MEASURED_TICKS if figures.enabled else 20
    minds, players = mind_town(window=ticks)
    bare, _same = mind_town(window=ticks)
    for name in MIND_SYSTEMS:
        bare.scheduler.disable(name, "the paired twin without the rules of the mind")
    rng = random.Random(SEED)
    for engine in (minds, bare):
        engine.run_ticks(minds.world.clock.ticks_for(WARMUP_S))
    per_tick: list[int] = []
    with_minds: list[int] = []
    without: list[int] = []
    clock = time.perf_counter_ns

    def step() -> None:
        lines = walks(rng, players)
        order = (minds, bare) if len(per_tick) % 2 == 0 else (bare, minds)
        for engine in order:
            for player, way in lines:
                engine.submit_line(player, way)
            before = mind_cost_ns(engine) if engine is minds else 0
            started = clock()
            engine.tick()
            took = clock() - started
            if engine is minds:
                with_minds.append(took)
                per_tick.append(mind_cost_ns(engine) - before)
            else:
                without.append(took)

    with frozen_heap():
        pedantic(benchmark, step, rounds=ticks)
    while len(per_tick) < ticks:  # disabled, pytest-benchmark ran it once
        step()
    world = minds.world
    assert len(per_tick) == ticks
    settings = lucidity_settings(world)
    tiers = [tier_of(world.get(p, Lucidity).value, settings) for p in players]
    assert Tier.LUCID in tiers and Tier.DERANGED in tiers
    assert world.count(Encounters) > 0
    if figures.enabled:
        ordered = sorted(per_tick)
        stats = {s.name: s.cost for s in minds.scheduler.stats() if s.name in MIND_SYSTEMS}
        figures.record(
            players=PLAYERS,
            rooms=GRID * GRID,
            ticks=ticks,
            walkers_per_tick=WALKERS_PER_TICK,
            mind_systems_p50_ms=statistics.median(per_tick) / 1e6,
            mind_systems_p99_ms=ordered[int(0.99 * len(ordered))] / 1e6,
            mind_systems_max_ms=ordered[-1] / 1e6,
            **{f"{name}_p50_ms": stats[name].p50_ns / 1e6 for name in MIND_SYSTEMS},
            **{f"{name}_p99_ms": stats[name].p99_ns / 1e6 for name in MIND_SYSTEMS},
            tick_with_minds_p50_ms=statistics.median(with_minds) / 1e6,
            tick_without_p50_ms=statistics.median(without) / 1e6,
            tick_with_minds_p99_ms=sorted(with_minds)[int(0.99 * ticks)] / 1e6,
            phantoms_at_end=world.count(Phantom),
            tiers_at_end=", ".join(f"{t}: {tiers.count(t)}" for t in Tier),
        )
