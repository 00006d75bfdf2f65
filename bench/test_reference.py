"""Per-system benchmarks on the reference worlds: what each part of a tick costs in ``town-10k``
and in ``city-100k`` (``bench/reference.py``), with their 500 players typing a command a second.

Each benchmark times one thing per tick, so that a compare against the saved baseline names the
part that got slower:

- ``test_tick``: the whole tick (``engine.tick()``: the commands, every system, the hand-off),
  timed by pytest-benchmark around it;
- ``test_commands``, ``test_combat``, ``test_decay``, ``test_lucidity``, ``test_npc_behaviours``,
  ``test_hand_off``: the part of each tick that phase or those systems took, as the engine
  itself measures them (``perf_counter_ns`` around each run, the figures of ``kadath profile``
  and of the admin ``stats``): pytest-benchmark is given a timer that advances only while they
  run (``bench.reference.EngineClock``), so nothing is timed a second way;
- ``test_snapshot``: the persistence snapshot of a tick's changes (``take_snapshot``), timed
  around it.

The players' lines are typed in each round's untimed set-up; then the tick runs. Each benchmark
gets a world of its own, made and played for 5 s before it is timed (fights going on, corpses
rotting, minds in every tier), so that every one starts from the same state whatever ran
before. ``test_city_against_the_town`` ticks the two worlds in turn and records the paired
medians (the target: the city's tick at most 1.5x the town's).

Under ``--benchmark-disable`` (the default, as CI runs them) every test runs a few ticks as a
plain test, on worlds made once per session and shared, and asserts only facts (fights going
on, things decaying, NPCs awake, messages delivered), never a time. The baseline and the
command that compares with it are in docs/PERFORMANCE.md, *Profiling a tick*.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from bench.conftest import Figures
from bench.grid import served_heap
from bench.reference import REFERENCE_WORLDS, EngineClock, ReferenceRun, open_reference
from components.body import Npc, Player
from components.combat import Fighting
from components.items import Corpse, Decay, Item
from components.mind import Lucidity
from components.place import Room
from engine.stats import nearest_rank
from persist.schema import Schema
from persist.snapshot import Batch, take_snapshot
from systems.dormancy import vigil_of
from systems.lucidity import lucidity_settings, tier_of

WORLDS = tuple(REFERENCE_WORLDS)
#: Ticks timed by each benchmark: 30 s of play at 10 Hz.
ROUNDS = 300
#: Ticks each runs as a plain test (``--benchmark-disable``).
PLAIN_ROUNDS = 5
#: Ticks a world plays after it is made, before anything is measured (5 s of play).
SETTLING_TICKS = 50

COMBAT = ("fight_rounds", "bleed")
DECAY = ("decay_floor_items", "rot_corpses")
LUCIDITY = ("lucidity", "encounters", "hallucinate", "rescue")
NPC_BEHAVIOURS = (
    "keep_watch",
    "wander",
    "act_out_emotes",
    "greet_arrivals",
    "run_when_losing",
    "watch_for_prey",
    "spawn_npcs",
    "regenerate",
)


COMMANDS_CLOCK = EngineClock("commands")
COMBAT_CLOCK = EngineClock(*COMBAT)
DECAY_CLOCK = EngineClock(*DECAY)
LUCIDITY_CLOCK = EngineClock(*LUCIDITY)
NPC_CLOCK = EngineClock(*NPC_BEHAVIOURS)
HAND_OFF_CLOCK = EngineClock("hand-off")


def settled(name: str) -> ReferenceRun:
    """Reference world ``name``, checked to hold what it promises, after SETTLING_TICKS of play."""
    run = open_reference(name)
    spec, world = REFERENCE_WORLDS[name], run.engine.world
    made_of = (world.count(Room), world.count(Player), world.count(Npc), world.count(Item))
    assert made_of == (spec.rooms, spec.players, spec.npcs, spec.items)  # as promised
    run.run(SETTLING_TICKS)
    return run


@pytest.fixture(scope="session")
def shared_runs() -> Iterator[dict[str, ReferenceRun]]:
    made: dict[str, ReferenceRun] = {}
    yield made
    made.clear()


@pytest.fixture
def reference_runs(
    shared_runs: dict[str, ReferenceRun], benchmark: BenchmarkFixture
) -> Callable[[str], ReferenceRun]:
    """The reference worlds by name. Timed, each benchmark gets its own, fresh: every timed run
    then starts from the same state, whatever ran before it, so a benchmark compared with the
    baseline measures the same ticks (``-k combat`` alone as in the whole run). As plain tests,
    one of each is made per session and shared (city-100k takes about 8 s to make)."""

    def get(name: str) -> ReferenceRun:
        if benchmark.enabled:
            return settled(name)
        if name not in shared_runs:
            shared_runs[name] = settled(name)
        return shared_runs[name]

    return get


def ticks(
    benchmark: BenchmarkFixture,
    run: ReferenceRun,
    figures: Figures,
    *,
    target: Callable[..., Any] | None = None,
    setup: Callable[[], Any] | None = None,
) -> Any:
    """Time ``target`` (default: one tick) for ROUNDS rounds, each after ``setup`` (default: the
    players type their lines), with the heap as a server keeps it; as a plain test, PLAIN_ROUNDS
    ticks (pytest-benchmark runs one, the others run first)."""
    tick = target or run.engine.tick
    prepare = setup or run.type_lines
    pedantic = benchmark.pedantic  # untyped in pytest-benchmark
    if not figures.enabled:  # no heap settings: two full collections of both worlds take seconds
        for _ in range(PLAIN_ROUNDS - 1):
            made = prepare()
            tick(*made[0]) if made else tick()
        return pedantic(tick, setup=prepare, rounds=1)  # type: ignore[no-untyped-call]
    run.engine.clear_stats()  # the engine's figures (record) are then of the timed ticks
    with served_heap():
        return pedantic(tick, setup=prepare, rounds=ROUNDS, warmup_rounds=0)  # type: ignore[no-untyped-call]


def record(figures: Figures, run: ReferenceRun, clock: EngineClock | None = None) -> None:
    """The figures beside pytest-benchmark's: the world, and the engine's p50 and p99 of a tick
    over the timed ticks."""
    stats = run.engine.stats()
    figures.record(
        entities=stats.entities,
        tick_p50_ms=stats.tick_cost.p50_ns / 1e6,
        tick_p99_ms=stats.tick_cost.p99_ns / 1e6,
        **({"parts": ", ".join(sorted(clock.names))} if clock else {}),
    )


@pytest.mark.parametrize("world", WORLDS)
def test_tick(
    benchmark: BenchmarkFixture,
    figures: Figures,
    reference_runs: Callable[[str], ReferenceRun],
    world: str,
) -> None:
    """The whole tick: the players' commands, every system, the snapshot and the delivery."""
    run = reference_runs(world)
    delivered = run.shell.hub.stats().messages_sent
    cpu: list[int] = []

    def tick() -> None:  # also the CPU time of the tick thread, which other processes do not add to
        started = time.thread_time_ns()
        run.engine.tick()
        cpu.append(time.thread_time_ns() - started)

    ticks(benchmark, run, figures, target=tick)
    assert run.shell.hub.stats().messages_sent > delivered
    assert run.engine.world.count(Player) == REFERENCE_WORLDS[world].players
    record(figures, run)
    figures.record(tick_cpu_p50_ms=statistics.median(cpu) / 1e6, tick_cpu_p99_ms=p99(cpu) / 1e6)


