"""NPC benchmarks: what NPCs that act cost a tick, when players are about and when nobody is.

The worlds are real game content (``Content`` built by ``build_world``, the core plugin's rules):
a 40 x 40 grid of rooms cut into 100 zones of 4 x 4 rooms (``bench/worldgen.grid_content``),
filled by spawn rules at the first check as a server fills them, with templates that wander,
act out lines, greet and flee. Every rule of the core plugin runs, at 10 Hz, with the heap
frozen as the server runs it.

- **Players in 10 % of the zones**: 10,000 NPCs; a player in each of 10 zones drawn at random
  (seeded), each walking a step every 10 s, so zones wake and sleep as they go. What is timed is
  the whole tick and, within it, the NPC rules (dormancy, wandering, emotes, greetings, fleeing,
  spawns, aggression, regeneration) as the scheduler measures each (``perf_counter_ns``).
- **Nobody in the world**: 100,000 NPCs, all dormant; the whole tick, paired with the same
  engine over the same grid with no NPC at all, in alternation.

Under ``--benchmark-disable`` (the default) each test runs a few ticks as a plain test and
asserts only facts (who is awake, that NPCs acted), never a time.
"""

from __future__ import annotations

import random
import statistics
import time
from dataclasses import dataclass
from typing import Any

from pytest_benchmark.fixture import BenchmarkFixture

from bench.conftest import Figures
from bench.worldgen import frozen_heap, grid_content, grid_room_key, grid_zone_id, paused_gc
from components.body import Npc
from components.content import Emotes, NpcTemplate, SpawnRule, Wander
from components.place import DIRECTION_NAMES, Room
from engine.config import Config, EngineConfig
from engine.core import Engine
from systems import plugin as core
from systems.characters import create_character
from systems.content.build import build_world
from systems.dormancy import vigil_of
from systems.npc_spawn import SPAWN_CHECK_INTERVAL_S
from systems.whereabouts import room_of

SEED = 1928
TICK_HZ = 10.0
GRID = 40  # rooms a side: 1,600 rooms
ZONE_SIDE = 4  # rooms a zone's side: 100 zones of 16 rooms
ACTIVE_NPCS = 10_000
DORMANT_NPCS = 100_000
PLAYER_ZONES = 10  # of the 100: 10 %
PLAYER_STEP_S = 10.0  # each player walks a step this often
WARMUP_S = 60.0  # after the players came: every awake NPC has had its first turn
MEASURED_TICKS = 1_200  # 120 s of game time
DORMANT_ROUNDS = 3_000

#: The rules timed as "NPC behaviours": everything NPCs do, and what keeps them dormant.
NPC_SYSTEMS = (
    "keep_watch",
    "wander",
    "act_out_emotes",
    "greet_arrivals",
    "run_when_losing",
    "watch_for_prey",
    "spawn_npcs",
    "regenerate",
)

LINES = ("mutters to itself.", "shuffles its feet.", "looks about, and sighs.")
TEMPLATES = (
    NpcTemplate(
        "walker",
        "a walker",
        ("walker",),
        "It walks.",
        wander=Wander(30.0, 0.5),
        emotes=Emotes(LINES, 60.0, 0.5),
    ),
    NpcTemplate(
        "greeter",
        "a greeter",
        ("greeter",),
        "It greets.",
        greet="Evening.",
        emotes=Emotes(LINES, 60.0, 0.5),
    ),
    NpcTemplate(
        "coward",
        "a coward",
        ("coward",),
        "It runs.",
        wander=Wander(45.0, 0.5),
        flee_below=0.5,
    ),
    NpcTemplate("sitter", "a sitter", ("sitter",), "It sits.", emotes=Emotes(LINES, 90.0, 0.3)),
)


def npc_content(npcs: int) -> Any:
    """The grid with spawn rules for ``npcs`` NPCs spread evenly over its rooms, the templates
    taken in turn (a rule of each template in each room, as long as there are NPCs to place)."""
    rooms = [grid_room_key(x, y) for y in range(GRID) for x in range(GRID)]
    per_room, extra = divmod(npcs, len(rooms))
    spawns = []
    for index, room in enumerate(rooms):
        count = per_room + (1 if index < extra else 0)
        shares = [
            count // len(TEMPLATES) + (1 if t < count % len(TEMPLATES) else 0)
            for t in range(len(TEMPLATES))
        ]
        for template, share in zip(TEMPLATES, shares, strict=True):
            if share:
                spawns.append(SpawnRule(template.id, room, max=share, respawn_s=300.0))
    return grid_content(
        random.Random(SEED),
        grid=GRID,
        floor_items=0,
        items=(),
        npcs=TEMPLATES,
        zone_side=ZONE_SIDE,
        spawns=tuple(spawns),
    )


