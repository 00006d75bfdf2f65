"""Rules of the Engine facade: commands wait for the next tick and run in arrival order before the
systems; mistakes and crashes become error events, never a stopped tick; listeners see each tick's
events and changes; the cost table lists everything; and a seeded run replays exactly.

Every test drives the engine tick by tick: no sleeps, no wall clock.
"""

from __future__ import annotations

import logging
import random
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

import engine.core as core_module
import engine.scheduler as scheduler_module
from engine.commands import Args, Command, CommandSpec
from engine.component import Component, persistent
from engine.config import Config, EngineConfig
from engine.core import Engine, StatsBoard, TickResult
from engine.events import Event, Scope
from engine.inputs import ARRIVED_EVENT, Arrival
from engine.plugins import Plugin, PluginKit
from engine.scheduler import System, SystemContext
from engine.stats import Metric, gauge
from engine.world import World

# --------------------------------------------------------------------------------------------------
# Components and helpers


@persistent("test_core_lucidity", version=1)
@dataclass(slots=True)
class Lucidity(Component):
    """How much of the mind is left: persistent, so its changes are tracked."""

    points: int


@dataclass(slots=True)
class Omen:
    """A passing portent: transient, never saved."""

    strength: float


Handler = Callable[[World, Command, Args], None]
SystemFn = Callable[[World, SystemContext], None]


def build(
    *,
    systems: Sequence[System] = (),
    commands: Sequence[CommandSpec[Any]] = (),
    components: Sequence[type] = (),
    seed: int = 0,
    rate_hz: float = 10.0,
) -> Engine:
    def setup(kit: PluginKit) -> None:
        for component_type in components:
            kit.component(component_type)
        for sys in systems:
            kit.system(sys)
        for spec in commands:
            kit.command(spec)

    config = Config(engine=EngineConfig(tick_rate_hz=rate_hz, seed=seed))
    return Engine(config, plugins=[Plugin(name="test", setup=setup)])


@dataclass
class Journal:
    """Command handlers that write down what they were asked, and when."""

    entries: list[tuple[int, int, str]] = field(default_factory=list)

    def say(self, world: World, cmd: Command, args: Args) -> None:
        self.entries.append((world.clock.tick, cmd.actor, args.text("text")))
        world.emit("said", Scope.entity(cmd.actor), args.text("text"))


def say_spec(journal: Journal) -> CommandSpec[Any]:
    return CommandSpec("say", journal.say, usage="<text...>", help="Speak aloud.")


def errors_for(events: Iterable[Event], actor: int) -> list[Event]:
    return [e for e in events if e.type == "error" and e.scope == Scope.entity(actor)]


# --------------------------------------------------------------------------------------------------
# Commands


def test_commands_submitted_before_a_tick_are_applied_at_its_start_in_arrival_order() -> None:
    journal = Journal()
    systems_saw: list[tuple[int, int]] = []

    def census(world: World, ctx: SystemContext) -> None:
        systems_saw.append((ctx.tick, len(journal.entries)))

    engine = build(commands=[say_spec(journal)], systems=[System("census", census, phase="early")])
    engine.submit_line(1, "say the")
    engine.submit_line(2, "say stars")
    engine.submit(Command(1, "say", "are", received_tick=0))
    engine.submit_line(2, "say right")
    assert journal.entries == []  # nothing happens between ticks

    engine.tick()
    assert journal.entries == [(1, 1, "the"), (1, 2, "stars"), (1, 1, "are"), (1, 2, "right")]
    assert systems_saw == [(1, 4)]  # every command ran before the first system
    engine.tick()
    assert len(journal.entries) == 4  # each command is applied exactly once


def test_a_command_typed_between_ticks_is_stamped_with_the_last_tick_and_runs_in_the_next() -> None:
    received: list[tuple[int, int]] = []

    def note(world: World, cmd: Command, args: Args) -> None:
        received.append((cmd.received_tick, world.clock.tick))

    engine = build(commands=[CommandSpec("note", note)])
    engine.run_ticks(3)
    engine.submit_line(1, "note")
    engine.tick()
    assert received == [(3, 4)]


