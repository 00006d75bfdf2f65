"""Combat and decay benchmarks: a thousand fights at once, decay with a hundred thousand items
waiting, and the whole tick of a town with all of it.

The worlds are real game content (``Content`` built by ``build_world``, the core plugin's rules
and commands): a grid of rooms, players and NPCs built from templates. Fighters have damage
points enough that nobody falls while measured, so every round of every fight is played. Fights
start staggered over a round, as they would in play (two fights that start in the same tick play
their rounds in the same ticks ever after). What is timed is the rule's own run, as the engine's
scheduler measures every system (``perf_counter_ns`` around it), and the whole tick. Under
``--benchmark-disable`` (the default) each test runs once as a plain test and asserts only facts.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pytest_benchmark.fixture import BenchmarkFixture

from bench.conftest import Figures
from bench.worldgen import frozen_heap, grid_content, paused_gc
from components.body import Vitals
from components.combat import Fighting
from components.content import (
    Content,
    Directory,
    ItemKind,
    ItemTemplate,
    NpcTemplate,
)
from components.items import Decay, Item
from components.place import Location
from engine.config import Config, EngineConfig
from engine.core import Engine
from engine.stats import TimingStats
from systems import plugin as core
from systems.characters import create_character
from systems.content.build import build_world
from systems.npc_spawn import spawn_npc
from systems.stacks import item_components
from systems.whereabouts import move

SEED = 1927
FIGHTS = 1_000
GRID = 10  # rooms per side: 100 rooms, ten fights in each
ROUND_S = 3.0
TICK_HZ = 10.0
WARMUP_ROUNDS = 2
MEASURED_ROUNDS = 10
DECAY_ITEMS = 100_000
DUE_TOGETHER = 1_000
TOWN_ITEMS = 7_899  # lying on the floors: the 10,000-entity town of bench/test_world.py
TOWN_NPCS = 2_000

#: What the fighters wield and are: a knife each, a hide for the horrors, damage points enough
#: for every blow of the measured rounds (nobody falls, so every round is played in full).
ENDLESS_DP = 1_000_000
KNIFE = ItemTemplate(
    "knife", "a knife", ("knife",), "Sharp.", ItemKind.WEAPON, slot="main_hand", damage="1d4"
)
PEBBLE = ItemTemplate("pebble", "a pebble", ("pebble",), "Grey.")
HORROR = NpcTemplate(
    "horror", "a horror", ("horror",), "It waits.", dp=ENDLESS_DP, damage="1d6", armour=1
)


def town_content(floor_items: int = 0) -> Content:
    """The town: a GRID x GRID grid of rooms, ``floor_items`` pebbles spread over its floors
    (content-placed, so permanent where they lie)."""
    return grid_content(
        random.Random(SEED),
        grid=GRID,
        floor_items=floor_items,
        items=(KNIFE, PEBBLE),
        npcs=(HORROR,),
        floor=(PEBBLE,),
    )


@dataclass(slots=True)
class Town:
    engine: Engine
    players: list[int]
    npcs: list[int]


def town(*, fights: int, floor_items: int = 0, idle_npcs: int = 0, window: int = 1024) -> Town:
    """The town, with ``fights`` players and as many horrors paired in its rooms (not fighting
    yet) and ``idle_npcs`` horrors standing about."""
    engine = Engine(Config(engine=EngineConfig(stats_window=window)), plugins=[core])
    world = engine.world
    rng = random.Random(SEED)
    players: list[int] = []
    npcs: list[int] = []
    with paused_gc():
        directory = build_world(world, town_content(floor_items))
        rooms = [directory.rooms[key] for key in sorted(directory.rooms)]
        for index in range(fights):
            room = rooms[index % len(rooms)]
            player = create_character(world, f"Fighter{index}")
            move(world, player, room)
            vitals = world.get(player, Vitals)
            vitals.dp = vitals.max_dp = ENDLESS_DP
            knife = world.spawn(*item_components(KNIFE), persistent=True)
            move(world, knife, player, "main_hand")
            players.append(player)
            npcs.append(spawn_npc(world, HORROR, room, ""))
        for _ in range(idle_npcs):
            spawn_npc(world, HORROR, rng.choice(rooms), "")
        world.mark_clean()
    return Town(engine, players, npcs)


def start_fights(town_: Town) -> None:
    """Every player attacks its horror, a thirtieth of them each tick over one round."""
    engine = town_.engine
    per_tick = max(1, round(len(town_.players) / engine.world.clock.ticks_for(ROUND_S)))
    for start in range(0, len(town_.players), per_tick):
        for index in range(start, min(start + per_tick, len(town_.players))):
            engine.submit_line(town_.players[index], f"attack {index // GRID**2 + 1}.horror")
        engine.tick()
    assert engine.world.count(Fighting) == 2 * len(town_.players)


def system_cost(engine: Engine, name: str) -> TimingStats:
    """What the scheduler measured of system ``name`` over its window."""
    return next(s.cost for s in engine.scheduler.stats() if s.name == name)


def _ms(ns: float) -> float:
    return ns / 1e6


def pedantic(benchmark: BenchmarkFixture, fn: Callable[[], Any], *, rounds: int) -> Any:
    run = benchmark.pedantic  # untyped in pytest-benchmark
    return run(fn, rounds=rounds, warmup_rounds=0)  # type: ignore[no-untyped-call]


def measured_ticks(benchmark: BenchmarkFixture, engine: Engine, *, ticks: int) -> TimedTicks:
    """Warm the engine up for WARMUP_ROUNDS rounds, then run ``ticks`` timed ticks (heap frozen,
    as the server runs) through pytest-benchmark; the ticks with their durations."""
    engine.run_ticks(engine_ticks(WARMUP_ROUNDS))
    tick = TimedTicks(engine)
    with frozen_heap():
        pedantic(benchmark, tick, rounds=ticks)
    return tick


class TimedTicks:
    """``engine.tick`` that keeps the duration of every call, for its p50, p99 and max."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.samples: list[int] = []

    def __call__(self) -> None:
        started = time.perf_counter_ns()
        self.engine.tick()
        self.samples.append(time.perf_counter_ns() - started)

    def quantile_ms(self, q: float) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6


