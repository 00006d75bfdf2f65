"""Journal benchmarks: what journaling 100 typed commands a tick (1,000 a second at 10 Hz) costs the
tick thread, how many such ticks a second the journal thread can write, and how many bytes a
command takes in the file (issue #10: at most 0.1 ms a tick on the tick thread).

The world is real game content, as in ``bench/test_world.py`` (``bench/worldgen.py``'s synthetic
``bench_*`` components have no commands): rooms on a grid joined north/south/east/west, items on
their floors, NPCs placed by spawn rules, and players who entered through ``EnterWorld`` inputs.
Each tick, 100 players drawn at random (seeded) type a line through ``engine.submit_line``: look,
say, a step, get or drop, chosen from the world as it stands so that most of them succeed. The
real ``PersistenceService`` runs on SQLite in a temporary folder, its writer and journal threads
started; ``Engine.tick()`` hands every tick to the service's own hand-off (``take_snapshot``,
``Writer.submit``, ``JournalWriter.submit``).

Paired, in one run: ticks alternate between the stock hand-off and the same hand-off with the
journal's ``submit`` switched off (which goes first alternates too), and each tick's hand-off
(between a listener placed before the service's and one after it) and whole tick are timed.
Before every tick the journal thread has written everything queued, as it has at 10 Hz (a tick's
record takes it well under a millisecond); the figures are the tick thread's own cost, not the
GIL it could lose to a busy journal thread.

Under ``--benchmark-disable`` (the default, as CI runs them) the world is small, a few ticks run,
and only correctness is asserted: every journaled tick's record holds its 100 inputs and the
digests of its changes, and no other tick has one. Nothing asserts a time. The figures, the
target and the command that reproduces them are in docs/PERFORMANCE.md ("Journal").
"""

from __future__ import annotations

import math
import os
import queue
import random
import statistics
import sys
import time
from collections import Counter, deque
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
from pytest_benchmark.fixture import BenchmarkFixture

from bench.conftest import Figures
from bench.worldgen import frozen_heap, paused_gc
from components.body import Offline, Player
from components.content import (
    Content,
    Directory,
    ExitDef,
    ItemStack,
    ItemTemplate,
    NpcTemplate,
    RoomDef,
    SpawnRule,
    ZoneDef,
)
from components.items import Item
from components.place import Location
from engine.cli import GIL_SWITCH_INTERVAL_S
from engine.commands import Command, Input
from engine.config import Config, PersistConfig
from engine.core import Engine, TickResult
from engine.inputs import EnterWorld
from engine.world import Changes, World
from persist.journal import JournalWriter, change_digests, encode_input, read_run
from persist.service import PersistenceService
from systems import plugin as core
from systems.content.build import build_world
from systems.whereabouts import contents, room_of

SEED = 1927
COMMANDS_PER_TICK = 100  # 1,000 commands a second at the default 10 Hz
TARGET_MS = 0.1  # issue #10: journaling adds at most this much per tick on the tick thread
#: Generous bound for the journal thread to write what is queued; never an assertion on speed.
DRAIN_TIMEOUT_S = 60.0
DRAIN_POLL_S = 0.0002


@dataclass(frozen=True, slots=True)
class Size:
    """How big the world is and how long each part of a benchmark runs."""

    grid: int  # rooms per side
    floor_items: int
    npcs_per_room: int
    players: int
    bench_rounds: int  # pytest-benchmark's rounds: journaled ticks
    paired_rounds: int  # rounds of one tick with the journal and one without
    warmup_rounds: int
    breakdown_reps: int  # passes over the recorded ticks when taking ``submit`` apart
    recorded_ticks: int  # ticks recorded for the throughput benchmark
    throughput_ticks: int  # ticks the journal thread writes per throughput round
    throughput_rounds: int


BENCH = Size(
    grid=10,
    floor_items=1_500,
    npcs_per_room=3,
    players=500,
    bench_rounds=200,
    paired_rounds=500,
    warmup_rounds=20,
    breakdown_reps=20,
    recorded_ticks=100,
    throughput_ticks=2_000,
    throughput_rounds=5,
)
PLAIN = Size(
    grid=4,
    floor_items=120,
    npcs_per_room=1,
    players=COMMANDS_PER_TICK,
    bench_rounds=1,
    paired_rounds=2,
    warmup_rounds=0,
    breakdown_reps=1,
    recorded_ticks=4,
    throughput_ticks=12,
    throughput_rounds=1,
)