@pytest.mark.benchmark(timer=COMMANDS_CLOCK)
@pytest.mark.parametrize("world", WORLDS)
def test_commands(
    benchmark: BenchmarkFixture,
    figures: Figures,
    reference_runs: Callable[[str], ReferenceRun],
    world: str,
) -> None:
    """Movement and look (and the rest of what the players type): the tick's commands phase."""
    run = reference_runs(world)
    COMMANDS_CLOCK.watch(run.engine)
    typed = dict(run.stream.typed)
    ticks(benchmark, run, figures)
    assert run.stream.typed["walk"] > typed["walk"] and run.stream.typed["look"] >= typed["look"]
    record(figures, run, COMMANDS_CLOCK)


@pytest.mark.benchmark(timer=COMBAT_CLOCK)
@pytest.mark.parametrize("world", WORLDS)
def test_combat(
    benchmark: BenchmarkFixture,
    figures: Figures,
    reference_runs: Callable[[str], ReferenceRun],
    world: str,
) -> None:
    """Fights in progress: rounds played, the mortally wounded bleeding."""
    run = reference_runs(world)
    COMBAT_CLOCK.watch(run.engine)
    ran = COMBAT_CLOCK.ran()
    ticks(benchmark, run, figures)
    assert run.engine.world.count(Fighting) > 0
    assert COMBAT_CLOCK.ran() > ran
    record(figures, run, COMBAT_CLOCK)


@pytest.mark.benchmark(timer=DECAY_CLOCK)
@pytest.mark.parametrize("world", WORLDS)
def test_decay(
    benchmark: BenchmarkFixture,
    figures: Figures,
    reference_runs: Callable[[str], ReferenceRun],
    world: str,
) -> None:
    """Loose things crumbling and corpses rotting."""
    run = reference_runs(world)
    DECAY_CLOCK.watch(run.engine)
    ticks(benchmark, run, figures)
    world_ = run.engine.world
    assert world_.count(Decay) > 0 and world_.count(Corpse) > 0
    record(figures, run, DECAY_CLOCK)


@pytest.mark.benchmark(timer=LUCIDITY_CLOCK)
@pytest.mark.parametrize("world", WORLDS)
def test_lucidity(
    benchmark: BenchmarkFixture,
    figures: Figures,
    reference_runs: Callable[[str], ReferenceRun],
    world: str,
) -> None:
    """The minds: their flux, sightings of creatures, hallucinations and rescues."""
    run = reference_runs(world)
    LUCIDITY_CLOCK.watch(run.engine)
    ticks(benchmark, run, figures)
    world_ = run.engine.world
    settings = lucidity_settings(world_)
    tiers = {tier_of(mind.value, settings) for _, mind in world_.query(Lucidity)}
    assert len(tiers) >= 3
    record(figures, run, LUCIDITY_CLOCK)