def npc_world(npcs: int, *, window: int = 1) -> Engine:
    """An engine over the grid, its spawn rules filled (at the first check, as a server's)."""
    engine = Engine(
        Config(engine=EngineConfig(tick_rate_hz=TICK_HZ, stats_window=window)), plugins=[core]
    )
    with paused_gc():
        build_world(engine.world, npc_content(npcs))
        engine.world.mark_clean()
        engine.run_ticks(engine.world.clock.ticks_for(SPAWN_CHECK_INTERVAL_S))
    assert engine.world.count(Npc) == npcs
    return engine


@dataclass(slots=True)
class Walkers:
    """The players, each walking a step every PLAYER_STEP_S through a random exit (seeded)."""

    engine: Engine
    players: list[int]
    rng: random.Random
    ticks: int = 0

    def walk(self) -> None:
        """Before a tick: the players whose turn it is type a step."""
        world = self.engine.world
        every = world.clock.ticks_for(PLAYER_STEP_S)
        for index, player in enumerate(self.players):
            if (self.ticks + index * every // len(self.players)) % every == 0:
                room = room_of(world, player)
                assert room is not None
                ways = sorted(world.get(room, Room).exits)
                self.engine.submit_line(player, DIRECTION_NAMES[self.rng.choice(ways)])
        self.ticks += 1


def place_players(engine: Engine) -> Walkers:
    """A player in the middle room of each of PLAYER_ZONES zones drawn at random."""
    rng = random.Random(SEED)
    zones = GRID // ZONE_SIDE
    chosen = rng.sample([(zx, zy) for zy in range(zones) for zx in range(zones)], PLAYER_ZONES)
    players = []
    for number, (zx, zy) in enumerate(chosen):
        x, y = zx * ZONE_SIDE + 1, zy * ZONE_SIDE + 1
        assert grid_zone_id(x, y, ZONE_SIDE) == f"z{zx}_{zy}"
        players.append(create_character(engine.world, f"Walker{number}", room=grid_room_key(x, y)))
    return Walkers(engine, players, rng)


class NpcTicks:
    """``engine.tick`` timed, with the cost of the NPC rules in each tick (read between ticks
    from the scheduler, whose statistics window is one run: its last run's cost)."""

    def __init__(self, engine: Engine, walkers: Walkers | None = None) -> None:
        self.engine = engine
        self.walkers = walkers
        self.ticks: list[int] = []
        self.cpu: list[int] = []  # the tick thread's CPU time: the tick without the machine's noise
        self.npc_rules: list[int] = []
        self._runs = self._npc_runs()

    def _npc_runs(self) -> dict[str, tuple[int, int]]:
        return {
            row.name: (row.runs, row.cost.p50_ns)
            for row in self.engine.scheduler.stats()
            if row.name in NPC_SYSTEMS
        }

    def before(self) -> None:
        """Between ticks, untimed: the cost of the last tick's NPC rules; the players' steps."""
        runs = self._npc_runs()
        if self.ticks:
            self.npc_rules.append(
                sum(cost for name, (count, cost) in runs.items() if count > self._runs[name][0])
            )
        self._runs = runs
        if self.walkers is not None:
            self.walkers.walk()

    def __call__(self) -> None:
        cpu = time.thread_time_ns()
        started = time.perf_counter_ns()
        self.engine.tick()
        self.ticks.append(time.perf_counter_ns() - started)
        self.cpu.append(time.thread_time_ns() - cpu)

    def finish(self) -> None:
        self.before()

    def figures(self) -> dict[str, float]:
        """The figures of the timed ticks: the NPC rules' cost a tick, the whole tick's, and
        its CPU time (which a busy machine's preemptions do not inflate)."""
        return {
            "npc_rules_p50_ms": quantile_ms(self.npc_rules, 0.5),
            "npc_rules_mean_ms": statistics.fmean(self.npc_rules) / 1e6,
            "npc_rules_p99_ms": quantile_ms(self.npc_rules, 0.99),
            "npc_rules_max_ms": quantile_ms(self.npc_rules, 1.0),
            "tick_p50_ms": quantile_ms(self.ticks, 0.5),
            "tick_p99_ms": quantile_ms(self.ticks, 0.99),
            "tick_max_ms": quantile_ms(self.ticks, 1.0),
            "tick_cpu_p99_ms": quantile_ms(self.cpu, 0.99),
            "tick_cpu_max_ms": quantile_ms(self.cpu, 1.0),
        }


def quantile_ms(samples: list[int], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] / 1e6


def run_ticks(benchmark: BenchmarkFixture, timed: NpcTicks, rounds: int, *, enabled: bool) -> None:
    """``rounds`` timed ticks through pytest-benchmark (each round's set-up, untimed, reads the
    last tick's NPC rules); disabled, pytest-benchmark runs one, so the others run here first."""
    if not enabled:
        for _ in range(rounds - 1):
            timed.before()
            timed()
    run = benchmark.pedantic  # untyped in pytest-benchmark
    run(timed, setup=timed.before, rounds=rounds, warmup_rounds=0)  # type: ignore[no-untyped-call]
    timed.finish()


def test_npc_behaviours_with_players_in_a_tenth_of_the_zones(
    benchmark: BenchmarkFixture, figures: Figures
) -> None:
    """10,000 NPCs that wander, act out lines, greet and flee; a player in 10 of 100 zones."""
    engine = npc_world(ACTIVE_NPCS)
    world = engine.world
    walkers = place_players(engine)
    warmup = world.clock.ticks_for(WARMUP_S if figures.enabled else 2 * PLAYER_STEP_S)
    for _ in range(warmup):
        walkers.walk()
        engine.tick()
    vigil = vigil_of(world)
    awake = len(vigil.awake)
    zones_awake = len(vigil.zone_watchers)
    assert 0 < awake < ACTIVE_NPCS // 4  # the players' zones and the rooms next to them only
    assert zones_awake <= PLAYER_ZONES
    ticks = MEASURED_TICKS if figures.enabled else world.clock.ticks_for(PLAYER_STEP_S)
    timed = NpcTicks(engine, walkers)
    events: list[str] = []
    engine.on_tick_end(lambda result: events.extend(e.type for e in result.events))
    with frozen_heap():
        run_ticks(benchmark, timed, ticks, enabled=figures.enabled)
    assert world.count(Npc) == ACTIVE_NPCS
    assert "emote" in events and "arrive" in events  # they acted
    if figures.enabled:
        figures.record(
            npcs=ACTIVE_NPCS,
            zones=(GRID // ZONE_SIDE) ** 2,
            players=len(walkers.players),
            awake_npcs_at_start=awake,
            zones_awake_at_start=zones_awake,
            ticks=ticks,
            **timed.figures(),
            npc_steps=sum(1 for kind in events if kind == "leave"),
            emotes=sum(1 for kind in events if kind == "emote"),
            greetings=sum(1 for kind in events if kind == "say"),
        )


def test_a_hundred_thousand_dormant_npcs_cost_a_tick_nothing(
    benchmark: BenchmarkFixture, figures: Figures
) -> None:
    """100,000 NPCs and nobody in the world: the whole tick, paired with the same grid empty."""
    engine = npc_world(DORMANT_NPCS)
    empty = npc_world(0)
    for each in (engine, empty):
        each.run_ticks(10)
    assert len(vigil_of(engine.world).awake) == 0
    rounds = DORMANT_ROUNDS if figures.enabled else 10
    timed = NpcTicks(engine)
    with frozen_heap():
        run_ticks(benchmark, timed, rounds, enabled=figures.enabled)
        # Paired: the same engine and the empty one in alternation, who goes first rotating.
        samples: dict[str, list[int]] = {"npcs": [], "empty": []}
        clock = time.perf_counter_ns
        pairs = [("npcs", engine), ("empty", empty)]
        for round_ in range(rounds):
            for name, each in pairs[round_ % 2 :] + pairs[: round_ % 2]:
                started = clock()
                each.tick()
                samples[name].append(clock() - started)
    assert len(vigil_of(engine.world).awake) == 0
    assert engine.world.count(Npc) == DORMANT_NPCS
    if figures.enabled:
        npcs_p50 = statistics.median(samples["npcs"])
        empty_p50 = statistics.median(samples["empty"])
        figures.record(
            npcs=DORMANT_NPCS,
            entities=len(engine.world),
            ticks=rounds,
            **timed.figures(),
            paired_tick_npcs_ms=npcs_p50 / 1e6,
            paired_tick_empty_ms=empty_p50 / 1e6,
            paired_ratio=npcs_p50 / empty_p50,
        )
