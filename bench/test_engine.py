"""Engine benchmarks: the idle tick, a two-component query loop, structural churn, dirty tracking.

Each benchmark is also a plain test: under ``--benchmark-disable`` (the default, as CI runs them)
every timed function runs once and only structural facts are asserted, never a time or a ratio,
since the machines are shared and noisy. The figures, the targets and how to reproduce them are in
docs/PERFORMANCE.md. Every world is seeded, and the heap is frozen after set-up, as the server does.
"""

from __future__ import annotations

import gc
import itertools
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import esper
import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from bench.conftest import Figure, Figures
from bench.worldgen import (
    InCombat,
    Location,
    Mix,
    Npc,
    Player,
    Position,
    Room,
    TransientVitals,
    Velocity,
    Vitals,
    frozen_heap,
    generate_world,
    paused_gc,
    spawn_movers,
)
from engine.core import Engine
from engine.plugins import Plugin, PluginKit
from engine.scheduler import System, SystemContext, system
from engine.world import World

SEED = 1927  # the year Lovecraft finished The Dream-Quest of Unknown Kadath
SIZES = [pytest.param(10_000, id="10k"), pytest.param(100_000, id="100k")]
CHURN_SHARE = 0.01
ESPER_CONTEXT = "bench-esper"

Timed = Callable[[], object]


def _rounds(entities: int, *, small: int, large: int) -> int:
    """Fewer rounds for the large world, whose ticks are ten times longer."""
    return small if entities <= 10_000 else large


# ------------------------------------------------------------------ timing helpers


def run_rotating(blocks: Sequence[Callable[[], None]], *, rounds: int) -> None:
    """Run every block once per round, starting each round one block later than the last.

    Rotating the order spreads warm caches, CPU-frequency drift and the machine's other load evenly
    over the blocks, so that ratios between them are fair even on a noisy machine.
    """
    count = len(blocks)
    for r in range(rounds):
        for i in range(count):
            blocks[(r + i) % count]()


