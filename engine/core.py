"""The Engine: a world with its plugins, schedule and command inbox, advanced one tick at a time.

A tick applies the commands that arrived since the last one, runs the due systems, then hands the
tick's events and persistent changes to whoever listens (the network shell, the persistence
snapshot). Every phase is timed. ``tick()`` is synchronous and does no I/O: the asyncio loop in
:mod:`engine.loop` calls it at a fixed rate, and tests call it directly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.accounts import AccountStore
from engine.clock import Calendar, Clock
from engine.commands import Command, CommandInbox, CommandRegistry, Input
from engine.config import Config
from engine.events import Event, Scope
from engine.hooks import LookHooks
from engine.inputs import (
    ARRIVED_EVENT,
    ENTERED_EVENT,
    Arrival,
    DropConnection,
    EnterWorld,
    LeaveWorld,
    PresenceInput,
    ReloadPlugin,
    Relocate,
)
from engine.plugins import Plugin, PluginError, Registry, discover_plugins, load_plugins
from engine.reload import Reloader
from engine.scheduler import Scheduler
from engine.state import WorldStates
from engine.stats import (
    Metric,
    MetricKind,
    RollingTimings,
    Stats,
    StatsSource,
    TimingStats,
    gauge,
    summary,
)
from engine.territory import Arrivals
from engine.world import Changes, World

__all__ = [
    "ENGINE_METRICS",
    "CostRow",
    "Engine",
    "EngineStats",
    "StatsBoard",
    "StopRequest",
    "TickResult",
    "command_registry",
]

log = logging.getLogger("kadath.engine")


@dataclass(frozen=True, slots=True)
class TickResult:
    """What one tick produced, handed to every tick listener before the next tick starts."""

    tick: int
    events: list[Event]
    changes: Changes
    inputs: tuple[Input, ...] = ()
    """Every input the tick consumed, in the order it applied them: what a journal records."""
    trace: tuple[tuple[Input | None, Changes], ...] = ()
    """Only from ``tick(trace=True)``: the changes each input made, then (``None``) the systems';
    ``changes`` is then empty, since they were collected part by part."""


@dataclass(frozen=True, slots=True)
class CostRow:
    """One line of the engine's cost table: a tick phase or a system."""

    name: str
    kind: str  # "phase" or "system"
    phase: str
    every_s: float
    enabled: bool
    runs: int
    failures: int
    note: str
    cost: TimingStats


@dataclass(frozen=True, slots=True)
class EngineStats:
    """The engine at one moment: where its clock is, and what ticks, their phases and every system
    cost (``rows``, most expensive first)."""

    tick: int
    rate_hz: float
    entities: int
    tick_cost: TimingStats
    rows: tuple[CostRow, ...]

    def table(self) -> str:
        """The cost table as text: a headline, then one line per phase and system."""
        tick = self.tick_cost
        lines = [
            f"tick {self.tick} at {self.rate_hz:g} Hz; tick cost "
            f"p50 {tick.p50_ns / 1e6:.3f} ms, p99 {tick.p99_ns / 1e6:.3f} ms, "
            f"max {tick.max_ns / 1e6:.3f} ms; entities {self.entities}",
            f"{'name':<24} {'kind':<6} {'phase':<6} {'every':>7} {'runs':>8} {'fail':>5} "
            f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'total ms':>10}  note",
        ]
        for r in self.rows:
            every = f"{r.every_s:g}s" if r.kind == "system" and r.every_s else "tick"
            note = r.note or ("" if r.enabled else "disabled")
            lines.append(
                f"{r.name:<24} {r.kind:<6} {r.phase:<6} {every:>7} {r.runs:>8} {r.failures:>5} "
                f"{r.cost.p50_ns / 1e6:>8.3f} {r.cost.p99_ns / 1e6:>8.3f} "
                f"{r.cost.max_ns / 1e6:>8.3f} {r.cost.total_ns / 1e6:>10.1f}  {note}"
            )
        return "\n".join(lines)


def _row_counter(name: str, help: str, value: Callable[[CostRow], float]) -> Metric[EngineStats]:
    """A counter of every phase and system, labelled by its name and kind."""
    return Metric(
        name,
        MetricKind.COUNTER,
        help,
        lambda stats: [((row.name, row.kind), value(row)) for row in stats.rows],
        labels=("name", "kind"),
    )


