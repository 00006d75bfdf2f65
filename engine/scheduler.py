"""Systems and the scheduler: what runs in a tick, in which order, how often, and at what cost.

A system declares its phase, its ordering constraints and its interval in seconds; the scheduler
orders all systems once (a topological sort), runs each when it is due in simulated time, times
every run, and isolates failures so that one broken rule never stops the world. No I/O happens here.
"""

from __future__ import annotations

import graphlib
import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.stats import RollingTimings, TimingStats

if TYPE_CHECKING:
    from engine.world import World

__all__ = [
    "PHASES",
    "ScheduleError",
    "Scheduler",
    "System",
    "SystemContext",
    "SystemStats",
    "system",
]

log = logging.getLogger("kadath.scheduler")

#: Phases run in this order every tick. ``early`` prepares (timers, regeneration), ``rules`` is
#: the game (combat, decay, lucidity, NPCs), ``late`` derives and cleans up (indexes, removals).
PHASES: tuple[str, ...] = ("early", "rules", "late")

#: Tolerance when comparing simulated times, so that 3 * 0.1 s counts as 0.3 s.
_TIME_EPSILON_S = 1e-9


class ScheduleError(ValueError):
    """The declared systems cannot be ordered or are malformed; the message names the systems."""


@dataclass(frozen=True, slots=True)
class SystemContext:
    """What a system run may know besides the world.

    ``dt_s`` is the simulated time since this system last ran (its interval, give or take a tick),
    so rate-based rules (``regen_per_s * ctx.dt_s``) are right at any tick rate.
    """

    tick: int
    now_s: float
    dt_s: float


SystemFn = Callable[["World", SystemContext], None]


@dataclass(frozen=True, slots=True)
class System:
    """A declared rule: a function of the world, run in ``phase`` every ``every_s`` seconds.

    ``every_s`` of 0 means every tick. ``before``/``after`` name other systems; naming a system that
    is not registered is allowed (it may come from an optional plugin) and is simply ignored.
    """

    name: str
    run: SystemFn
    phase: str = "rules"
    every_s: float = 0.0
    before: tuple[str, ...] = ()
    after: tuple[str, ...] = ()
    doc: str = ""
    plugin: str | None = None

    def __post_init__(self) -> None:
        if not self.name:
            raise ScheduleError("a system needs a name")
        if self.phase not in PHASES:
            raise ScheduleError(
                f"system {self.name!r} has unknown phase {self.phase!r}; "
                f"phases are {', '.join(PHASES)}"
            )
        if not (self.every_s >= 0 and math.isfinite(self.every_s)):
            raise ScheduleError(
                f"system {self.name!r} has interval {self.every_s!r}: "
                "give seconds >= 0 (0 = every tick)"
            )

    def __call__(self, world: World, ctx: SystemContext) -> None:
        self.run(world, ctx)


def system(
    name: str | None = None,
    *,
    phase: str = "rules",
    every_s: float = 0.0,
    before: Iterable[str] = (),
    after: Iterable[str] = (),
) -> Callable[[SystemFn], System]:
    """Declare a function as a system::

        @system(phase="rules", every_s=BLEED_INTERVAL_S, after=("combat",))
        def bleed(world: World, ctx: SystemContext) -> None: ...

    The name defaults to the function's name; the docstring becomes the system's description.
    """

    def declare(fn: SystemFn) -> System:
        return System(
            name=name or fn.__name__,
            run=fn,
            phase=phase,
            every_s=every_s,
            before=tuple(before),
            after=tuple(after),
            doc=(fn.__doc__ or "").strip().split("\n\n")[0],
        )

    return declare


@dataclass(frozen=True, slots=True)
class SystemStats:
    """One row of the schedule table: the declaration, its state and its measured cost."""

    name: str
    phase: str
    order: int
    every_s: float
    plugin: str | None
    enabled: bool
    runs: int
    failures: int
    consecutive_failures: int
    disabled_reason: str
    cost: TimingStats


@dataclass(slots=True)
class _ScheduledSystem:
    """A system as the scheduler runs it: its place in the order, when it is next due, and what
    its runs have cost and how they ended so far (the mutable side of a ``SystemStats`` row)."""

    system: System
    order: int
    anchor_s: (
        float  # the schedule is anchor_s + k * every_s, computed afresh (no accumulated error)
    )
    intervals: int  # k of the next due time
    last_run_s: float
    timings: RollingTimings
    runs: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    enabled: bool = True
    disabled_reason: str = ""
    failed_off: bool = False  # disabled by its failures (not by an operator)