ITEM_TEMPLATES = tuple(
    ItemTemplate(f"trinket{i}", f"a dusty trinket {i}", (f"trinket{i}", "trinket"), "Dusty.")
    for i in range(8)
)
NPC_TEMPLATES = tuple(
    NpcTemplate(f"zoog{i}", f"a zoog of clan {i}", (f"zoog{i}", "zoog"), "It chitters.")
    for i in range(4)
)
SAYINGS = (
    "The stars are right tonight.",
    "Has anyone seen the silver key?",
    "I dreamed of Kadath again.",
    "Beware the zoogs of the enchanted wood.",
    "hello",
)
#: What players type, with how often: (kind, weight).
COMMAND_MIX: tuple[tuple[str, int], ...] = (
    ("look", 30),
    ("say", 25),
    ("move", 25),
    ("get", 10),
    ("drop", 10),
)
#: Carried things past which a player drops rather than picks up.
CARRY_AT_MOST = 3
COMPASS = (("north", 0, -1), ("east", 1, 0), ("south", 0, 1), ("west", -1, 0))


def room_key(x: int, y: int) -> str:
    return f"r{x}_{y}"


def grid_content(size: Size, rng: random.Random) -> Content:
    """Rooms on a grid joined by exits, trinkets on their floors, spawn rules for zoogs."""
    floors: dict[str, list[ItemStack]] = {
        room_key(x, y): [] for x in range(size.grid) for y in range(size.grid)
    }
    keys = sorted(floors)
    for _ in range(size.floor_items):
        floors[rng.choice(keys)].append(ItemStack(rng.choice(ITEM_TEMPLATES).id))
    rooms = []
    for y in range(size.grid):
        for x in range(size.grid):
            exits = tuple(
                ExitDef(direction[0], room_key(x + dx, y + dy))
                for direction, dx, dy in COMPASS
                if 0 <= x + dx < size.grid and 0 <= y + dy < size.grid
            )
            key = room_key(x, y)
            rooms.append(
                RoomDef(
                    key, "bench", f"Room {x},{y}", "A room.", exits=exits, items=tuple(floors[key])
                )
            )
    spawns = tuple(
        SpawnRule(rng.choice(NPC_TEMPLATES).id, key, max=size.npcs_per_room) for key in keys
    )
    return Content(
        zones=(ZoneDef("bench", "The Grid"),),
        rooms=tuple(rooms),
        items=ITEM_TEMPLATES,
        npcs=NPC_TEMPLATES,
        spawns=spawns,
        start_room=room_key(size.grid // 2, size.grid // 2),
    )


@dataclass(frozen=True, slots=True)
class Recorded:
    """What the journal was handed for one tick: kept to check its record, and to hand to the
    throughput benchmark's writers."""

    tick: int
    inputs: tuple[Input, ...]
    changes: Changes


class JournalBench:
    """An engine over the grid world with the persistence service started, its journal on.

    Two listeners bracket the service's hand-off to time it; ``switch`` turns the journal's
    ``submit`` off (an instance attribute shadowing the method) or back on (the stock method).
    """

    def __init__(self, folder: Path, size: Size) -> None:
        self.size = size
        folder.mkdir(parents=True, exist_ok=True)
        rng = random.Random(SEED)
        self.rng = rng
        config = Config(
            persist=PersistConfig(
                database_url=f"sqlite:///{folder / 'world.db'}",
                journal_dir=str(folder / "journal"),
            )
        )
        self.engine = engine = Engine(config, plugins=[core])
        with paused_gc():
            build_world(engine.world, grid_content(size, rng))
        engine.world.mark_clean()
        self.clock = time.perf_counter_ns
        self._hand_off_started = 0
        #: The last tick's times in ns: the whole ``Engine.tick()``, and the hand-off inside it.
        self.tick_ns = 0
        self.hand_off_ns = 0
        self.journaled = True
        #: The last ``recorded_ticks`` ticks handed to the journal with inputs.
        self.recorded: deque[Recorded] = deque(maxlen=size.recorded_ticks)
        self._pending: list[Recorded] = []
        #: Each journaled tick with inputs: its record as JSON (inputs, change digests), and
        #: whether it was a tick of typed lines. Kept as bytes, which the collector never scans,
        #: so that the heap does not grow with the run (see ``settle``).
        self.expected: dict[int, tuple[bytes, bool]] = {}
        self.changes_per_typed_tick: list[int] = []
        self.skipped_ticks: list[int] = []
        self.expected_records = 0
        self.refused = 0  # commands answered with an error (an item another player took first)
        self.typed: Counter[str] = Counter()  # lines typed, by kind
        engine.on_tick_end(self._before_hand_off)
        self.service = PersistenceService(config)
        self.service.start(engine)
        engine.on_tick_end(self._after_hand_off)
        assert self.service.journal is not None and self.service.writer is not None
        self.journal: JournalWriter = self.service.journal
        # Players come in as the shell brings them: one EnterWorld input each, inside a tick;
        # then the spawn rules fill the rooms and the start-up systems settle.
        for index in range(size.players):
            engine.submit(EnterWorld(f"dreamer{index}", None))
        engine.run_ticks(engine.world.clock.ticks_for(2.0))
        self.wait_drained()
        world = engine.world
        directory = world.resource(Directory)
        self.cell = {
            directory.rooms[room_key(x, y)]: (x, y)
            for x in range(size.grid)
            for y in range(size.grid)
        }
        found: list[tuple[int, Any]] = world.query(Player, Location, without=(Offline,))
        self.players = sorted(entity for entity, _ in found)
        assert len(self.players) == size.players

    # ------------------------------------------------------------------ listeners

    def _before_hand_off(self, _result: TickResult) -> None:
        self._hand_off_started = self.clock()

    def _after_hand_off(self, result: TickResult) -> None:
        self.hand_off_ns = self.clock() - self._hand_off_started
        self.refused += sum(1 for event in result.events if event.type == "error")
        changes = result.changes
        if not self.journaled:
            self.skipped_ticks.append(result.tick)
        elif result.inputs or len(changes) or changes.destroyed:
            # The journal records a tick that consumed an input or changed persistent state.
            self.expected_records += 1
            if result.inputs:
                self._pending.append(Recorded(result.tick, result.inputs, changes))

    # ------------------------------------------------------------------ driving

    def switch(self, journaled: bool) -> None:
        """The stock hand-off, or the same hand-off with ``journal.submit`` doing nothing."""
        self.journaled = journaled
        if journaled:
            vars(self.journal).pop("submit", None)
        else:
            vars(self.journal)["submit"] = _skip

    def type_lines(self) -> None:
        """Queue this tick's typed lines: ``COMMANDS_PER_TICK`` players, one line each."""
        world = self.engine.world
        kinds = [kind for kind, _ in COMMAND_MIX]
        weights = [weight for _, weight in COMMAND_MIX]
        rng = self.rng
        for actor in rng.sample(self.players, COMMANDS_PER_TICK):
            kind = rng.choices(kinds, weights)[0]
            room = room_of(world, actor)
            assert room is not None
            carried = sum(1 for e in contents(world, actor) if world.has(e, Item))
            if kind == "get" and (carried >= CARRY_AT_MOST or not self._floor_has_items(room)):
                kind = "drop" if carried else "look"
            elif kind == "drop" and not carried:
                kind = "get" if self._floor_has_items(room) else "look"
            if kind == "say":
                line = f"say {rng.choice(SAYINGS)}"
            elif kind == "move":
                x, y = self.cell[room]
                grid = self.size.grid
                ways = [
                    verb for verb, dx, dy in COMPASS if 0 <= x + dx < grid and 0 <= y + dy < grid
                ]
                line = rng.choice(ways)
            elif kind in ("get", "drop"):
                line = f"{kind} trinket"
            else:
                line = "look"
            self.typed[kind] += 1
            self.engine.submit_line(actor, line, role="player")

    def _floor_has_items(self, room: int) -> bool:
        world = self.engine.world
        return any(world.has(e, Item) for e in contents(world, room))

    def tick(self) -> TickResult:
        """One tick of typed commands, timed; the journal thread has caught up before it."""
        self.wait_drained()
        self.type_lines()
        started = self.clock()
        result = self.engine.tick()
        self.tick_ns = self.clock() - started
        assert len(result.inputs) == COMMANDS_PER_TICK
        return result

    def settle(self) -> None:
        """Turn the ticks handed to the journal since the last call into their expected records
        (untimed: between ticks)."""
        world = self.engine.world
        for recorded in self._pending:
            encoded = [encode_input(world, item) for item in recorded.inputs]
            digests = change_digests(recorded.changes)
            typed = all(isinstance(item, Command) for item in recorded.inputs)
            self.expected[recorded.tick] = (orjson.dumps([encoded, digests]), typed)
            if typed:
                self.changes_per_typed_tick.append(len(recorded.changes))
            self.recorded.append(recorded)
        self._pending.clear()

    def wait_drained(self) -> None:
        """Wait until the journal thread has written every record it was handed."""
        self.settle()
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        journal = self.journal
        while journal.stats().records < self.expected_records:
            assert not journal.stats().failed, journal.stats().last_error
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"the journal thread wrote {journal.stats().records} of "
                    f"{self.expected_records} records in {DRAIN_TIMEOUT_S} s"
                )
            time.sleep(DRAIN_POLL_S)

    def stop(self) -> Path:
        """Stop the service (journal end record, final flush); the journal's run folder."""
        self.switch(True)
        self.wait_drained()
        self.service.stop(self.engine)
        writer = self.service.writer
        assert writer is not None
        stats = writer.stats()
        assert stats.failures == 0 and not writer.quarantine, stats.last_error
        journal = self.journal.stats()
        assert not journal.failed and journal.unjournaled_inputs == 0, journal.last_error
        return self.journal.folder