ENGINE_METRICS: tuple[Metric[EngineStats], ...] = (
    gauge(
        "kadath_tick",
        "The tick the world is at. Restored from the database at start-up, so not a counter.",
        lambda stats: stats.tick,
    ),
    summary(
        "kadath_tick_duration_seconds",
        "What whole ticks cost: quantiles over the recent window, sum and count since start-up.",
        lambda stats: stats.tick_cost,
    ),
    gauge("kadath_entities", "Entities in the world.", lambda stats: stats.entities),
    _row_counter(
        "kadath_system_seconds_total",
        "Time spent in each system and tick phase.",
        lambda row: row.cost.total_ns / 1e9,
    ),
    _row_counter(
        "kadath_system_runs_total",
        "Runs of each system and tick phase.",
        lambda row: row.runs,
    ),
    _row_counter(
        "kadath_system_failures_total",
        "Runs of each system and tick phase that raised; a system that keeps failing is disabled.",
        lambda row: row.failures,
    ),
)
"""What /metrics shows of the engine: its clock, and the cost of its ticks, phases and systems."""


@dataclass(frozen=True, slots=True)
class StopRequest:
    """A world resource a rule inserts to ask the server to stop after this tick (a shutdown)."""

    reason: str


class StatsBoard:
    """Every stats source of one engine, by name: the engine's own first, then those the services
    around it add (the database writer, the network hub).

    The engine publishes its board as a world resource, so rules (the admin ``stats`` command)
    read it without reaching the engine; the log and /metrics read the same board, so the three
    never disagree. A source that fails to report is shown with its error, never raised.
    """

    ENGINE = "engine"
    """The name the engine's own figures go by."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._services: dict[str, StatsSource[Stats]] = {}

    def add(self, name: str, source: StatsSource[Stats]) -> None:
        """Report a service's figures (the writer's queue and lag, players online) as ``name``."""
        if name == self.ENGINE:
            raise ValueError(f"{name!r} is the engine's own name on the stats board")
        self._services[name] = source

    def sources(self) -> list[tuple[str, StatsSource[Any]]]:
        """Every source with its name, the engine first."""
        return [(self.ENGINE, self._engine), *self._services.items()]

    def services(self) -> dict[str, Mapping[str, object]]:
        """Every service's figures now, as plain values; a failing source reports its error."""
        report: dict[str, Mapping[str, object]] = {}
        for name, source in self._services.items():
            try:
                report[name] = source.stats().as_dict()
            except Exception as exc:
                report[name] = {"error": f"{type(exc).__name__}: {exc}"}
        return report

    def text(self) -> str:
        """The engine's cost table and one line per service, for the log and the admin ``stats``."""
        lines = [self._engine.stats().table()]
        for name, figures in self.services().items():
            shown = ", ".join(f"{k} {v}" for k, v in figures.items() if not isinstance(v, Mapping))
            lines.append(f"{name}: {shown}")
        return "\n".join(lines)


TickListener = Callable[[TickResult], None]


def command_registry(registry: Registry) -> CommandRegistry:
    """Every command, gate and prefix the plugins registered, ready to dispatch.

    Raises :class:`PluginError` naming each plugin whose commands clash with another's or have a
    malformed usage pattern, every one at once."""
    commands = CommandRegistry(registry.prefix_aliases)
    clashes: dict[str, str] = {}
    for spec in registry.commands:
        try:
            commands.register(spec)
        except ValueError as exc:  # duplicate verbs, bad usage patterns: all reported at once
            owner = spec.plugin or "?"
            clashes[owner] = f"{clashes[owner]}; {exc}" if owner in clashes else str(exc)
    if clashes:
        raise PluginError(clashes, registry.loaded)
    for gate in registry.command_gates:
        commands.add_gate(gate)
    return commands


