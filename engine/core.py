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

from engine.accounts import AccountStore
from engine.clock import Calendar, Clock
from engine.commands import Command, CommandInbox, CommandRegistry
from engine.config import Config
from engine.events import Event
from engine.plugins import Plugin, PluginError, Registry, discover_plugins, load_plugins
from engine.scheduler import Scheduler
from engine.stats import RollingStats, StatsSummary
from engine.world import Changes, World

__all__ = ["Engine", "StatsBoard", "StatsRow", "StopRequest", "TickResult"]

log = logging.getLogger("kadath.engine")


@dataclass(frozen=True, slots=True)
class TickResult:
    """What one tick produced, handed to every tick listener before the next tick starts."""

    tick: int
    events: list[Event]
    changes: Changes


@dataclass(frozen=True, slots=True)
class StatsRow:
    """One line of the engine's cost table: a tick phase or a system."""

    name: str
    kind: str  # "phase" or "system"
    phase: str
    every_s: float
    enabled: bool
    runs: int
    failures: int
    note: str
    cost: StatsSummary


@dataclass(frozen=True, slots=True)
class StopRequest:
    """A world resource a rule inserts to ask the server to stop after this tick (a shutdown)."""

    reason: str


class StatsBoard:
    """A world resource through which rules (the admin ``stats`` command) read the cost table."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def text(self) -> str:
        return self._engine.format_stats()

    def services(self) -> dict[str, Mapping[str, object]]:
        return self._engine.service_stats()


TickListener = Callable[[TickResult], None]
#: Reports a service's state for the stats table: name -> a flat mapping of figures.
StatsSource = Callable[[], Mapping[str, object]]
RoleOf = Callable[[int], str]


class Engine:
    """Assembles a world from plugins and advances it.

    ``plugins`` defaults to every plugin installed under the ``kadath.plugins`` entry point; tests
    pass an explicit list. A listener that raises is logged and counted; the world goes on.
    """

    def __init__(
        self,
        config: Config | None = None,
        plugins: Sequence[Plugin] | None = None,
        *,
        world: World | None = None,
        role_of: RoleOf | None = None,
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
        self.commands = CommandRegistry(self.registry.prefix_aliases)
        clashes: dict[str, str] = {}
        for spec in self.registry.commands:
            try:
                self.commands.register(spec)
            except ValueError as exc:  # duplicate verbs, bad usage patterns: all reported at once
                owner = spec.plugin or "?"
                clashes[owner] = f"{clashes[owner]}; {exc}" if owner in clashes else str(exc)
        if clashes:
            raise PluginError(clashes)
        # Published for commands about commands (help) and about the server (stats): handlers
        # reach only the world.
        world.insert_resource(self.commands)
        world.insert_resource(StatsBoard(self))
        self.inbox = CommandInbox()
        self.role_of = role_of
        #: Where accounts live, set by the persistence service at start-up (None in bare tests).
        self.accounts: AccountStore | None = None
        window = config.engine.stats_window
        self.scheduler = Scheduler(
            self.registry.systems,
            start_s=world.clock.seconds,
            failure_limit=config.engine.system_failure_limit,
            stats_window=window,
        )
        self._listeners: list[TickListener] = []
        self._stats_sources: dict[str, StatsSource] = {}
        self.listener_failures = 0
        self._timing = {
            name: RollingStats(window) for name in ("tick", "commands", "systems", "hand-off")
        }

    def build_world(self) -> None:
        """Run every plugin's world builder (content loading): once, before the first tick."""
        for _plugin, builder in self.registry.world_builders:
            builder(self.world, self.registry)
        self.world.mark_clean()  # content is not a change to save

    # ------------------------------------------------------------------ input

    def submit(self, command: Command) -> None:
        """Queue a command for the next tick (raises ``InboxFull`` when flooded)."""
        self.inbox.put(command)

    def submit_line(self, actor: int, line: str) -> None:
        """Queue a typed line from ``actor``, as the network shell does."""
        self.inbox.put(self.commands.parse_line(actor, line, self.world.clock.tick))

    def on_tick_end(self, listener: TickListener) -> None:
        """Call ``listener`` with every tick's result; it must copy what it keeps and not block."""
        self._listeners.append(listener)

    # ------------------------------------------------------------------- tick

    def tick(self) -> TickResult:
        """Advance the world by one tick."""
        clock = time.perf_counter_ns
        world = self.world
        started = clock()
        tick = world.clock.advance()
        for command in self.inbox.drain():
            self.commands.dispatch(world, command, self.role_of)
        commands_done = clock()
        self.scheduler.run_due(world, tick, world.clock.seconds)
        systems_done = clock()
        result = TickResult(tick, world.drain_events(), world.collect_changes())
        for listener in self._listeners:
            try:
                listener(result)
            except Exception:
                self.listener_failures += 1
                log.exception("tick listener %r failed at tick %d", listener, tick)
        finished = clock()
        timing = self._timing
        timing["commands"].record(commands_done - started)
        timing["systems"].record(systems_done - commands_done)
        timing["hand-off"].record(finished - systems_done)
        timing["tick"].record(finished - started)
        return result

    def run_ticks(self, count: int) -> list[TickResult]:
        """Advance ``count`` ticks back to back (tests, replays, benchmarks)."""
        return [self.tick() for _ in range(count)]

    # ------------------------------------------------------------------ stats

    def stats(self) -> list[StatsRow]:
        """Every tick phase and every system with its measured cost, most expensive first."""
        rows = [
            StatsRow(name, "phase", "-", 0.0, True, t.summary().count, 0, "", t.summary())
            for name, t in self._timing.items()
            if name != "tick"
        ]
        for s in self.scheduler.stats():
            rows.append(
                StatsRow(
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
        return rows

    def add_stats_source(self, name: str, source: StatsSource) -> None:
        """Include a service's figures (the writer's queue and lag, players online) in stats."""
        self._stats_sources[name] = source

    def service_stats(self) -> dict[str, Mapping[str, object]]:
        """Every stats source's current figures; a failing source reports its error."""
        report: dict[str, Mapping[str, object]] = {}
        for name, source in self._stats_sources.items():
            try:
                report[name] = source()
            except Exception as exc:
                report[name] = {"error": f"{type(exc).__name__}: {exc}"}
        return report

    def tick_cost(self) -> StatsSummary:
        return self._timing["tick"].summary()

    def format_stats(self) -> str:
        """The cost table as text, for the log and the admin ``stats`` command."""
        tick = self.tick_cost()
        lines = [
            f"tick {self.world.clock.tick} at {self.world.clock.rate_hz:g} Hz; tick cost "
            f"p50 {tick.p50_ns / 1e6:.3f} ms, p99 {tick.p99_ns / 1e6:.3f} ms, "
            f"max {tick.max_ns / 1e6:.3f} ms; entities {len(self.world)}",
            f"{'name':<24} {'kind':<6} {'phase':<6} {'every':>7} {'runs':>8} {'fail':>5} "
            f"{'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'total ms':>10}  note",
        ]
        for r in self.stats():
            every = f"{r.every_s:g}s" if r.kind == "system" and r.every_s else "tick"
            note = r.note or ("" if r.enabled else "disabled")
            lines.append(
                f"{r.name:<24} {r.kind:<6} {r.phase:<6} {every:>7} {r.runs:>8} {r.failures:>5} "
                f"{r.cost.p50_ns / 1e6:>8.3f} {r.cost.p99_ns / 1e6:>8.3f} "
                f"{r.cost.max_ns / 1e6:>8.3f} {r.cost.total_ns / 1e6:>10.1f}  {note}"
            )
        for name, figures in self.service_stats().items():
            shown = ", ".join(f"{k} {v}" for k, v in figures.items() if not isinstance(v, Mapping))
            lines.append(f"{name}: {shown}")
        return "\n".join(lines)