def _skip(world: World, tick: int, inputs: Sequence[Input], changes: Changes) -> None:
    """``JournalWriter.submit`` switched off."""


class TimedQueue:
    """Stands in for a journal's queue and times each ``put`` on the tick thread. The journal
    thread waits in ``get`` between ticks, so a ``put`` also wakes it."""

    def __init__(self, inner: queue.SimpleQueue[Any]) -> None:
        self.inner = inner
        self.put_ns: list[int] = []

    def put(self, item: Any) -> None:
        started = time.perf_counter_ns()
        self.inner.put(item)
        self.put_ns.append(time.perf_counter_ns() - started)

    def get(self) -> Any:
        return self.inner.get()

    def get_nowait(self) -> Any:
        return self.inner.get_nowait()


@contextmanager
def timed_in_place(journal: JournalWriter) -> Iterator[tuple[list[int], list[int]]]:
    """Time the journal's ``submit`` and its queue's ``put`` where they run, in the tick's
    hand-off: yields the two lists of ns they fill. Costs the tick about a microsecond."""
    inner = journal._queue
    timed_queue = TimedQueue(inner)
    submit_ns: list[int] = []
    stock = JournalWriter.submit

    def submit(world: World, tick: int, inputs: Sequence[Input], changes: Changes) -> None:
        started = time.perf_counter_ns()
        stock(journal, world, tick, inputs, changes)
        submit_ns.append(time.perf_counter_ns() - started)

    own = vars(journal)
    own["_queue"], own["submit"] = timed_queue, submit
    try:
        yield submit_ns, timed_queue.put_ns
    finally:
        own["_queue"] = inner
        del own["submit"]