def scatter_decaying(town_: Town, count: int, due_s: Callable[[int], float]) -> None:
    """``count`` loose pebbles on the town's floors, the ``i``-th due to decay at ``due_s(i)``,
    as a restore leaves them (the decay rule rebuilds its timers from them when it first runs)."""
    world = town_.engine.world
    directory = world.resource(Directory)
    rooms = [world.stable_id(directory.rooms[key]) for key in sorted(directory.rooms)]
    with paused_gc():
        for index in range(count):
            room = rooms[index % len(rooms)]
            assert room is not None
            world.spawn(Item(PEBBLE.id), Location(room), Decay(due_s(index)), persistent=True)
        world.mark_clean()


def test_a_thousand_fights_at_once(benchmark: BenchmarkFixture, figures: Figures) -> None:
    """1,000 fights, 2,000 combatants, at 10 Hz: what the combat rule costs a tick."""
    ticks = engine_ticks(MEASURED_ROUNDS)
    fighting = town(fights=FIGHTS, window=ticks)
    engine = fighting.engine
    start_fights(fighting)
    tick = measured_ticks(benchmark, engine, ticks=ticks)
    world = engine.world
    assert world.count(Fighting) == 2 * FIGHTS  # nobody fell: every round was played in full
    if figures.enabled:
        combat = system_cost(engine, "fight_rounds")  # over the measured ticks only
        figures.record(
            fights=FIGHTS,
            combatants=2 * FIGHTS,
            ticks=ticks,
            combat_p50_ms=_ms(combat.p50_ns),
            combat_p99_ms=_ms(combat.p99_ns),
            tick_p50_ms=tick.quantile_ms(0.5),
            tick_p99_ms=tick.quantile_ms(0.99),
            tick_max_ms=tick.quantile_ms(1.0),
        )