@pytest.mark.benchmark(timer=NPC_CLOCK)
@pytest.mark.parametrize("world", WORLDS)
def test_npc_behaviours(
    benchmark: BenchmarkFixture,
    figures: Figures,
    reference_runs: Callable[[str], ReferenceRun],
    world: str,
) -> None:
    """What NPCs do near players (wander, act out lines, greet, flee, attack), their waking and
    sleeping, their spawns and their healing."""
    run = reference_runs(world)
    NPC_CLOCK.watch(run.engine)
    ticks(benchmark, run, figures)
    world_ = run.engine.world
    awake = len(vigil_of(world_).awake)
    spec = REFERENCE_WORLDS[world]
    assert 0 < awake <= spec.npcs * (spec.district + 2) ** 2 // spec.rooms  # near the players
    record(figures, run, NPC_CLOCK)
    figures.record(awake_npcs=awake, npcs=world_.count(Npc))


@pytest.mark.benchmark(timer=HAND_OFF_CLOCK)
@pytest.mark.parametrize("world", WORLDS)
def test_hand_off(
    benchmark: BenchmarkFixture,
    figures: Figures,
    reference_runs: Callable[[str], ReferenceRun],
    world: str,
) -> None:
    """The tick's hand-off: the snapshot of its changes, then the network shell's delivery of
    its events to the 500 players (rendered, encoded, batched per player)."""
    run = reference_runs(world)
    HAND_OFF_CLOCK.watch(run.engine)
    frames = run.shell.hub.stats().frames_sent
    ticks(benchmark, run, figures)
    assert run.shell.hub.stats().frames_sent > frames
    record(figures, run, HAND_OFF_CLOCK)


@pytest.mark.parametrize("world", WORLDS)
def test_snapshot(
    benchmark: BenchmarkFixture,
    figures: Figures,
    reference_runs: Callable[[str], ReferenceRun],
    world: str,
) -> None:
    """The persistence snapshot of one tick's changes (the rows the writer will save)."""
    run = reference_runs(world)
    engine = run.engine
    schema = Schema(engine.registry.component_types)

    def a_tick() -> tuple[tuple[Any, ...], dict[str, Any]]:
        run.type_lines()
        return (engine.tick().changes, schema, engine.world), {}

    batch: Batch = ticks(benchmark, run, figures, target=take_snapshot, setup=a_tick)
    assert len(batch) > 0  # players moved, minds drifted: rows to write every tick
    record(figures, run)
    figures.record(rows_last_tick=len(batch))


def test_city_against_the_town(
    benchmark: BenchmarkFixture,
    figures: Figures,
    reference_runs: Callable[[str], ReferenceRun],
) -> None:
    """The same 500 players in a world ten times larger: the two worlds ticked in turn (who goes
    first alternating), each tick timed; the paired medians and p99s, and their ratio."""
    town, city = reference_runs("town-10k"), reference_runs("city-100k")
    samples: dict[str, list[int]] = {"town": [], "city": []}
    cpu: dict[str, list[int]] = {"town": [], "city": []}
    rounds = ROUNDS if figures.enabled else PLAIN_ROUNDS
    clock, thread_clock = time.perf_counter_ns, time.thread_time_ns

    def pair() -> None:
        order = [("town", town), ("city", city)]
        if len(samples["town"]) % 2:
            order.reverse()
        for name, run in order:
            run.type_lines()
            started, used = clock(), thread_clock()
            run.engine.tick()
            samples[name].append(clock() - started)
            cpu[name].append(thread_clock() - used)

    pedantic = benchmark.pedantic  # untyped in pytest-benchmark
    if figures.enabled:
        with served_heap():
            pedantic(pair, rounds=rounds, warmup_rounds=0)  # type: ignore[no-untyped-call]
    else:
        pedantic(pair, rounds=1)  # type: ignore[no-untyped-call]
        while len(samples["town"]) < rounds:  # pytest-benchmark ran it once
            pair()
    assert city.engine.world.count(Room) > 9 * town.engine.world.count(Room)
    town_p50, city_p50 = (statistics.median(samples[name]) for name in ("town", "city"))
    town_cpu, city_cpu = (statistics.median(cpu[name]) for name in ("town", "city"))
    figures.record(
        town_tick_p50_ms=town_p50 / 1e6,
        city_tick_p50_ms=city_p50 / 1e6,
        city_over_town=city_p50 / town_p50,
        town_tick_p99_ms=p99(samples["town"]) / 1e6,
        city_tick_p99_ms=p99(samples["city"]) / 1e6,
        town_cpu_p50_ms=town_cpu / 1e6,
        city_cpu_p50_ms=city_cpu / 1e6,
        city_over_town_cpu=city_cpu / town_cpu,
        ticks_each=rounds,
    )


def p99(samples: list[int]) -> int:
    """The nearest-rank 99th percentile, as the engine computes its own."""
    return nearest_rank(sorted(samples), 99)
