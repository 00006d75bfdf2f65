"""Rules of the scheduler: systems run phase by phase in a declared, stable order; intervals are in
simulated seconds and mean the same at any tick rate; and one failing system never stops the world.

Every test drives an engine tick by tick: no sleeps, no wall clock.
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction

import pytest

from engine.config import Config, EngineConfig
from engine.core import CostRow, Engine
from engine.plugins import Plugin, PluginKit
from engine.scheduler import (
    PHASES,
    ScheduleError,
    Scheduler,
    System,
    SystemContext,
    SystemStats,
    order_systems,
    system,
)
from engine.world import World

RATES_HZ = (5.0, 10.0, 20.0)


# --------------------------------------------------------------------------------------------------
# Helpers


def idle(world: World, ctx: SystemContext) -> None:
    """A system that does nothing."""


@dataclass
class Recorder:
    """A system body that remembers every context it ran with (and logs ``(tick, name)``)."""

    name: str = ""
    log: list[tuple[int, str]] | None = None
    calls: list[SystemContext] = field(default_factory=list)

    def __call__(self, world: World, ctx: SystemContext) -> None:
        self.calls.append(ctx)
        if self.log is not None:
            self.log.append((ctx.tick, self.name))

    @property
    def ticks(self) -> list[int]:
        return [ctx.tick for ctx in self.calls]

    @property
    def times(self) -> list[float]:
        return [ctx.now_s for ctx in self.calls]


@dataclass
class Flaky:
    """A system body that raises on the runs ``fails(run)`` picks (runs count from 1)."""

    fails: Callable[[int], bool]
    runs: int = 0

    def __call__(self, world: World, ctx: SystemContext) -> None:
        self.runs += 1
        if self.fails(self.runs):
            raise RuntimeError(f"the stars are wrong (run {self.runs})")


def plugin(name: str, *systems: System) -> Plugin:
    def setup(kit: PluginKit) -> None:
        for sys in systems:
            kit.system(sys)

    return Plugin(name=name, setup=setup)


def engine_with(
    *systems: System, rate_hz: float = 10.0, failure_limit: int = 10, plugin_name: str = "test"
) -> Engine:
    config = Config(engine=EngineConfig(tick_rate_hz=rate_hz, system_failure_limit=failure_limit))
    return Engine(config, plugins=[plugin(plugin_name, *systems)])


def names(systems: Sequence[System]) -> list[str]:
    return [sys.name for sys in systems]


def system_stats(engine: Engine, name: str) -> SystemStats:
    (row,) = [row for row in engine.scheduler.stats() if row.name == name]
    return row


def engine_row(engine: Engine, name: str) -> CostRow:
    (row,) = [row for row in engine.stats().rows if row.kind == "system" and row.name == name]
    return row


# --------------------------------------------------------------------------------------------------
# Order


def test_systems_run_phase_by_phase_early_then_rules_then_late_whatever_their_names() -> None:
    log: list[tuple[int, str]] = []
    engine = engine_with(
        System("aaa_cleanup", Recorder("aaa_cleanup", log), phase="late"),
        System("mmm_combat", Recorder("mmm_combat", log), phase="rules"),
        System("zzz_timers", Recorder("zzz_timers", log), phase="early"),
    )
    assert PHASES == ("early", "rules", "late")
    assert names(engine.scheduler.systems) == ["zzz_timers", "mmm_combat", "aaa_cleanup"]
    engine.run_ticks(2)
    assert log == [
        (1, "zzz_timers"),
        (1, "mmm_combat"),
        (1, "aaa_cleanup"),
        (2, "zzz_timers"),
        (2, "mmm_combat"),
        (2, "aaa_cleanup"),
    ]


def test_before_and_after_constraints_order_systems_within_a_phase() -> None:
    ordered = names(
        order_systems(
            [
                System("bleed", idle, after=("combat",)),
                System("combat", idle),
                System("wounds", idle, before=("combat",)),
                System("aaa_npc", idle, before=("wounds",)),
            ]
        )
    )
    assert ordered.index("aaa_npc") < ordered.index("wounds")
    assert ordered.index("wounds") < ordered.index("combat")
    assert ordered.index("combat") < ordered.index("bleed")


def test_a_constraint_on_a_system_of_an_earlier_phase_is_satisfied_by_the_phases() -> None:
    ordered = names(
        order_systems(
            [
                System("corpses", idle, phase="late", after=("combat",)),
                System("combat", idle, phase="rules", after=("regen",)),
                System("regen", idle, phase="early", before=("corpses",)),
            ]
        )
    )
    assert ordered == ["regen", "combat", "corpses"]


def test_unconstrained_systems_of_one_phase_run_in_name_order() -> None:
    ordered = order_systems([System(name, idle) for name in ("lucidity", "decay", "npc", "combat")])
    assert names(ordered) == ["combat", "decay", "lucidity", "npc"]


def test_ties_are_broken_by_name_so_the_order_never_depends_on_registration_order() -> None:
    declared = [
        System("regen", idle, phase="early"),
        System("timers", idle, phase="early", before=("regen",)),
        System("combat", idle),
        System("bleed", idle, after=("combat",)),
        System("npc", idle),
        System("decay", idle),
        System("corpses", idle, phase="late"),
    ]
    orders = {tuple(names(order_systems(list(perm)))) for perm in itertools.permutations(declared)}
    assert len(orders) == 1
    (order,) = orders
    assert order[:2] == ("timers", "regen")
    assert order[-1] == "corpses"
    assert order.index("combat") < order.index("bleed")
    # Engines built from plugins registered in different orders run the same schedule.
    forward = Engine(Config(), plugins=[plugin("a", *declared[:3]), plugin("b", *declared[3:])])
    backward = Engine(
        Config(), plugins=[plugin("a", *reversed(declared[:3])), plugin("b", *declared[3:][::-1])]
    )
    assert names(forward.scheduler.systems) == names(backward.scheduler.systems) == list(order)


def test_a_constraint_cycle_is_a_schedule_error_naming_the_systems_in_the_cycle() -> None:
    with pytest.raises(ScheduleError, match="circular") as raised:
        order_systems(
            [
                System("bystander", idle),
                System("combat", idle, after=("morale",)),
                System("morale", idle, after=("fear",)),
                System("fear", idle, after=("combat",)),
            ]
        )
    message = str(raised.value)
    for name in ("combat", "morale", "fear"):
        assert name in message
    assert "bystander" not in message


def test_a_cycle_made_of_before_and_after_together_is_a_schedule_error() -> None:
    with pytest.raises(ScheduleError, match=r"circular.*(ward.*gate|gate.*ward)"):
        order_systems(
            [System("ward", idle, before=("gate",)), System("gate", idle, before=("ward",))]
        )


def test_an_engine_with_a_constraint_cycle_refuses_to_start() -> None:
    with pytest.raises(ScheduleError, match="circular"):
        engine_with(System("a", idle, after=("b",)), System("b", idle, after=("a",)))


def test_an_after_constraint_pointing_to_a_later_phase_is_an_error_naming_both_systems() -> None:
    with pytest.raises(ScheduleError) as raised:
        order_systems(
            [System("timers", idle, phase="early", after=("combat",)), System("combat", idle)]
        )
    message = str(raised.value)
    assert "'timers' (phase early)" in message
    assert "'combat' (phase rules)" in message
    assert "early, rules, late" in message


def test_a_before_constraint_pointing_to_an_earlier_phase_is_an_error_naming_both_systems() -> None:
    with pytest.raises(ScheduleError, match=r"'regen' \(phase early\).*'corpses' \(phase late\)"):
        order_systems(
            [
                System("corpses", idle, phase="late", before=("regen",)),
                System("regen", idle, "early"),
            ]
        )


def test_constraints_naming_unregistered_systems_are_ignored() -> None:
    ran = Recorder()
    engine = engine_with(
        System("bleed", ran, after=("optional_combat_plugin",), before=("not_installed",))
    )
    engine.tick()
    assert ran.ticks == [1]


def test_an_unknown_phase_is_rejected_with_the_known_phases() -> None:
    with pytest.raises(ScheduleError, match="'bleed' has unknown phase 'middle'; phases are early"):
        System("bleed", idle, phase="middle")
    with pytest.raises(ScheduleError, match="unknown phase 'Rules'"):
        system(phase="Rules")(idle)


@pytest.mark.parametrize("every_s", [-1.0, -0.1, math.nan, math.inf])
def test_a_negative_or_non_finite_interval_is_rejected_asking_for_seconds(every_s: float) -> None:
    with pytest.raises(ScheduleError, match=r"'bleed' has interval .*: give seconds >= 0"):
        System("bleed", idle, every_s=every_s)


def test_a_system_needs_a_name() -> None:
    with pytest.raises(ScheduleError, match="needs a name"):
        System("", idle)


def test_the_system_decorator_takes_name_and_description_from_the_function() -> None:
    @system(phase="late", every_s=2.5, after=("combat",))
    def corpse_decay(world: World, ctx: SystemContext) -> None:
        """Corpses rot away.

        Long explanation."""

    assert corpse_decay.name == "corpse_decay"
    assert (corpse_decay.phase, corpse_decay.every_s, corpse_decay.after) == (
        "late",
        2.5,
        ("combat",),
    )
    assert corpse_decay.doc == "Corpses rot away."


def test_two_systems_with_one_name_are_rejected_naming_both_plugins() -> None:
    with pytest.raises(ScheduleError) as raised:
        Engine(
            Config(),
            plugins=[
                plugin("necronomicon", System("decay", idle)),
                plugin("pnakotic", System("decay", idle, phase="late")),
            ],
        )
    message = str(raised.value)
    assert "'decay'" in message
    assert "'necronomicon'" in message
    assert "'pnakotic'" in message


def test_systems_are_stamped_with_the_plugin_that_registered_them() -> None:
    engine = engine_with(System("bleed", idle), plugin_name="wounds")
    assert system_stats(engine, "bleed").plugin == "wounds"


# --------------------------------------------------------------------------------------------------
# Intervals in simulated seconds


def test_system_every_3_s_runs_20_times_in_60_s_at_the_same_times_at_5_10_and_20_hz() -> None:
    for rate_hz in RATES_HZ:
        every_3_s = Recorder()
        engine = engine_with(System("bleed", every_3_s, every_s=3.0), rate_hz=rate_hz)
        engine.run_ticks(int(60 * rate_hz))
        assert engine.world.clock.seconds == 60.0
        assert every_3_s.times == [3.0 * k for k in range(1, 21)], f"at {rate_hz} Hz"
        assert every_3_s.ticks == [int(3 * k * rate_hz) for k in range(1, 21)]


def test_a_system_summing_dt_s_measures_the_same_simulated_time_at_any_tick_rate() -> None:
    for rate_hz in RATES_HZ:
        every_tick, every_3_s, every_quarter_s = Recorder(), Recorder(), Recorder()
        engine = engine_with(
            System("regen", every_tick),
            System("bleed", every_3_s, every_s=3.0),
            System("pulse", every_quarter_s, every_s=0.25),
            rate_hz=rate_hz,
        )
        engine.run_ticks(int(60 * rate_hz))
        assert sum(ctx.dt_s for ctx in every_tick.calls) == pytest.approx(60.0)
        assert sum(ctx.dt_s for ctx in every_3_s.calls) == pytest.approx(60.0)
        assert sum(ctx.dt_s for ctx in every_quarter_s.calls) == pytest.approx(60.0)
        assert {ctx.dt_s for ctx in every_3_s.calls} == {3.0}


def test_a_world_restored_at_any_tick_runs_its_systems_on_the_ticks_of_an_unstopped_one() -> None:
    """The schedule is taken up in its phase from time 0, so that a restored world (and a
    roll-forward of its journal) runs each system when the run that saved it did."""
    unstopped, every_tick = Recorder(), Recorder()
    engine = engine_with(System("bleed", unstopped, every_s=3.0))
    engine.run_ticks(200)
    for saved_at in (0, 1, 29, 30, 31, 77):
        restarted, every_tick = Recorder(), Recorder()
        engine = engine_with(System("bleed", restarted, every_s=3.0), System("regen", every_tick))
        engine.world.clock.tick = saved_at  # as a restore leaves it
        engine.scheduler.rebase(engine.world.clock.seconds)
        engine.run_ticks(200 - saved_at)
        assert restarted.ticks == [t for t in unstopped.ticks if t > saved_at], saved_at
        assert {ctx.dt_s for ctx in restarted.calls} == {3.0}  # never a part-interval
        assert every_tick.ticks[0] == saved_at + 1
        assert every_tick.calls[0].dt_s == pytest.approx(0.1)


@pytest.mark.parametrize("rate_hz", RATES_HZ)
def test_every_s_0_runs_every_tick_with_dt_s_of_one_tick(rate_hz: float) -> None:
    every_tick = Recorder()
    engine = engine_with(System("regen", every_tick, every_s=0), rate_hz=rate_hz)
    engine.run_ticks(100)
    assert every_tick.ticks == list(range(1, 101))
    assert [ctx.dt_s for ctx in every_tick.calls] == pytest.approx([1 / rate_hz] * 100)


def test_an_interval_shorter_than_a_tick_runs_once_a_tick_never_in_bursts() -> None:
    fast = Recorder()
    engine = engine_with(System("flicker", fast, every_s=0.03), rate_hz=10)
    engine.run_ticks(50)
    assert fast.ticks == list(range(1, 51))
    assert sum(ctx.dt_s for ctx in fast.calls) == pytest.approx(5.0)


def test_a_quarter_second_system_at_10_hz_averages_four_runs_a_second_without_drift() -> None:
    quarter = Recorder()
    engine = engine_with(System("pulse", quarter, every_s=0.25), rate_hz=10)
    ten_minutes = 6_000
    engine.run_ticks(ten_minutes)
    assert len(quarter.calls) == 4 * 600
    # Runs fall 2 and 3 ticks apart in turn (0.2 s, 0.3 s): never gaining or losing a tick.
    gaps = {b - a for a, b in itertools.pairwise(quarter.ticks)}
    assert gaps == {2, 3}
    in_last_minute = [t for t in quarter.ticks if t > ten_minutes - 600]
    assert len(in_last_minute) == 4 * 60


@pytest.mark.parametrize(
    ("rate_hz", "every"),
    [
        (10.0, "0.25"),
        (10.0, "0.7"),
        pytest.param(
            10.0,
            "0.15",
        ),
        pytest.param(
            20.0,
            "0.15",
        ),
    ],
)
def test_the_kth_run_falls_on_the_first_tick_at_or_after_k_intervals_even_after_an_hour(
    rate_hz: float, every: str
) -> None:
    interval = Fraction(every)
    runs = Recorder()
    engine = engine_with(System("pulse", runs, every_s=float(interval)), rate_hz=rate_hz)
    engine.run_ticks(int(3_600 * rate_hz))
    expected = [math.ceil(k * interval * Fraction(rate_hz)) for k in range(1, len(runs.calls) + 1)]
    late = [
        (k, got, want)
        for k, (got, want) in enumerate(zip(runs.ticks, expected, strict=True), 1)
        if got != want
    ]
    assert not late, f"{len(late)} runs off their tick, first (run, tick, expected): {late[0]}"
    assert len(runs.calls) == math.floor(3_600 / interval)


def test_a_system_knows_the_tick_and_simulated_time_it_runs_at() -> None:
    runs = Recorder()
    engine = engine_with(System("bleed", runs, every_s=1.0), rate_hz=20)
    engine.run_ticks(40)
    assert [(ctx.tick, ctx.now_s, ctx.dt_s) for ctx in runs.calls] == [
        (20, 1.0, 1.0),
        (40, 2.0, 1.0),
    ]


# --------------------------------------------------------------------------------------------------
# Fault isolation


def test_a_raising_system_is_logged_with_its_traceback_and_the_rest_of_the_tick_still_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    log: list[tuple[int, str]] = []
    engine = engine_with(
        System("a_broken", Flaky(lambda run: True), phase="early"),
        System("b_same_phase", Recorder("b_same_phase", log), phase="early"),
        System("c_rules", Recorder("c_rules", log)),
        System("d_late", Recorder("d_late", log), phase="late"),
    )
    with caplog.at_level(logging.ERROR, logger="kadath.scheduler"):
        engine.tick()
    assert log == [(1, "b_same_phase"), (1, "c_rules"), (1, "d_late")]
    (record,) = [r for r in caplog.records if "a_broken" in r.getMessage()]
    assert record.levelno == logging.ERROR
    assert "failed at tick 1" in record.getMessage()
    assert record.exc_info is not None
    assert record.exc_info[0] is RuntimeError
    assert "the stars are wrong" in caplog.text
    assert "Traceback" in caplog.text
    row = system_stats(engine, "a_broken")
    assert (row.runs, row.failures, row.consecutive_failures, row.enabled) == (1, 1, 1, True)


def test_a_system_failing_failure_limit_runs_in_a_row_is_disabled_and_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broken = Flaky(lambda run: True)
    healthy = Recorder()
    engine = engine_with(System("broken", broken), System("healthy", healthy), failure_limit=3)
    with caplog.at_level(logging.ERROR, logger="kadath.scheduler"):
        engine.run_ticks(10)
    assert broken.runs == 3
    assert healthy.ticks == list(range(1, 11))
    row = system_stats(engine, "broken")
    assert not row.enabled
    assert (row.runs, row.failures, row.consecutive_failures) == (3, 3, 3)
    assert row.disabled_reason == "disabled at tick 3 after 3 consecutive failures"
    shown = engine_row(engine, "broken")
    assert not shown.enabled
    assert shown.note == row.disabled_reason
    assert "disabled at tick 3 after 3 consecutive failures" in engine.format_stats()
    assert any(
        r.levelno == logging.ERROR and "'broken' disabled at tick 3" in r.getMessage()
        for r in caplog.records
    )


def test_a_system_failing_intermittently_fewer_than_the_limit_in_a_row_stays_enabled() -> None:
    twice_in_three = Flaky(lambda run: run % 3 != 0)
    engine = engine_with(System("moody", twice_in_three), failure_limit=3)
    engine.run_ticks(30)
    row = system_stats(engine, "moody")
    assert row.enabled
    assert (row.runs, row.failures, row.consecutive_failures) == (30, 20, 0)
    assert row.disabled_reason == ""


def test_enable_brings_a_disabled_system_back_with_a_fresh_failure_streak() -> None:
    broken = Flaky(lambda run: True)
    engine = engine_with(System("broken", broken), failure_limit=2)
    engine.run_ticks(5)
    assert broken.runs == 2 and not system_stats(engine, "broken").enabled

    engine.scheduler.enable("broken")
    row = system_stats(engine, "broken")
    assert (row.enabled, row.consecutive_failures, row.disabled_reason) == (True, 0, "")
    engine.tick()  # still broken: one failure is not yet the limit
    assert broken.runs == 3 and system_stats(engine, "broken").enabled
    engine.tick()
    assert broken.runs == 4 and not system_stats(engine, "broken").enabled

    broken.fails = lambda run: False  # hot fix
    engine.scheduler.enable("broken")
    engine.run_ticks(5)
    row = system_stats(engine, "broken")
    assert broken.runs == 9
    assert (row.enabled, row.runs, row.failures, row.consecutive_failures) == (True, 9, 4, 0)


def test_an_operator_can_disable_a_system_with_a_reason_and_enable_it_again() -> None:
    runs = Recorder()
    engine = engine_with(System("npc", runs))
    engine.tick()
    engine.scheduler.disable("npc", "investigating a lag spike")
    engine.run_ticks(3)
    assert runs.ticks == [1]
    assert engine_row(engine, "npc").note == "investigating a lag spike"
    engine.scheduler.enable("npc")
    engine.tick()
    assert runs.ticks == [1, 5]


def test_a_re_enabled_system_runs_at_once_then_resumes_its_original_cadence() -> None:
    runs = Recorder()
    engine = engine_with(System("autosave", runs, every_s=1.0), rate_hz=10)
    engine.run_ticks(10)
    engine.scheduler.disable("autosave")
    engine.run_ticks(40)
    engine.scheduler.enable("autosave")
    engine.run_ticks(20)
    # One run at once (not one per missed interval), then back on the whole seconds.
    assert runs.ticks == [10, 51, 60, 70]


def test_enabling_an_unknown_system_names_the_systems_there_are() -> None:
    engine = engine_with(System("bleed", idle), System("combat", idle))
    with pytest.raises(KeyError, match=r"no system named 'bled'; systems: .*bleed"):
        engine.scheduler.enable("bled")


def test_a_failure_limit_below_1_is_rejected() -> None:
    with pytest.raises(ValueError, match="failure_limit must be >= 1"):
        Scheduler([], failure_limit=0)


# --------------------------------------------------------------------------------------------------
# Timing statistics


def test_timing_stats_count_every_run_including_failed_ones() -> None:
    engine = engine_with(
        System("regen", idle),
        System("autosave", idle, every_s=1.0),
        System("moody", Flaky(lambda run: run % 2 == 0)),
        rate_hz=10,
    )
    engine.run_ticks(50)
    for name, runs in (("regen", 50), ("autosave", 5), ("moody", 50)):
        row = system_stats(engine, name)
        assert row.runs == runs
        assert row.cost.count == runs
        assert row.cost.window_count == runs
        assert row.cost.total_ns >= row.cost.max_ns >= row.cost.p99_ns >= row.cost.p50_ns >= 0
    assert system_stats(engine, "moody").failures == 25


def test_the_schedule_table_lists_every_system_in_run_order_with_its_declaration() -> None:
    engine = engine_with(
        System("corpses", idle, phase="late", every_s=5.0),
        System("bleed", idle, every_s=3.0, after=("combat",)),
        System("combat", idle, every_s=2.0),
        System("regen", idle, phase="early"),
    )
    table = engine.scheduler.stats()
    assert [(r.name, r.phase, r.order, r.every_s) for r in table] == [
        ("regen", "early", 0, 0.0),
        ("combat", "rules", 1, 2.0),
        ("bleed", "rules", 2, 3.0),
        ("corpses", "late", 3, 5.0),
    ]
    assert all(r.enabled and r.runs == 0 and r.cost.count == 0 for r in table)