def assert_journaled(folder: Path, world: World, bench: JournalBench) -> None:
    """Every journaled tick with inputs has a record holding them, as encoded, and the digests
    of its changes (each tick of typed lines its 100 commands); the ticks run with the journal
    switched off have no record."""
    bench.settle()
    run = read_run(folder)
    assert not run.cut_off and run.end_tick == world.clock.tick
    records = {record.tick: record for record in run.records}
    assert len(records) == len(run.records) == bench.expected_records
    assert not records.keys() & set(bench.skipped_ticks)
    assert bench.expected
    for tick, (expected, typed) in bench.expected.items():
        record = records[tick]
        assert orjson.dumps([list(record.inputs), list(record.digests)]) == expected, tick
        if typed:
            assert len(record.inputs) == COMMANDS_PER_TICK
            assert [item[0] for item in record.inputs] == ["cmd"] * COMMANDS_PER_TICK


def pedantic(
    benchmark: BenchmarkFixture,
    fn: Callable[..., Any],
    *,
    rounds: int,
    setup: Callable[[], tuple[tuple[Any, ...], dict[str, Any]]] | None = None,
) -> Any:
    """``benchmark.pedantic`` with types: ``rounds`` timed calls, each after its ``setup``."""
    run = benchmark.pedantic  # untyped in pytest-benchmark
    return run(fn, setup=setup, rounds=rounds)  # type: ignore[no-untyped-call]


