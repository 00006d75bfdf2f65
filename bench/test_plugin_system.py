"""How a plugin benchmarks its own system on a reference world: the candles example plugin's
``burn_candles``, in town-10k with a lit candle on every player. docs/PERFORMANCE.md (*Profiling
a tick*) shows this file; a plugin's author copies it into their own repository, with Kadath and
pytest-benchmark installed, and names their own plugin and system.

Under ``--benchmark-disable`` (the default) it plays one second as a plain test and asserts
that the candles burned; with ``--benchmark-enable`` the figure is the system's own cost per run
(one a second).
"""

from __future__ import annotations

import pytest
from kadath_candles import Candle
from kadath_candles import plugin as candles
from kadath_candles.burning import BURN_CHECK_INTERVAL_S
from pytest_benchmark.fixture import BenchmarkFixture

from bench.reference import EngineClock, open_reference
from systems import plugin as core

BURNING = EngineClock("burn_candles")  # a timer that runs only while burn_candles runs
FULL_CANDLE_S = 1_800.0


@pytest.mark.benchmark(timer=BURNING)
def test_burn_candles_in_town(benchmark: BenchmarkFixture) -> None:
    run = open_reference("town-10k", plugins=[core, candles])
    world = run.engine.world
    for player in run.players:
        world.add(player, Candle(burn_left_s=FULL_CANDLE_S, lit=True))
    BURNING.watch(run.engine)
    # A round is one run of the rule: the play of one interval (the players typing, every
    # system), of which the timer counts only what burn_candles took.
    interval = world.clock.ticks_for(BURN_CHECK_INTERVAL_S)
    rounds = 100 if benchmark.enabled else 1
    timed = benchmark.pedantic  # untyped in pytest-benchmark
    timed(run.run, args=(interval,), rounds=rounds)  # type: ignore[no-untyped-call]
    assert all(world.get(player, Candle).burn_left_s < FULL_CANDLE_S for player in run.players)