def test_commands_submitted_during_a_tick_wait_for_the_next_tick() -> None:
    journal = Journal()
    holder: list[Engine] = []

    def echo(world: World, cmd: Command, args: Args) -> None:
        holder[0].submit_line(cmd.actor, f"say echo of {args.text('text')}")

    def prophet(world: World, ctx: SystemContext) -> None:
        if ctx.tick == 1:
            holder[0].submit_line(9, "say from a system")

    def listener(result: TickResult) -> None:
        if result.tick == 1:
            holder[0].submit_line(8, "say from a listener")

    engine = build(
        commands=[say_spec(journal), CommandSpec("echo", echo, usage="<text...>")],
        systems=[System("prophet", prophet)],
    )
    holder.append(engine)
    engine.on_tick_end(listener)
    engine.submit_line(1, "echo hello")
    engine.tick()
    assert journal.entries == []
    engine.tick()
    assert journal.entries == [
        (2, 1, "echo of hello"),
        (2, 9, "from a system"),
        (2, 8, "from a listener"),
    ]


def test_an_unknown_verb_yields_an_error_event_to_that_actor_with_suggestions() -> None:
    journal = Journal()

    def look(world: World, cmd: Command, args: Args) -> None:
        pass

    engine = build(commands=[say_spec(journal), CommandSpec("look", look)])
    engine.submit_line(7, "lok")
    engine.submit_line(8, "say hello")
    result = engine.tick()
    (error,) = [e for e in result.events if e.type == "error"]
    assert error.scope == Scope.entity(7)
    assert error.tick == 1
    assert error.data["code"] == "unknown_command"
    assert error.data["suggestions"] == ["look"]
    assert "Unknown command 'lok'" in error.text
    assert "Did you mean: look?" in error.text
    assert journal.entries == [(1, 8, "hello")]  # the next command ran as usual


def test_a_handler_exception_yields_an_error_event_and_the_tick_goes_on(
    caplog: pytest.LogCaptureFixture,
) -> None:
    journal = Journal()
    ticks_run: list[int] = []

    def curse(world: World, cmd: Command, args: Args) -> None:
        raise ZeroDivisionError("the angles are non-Euclidean")

    def after(world: World, ctx: SystemContext) -> None:
        ticks_run.append(ctx.tick)

    engine = build(
        commands=[say_spec(journal), CommandSpec("curse", curse)],
        systems=[System("after", after)],
    )
    engine.submit_line(1, "say before")
    engine.submit_line(2, "curse")
    engine.submit_line(1, "say after")
    with caplog.at_level(logging.ERROR, logger="kadath.commands"):
        result = engine.tick()

    assert journal.entries == [(1, 1, "before"), (1, 1, "after")]
    assert ticks_run == [1]
    (error,) = errors_for(result.events, 2)
    assert error.data["code"] == "internal_error"
    assert "the angles" not in error.text  # the player is not shown the internals
    assert errors_for(result.events, 1) == []
    assert engine.commands.failure_counts["curse"] == 1
    (record,) = [r for r in caplog.records if "'curse'" in r.getMessage()]
    assert record.exc_info is not None and record.exc_info[0] is ZeroDivisionError
    engine.tick()  # the next tick runs as usual
    assert ticks_run == [1, 2]


# --------------------------------------------------------------------------------------------------
# Tick listeners


def test_tick_listeners_receive_each_ticks_own_events_and_changes() -> None:
    def dwindle(world: World, ctx: SystemContext) -> None:
        for entity, lucidity in world.query(Lucidity):
            lucidity.points -= 1
            world.emit("dwindled", Scope.entity(entity), f"{lucidity.points} left")

    def omen(world: World, ctx: SystemContext) -> None:
        world.emit("omen", Scope.everyone(), f"tick {ctx.tick}")

    engine = build(
        systems=[System("dwindle", dwindle, every_s=1.0), System("omen", omen)],
        components=[Lucidity],
    )
    seen: list[TickResult] = []
    engine.on_tick_end(seen.append)
    investigator = engine.world.spawn(Lucidity(10), persistent=True)
    sid = engine.world.stable_id(investigator)
    assert sid is not None

    returned = engine.run_ticks(20)

    assert seen == returned
    assert [r.tick for r in seen] == list(range(1, 21))
    for result in seen:
        types = [e.type for e in result.events]
        expected = ["dwindled", "omen"] if result.tick in (10, 20) else ["omen"]
        assert types == expected, f"tick {result.tick}"
        assert {e.tick for e in result.events} == {result.tick}
        assert result.changes.tick == result.tick
    key = (sid, Lucidity)
    assert seen[0].changes.spawned == {sid}  # spawned before the first tick, reported by it
    assert key in seen[0].changes.added
    for result in seen[1:]:
        if result.tick in (10, 20):
            assert set(result.changes.changed) == {key}
        else:
            assert len(result.changes) == 0 and not result.changes.spawned
    assert seen[19].events[0].text == "8 left"