class GcWatch:
    """Counts the cyclic collector's runs per generation, and the time they take, while active.

    Shows where a tick's time goes when it allocates many container objects.
    """

    def __init__(self) -> None:
        self.collections = [0, 0, 0]
        self.ns = 0
        self._started = 0

    def _callback(self, phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            self._started = time.perf_counter_ns()
        else:
            self.ns += time.perf_counter_ns() - self._started
            self.collections[info["generation"]] += 1

    def __enter__(self) -> GcWatch:
        gc.callbacks.append(self._callback)
        return self

    def __exit__(self, *_exc: object) -> None:
        gc.callbacks.remove(self._callback)


@dataclass(frozen=True, slots=True)
class Timing:
    """One variant of a paired measurement: its median and the garbage collector's share."""

    median_ns: float
    gc_ns_per_call: float
    full_collections: int

    @property
    def median_ms(self) -> float:
        return self.median_ns / 1e6

    @property
    def gc_ms_per_call(self) -> float:
        return self.gc_ns_per_call / 1e6


def paired_medians(
    variants: Mapping[str, Timed], *, enabled: bool, rounds: int, warmup: int
) -> dict[str, Timing]:
    """Time each variant ``rounds`` times, all in the same run, interleaved (see ``run_rotating``).

    Disabled (plain-test mode), each variant runs once, nothing is timed and the result is empty.
    """
    if not enabled:
        for fn in variants.values():
            fn()
        return {}
    for _ in range(warmup):
        for fn in variants.values():
            fn()
    samples: dict[str, list[int]] = {name: [] for name in variants}
    gc_ns = dict.fromkeys(variants, 0)
    full = dict.fromkeys(variants, 0)
    clock = time.perf_counter_ns

    def block(name: str, fn: Timed, watch: GcWatch) -> Callable[[], None]:
        record = samples[name].append

        def timed() -> None:
            gc_before, full_before = watch.ns, watch.collections[2]
            started = clock()
            fn()
            record(clock() - started)
            gc_ns[name] += watch.ns - gc_before
            full[name] += watch.collections[2] - full_before

        return timed

    with GcWatch() as watch:
        run_rotating([block(name, fn, watch) for name, fn in variants.items()], rounds=rounds)
    return {
        name: Timing(float(statistics.median(s)), gc_ns[name] / rounds, full[name])
        for name, s in samples.items()
    }


def pedantic(
    benchmark: BenchmarkFixture, fn: Callable[[], Any], *, rounds: int, warmup: int
) -> Any:
    """``benchmark.pedantic`` with types: ``rounds`` timed calls after ``warmup`` untimed ones."""
    run = benchmark.pedantic  # untyped in pytest-benchmark
    return run(fn, rounds=rounds, warmup_rounds=warmup)  # type: ignore[no-untyped-call]


def timing_figures(timings: Mapping[str, Timing]) -> dict[str, Figure]:
    """Each variant's median, and the collector's time and full collections over its calls."""
    figures: dict[str, Figure] = {}
    for name, timing in timings.items():
        figures[f"{name}_median_ms"] = timing.median_ms
        figures[f"{name}_gc_ms_per_call"] = timing.gc_ms_per_call
        figures[f"{name}_full_gcs"] = timing.full_collections
    return figures


def ratio(timings: Mapping[str, Timing], subject: str, baseline: str) -> float:
    """How many times slower ``subject`` was than ``baseline``, median to median."""
    return timings[subject].median_ns / timings[baseline].median_ns


# ------------------------------------------------------------------ systems under test


@system(phase="rules")
def move(world: World, ctx: SystemContext) -> None:
    """Advance every Position by its Velocity: the ECS "hello world", over two components."""
    for _entity, (position, velocity) in world.query(Position, Velocity):
        position.x += velocity.dx
        position.y += velocity.dy


@system(phase="rules")
def move_unless_in_combat(world: World, ctx: SystemContext) -> None:
    """The same, for entities that are not in combat: the query names the churned type."""
    for _entity, (position, velocity) in world.query(Position, Velocity, without=(InCombat,)):
        position.x += velocity.dx
        position.y += velocity.dy


def move_plain(pairs: list[tuple[Position, Velocity]]) -> None:
    """The loop of ``move`` over a plain list of the same component objects: the baseline."""
    for position, velocity in pairs:
        position.x += velocity.dx
        position.y += velocity.dy


class Churn:
    """Which entities gain and lose the tag each tick: a sliding window over a seeded shuffle.

    Each tick tags the next ``share`` of the entities and untags the ones tagged the tick before,
    so the tagged set is always one batch and no entity is tagged two ticks running.
    """

    def __init__(self, entities: Sequence[int], *, share: float, seed: int) -> None:
        self.order = list(entities)
        random.Random(seed).shuffle(self.order)
        self.batch = max(1, round(len(self.order) * share))
        if 2 * self.batch > len(self.order):
            raise ValueError(f"churn share {share} is too large for {len(self.order)} entities")
        self._cursor = 0
        self.tagged: list[int] = []

    def next(self) -> tuple[list[int], list[int]]:
        """``(entities to untag, entities to tag)`` for this tick."""
        if self._cursor + self.batch > len(self.order):
            self._cursor = 0
        tag = self.order[self._cursor : self._cursor + self.batch]
        self._cursor += self.batch
        untag, self.tagged = self.tagged, tag
        return untag, tag


def churn_system(churn: Churn) -> System:
    """An early-phase system putting ``churn`` into effect with ``World.add``/``World.remove``."""

    def churn_in_combat(world: World, ctx: SystemContext) -> None:
        untag, tag = churn.next()
        for entity in untag:
            world.remove(entity, InCombat)
        for entity in tag:
            world.add(entity, InCombat())

    return System("churn_in_combat", churn_in_combat, phase="early")


def make_engine(world: World, *systems: System) -> Engine:
    """An engine over ``world`` whose only plugin registers ``systems``."""

    def setup(kit: PluginKit) -> None:
        for declared in systems:
            kit.system(declared)

    return Engine(plugins=[Plugin("bench", setup)], world=world)


@contextmanager
def esper_context(name: str) -> Iterator[None]:
    """Make ``name`` esper's current context for the block, then restore the previous one."""
    previous = esper.current_world
    esper.switch_world(name)
    try:
        yield
    finally:
        esper.switch_world(previous)


class EsperMovers:
    """Copies of a world's movers in a plain esper context of their own: the contrast for churn.

    Plain esper throws away every cached query on any structural change, so the query after a churn
    rebuilds its whole result list.
    """

    def __init__(self, world: World) -> None:
        rows = world.query(Position, Velocity)
        with esper_context(ESPER_CONTEXT), paused_gc():
            esper.clear_database()
            self.entities = [
                esper.create_entity(Position(p.x, p.y), Velocity(v.dx, v.dy))
                for _entity, (p, v) in rows
            ]

    def tick(self, churn: Churn | None) -> int:
        """Churn (if given), then the movement loop over ``esper.get_components``; returns rows."""
        previous = esper.current_world
        esper.switch_world(ESPER_CONTEXT)
        try:
            if churn is not None:
                untag, tag = churn.next()
                for entity in untag:
                    esper.remove_component(entity, InCombat)
                for entity in tag:
                    esper.add_component(entity, InCombat())
            rows = esper.get_components(Position, Velocity)
            for _entity, (position, velocity) in rows:
                position.x += velocity.dx
                position.y += velocity.dy
            return len(rows)
        finally:
            esper.switch_world(previous)

    def close(self) -> None:
        if esper.current_world == ESPER_CONTEXT:
            esper.switch_world("default")
        esper.delete_world(ESPER_CONTEXT)


# ------------------------------------------------------------------ world generator


def test_same_seed_and_size_give_the_same_world() -> None:
    first, second = World(seed=SEED), World(seed=SEED)
    layout_a = generate_world(first, entities=2_000, seed=7, motion=True)
    layout_b = generate_world(second, entities=2_000, seed=7, motion=True)
    assert first.dump() == second.dump()
    assert layout_a == layout_b


def test_another_seed_gives_another_world() -> None:
    first, second = World(seed=SEED), World(seed=SEED)
    generate_world(first, entities=2_000, seed=7)
    generate_world(second, entities=2_000, seed=8)
    assert first.dump() != second.dump()


def test_generation_uses_neither_the_global_nor_the_world_rng() -> None:
    world = World(seed=SEED)
    global_state, world_state = random.getstate(), world.rng.getstate()
    generate_world(world, entities=500, seed=3)
    assert random.getstate() == global_state
    assert world.rng.getstate() == world_state


def test_generated_world_has_the_requested_mix_on_a_square_ish_grid() -> None:
    world = World(seed=SEED)
    layout = generate_world(world, entities=10_000, seed=5, mix=Mix(carried_items=0.25))
    assert len(world) == 10_000
    assert (len(layout.rooms), len(layout.players), len(layout.npcs), len(layout.items)) == (
        100,
        500,
        2_000,
        7_400,
    )
    assert (layout.width, layout.height) == (10, 10)
    assert world.count(Room) == 100
    assert world.count(Player) == 500
    assert world.count(Npc) == 2_000
    assert world.count(Vitals) == 2_500
    room = world.get(layout.room_at(3, 2), Room)
    assert (room.x, room.y) == (3, 2)
    rooms = set(layout.rooms)
    assert all(layout.entity_of(loc.room) in rooms for _entity, loc in world.query(Location))
    assert len(world.collect_changes()) == 0  # marked clean, as if just loaded
    assert all(world.is_persistent(entity) for entity in world.entities())


def test_a_transient_world_refers_by_entity_id() -> None:
    world = World(seed=SEED)
    layout = generate_world(world, entities=300, seed=5, persistent=False, mark_clean=False)
    assert not any(world.is_persistent(entity) for entity in world.entities())
    for entity in layout.mobiles:
        assert layout.entity_of(world.get(entity, Location).room) in layout.rooms


def test_mix_rejects_shares_that_do_not_add_up() -> None:
    with pytest.raises(ValueError, match="must not exceed 1"):
        Mix(rooms=0.5, players=0.3, npcs=0.3)
    with pytest.raises(ValueError, match="at least one entity"):
        Mix().counts(0)


# ------------------------------------------------------------------ a. the empty tick


@pytest.mark.parametrize("entities", SIZES)
def test_empty_tick(benchmark: BenchmarkFixture, figures: Figures, entities: int) -> None:
    """A tick with no systems over N idle entities costs the same as over an empty world.

    Also times one full garbage collection with the world's heap frozen and unfrozen: what
    ``gc.freeze()`` after loading saves the server whenever a full collection comes due.
    """
    world = World(seed=SEED)
    generate_world(world, entities=entities, seed=SEED)
    engine = Engine(plugins=[], world=world)
    bare = Engine(plugins=[], world=World(seed=SEED))
    with frozen_heap():
        result = pedantic(benchmark, engine.tick, rounds=3_000, warmup=200)
        medians = paired_medians(
            {"tick": engine.tick, "tick_empty_world": bare.tick},
            enabled=figures.enabled,
            rounds=3_000,
            warmup=200,
        )
        collections = (
            paired_medians(
                {
                    "full_gc_frozen": gc.collect,
                    "full_gc_unfrozen": _collect_unfrozen,
                },
                enabled=True,
                rounds=5,
                warmup=1,
            )
            if figures.enabled
            else {}
        )
    assert len(world) == entities
    assert len(result.changes) == 0 and result.events == []
    if medians and collections:
        figures.record(
            entities=entities,
            **timing_figures(medians),
            ratio_to_empty_world=ratio(medians, "tick", "tick_empty_world"),
            full_gc_frozen_median_ms=collections["full_gc_frozen"].median_ms,
            full_gc_unfrozen_median_ms=collections["full_gc_unfrozen"].median_ms,
            engine_own_p50_ms=engine.stats().tick_cost.p50_ns / 1e6,
            target_median_ms_max=0.5,
        )


def _collect_unfrozen() -> None:
    """A full collection as if the heap had never been frozen (unfreezing is O(1))."""
    gc.unfreeze()
    try:
        gc.collect()
    finally:
        gc.freeze()


# ------------------------------------------------------------------ b. a query loop


@pytest.mark.parametrize("entities", SIZES)
def test_movement_system_over_two_components(
    benchmark: BenchmarkFixture, figures: Figures, entities: int
) -> None:
    """The movement system in a tick, against the same loop over plain lists of the same objects."""
    world = World(seed=SEED)
    spawn_movers(world, count=entities, seed=SEED)
    engine = make_engine(world, move)
    rows = world.query(Position, Velocity)
    assert len(rows) == entities
    pairs: list[tuple[Position, Velocity]] = [components for _entity, components in rows]
    first = pairs[0][0]
    start_x = first.x
    ctx = SystemContext(tick=0, now_s=0.0, dt_s=0.1)
    rounds = _rounds(entities, small=400, large=60)
    with frozen_heap():
        pedantic(benchmark, engine.tick, rounds=rounds, warmup=5)
        medians = paired_medians(
            {
                "tick": engine.tick,
                "system": lambda: move.run(world, ctx),
                "plain": lambda: move_plain(pairs),
            },
            enabled=figures.enabled,
            rounds=rounds,
            warmup=5,
        )
    assert first.x != start_x
    assert world.query(Position, Velocity) is rows  # no structural change: the cache held
    if medians:
        figures.record(
            entities=entities,
            **timing_figures(medians),
            ratio_tick_to_plain=ratio(medians, "tick", "plain"),
            ratio_system_to_plain=ratio(medians, "system", "plain"),
            target_ratio_max=1.5,
        )


# ------------------------------------------------------------------ c. structural churn


@pytest.mark.parametrize("entities", SIZES)
def test_structural_churn_of_one_percent(
    benchmark: BenchmarkFixture, figures: Figures, entities: int
) -> None:
    """1% of entities gain and 1% lose a tag each tick while the movement system runs.

    Compared with the same tick without churn, and with plain esper doing the same, in one run.
    """
    world = World(seed=SEED)
    movers = spawn_movers(world, count=entities, seed=SEED)
    churn = Churn(movers, share=CHURN_SHARE, seed=SEED)
    churning = make_engine(world, churn_system(churn), move)
    steady = make_engine(world, move)
    plain = EsperMovers(world)
    plain_churn = Churn(plain.entities, share=CHURN_SHARE, seed=SEED)
    rounds = _rounds(entities, small=300, large=40)
    try:
        with frozen_heap():
            pedantic(benchmark, churning.tick, rounds=rounds, warmup=5)
            assert world.count(InCombat) == churn.batch
            assert sorted(e for e, _tag in world.query(InCombat)) == sorted(churn.tagged)
            assert world.count(Position, Velocity) == entities
            medians = paired_medians(
                {
                    "kadath_steady": steady.tick,
                    "kadath_churn": churning.tick,
                    "esper_steady": lambda: plain.tick(None),
                    "esper_churn": lambda: plain.tick(plain_churn),
                },
                enabled=figures.enabled,
                rounds=rounds,
                warmup=3,
            )
        assert plain.tick(plain_churn) == entities
        with esper_context(ESPER_CONTEXT):
            assert len(esper.get_component(InCombat)) == plain_churn.batch
    finally:
        plain.close()
    if medians:
        figures.record(
            entities=entities,
            churn_per_tick=f"+{churn.batch}/-{churn.batch}",
            **timing_figures(medians),
            kadath_ratio_churn_to_steady=ratio(medians, "kadath_churn", "kadath_steady"),
            kadath_us_per_structural_change=(
                medians["kadath_churn"].median_ns - medians["kadath_steady"].median_ns
            )
            / (2 * churn.batch)
            / 1e3,
            esper_ratio_churn_to_steady=ratio(medians, "esper_churn", "esper_steady"),
            esper_churn_to_kadath_churn=ratio(medians, "esper_churn", "kadath_churn"),
            target_ratio_max=2.0,
        )


@pytest.mark.parametrize("entities", SIZES)
def test_structural_churn_on_a_type_the_query_excludes(
    benchmark: BenchmarkFixture, figures: Figures, entities: int
) -> None:
    """The same churn when the movement query says ``without=(InCombat,)``: its rows do change.

    Afterwards, the plain movement system (whose query the churn never touched) is timed on this
    world and on a fresh copy of it, to show what the churn did to memory locality.
    """
    world = World(seed=SEED)
    movers = spawn_movers(world, count=entities, seed=SEED)
    fresh = World(seed=SEED)
    spawn_movers(fresh, count=entities, seed=SEED)
    churn = Churn(movers, share=CHURN_SHARE, seed=SEED)
    churning = make_engine(world, churn_system(churn), move_unless_in_combat)
    steady = make_engine(world, move_unless_in_combat)
    ctx = SystemContext(tick=0, now_s=0.0, dt_s=0.1)
    for built in (world, fresh):
        built.query(Position, Velocity)  # build before freezing, like the fresh world's
    rounds = _rounds(entities, small=300, large=40)
    with frozen_heap():
        pedantic(benchmark, churning.tick, rounds=rounds, warmup=5)
        rows = world.query(Position, Velocity, without=(InCombat,))
        assert len(rows) == entities - churn.batch
        assert not set(churn.tagged) & {entity for entity, _components in rows}
        medians = paired_medians(
            {"steady": steady.tick, "churn": churning.tick},
            enabled=figures.enabled,
            rounds=rounds,
            warmup=3,
        )
        after = paired_medians(
            {
                "move_churned_world": lambda: move.run(world, ctx),
                "move_fresh_world": lambda: move.run(fresh, ctx),
            },
            enabled=figures.enabled,
            rounds=rounds,
            warmup=3,
        )
    assert world.count(Position, Velocity) == fresh.count(Position, Velocity) == entities
    if medians and after:
        figures.record(
            entities=entities,
            **timing_figures(medians),
            ratio_churn_to_steady=ratio(medians, "churn", "steady"),
            **timing_figures(after),
            ratio_move_churned_to_fresh_world=ratio(
                after, "move_churned_world", "move_fresh_world"
            ),
        )


# ------------------------------------------------------------------ d. dirty tracking
#
# The write and read loops below are identical on purpose but are separate functions: CPython keeps
# its attribute caches per function, and one function fed two classes in turn would slow the
# plain-dataclass baseline down and flatter the tracked side.


def _write_tracked(components: list[Vitals], hp: int) -> None:
    for vitals in components:
        vitals.hp = hp


def _write_untracked_persistent_type(components: list[Vitals], hp: int) -> None:
    for vitals in components:
        vitals.hp = hp


def _write_plain(components: list[TransientVitals], hp: int) -> None:
    for vitals in components:
        vitals.hp = hp


def fill_holes(make: Callable[[], object], count: int) -> list[object]:
    """``count`` objects made by ``make``, to be kept alive while a measured list is made after.

    CPython's allocator fills the holes that freed objects left in a size class before it takes
    fresh memory, so the first objects made in a class scatter over old pools. Without this, up to
    a third of 10,000 tracked ``Vitals`` did, and up to a quarter of the plain ones. Enough
    objects (``count``) fill every hole that the runs before leave, and the list made next lies
    in fresh memory, contiguous, whatever its class and whatever ran before. The
    ``contiguous_share_*`` figures check it.
    """
    return [make() for _ in range(count)]


def _size_class(obj: object) -> int:
    """The bytes between two neighbours of ``obj``'s size made one after the other."""
    return -(-sys.getsizeof(obj) // 16) * 16


def contiguous_share(objects: Sequence[object]) -> float:
    """The share of neighbours in ``objects`` that lie one size class apart, in order."""
    step = _size_class(objects[0])
    pairs = list(itertools.pairwise(objects))
    return sum(id(b) - id(a) == step for a, b in pairs) / len(pairs)


def _read_tracked(components: list[Vitals]) -> int:
    total = 0
    for vitals in components:
        total += vitals.hp
    return total


def _read_plain(components: list[TransientVitals]) -> int:
    total = 0
    for vitals in components:
        total += vitals.hp
    return total


@pytest.mark.parametrize("entities", SIZES)
def test_dirty_tracking(benchmark: BenchmarkFixture, figures: Figures, entities: int) -> None:
    """Writing ``vitals.hp`` once per tick on N tracked components, then collecting the changes.

    Against the same loop on N ``TransientVitals`` (a plain slotted dataclass) and on N ``Vitals``
    of transient entities (persistent type, so the write hook runs, but nothing is tracked); the
    read loops show what reads cost. The tracked tick is timed with the heap frozen (as in the
    server) and, interleaved in the same run, unfrozen, to show what ``gc.freeze()`` changes.
    """
    world = World(seed=SEED)
    rng = random.Random(SEED)
    hps = [rng.randint(1, 100) for _ in range(entities)]
    with paused_gc():
        # A read loop over many objects is bound by memory, so its time follows how far apart
        # the objects lie, which follows the order they were made in. CPython's allocator hands
        # out objects of one size class (16-byte steps) from shared pools: two lists made in one
        # interleaved loop sit two objects apart if their objects fall in the same class (a
        # tracked and an untracked ``Vitals``) and contiguous if not (``TransientVitals``, a
        # smaller class). Spawning between two components puts whatever the spawn allocates in
        # their class between them. So each list is made in a loop of its own, in fresh memory
        # (fill_holes), before any entity is spawned: each is contiguous in its own size class,
        # and the tracked read pays for the tracking slots and nothing else.
        holes = max(entities, 50_000)  # 10,000 left some holes at 10k; 50,000 left none
        ballast = fill_holes(lambda: Vitals(0, 0), holes)
        tracked = [Vitals(hp, 100) for hp in hps]
        hooked = [Vitals(hp, 100) for hp in hps]
        ballast += fill_holes(lambda: TransientVitals(0, 0), holes)
        plain = [TransientVitals(hp, 100) for hp in hps]
        for vitals in tracked:
            world.spawn(vitals, persistent=True)
        for vitals in hooked:
            world.spawn(vitals)
        for transient in plain:
            world.spawn(transient)
        # The same two again, each spawned as soon as it is made, as a loader would: each side
        # then has whatever a spawn allocates in its size class between its components. A
        # figure of allocation order, not of tracking (no target), kept to show its weight.
        tracked_as_made: list[Vitals] = []
        plain_as_made: list[TransientVitals] = []
        ballast += fill_holes(lambda: Vitals(0, 0), holes)
        for hp in hps:
            tracked_as_made.append(Vitals(hp, 100))
            world.spawn(tracked_as_made[-1], persistent=True)
        ballast += fill_holes(lambda: TransientVitals(0, 0), holes)
        for hp in hps:
            plain_as_made.append(TransientVitals(hp, 100))
            world.spawn(plain_as_made[-1])
        del ballast
        world.mark_clean()
    values = itertools.count(1_000)  # above every initial hp: each write is a real change
    changed_counts: list[int] = []

    def tick() -> int:
        _write_tracked(tracked, next(values))
        changed = len(world.collect_changes().changed)
        changed_counts.append(changed)
        return changed

    samples: dict[str, list[int]] = defaultdict(list)
    gc_ns: dict[str, int] = defaultdict(int)
    full_gcs: dict[str, int] = defaultdict(int)
    clock = time.perf_counter_ns
    watch = GcWatch()

    def tracked_block(heap: str) -> Callable[[], None]:
        def run() -> None:
            # Freezing and unfreezing only relink the collector's lists: O(1), and untimed.
            gc.freeze() if heap == "frozen" else gc.unfreeze()
            hp = next(values)
            gc_before, full_before = watch.ns, watch.collections[2]
            started = clock()
            _write_tracked(tracked, hp)
            written = clock()
            changes = world.collect_changes()
            samples[f"collect_{heap}"].append(clock() - written)
            samples[f"write_tracked_{heap}"].append(written - started)
            gc_ns[heap] += watch.ns - gc_before
            full_gcs[heap] += watch.collections[2] - full_before
            changed_counts.append(len(changes.changed))

        return run

    def hooked_block() -> None:
        gc.freeze()
        hp = next(values)
        started = clock()
        _write_untracked_persistent_type(hooked, hp)
        samples["write_hooked"].append(clock() - started)

    def plain_block() -> None:
        gc.freeze()
        hp = next(values)
        started = clock()
        _write_plain(plain, hp)
        samples["write_plain"].append(clock() - started)

    def read_block(
        suffix: str, tracked: list[Vitals], plain: list[TransientVitals]
    ) -> Callable[[], None]:
        def run() -> None:
            # Each side starts mostly out of the cache: the tracked read follows another block
            # (mostly plain_block, which leaves the plain list in the cache, not the tracked
            # one), and the plain read follows the tracked read, which evicts most of it.
            gc.freeze()
            started = clock()
            _read_tracked(tracked)
            middle = clock()
            _read_plain(plain)
            samples[f"read_tracked{suffix}"].append(middle - started)
            samples[f"read_plain{suffix}"].append(clock() - middle)

        return run

    blocks = [
        tracked_block("frozen"),
        tracked_block("unfrozen"),
        hooked_block,
        plain_block,
        read_block("", tracked, plain),
        read_block("_as_made", tracked_as_made, plain_as_made),
    ]
    rounds = _rounds(entities, small=300, large=40)
    with frozen_heap():
        pedantic(benchmark, tick, rounds=rounds, warmup=3)
        if figures.enabled:
            run_rotating(blocks, rounds=3)  # warm-up
            samples.clear()
            gc_ns.clear()
            full_gcs.clear()
            with watch:
                run_rotating(blocks, rounds=rounds)
        else:
            run_rotating(blocks, rounds=1)
    assert changed_counts and all(count == entities for count in changed_counts)
    assert all(vitals.hp == hooked[0].hp for vitals in hooked)
    if figures.enabled:
        us = {name: statistics.median(series) / entities / 1e3 for name, series in samples.items()}
        figures.record(
            entities=entities,
            write_tracked_us_per_change=us["write_tracked_frozen"],
            write_plain_us_per_write=us["write_plain"],
            write_persistent_type_untracked_us_per_write=us["write_hooked"],
            ratio_tracked_to_plain_write=us["write_tracked_frozen"] / us["write_plain"],
            collect_changes_us_per_dirty_component=us["collect_frozen"],
            tick_us_per_change=us["write_tracked_frozen"] + us["collect_frozen"],
            read_tracked_us_per_read=us["read_tracked"],
            read_plain_us_per_read=us["read_plain"],
            ratio_read_tracked_to_plain=us["read_tracked"] / us["read_plain"],
            as_made_read_tracked_us_per_read=us["read_tracked_as_made"],
            as_made_read_plain_us_per_read=us["read_plain_as_made"],
            as_made_ratio_read_tracked_to_plain=us["read_tracked_as_made"]
            / us["read_plain_as_made"],
            contiguous_share_tracked=contiguous_share(tracked),
            contiguous_share_plain=contiguous_share(plain),
            contiguous_share_tracked_as_made=contiguous_share(tracked_as_made),
            contiguous_share_plain_as_made=contiguous_share(plain_as_made),
            unfrozen_write_tracked_us_per_change=us["write_tracked_unfrozen"],
            unfrozen_collect_changes_us_per_dirty_component=us["collect_unfrozen"],
            ratio_unfrozen_to_frozen_tick=(us["write_tracked_unfrozen"] + us["collect_unfrozen"])
            / (us["write_tracked_frozen"] + us["collect_frozen"]),
            gc_ms_per_tracked_tick_frozen=gc_ns["frozen"] / rounds / 1e6,
            gc_ms_per_tracked_tick_unfrozen=gc_ns["unfrozen"] / rounds / 1e6,
            full_gcs_frozen=full_gcs["frozen"],
            full_gcs_unfrozen=full_gcs["unfrozen"],
            gc_collections_gen0_gen1_gen2="/".join(map(str, watch.collections)),
            rounds=rounds,
            target_us_per_change_max=0.5,
        )