class Engine:
    """Assembles a world from plugins and advances it.

    ``plugins`` defaults to every plugin installed under the ``kadath.plugins`` entry point; tests
    pass an explicit list. A listener that raises is logged and counted; the world goes on.
    """

    metrics = ENGINE_METRICS

    def __init__(
        self,
        config: Config | None = None,
        plugins: Sequence[Plugin] | None = None,
        *,
        world: World | None = None,
    ) -> None:
        self.config = config = config or Config()
        if world is None:
            cal = config.calendar
            clock = Clock(
                config.engine.tick_rate_hz,
                Calendar(cal.time_compression, cal.start_game_minute, cal.dawn_hour, cal.dusk_hour),
            )
            world = World(seed=config.engine.seed, clock=clock, node_id=config.engine.node_id)
        self.world = world
        self.registry = Registry(config=config)
        problems: dict[str, str] = {}
        if plugins is None:
            plugins, problems = discover_plugins()
        self.plugins = load_plugins(
            plugins, self.registry, disabled=config.world.plugins_disabled, problems=problems
        )
        #: The loaded plugins by name (a reload puts its new plugin in place of the old).
        self.plugin_objects: dict[str, Plugin] = {
            plugin.name: plugin for plugin in plugins if plugin.name in self.plugins
        }
        for plugin in plugins:
            if plugin.name in self.plugins:
                for section, settings_type in plugin.settings.items():
                    world.insert_resource(config.rule_settings(section, settings_type))
        self.commands = command_registry(self.registry)
        #: The engine's figures and those of every service, read by the log, admins and /metrics.
        self.stats_board = StatsBoard(self)
        # Published for commands about commands (help) and about the server (stats): handlers
        # reach only the world.
        world.insert_resource(self.commands)
        world.insert_resource(self.stats_board)
        # The plugins' hooks and world state, for the rules that call and read them.
        world.insert_resource(
            LookHooks(
                self.registry.look_contributors, failure_limit=config.engine.system_failure_limit
            )
        )
        world.insert_resource(WorldStates(self.registry.world_states))
        self.inbox = CommandInbox()
        self._accounts: AccountStore | None = None
        self.input_failures = 0
        window = config.engine.stats_window
        self.scheduler = Scheduler(
            self.registry.systems,
            start_s=world.clock.seconds,
            failure_limit=config.engine.system_failure_limit,
            stats_window=window,
        )
        # Published for the admin ``system`` command, which lists, disables and enables systems,
        # and ``reload``, which swaps a plugin's code between two ticks.
        world.insert_resource(self.scheduler)
        self.reloader = Reloader(self)
        world.insert_resource(self.reloader)
        self._listeners: list[TickListener] = []
        self.listener_failures = 0
        self._phase_timings = {
            name: RollingTimings(window) for name in ("tick", "commands", "systems", "hand-off")
        }

    def build_world(self) -> None:
        """Run every plugin's world builder (content loading): once, before the first tick."""
        for _plugin, builder in self.registry.world_builders:
            builder(self.world, self.registry)
        self.world.mark_clean()  # content is not a change to save

    # ------------------------------------------------------------------ input

    def submit(self, item: Input) -> None:
        """Queue an input for the next tick (a command raises ``InboxFull`` when flooded)."""
        self.inbox.put(item)

    def submit_line(self, actor: int, line: str, *, role: str = "player") -> None:
        """Queue a line typed by ``actor`` (whose account has ``role``), as the shell does."""
        self.inbox.put(self.commands.parse_line(actor, line, self.world.clock.tick, role=role))

    @property
    def accounts(self) -> AccountStore | None:
        """Where accounts live (the persistence service provides it); None in bare tests."""
        return self._accounts

    def use_accounts(self, store: AccountStore) -> None:
        """Set the account store: a service's hook, set once at start-up."""
        self._accounts = store

    def on_tick_end(self, listener: TickListener) -> None:
        """Call ``listener`` with every tick's result; it must copy what it keeps and not block."""
        self._listeners.append(listener)

    # ------------------------------------------------------------------- tick

    def tick(self, *, trace: bool = False) -> TickResult:
        """Advance the world by one tick.

        ``trace`` (for ``kadath replay --until``) also collects the changes after each input and
        after the systems, to show which input changed what.
        """
        clock = time.perf_counter_ns
        world = self.world
        started = clock()
        tick = world.clock.advance()
        inputs = tuple(self.inbox.drain())
        traced: list[tuple[Input | None, Changes]] = []
        for item in inputs:
            if isinstance(item, Command):
                self.commands.dispatch(world, item)
            elif isinstance(item, ReloadPlugin):
                self.reloader.apply(item)
            elif isinstance(item, Arrival):
                self._arrive(item)
            else:
                self._apply(item)
            if trace:
                traced.append((item, world.collect_changes()))
        commands_done = clock()
        self.scheduler.run_due(world, tick, world.clock.seconds)
        systems_done = clock()
        changes = world.collect_changes()
        if trace:
            traced.append((None, changes))
            changes = Changes(tick, {}, {}, frozenset(), frozenset(), frozenset())
        result = TickResult(tick, world.drain_events(), changes, inputs, tuple(traced))
        for listener in self._listeners:
            try:
                listener(result)
            except Exception:
                self.listener_failures += 1
                log.exception("tick listener %r failed at tick %d", listener, tick)
        finished = clock()
        timings = self._phase_timings
        timings["commands"].record(commands_done - started)
        timings["systems"].record(systems_done - commands_done)
        timings["hand-off"].record(finished - systems_done)
        timings["tick"].record(finished - started)
        return result

    def _apply(self, item: PresenceInput) -> None:
        """A presence input, through the plugin's presence rules. A failure is logged and
        counted, and the tick goes on, as for a crashing command."""
        presence = self.registry.presence
        world = self.world
        try:
            if presence is None:
                raise LookupError("no plugin provides presence rules")
            if isinstance(item, EnterWorld):
                character = presence.character_for(world, item.account, item.character)
                data = {"account": item.account, "character": world.stable_id(character)}
                world.emit(ENTERED_EVENT, Scope.entity(character), data=data)
                presence.enter_world(world, character)
                return
            entity = world.entity_of(item.character)
            if entity is None:
                log.warning("%r names no entity in the world; ignored", item)
            elif isinstance(item, DropConnection):
                presence.drop(world, entity, item.grace_s)
            elif isinstance(item, LeaveWorld):
                presence.leave_world(world, entity, item.reason)
            elif isinstance(item, Relocate):
                presence.relocate(world, entity, item.room, item.vanish, item.appear)
        except Exception:
            self.input_failures += 1
            log.exception("input %r failed at tick %d", item, world.clock.tick)

    def _arrive(self, item: Arrival) -> None:
        """Things handed over by another shard: spawned as they were there. Applied once: a
        hand-off delivered again finds its first entity here already and changes nothing."""
        world = self.world
        if not item.entities or world.entity_of(item.entities[0][0]) is not None:
            log.info("hand-off %s is already applied; ignored", item.handoff_id)
            return
        try:
            for sid, components in item.entities:
                if world.entity_of(sid) is None:
                    world.spawn(*components, stable_id=sid)
        except Exception:
            self.input_failures += 1
            log.exception("hand-off %s failed at tick %d", item.handoff_id, world.clock.tick)
            return
        root = world.entity_of(item.entities[0][0])
        assert root is not None  # spawned just now
        arrivals = world.try_resource(Arrivals)
        if arrivals is not None:
            arrivals.sids.append(item.entities[0][0])
        world.emit(ARRIVED_EVENT, Scope.entity(root), data={"handoff": item.handoff_id})

    def tick_pending(self) -> TickResult | None:
        """One more tick if inputs are waiting, else None. At shutdown, what a stopping service
        leaves in the inbox (the network: every player leaving the world) changes the world
        inside a tick, journaled, like everything else."""
        return self.tick() if len(self.inbox) else None

    def run_ticks(self, count: int) -> list[TickResult]:
        """Advance ``count`` ticks back to back (tests, replays, benchmarks)."""
        return [self.tick() for _ in range(count)]

    # ------------------------------------------------------------------ stats

    def clear_stats(self) -> None:
        """Start the cost table afresh: every phase's and system's timings and runs are
        forgotten, so that what ``stats()`` shows next covers only the ticks from here on (a
        profile leaves out the ticks that built its world). Failures stay counted."""
        for timings in self._phase_timings.values():
            timings.clear()
        self.scheduler.clear_stats()

    def stats(self) -> EngineStats:
        """The clock, and every tick phase and system with its measured cost, most expensive first.

        Sorts every timing window: for whoever asks (the log, an admin, a scrape), not per tick.
        """
        phases = {name: timings.stats() for name, timings in self._phase_timings.items()}
        rows = [
            CostRow(name, "phase", "-", 0.0, True, cost.count, 0, "", cost)
            for name, cost in phases.items()
            if name != "tick"
        ]
        for s in self.scheduler.stats():
            rows.append(
                CostRow(
                    s.name,
                    "system",
                    s.phase,
                    s.every_s,
                    s.enabled,
                    s.runs,
                    s.failures,
                    s.disabled_reason,
                    s.cost,
                )
            )
        rows.sort(key=lambda r: (-r.cost.total_ns, r.name))
        clock = self.world.clock
        return EngineStats(clock.tick, clock.rate_hz, len(self.world), phases["tick"], tuple(rows))

    def format_stats(self) -> str:
        """The statistics table as text (the engine's and every service's), for the log and the
        admin ``stats`` command."""
        return self.stats_board.text()