def _ms(ns: float) -> float:
    return ns / 1e6


def paired_difference(on: Sequence[int], off: Sequence[int]) -> tuple[float, str]:
    """The median of the round-by-round differences ``on - off`` in ms, and a distribution-free
    95% confidence interval of that median (order statistics n/2 ± 0.98·√n) as text."""
    ordered = sorted(a - b for a, b in zip(on, off, strict=True))
    n = len(ordered)
    half = 0.98 * math.sqrt(n)
    low, high = (
        ordered[max(0, math.floor(n / 2 - half))],
        ordered[min(n - 1, math.ceil(n / 2 + half))],
    )
    return _ms(statistics.median(ordered)), f"{_ms(low):.4f} to {_ms(high):.4f}"


# ------------------------------------------------------------------ 1. the tick thread


def paired_rounds(bench: JournalBench, *, rounds: int, warmup: int) -> dict[str, list[int]]:
    """``rounds`` pairs of ticks, one with the journal and one without, the order alternating;
    each tick's whole time and hand-off time in ns, by variant."""
    samples: dict[str, list[int]] = {
        "tick_on": [],
        "tick_off": [],
        "hand_off_on": [],
        "hand_off_off": [],
    }
    for index in range(warmup + rounds):
        order = (True, False) if index % 2 == 0 else (False, True)
        for journaled in order:
            bench.switch(journaled)
            bench.tick()
            if index >= warmup:
                side = "on" if journaled else "off"
                samples[f"tick_{side}"].append(bench.tick_ns)
                samples[f"hand_off_{side}"].append(bench.hand_off_ns)
    bench.switch(True)
    return samples


def submit_breakdown(
    world: World, ticks: Sequence[Recorded], folder: Path, *, reps: int
) -> dict[str, float]:
    """Where ``JournalWriter.submit``'s time goes: median ns per tick of the whole call (on a
    writer that is never started, so nothing drains its queue), of encoding the inputs
    (``encode_input``), of looking their actors' stable ids up alone (``World.stable_id``, part
    of the encoding), and of the queue's ``put``. Each pass times one piece over every tick; the
    pieces take turns."""
    encoded = [[encode_input(world, item) for item in t.inputs] for t in ticks]
    actors = [[item.actor for item in t.inputs if isinstance(item, Command)] for t in ticks]
    found: dict[str, list[int]] = {"submit": [], "encode": [], "stable_id": [], "put": []}
    clock = time.perf_counter_ns

    def submit() -> None:
        writer = JournalWriter(folder, {}, (), segment_bytes=1 << 30, sync_interval_s=1.0)
        record = found["submit"].append
        for t in ticks:
            started = clock()
            writer.submit(world, t.tick, t.inputs, t.changes)
            record(clock() - started)

    def encode() -> None:
        record = found["encode"].append
        for t in ticks:
            started = clock()
            for item in t.inputs:
                encode_input(world, item)
            record(clock() - started)

    def stable_ids() -> None:
        record = found["stable_id"].append
        stable_id = world.stable_id
        for tick_actors in actors:
            started = clock()
            for actor in tick_actors:
                stable_id(actor)
            record(clock() - started)

    def put() -> None:
        into: queue.SimpleQueue[Any] = queue.SimpleQueue()
        record = found["put"].append
        for t, items in zip(ticks, encoded, strict=True):
            started = clock()
            into.put((t.tick, items, t.changes))
            record(clock() - started)

    pieces = [submit, encode, stable_ids, put]
    for rep in range(reps):
        for offset in range(len(pieces)):
            pieces[(rep + offset) % len(pieces)]()
    return {name: float(statistics.median(values)) for name, values in found.items()}