def order_systems(systems: Sequence[System]) -> list[System]:
    """Systems in run order: by phase, then by before/after, ties broken by name for stability."""
    by_name: dict[str, System] = {}
    for sys in systems:
        if sys.name in by_name:
            first = by_name[sys.name]
            raise ScheduleError(
                f"two systems are named {sys.name!r} (from plugins {first.plugin!r} and "
                f"{sys.plugin!r}); system names must be unique"
            )
        by_name[sys.name] = sys
    phase_index = {phase: i for i, phase in enumerate(PHASES)}
    graph: dict[str, set[str]] = {name: set() for name in by_name}
    for sys in systems:
        for other in sys.after:
            if other in by_name:
                graph[sys.name].add(other)
        for other in sys.before:
            if other in by_name:
                graph[other].add(sys.name)
    for sys in systems:
        for dep in graph[sys.name]:
            if phase_index[by_name[dep].phase] > phase_index[sys.phase]:
                raise ScheduleError(
                    f"system {sys.name!r} (phase {sys.phase}) must run after {dep!r} "
                    f"(phase {by_name[dep].phase}), but phases run in the order {', '.join(PHASES)}"
                )
    # Earlier phases must precede later ones even without explicit constraints.
    for later in systems:
        for earlier in systems:
            if phase_index[earlier.phase] < phase_index[later.phase]:
                graph[later.name].add(earlier.name)
    sorter = graphlib.TopologicalSorter(graph)
    try:
        sorter.prepare()
    except graphlib.CycleError as exc:
        cycle = exc.args[1]
        raise ScheduleError(
            "systems have circular ordering constraints: " + " -> ".join(cycle)
        ) from None
    ordered: list[System] = []
    while sorter.is_active():
        # Within one batch of ready systems, ties are broken by name: the order never depends on
        # the order plugins happened to register in.
        for name in sorted(sorter.get_ready()):
            ordered.append(by_name[name])
            sorter.done(name)
    return ordered