def test_decay_with_a_hundred_thousand_items_waiting_and_none_due(
    benchmark: BenchmarkFixture, figures: Figures
) -> None:
    """100,000 loose items scheduled to decay, none of them due: what the decay rule costs."""
    ticks = 1_000
    waiting = town(fights=0, window=ticks)
    scatter_decaying(waiting, DECAY_ITEMS, lambda index: 10_000.0 + index)
    engine = waiting.engine
    engine.run_ticks(10)  # the first run builds the timers from the items
    with frozen_heap():
        pedantic(benchmark, engine.tick, rounds=ticks)
    assert engine.world.count(Decay) == DECAY_ITEMS
    if figures.enabled:
        decay = system_cost(engine, "decay_floor_items")
        figures.record(
            scheduled=DECAY_ITEMS,
            decay_p50_ms=_ms(decay.p50_ns),
            decay_p99_ms=_ms(decay.p99_ns),
            tick_p50_ms=_ms(engine.stats().tick_cost.p50_ns),
        )


def test_decay_of_a_thousand_items_coming_due_in_one_tick(
    benchmark: BenchmarkFixture, figures: Figures
) -> None:
    """100,000 loose items scheduled, 1,000 of them due together in each of 20 ticks, a second
    apart: what the decay rule costs in such a tick (each item crumbles, its room is told)."""
    batches = 20
    due = town(fights=0, window=1)
    scatter_decaying(
        due,
        DECAY_ITEMS,
        lambda index: 100.0 + index // DUE_TOGETHER if index < batches * DUE_TOGETHER else 1e6,
    )
    engine = due.engine
    world = engine.world
    clock = world.clock
    engine.run_ticks(clock.ticks_for(100.0) - 1)  # the first batch is due at the next tick
    costs: list[int] = []

    def batch() -> None:
        engine.tick()  # the batch comes due
        costs.append(system_cost(engine, "decay_floor_items").p50_ns)  # a window of one run
        engine.run_ticks(clock.ticks_for(1.0) - 1)  # to the tick before the next batch

    with frozen_heap():
        pedantic(benchmark, batch, rounds=batches if figures.enabled else 1)
    gone = (batches if figures.enabled else 1) * DUE_TOGETHER
    assert world.count(Decay) == DECAY_ITEMS - gone
    if figures.enabled:
        figures.record(
            scheduled=DECAY_ITEMS,
            due_together=DUE_TOGETHER,
            batches=batches,
            decay_due_tick_median_ms=_ms(statistics.median(costs)),
            decay_due_tick_max_ms=_ms(max(costs)),
            per_item_us=statistics.median(costs) / DUE_TOGETHER / 1e3,
        )


def test_the_town_tick_with_all_of_it(benchmark: BenchmarkFixture, figures: Figures) -> None:
    """The 10,000-entity town (2,000 NPCs standing about, 7,899 things on its floors), with
    1,000 fights going on in it and 100,000 dropped things waiting to decay, 1,000 of them due
    together every 10 seconds: the whole tick, every rule of the core plugin running."""
    ticks = engine_ticks(MEASURED_ROUNDS * 2)  # 60 s of game time
    busy = town(fights=FIGHTS, floor_items=TOWN_ITEMS, idle_npcs=TOWN_NPCS, window=ticks)
    engine = busy.engine
    clock = engine.world.clock
    first_due = clock.seconds + ROUND_S * (1 + WARMUP_ROUNDS) + 10.0
    scatter_decaying(
        busy,
        DECAY_ITEMS,
        lambda index: (
            first_due + 10.0 * (index // DUE_TOGETHER) if index < 6 * DUE_TOGETHER else 1e6
        ),
    )
    start_fights(busy)
    tick = measured_ticks(benchmark, engine, ticks=ticks)
    world = engine.world
    assert world.count(Fighting) == 2 * FIGHTS
    if figures.enabled:
        assert world.count(Decay) == DECAY_ITEMS - 6 * DUE_TOGETHER
        figures.record(
            entities=len(world),
            fights=FIGHTS,
            decaying=DECAY_ITEMS,
            ticks=ticks,
            tick_p50_ms=tick.quantile_ms(0.5),
            tick_p99_ms=tick.quantile_ms(0.99),
            tick_max_ms=tick.quantile_ms(1.0),
            combat_p50_ms=_ms(system_cost(engine, "fight_rounds").p50_ns),
            decay_p99_ms=_ms(system_cost(engine, "decay_floor_items").p99_ns),
            tick_period_ms=1000 / TICK_HZ,
        )


def engine_ticks(rounds: int) -> int:
    """Ticks of ``rounds`` rounds of combat at the benchmark's rate."""
    return round(rounds * ROUND_S * TICK_HZ)