def test_journaling_100_commands_a_tick_costs_the_tick_thread(
    benchmark: BenchmarkFixture, figures: Figures, tmp_path: Path
) -> None:
    """The tick thread's share of journaling 100 typed commands a tick, paired with and without.

    pytest-benchmark times the tick with the journal on, its ``submit`` and queue ``put`` timed
    in place (``timed_in_place``). Then ticks with the stock hand-off and with the journal's
    ``submit`` switched off alternate, and the figures are the medians of each side and of the
    per-round difference, for the hand-off and for the whole tick. Last, ``submit_breakdown``
    takes ``submit`` apart on the recorded ticks.
    """
    size = BENCH if figures.enabled else PLAIN
    load_before = os.getloadavg()[0]
    bench = JournalBench(tmp_path, size)
    world = bench.engine.world

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        bench.wait_drained()
        bench.type_lines()
        return (), {}

    def tick() -> TickResult:
        result = bench.engine.tick()
        assert len(result.inputs) == COMMANDS_PER_TICK
        return result

    saved_switch = sys.getswitchinterval()
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)  # as ``kadath serve`` runs
    try:
        with frozen_heap():
            bench.switch(True)
            with timed_in_place(bench.journal) as (submit_ns, put_ns):
                pedantic(benchmark, tick, setup=setup, rounds=size.bench_rounds)
            assert len(submit_ns) == len(put_ns) == size.bench_rounds
            samples = paired_rounds(bench, rounds=size.paired_rounds, warmup=size.warmup_rounds)
    finally:
        sys.setswitchinterval(saved_switch)
    load_after = os.getloadavg()[0]
    bench.settle()
    changes_per_tick = statistics.median(bench.changes_per_typed_tick)
    breakdown = (
        submit_breakdown(
            world,
            list(bench.recorded),
            tmp_path / "unstarted",
            reps=size.breakdown_reps,
        )
        if figures.enabled
        else {}
    )
    folder = bench.stop()
    assert_journaled(folder, world, bench)
    assert len(samples["tick_on"]) == len(samples["tick_off"]) == size.paired_rounds
    typed_ticks = size.bench_rounds + 2 * (size.warmup_rounds + size.paired_rounds)
    assert sum(bench.typed.values()) == typed_ticks * COMMANDS_PER_TICK
    assert len(bench.skipped_ticks) == size.warmup_rounds + size.paired_rounds
    journaled_typed = sum(typed for _, typed in bench.expected.values())
    assert journaled_typed == size.bench_rounds + size.warmup_rounds + size.paired_rounds

    if figures.enabled:
        med = {name: float(statistics.median(values)) for name, values in samples.items()}
        hand_off_diff, hand_off_ci = paired_difference(
            samples["hand_off_on"], samples["hand_off_off"]
        )
        tick_diff, tick_ci = paired_difference(samples["tick_on"], samples["tick_off"])
        figures.record(
            commands_per_tick=COMMANDS_PER_TICK,
            players=size.players,
            entities=len(world),
            changed_components_per_tick=changes_per_tick,
            typed=", ".join(f"{kind} {n / typed_ticks:.0f}" for kind, n in bench.typed.items()),
            refused_per_tick=bench.refused / typed_ticks,
            paired_rounds=size.paired_rounds,
            load_average_before=load_before,
            load_average_after=load_after,
            tick_with_journal_ms=_ms(med["tick_on"]),
            tick_without_journal_ms=_ms(med["tick_off"]),
            tick_paired_difference_ms=tick_diff,
            tick_paired_difference_ci95_ms=tick_ci,
            tick_ratio=med["tick_on"] / med["tick_off"],
            hand_off_with_journal_ms=_ms(med["hand_off_on"]),
            hand_off_without_journal_ms=_ms(med["hand_off_off"]),
            hand_off_paired_difference_ms=hand_off_diff,
            hand_off_paired_difference_ci95_ms=hand_off_ci,
            hand_off_ratio=med["hand_off_on"] / med["hand_off_off"],
            submit_in_place_ms=_ms(statistics.median(submit_ns)),
            queue_put_in_place_ms=_ms(statistics.median(put_ns)),
            submit_alone_ms=_ms(breakdown["submit"]),
            submit_encode_inputs_ms=_ms(breakdown["encode"]),
            submit_stable_ids_ms=_ms(breakdown["stable_id"]),
            submit_queue_put_ms=_ms(breakdown["put"]),
            submit_per_command_us=breakdown["submit"] / COMMANDS_PER_TICK / 1e3,
            target_ms_max=TARGET_MS,
            verdict="met" if hand_off_diff <= TARGET_MS else "NOT met",
        )


# ------------------------------------------------------------------ 2. the journal thread