def test_a_raising_listener_is_counted_and_the_other_listeners_still_run(
    caplog: pytest.LogCaptureFixture,
) -> None:
    engine = build()
    first: list[int] = []
    last: list[int] = []

    def broken(result: TickResult) -> None:
        raise RuntimeError("the listener went mad")

    engine.on_tick_end(lambda result: first.append(result.tick))
    engine.on_tick_end(broken)
    engine.on_tick_end(lambda result: last.append(result.tick))
    with caplog.at_level(logging.ERROR, logger="kadath.engine"):
        engine.run_ticks(3)
    assert first == last == [1, 2, 3]
    assert engine.listener_failures == 3
    assert engine.world.clock.tick == 3
    failures = [r for r in caplog.records if "tick listener" in r.getMessage()]
    assert len(failures) == 3
    assert all(r.exc_info is not None for r in failures)


# --------------------------------------------------------------------------------------------------
# The cost table


class FakeTime:
    """Stands in for the ``time`` module: the clock moves only when the test spends time."""

    def __init__(self) -> None:
        self.now_ns = 1_000_000_000

    def perf_counter_ns(self) -> int:
        return self.now_ns

    def spend(self, ms: int) -> None:
        self.now_ns += ms * 1_000_000


def test_stats_list_the_tick_phases_and_every_system_most_expensive_first(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake = FakeTime()
    monkeypatch.setattr(core_module, "time", fake)
    monkeypatch.setattr(scheduler_module, "time", fake)

    def costing(ms: int) -> SystemFn:
        def run(world: World, ctx: SystemContext) -> None:
            fake.spend(ms)

        return run

    def work(world: World, cmd: Command, args: Args) -> None:
        fake.spend(2)

    engine = build(
        systems=[
            System("heavy", costing(5)),
            System("light", costing(1)),
            System("idle", costing(0)),
            System("hourly", costing(20), every_s=1.0),
        ],
        commands=[CommandSpec("work", work)],
    )
    engine.on_tick_end(lambda result: fake.spend(3))
    engine.submit_line(1, "work")
    engine.run_ticks(30)

    stats = engine.stats()
    rows = stats.rows
    ms = 1_000_000
    assert [(r.name, r.kind, r.runs, r.cost.total_ns) for r in rows] == [
        ("systems", "phase", 30, 240 * ms),  # 30 x (5 + 1 + 0) + 3 x 20
        ("heavy", "system", 30, 150 * ms),
        ("hand-off", "phase", 30, 90 * ms),
        ("hourly", "system", 3, 60 * ms),
        ("light", "system", 30, 30 * ms),
        ("commands", "phase", 30, 2 * ms),
        ("idle", "system", 30, 0),
    ]
    heavy = rows[1]
    assert (heavy.cost.p50_ns, heavy.cost.p99_ns, heavy.cost.max_ns) == (5 * ms, 5 * ms, 5 * ms)
    assert (heavy.phase, heavy.every_s, heavy.enabled, heavy.failures) == ("rules", 0.0, True, 0)
    assert stats.tick_cost.total_ns == 332 * ms
    assert stats.tick_cost.count == 30
    assert (stats.tick, stats.rate_hz, stats.entities) == (30, 10, len(engine.world))

    text = engine.format_stats().splitlines()
    assert text[0].startswith("tick 30 at 10 Hz")
    assert text[1].split()[:3] == ["name", "kind", "phase"]
    assert [line.split()[0] for line in text[2:]] == [r.name for r in rows]
    (hourly_line,) = [line for line in text if line.startswith("hourly ")]
    assert hourly_line.split()[1:5] == ["system", "rules", "1s", "3"]
    assert hourly_line.split()[-1] == "60.0"


def test_cleared_stats_cover_only_the_ticks_after_the_clearing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A profile measures its own ticks, not those that built its world."""
    fake = FakeTime()
    monkeypatch.setattr(core_module, "time", fake)
    monkeypatch.setattr(scheduler_module, "time", fake)
    cost = {"ms": 50}

    def costly(world: World, ctx: SystemContext) -> None:
        fake.spend(cost["ms"])

    def fails(world: World, ctx: SystemContext) -> None:
        raise RuntimeError("broken")

    engine = build(systems=[System("costly", costly), System("broken", fails)])
    engine.run_ticks(5)
    engine.clear_stats()
    cost["ms"] = 2
    engine.run_ticks(3)

    stats = engine.stats()
    ms = 1_000_000
    row = next(r for r in stats.rows if r.name == "costly")
    assert (row.runs, row.cost.total_ns, row.cost.max_ns) == (3, 6 * ms, 2 * ms)
    assert (stats.tick_cost.count, stats.tick_cost.max_ns) == (3, 2 * ms)
    broken = next(r for r in stats.rows if r.name == "broken")
    assert (broken.runs, broken.failures) == (3, 8)  # failures stay counted since the start
    assert stats.tick == 8


def test_stats_contain_every_system_sorted_by_total_cost_even_with_a_real_clock() -> None:
    def busy(world: World, ctx: SystemContext) -> None:
        sum(range(2_000))

    engine = build(
        systems=[
            System("busy", busy),
            System("calm", lambda world, ctx: None, phase="late"),
            System("rare", lambda world, ctx: None, every_s=60.0),
        ]
    )
    engine.run_ticks(20)
    rows = engine.stats().rows
    assert {r.name for r in rows} == {"commands", "systems", "hand-off", "busy", "calm", "rare"}
    assert {r.name for r in rows if r.kind == "phase"} == {"commands", "systems", "hand-off"}
    keys = [(-r.cost.total_ns, r.name) for r in rows]
    assert keys == sorted(keys)
    assert next(r for r in rows if r.name == "rare").runs == 0
    lines = engine.format_stats().splitlines()
    assert len(lines) == 2 + len(rows)
    for row in rows:
        assert any(line.startswith(f"{row.name} ") for line in lines[2:])


@dataclass(frozen=True)
class QueueStats:
    depth: int
    state: str
    detail: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, object]:
        return {"depth": self.depth, "state": self.state, "detail": self.detail}


class Queue:
    metrics: tuple[Metric[QueueStats], ...] = (
        gauge("test_queue_depth", "Items waiting.", lambda stats: stats.depth),
    )

    def __init__(self, depth: int) -> None:
        self.depth = depth

    def stats(self) -> QueueStats:
        if self.depth < 0:
            raise RuntimeError("the queue is gone")
        return QueueStats(self.depth, "idle", {"nested": 1})


def test_the_stats_board_lists_the_engine_first_then_each_service_by_name() -> None:
    engine = build()
    queue = Queue(3)
    engine.stats_board.add("queue", queue)
    assert engine.world.resource(StatsBoard) is engine.stats_board  # what rules read
    assert engine.stats_board.sources() == [("engine", engine), ("queue", queue)]
    assert engine.stats_board.services() == {
        "queue": {"depth": 3, "state": "idle", "detail": {"nested": 1}}
    }
    # One line per service in the table, its plain figures only.
    assert engine.format_stats().splitlines()[-1] == "queue: depth 3, state idle"


def test_a_failing_stats_source_reports_its_error_and_the_table_still_shows() -> None:
    engine = build()
    engine.stats_board.add("queue", Queue(-1))
    assert engine.stats_board.services() == {"queue": {"error": "RuntimeError: the queue is gone"}}
    assert engine.format_stats().splitlines()[-1] == "queue: error RuntimeError: the queue is gone"


def test_no_service_may_take_the_engines_name_on_the_stats_board() -> None:
    with pytest.raises(ValueError, match="engine"):
        build().stats_board.add("engine", Queue(1))


# --------------------------------------------------------------------------------------------------
# Determinism


def churn(world: World, ctx: SystemContext) -> None:
    """Creates, destroys and changes persistent and transient entities, all by the world's RNG."""
    rng = world.rng
    for _ in range(rng.randint(0, 3)):
        roll = rng.random()
        entities = world.entities()
        if roll < 0.3:
            world.spawn(Lucidity(rng.randint(1, 100)), persistent=True)
        elif roll < 0.5:
            world.spawn(Omen(round(rng.random(), 6)))
        elif roll < 0.7 and entities:
            world.destroy(rng.choice(entities))
        elif roll < 0.9:
            minds = world.query(Lucidity)
            if minds:
                _, lucidity = rng.choice(minds)
                lucidity.points += rng.randint(-5, 5)
        elif entities:
            target = rng.choice(entities)
            if world.has(target, Omen):
                world.remove(target, Omen)
            else:
                world.add(target, Omen(rng.random()))


def gaze(world: World, cmd: Command, args: Args) -> None:
    """``gaze <n>``: n random minds lose a point; the gazer, if they exist, gains an omen."""
    minds = world.query(Lucidity)
    for _ in range(args.number("n")):
        if minds:
            _, lucidity = world.rng.choice(minds)
            lucidity.points -= 1
    if world.exists(cmd.actor) and not world.has(cmd.actor, Omen):
        world.add(cmd.actor, Omen(world.rng.random()))
    world.emit("gazed", Scope.entity(cmd.actor), f"{len(minds)} minds")


def command_log(ticks: int) -> list[tuple[int, int, str]]:
    """A fixed log of typed lines: (tick to apply at, actor, line), bad lines included."""
    rng = random.Random(2024)
    log = []
    for tick in range(1, ticks + 1):
        for _ in range(rng.choice((0, 0, 0, 1, 2))):
            line = rng.choice(("gaze 1", "gaze 3", "gaze 0", "gase 2", "gaze many"))
            log.append((tick, rng.randint(1, 40), line))
    return log


def churn_engine(seed: int) -> Engine:
    return build(
        seed=seed,
        systems=[System("churn", churn), System("slow_churn", churn, every_s=2.5)],
        commands=[CommandSpec("gaze", gaze, usage="<n:int>")],
        components=[Lucidity, Omen],
    )


@dataclass
class Replay:
    """Feeds an engine its command log tick by tick and keeps what each tick produced."""

    engine: Engine
    log: Sequence[tuple[int, int, str]]
    events: list[tuple[int, str, Any, str]] = field(default_factory=list)
    changes: list[tuple[int, int, int, int, int, int]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._by_tick: defaultdict[int, list[tuple[int, str]]] = defaultdict(list)
        for tick, actor, line in self.log:
            self._by_tick[tick].append((actor, line))

    def step(self) -> None:
        for actor, line in self._by_tick[self.engine.world.clock.tick + 1]:
            self.engine.submit_line(actor, line)
        result = self.engine.tick()
        self.events += [(e.tick, e.type, e.scope, e.text) for e in result.events]
        c = result.changes
        self.changes.append(
            (c.tick, len(c.added), len(c.changed), len(c.deleted), len(c.spawned), len(c.destroyed))
        )

    def run(self, ticks: int) -> Replay:
        for _ in range(ticks):
            self.step()
        return self


TICKS = 1_000


def test_same_seed_and_command_log_give_identical_worlds_after_1000_ticks() -> None:
    log = command_log(TICKS)
    first = Replay(churn_engine(seed=42), log).run(TICKS)
    second = Replay(churn_engine(seed=42), log).run(TICKS)

    dump = first.engine.world.dump()
    assert dump == second.engine.world.dump()
    assert first.events == second.events
    assert first.changes == second.changes
    # The run was not trivial: both kinds of entity survive, and things happened.
    assert dump[0] == ("clock", TICKS)
    names = [row[0] for row in dump[2:]]
    assert any(name[0] == "sid" for name in names)
    assert any(name[0] == "eid" for name in names)
    assert sum(c[5] for c in first.changes) > 10  # persistent entities were destroyed
    assert sum(c[2] for c in first.changes) > 10  # and changed
    assert {e[1] for e in first.events} == {"gazed", "error"}


def test_a_different_seed_gives_a_different_world() -> None:
    log = command_log(TICKS)
    first = Replay(churn_engine(seed=42), log).run(TICKS).engine.world.dump()
    other = Replay(churn_engine(seed=43), log).run(TICKS).engine.world.dump()
    assert first != other
    assert first[2:] != other[2:]  # the entities differ, not only the RNG state


def test_two_engines_ticked_alternately_end_as_if_each_ran_alone() -> None:
    log = command_log(300)
    alone = Replay(churn_engine(seed=7), log).run(300).engine.world.dump()
    left, right = Replay(churn_engine(seed=7), log), Replay(churn_engine(seed=7), log)
    for _ in range(300):
        left.step()
        right.step()
    assert left.engine.world.dump() == alone
    assert right.engine.world.dump() == alone


def test_an_arrival_from_another_shard_is_spawned_once_with_its_stable_ids() -> None:
    engine = Engine(Config(), plugins=[])
    sid = 5 << 47 | 17
    arrival = Arrival("b.run.1", ((sid, ()),))
    engine.submit(arrival)
    first = engine.tick()
    assert engine.world.entity_of(sid) is not None
    assert [e.type for e in first.events] == [ARRIVED_EVENT]
    count = len(engine.world)
    engine.submit(arrival)  # delivered again
    again = engine.tick()
    assert [e.type for e in again.events] == []
    assert len(engine.world) == count