class Scheduler:
    """Runs the ordered systems when due, timing each run and containing each failure.

    A system that raises is logged with its traceback and counted; the tick goes on. After
    ``failure_limit`` consecutive failing runs it is disabled and reported, until re-enabled.
    """

    def __init__(
        self,
        systems: Sequence[System],
        *,
        start_s: float = 0.0,
        failure_limit: int = 10,
        stats_window: int = 1024,
    ) -> None:
        if failure_limit < 1:
            raise ValueError(f"failure_limit must be >= 1, got {failure_limit}")
        self.failure_limit = failure_limit
        self._stats_window = stats_window
        self._entries = [
            _ScheduledSystem(sys, i, start_s, 1, start_s, RollingTimings(stats_window))
            for i, sys in enumerate(order_systems(systems))
        ]
        self._by_name = {entry.system.name: entry for entry in self._entries}

    @property
    def systems(self) -> list[System]:
        """Systems in the order they run."""
        return [entry.system for entry in self._entries]

    def run_due(self, world: World, tick: int, now_s: float) -> None:
        """Run every enabled system whose time has come, in order."""
        clock = time.perf_counter_ns
        for entry in self._entries:
            sys = entry.system
            if not entry.enabled or (
                now_s + _TIME_EPSILON_S < entry.anchor_s + entry.intervals * sys.every_s
            ):
                continue
            ctx = SystemContext(tick, now_s, now_s - entry.last_run_s)
            entry.last_run_s = now_s
            # The k-th run is due at anchor + k * interval, computed afresh rather than accumulated,
            # so intervals that are not a multiple of the tick never drift, however long the run.
            # An interval shorter than a tick runs once per tick, never several times.
            if sys.every_s > 0:
                entry.intervals = max(
                    entry.intervals + 1,
                    math.floor((now_s - entry.anchor_s + _TIME_EPSILON_S) / sys.every_s) + 1,
                )
            started = clock()
            try:
                sys.run(world, ctx)
            except Exception:
                entry.timings.record(clock() - started)
                entry.runs += 1
                self._failed(entry, tick)
            else:
                entry.timings.record(clock() - started)
                entry.runs += 1
                entry.consecutive_failures = 0

    def _failed(self, entry: _ScheduledSystem, tick: int) -> None:
        entry.failures += 1
        entry.consecutive_failures += 1
        log.exception("system %r failed at tick %d", entry.system.name, tick)
        if entry.consecutive_failures >= self.failure_limit:
            entry.enabled = False
            entry.failed_off = True
            entry.disabled_reason = (
                f"disabled at tick {tick} after {entry.consecutive_failures} consecutive failures"
            )
            log.error("system %r %s", entry.system.name, entry.disabled_reason)

    def clear_stats(self) -> None:
        """Forget every system's measured runs and their cost (not its failures, nor whether it
        is enabled): the figures start again from the next tick (``Engine.clear_stats``)."""
        for entry in self._entries:
            entry.timings.clear()
            entry.runs = 0

    def rebase(self, start_s: float) -> None:
        """Take up every schedule at ``start_s``, after a restore moved the clock forward, in the
        phase it has in a world that ran from time 0 without a stop: a system every 5 s runs at
        5, 10, 15 s whatever the tick the world was saved at. So a world restored from a save
        runs its systems on the same ticks as the run that saved it, as a roll-forward
        (``persist/rollforward.py``) needs to play that run's journal again."""
        for entry in self._entries:
            every = entry.system.every_s
            entry.anchor_s = 0.0
            if every > 0:
                done = math.floor((start_s + _TIME_EPSILON_S) / every)
                entry.intervals = done + 1
                entry.last_run_s = done * every
            else:
                entry.intervals = 1
                entry.last_run_s = start_s

    def enable(self, name: str, now_s: float | None = None) -> None:
        """Re-enable a system (after a hot fix); its failure streak starts again from zero.

        With ``now_s`` (the simulated time it is enabled at), a system that was off starts its
        schedule afresh from then, as if it had last run then: it is next due one interval later
        (every tick: this tick), and its ``ctx.dt_s`` never spans the time it was off, so a
        rate-based rule does not make up at once for the minutes it missed.
        """
        entry = self._entry(name)
        if now_s is not None and not entry.enabled:
            entry.anchor_s = now_s
            entry.intervals = 1
            entry.last_run_s = now_s
        entry.enabled = True
        entry.failed_off = False
        entry.consecutive_failures = 0
        entry.disabled_reason = ""

    def disable(self, name: str, reason: str = "disabled by an operator") -> None:
        """Stop running a system until it is enabled again; ``reason`` shows in the stats."""
        entry = self._entry(name)
        entry.enabled = False
        entry.failed_off = False
        entry.disabled_reason = reason

    def replace(
        self, systems: Sequence[System], now_s: float, *, fixed: Iterable[str] = ()
    ) -> list[str]:
        """Run ``systems`` from now on in place of the current ones (a plugin's hot reload).

        The new set is ordered whole first: a ``ScheduleError`` leaves the schedule as it was. A
        system that stays (by name) keeps its schedule, figures and state, unless its interval
        changed (then its schedule restarts from ``now_s``); a new one starts from ``now_s``.
        Those named in ``fixed`` that their failures had switched off are switched on again from
        ``now_s`` (their code was just replaced); the names of those are returned.
        """
        ordered = order_systems(systems)
        revived: list[str] = []
        entries: list[_ScheduledSystem] = []
        for order, sys in enumerate(ordered):
            entry = self._by_name.get(sys.name)
            if entry is None:
                timings = RollingTimings(self._stats_window)
                entry = _ScheduledSystem(sys, order, now_s, 1, now_s, timings)
            else:
                if entry.system.every_s != sys.every_s:
                    entry.anchor_s, entry.intervals, entry.last_run_s = now_s, 1, now_s
                entry.system = sys
                entry.order = order
            entries.append(entry)
        self._entries = entries
        self._by_name = {entry.system.name: entry for entry in entries}
        for name in fixed:
            entry = self._by_name.get(name)
            if entry is not None and entry.failed_off:
                self.enable(name, now_s)
                revived.append(name)
        return revived

    def __contains__(self, name: object) -> bool:
        return name in self._by_name

    def _entry(self, name: str) -> _ScheduledSystem:
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(
                f"no system named {name!r}; systems: {', '.join(self._by_name)}"
            ) from None

    def stats(self) -> list[SystemStats]:
        """The schedule table, in run order."""
        return [
            SystemStats(
                name=e.system.name,
                phase=e.system.phase,
                order=e.order,
                every_s=e.system.every_s,
                plugin=e.system.plugin,
                enabled=e.enabled,
                runs=e.runs,
                failures=e.failures,
                consecutive_failures=e.consecutive_failures,
                disabled_reason=e.disabled_reason,
                cost=e.timings.stats(),
            )
            for e in self._entries
        ]