def test_the_journal_thread_writes_ticks_of_100_commands(
    benchmark: BenchmarkFixture, figures: Figures, tmp_path: Path
) -> None:
    """How many ticks of 100 commands (and their changes) a second the journal thread writes, and
    what a command costs in the file.

    Ticks of typed commands are recorded through the service as in the test above; each round
    hands a fresh ``JournalWriter`` ``throughput_ticks`` of them (cycled, renumbered) before
    starting it, and times it from ``start()`` until it has written them all (encoding, digests,
    writes, the periodic fsync), waiting for it in short sleeps.
    """
    size = BENCH if figures.enabled else PLAIN
    load_before = os.getloadavg()[0]
    bench = JournalBench(tmp_path / "recording", size)
    for _ in range(size.recorded_ticks):
        bench.tick()
    world = bench.engine.world
    bench.settle()
    ticks = list(bench.recorded)
    assert len(ticks) == size.recorded_ticks
    header = dict(bench.journal.header)
    first_tick = world.clock.tick + 1
    started_writers: list[JournalWriter] = []

    def setup() -> tuple[tuple[Any, ...], dict[str, Any]]:
        folder = tmp_path / f"throughput-{len(started_writers)}"
        writer = JournalWriter(
            folder,
            {**header, "run": folder.name},
            (),
            segment_bytes=bench.engine.config.persist.journal_segment_bytes,
            sync_interval_s=bench.engine.config.persist.flush_interval_s,
        )
        for index in range(size.throughput_ticks):
            recorded = ticks[index % len(ticks)]
            writer.submit(world, first_tick + index, recorded.inputs, recorded.changes)
        started_writers.append(writer)
        return (writer,), {}

    def write_all(writer: JournalWriter) -> None:
        writer.start()
        deadline = time.monotonic() + DRAIN_TIMEOUT_S
        while writer.stats().records < size.throughput_ticks:
            assert not writer.stats().failed and time.monotonic() < deadline
            time.sleep(DRAIN_POLL_S)

    rounds_s: list[float] = []

    def timed(writer: JournalWriter) -> None:
        started = time.perf_counter()
        write_all(writer)
        rounds_s.append(time.perf_counter() - started)

    with frozen_heap():
        pedantic(benchmark, timed, setup=setup, rounds=size.throughput_rounds)
    load_after = os.getloadavg()[0]
    for writer in started_writers:
        assert writer.stop(DRAIN_TIMEOUT_S)
    assert_journaled(bench.stop(), world, bench)

    # Each round's file holds every tick handed over, with its 100 inputs, in order.
    last = started_writers[-1]
    run = read_run(last.folder)
    assert [r.tick for r in run.records] == list(
        range(first_tick, first_tick + size.throughput_ticks)
    )
    for index, record in enumerate(run.records):
        recorded = ticks[index % len(ticks)]
        assert len(record.inputs) == len(recorded.inputs) == COMMANDS_PER_TICK
        assert record.digests == tuple(change_digests(recorded.changes))

    # Bytes: whole tick lines (inputs and change digests) and the inputs alone.
    lines = [
        line
        for segment in sorted(last.folder.glob("segment-*.jsonl"))
        for line in segment.read_bytes().split(b"\n")
        if line.startswith(b'{"t":')
    ]
    assert len(lines) == size.throughput_ticks
    commands = size.throughput_ticks * COMMANDS_PER_TICK
    tick_bytes = sum(len(line) + 1 for line in lines)
    input_bytes = sum(len(orjson.dumps(orjson.loads(line)["in"])) for line in lines)
    digests = sum(len(orjson.loads(line).get("c", ())) for line in lines)
    if figures.enabled:
        seconds = statistics.median(rounds_s)
        figures.record(
            ticks_per_round=size.throughput_ticks,
            rounds=size.throughput_rounds,
            load_average_before=load_before,
            load_average_after=load_after,
            round_s=seconds,
            rounds_s=", ".join(f"{s:.3f}" for s in rounds_s),
            ticks_per_s=size.throughput_ticks / seconds,
            commands_per_s=commands / seconds,
            tick_record_bytes=tick_bytes / size.throughput_ticks,
            bytes_per_command=tick_bytes / commands,
            input_bytes_per_command=input_bytes / commands,
            changed_entities_per_tick=digests / size.throughput_ticks,
            mib_per_hour_at_10hz=tick_bytes / size.throughput_ticks * 10 * 3600 / 2**20,
        )
