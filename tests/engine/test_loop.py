"""Rules for the tick loop, driven by fake time: no real sleeps, no wall-clock assertions.

The fake clock moves only when the loop sleeps or when a tick says it took time. The rate is 8 Hz so
that the period (0.125 s) and every duration used here are exact binary fractions: schedule
arithmetic is then exact, and the tests can demand equality rather than closeness.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import random
from collections.abc import Callable

import pytest

from engine.loop import LoopStats, TickLoop

RATE_HZ = 8.0
PERIOD = 0.125
START = 1000.0


class FakeTime:
    """A clock plus a sleep that advances it, logging every sleep and tick in order."""

    def __init__(self, oversleep: Callable[[], float] = lambda: 0.0) -> None:
        self.now = START
        self.oversleep = oversleep
        self.sleeps: list[float] = []
        self.log: list[str] = []  # "tick", "wait" (positive sleep) or "yield" (sleep(0))

    def clock(self) -> float:
        return self.now

    async def sleep(self, delay: float) -> None:
        self.sleeps.append(delay)
        if delay > 0:
            self.log.append("wait")
            self.now += delay + self.oversleep()
        else:
            self.log.append("yield")
        await asyncio.sleep(0)  # a real, instant turn of the event loop


class Ticker:
    """A tick that records when it started and takes ``duration(n)`` fake seconds."""

    def __init__(self, fake: FakeTime, duration: Callable[[int], float] = lambda n: 0.0) -> None:
        self.fake = fake
        self.duration = duration
        self.starts: list[float] = []

    def __call__(self) -> None:
        n = len(self.starts)
        self.starts.append(self.fake.now)
        self.fake.log.append("tick")
        self.fake.now += self.duration(n)


def make_loop(
    fake: FakeTime,
    duration: Callable[[int], float] = lambda n: 0.0,
    max_catch_up_ticks: int = 5,
) -> tuple[TickLoop, Ticker]:
    ticker = Ticker(fake, duration)
    loop = TickLoop(
        ticker, RATE_HZ, max_catch_up_ticks, clock=fake.clock, sleep=fake.sleep, stats_window=4096
    )
    return loop, ticker


def at(*periods: float) -> list[float]:
    return [START + p * PERIOD for p in periods]


def longest_burst(log: list[str]) -> int:
    """Most ticks run without a real wait between them (yields do not count as waiting)."""
    longest = current = 0
    for entry in log:
        if entry == "tick":
            current += 1
            longest = max(longest, current)
        elif entry == "wait":
            current = 0
    return longest


async def settle() -> None:
    """Give the event loop a fixed number of turns: enough for any prompt reaction."""
    for _ in range(20):
        await asyncio.sleep(0)


# --- schedule -------------------------------------------------------------------------------------


def test_ticks_start_exactly_on_absolute_deadlines_whatever_each_tick_takes() -> None:
    rng = random.Random(42)
    durations = [rng.randrange(0, 1024) / 8192 for _ in range(1000)]  # 0 to just under a period
    fake = FakeTime()
    loop, ticker = make_loop(fake, lambda n: durations[n])

    asyncio.run(loop.run(max_ticks=1000))

    assert ticker.starts == at(*range(1000))
    # The waits requested fill exactly the gaps the ticks left: nothing drifts over 1,000 ticks.
    assert sum(fake.sleeps) + sum(durations[:-1]) == 999 * PERIOD
    assert loop.stats().overruns == 0
    assert loop.stats().skipped_ticks == 0


def test_oversleeping_delays_one_tick_but_never_accumulates_into_drift() -> None:
    rng = random.Random(1)
    max_oversleep = PERIOD / 2
    fake = FakeTime(oversleep=lambda: rng.randrange(0, 512) / 8192)  # up to just under P/2
    loop, ticker = make_loop(fake, lambda n: 1 / 64)

    asyncio.run(loop.run(max_ticks=1000))

    deadlines = at(*range(1000))
    lateness = [start - deadline for start, deadline in zip(ticker.starts, deadlines, strict=True)]
    assert all(0 <= late < max_oversleep for late in lateness)
    # A loop that slept "one period" each time would now be about 1000 * mean oversleep behind.
    assert ticker.starts[-1] - at(999)[0] < max_oversleep
    assert loop.stats().lateness.max_ns < max_oversleep * 1e9


def test_first_tick_runs_immediately_and_the_next_waits_one_period() -> None:
    fake = FakeTime()
    loop, ticker = make_loop(fake)

    asyncio.run(loop.run(max_ticks=2))

    assert ticker.starts == at(0, 1)
    assert fake.sleeps == [0, PERIOD]


# --- overruns and catch-up ------------------------------------------------------------------------


def test_a_tick_longer_than_one_period_counts_as_an_overrun() -> None:
    slow = {3: 1.5 * PERIOD, 5: PERIOD}  # exactly one period is not an overrun
    fake = FakeTime()
    loop, _ = make_loop(fake, lambda n: slow.get(n, 0.0))

    asyncio.run(loop.run(max_ticks=8))

    assert loop.stats().overruns == 1


def test_falling_behind_by_three_periods_runs_the_missed_ticks_back_to_back() -> None:
    fake = FakeTime()
    loop, ticker = make_loop(fake, lambda n: 3.5 * PERIOD if n == 1 else 0.0)

    asyncio.run(loop.run(max_ticks=7))

    # Tick 1 starts at 1 P and ends at 4.5 P: the ticks due at 2, 3 and 4 P run at once.
    assert ticker.starts == at(0, 1, 4.5, 4.5, 4.5, 5, 6)
    assert loop.stats().skipped_ticks == 0
    assert loop.stats().lateness.max_ns == round(2.5 * PERIOD * 1e9)


def test_loop_never_bursts_more_than_max_catch_up_ticks() -> None:
    fake = FakeTime()
    loop, ticker = make_loop(fake, lambda n: 50.5 * PERIOD if n == 1 else 0.0, max_catch_up_ticks=5)

    asyncio.run(loop.run(max_ticks=9))

    # Tick 1 ends at 51.5 P, fifty deadlines (2 to 51 P) late: five are caught up, then the
    # schedule is re-based to 51.5 P and the next tick is due one period later.
    assert ticker.starts == at(0, 1, *[51.5] * 5, 52.5, 53.5)
    assert loop.stats().skipped_ticks == 45


def test_sustained_overload_runs_bounded_bursts_and_counts_what_it_skips() -> None:
    fake = FakeTime()
    loop, _ = make_loop(fake, lambda n: 1.5 * PERIOD, max_catch_up_ticks=5)

    asyncio.run(loop.run(max_ticks=300))

    stats = loop.stats()
    assert longest_burst(fake.log) == 1 + 5  # one on-time tick, then at most five catching up
    assert stats.overruns == 300
    # Each 10-period cycle: six ticks take 9 P, the four deadlines that pass meanwhile are skipped,
    # then one wait. 300 ticks are 50 cycles; the last ends before its skip.
    assert stats.skipped_ticks == 4 * 49


def test_skip_warnings_are_rate_limited_but_account_for_every_skipped_tick(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeTime()
    loop, _ = make_loop(fake, lambda n: 1.5 * PERIOD, max_catch_up_ticks=5)

    with caplog.at_level(logging.WARNING, logger="engine.loop"):
        asyncio.run(loop.run(max_ticks=300))

    # 49 skips over 60 s of overload, but at most one warning every SKIP_WARNING_INTERVAL_S.
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 7
    skipped_reported = 0
    for record in warnings:
        assert isinstance(record.args, tuple) and isinstance(record.args[1], int)
        skipped_reported += record.args[1]  # "skipped %d ticks since the last warning"
    assert skipped_reported == loop.stats().skipped_ticks


def test_zero_max_catch_up_skips_every_missed_deadline() -> None:
    fake = FakeTime()
    loop, ticker = make_loop(fake, lambda n: 2.5 * PERIOD if n == 1 else 0.0, max_catch_up_ticks=0)

    asyncio.run(loop.run(max_ticks=4))

    assert ticker.starts == at(0, 1, 4.5, 5.5)
    assert loop.stats().skipped_ticks == 2


def test_skipping_ticks_logs_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    fake = FakeTime()
    loop, _ = make_loop(fake, lambda n: 20 * PERIOD if n == 0 else 0.0, max_catch_up_ticks=2)

    with caplog.at_level(logging.WARNING, logger="engine.loop"):
        asyncio.run(loop.run(max_ticks=5))

    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "skipped 18 ticks" in warnings[0].getMessage()


def test_loop_yields_to_the_event_loop_between_ticks_even_when_behind() -> None:
    fake = FakeTime()
    loop, _ = make_loop(fake, lambda n: 10 * PERIOD if n == 0 else 0.0, max_catch_up_ticks=20)

    async def scenario() -> None:
        async def network() -> None:
            while True:
                fake.log.append("io")
                await asyncio.sleep(0)

        io = asyncio.create_task(network())
        await loop.run(max_ticks=12)
        io.cancel()

    asyncio.run(scenario())

    ticks_and_io = [entry for entry in fake.log if entry in ("tick", "io")]
    assert ticks_and_io.count("tick") == 12
    assert ("tick", "tick") not in set(itertools.pairwise(ticks_and_io))


# --- stopping -------------------------------------------------------------------------------------


async def sleep_until_cancelled(delay: float) -> None:
    """Stands for a long real sleep: a positive wait only ends if it is cancelled."""
    if delay > 0:
        await asyncio.Event().wait()
    await asyncio.sleep(0)


def test_stop_ends_run_promptly_without_waiting_for_the_next_deadline() -> None:
    fake = FakeTime()
    ticker = Ticker(fake)
    loop = TickLoop(ticker, RATE_HZ, clock=fake.clock, sleep=sleep_until_cancelled)

    async def scenario() -> None:
        run = asyncio.create_task(loop.run())
        await settle()
        assert loop.running and len(ticker.starts) == 1  # ticked once, now waiting
        asyncio.get_running_loop().call_soon(loop.stop)  # as a signal handler would
        await settle()
        assert run.done()
        await run

    asyncio.run(scenario())

    assert not loop.running
    assert loop.stats().ticks == 1


def test_stop_during_a_tick_lets_it_finish_then_returns_without_waiting() -> None:
    fake = FakeTime()
    loop: TickLoop

    def tick_then_stop(n: int) -> float:
        if n == 2:
            loop.stop()
        return 0.0

    loop, ticker = make_loop(fake, tick_then_stop)

    asyncio.run(loop.run())

    assert len(ticker.starts) == 3
    assert fake.log[-1] == "tick"  # no wait after the stopping tick


def test_stop_before_run_makes_that_run_return_without_ticking() -> None:
    fake = FakeTime()
    loop, ticker = make_loop(fake)

    loop.stop()
    asyncio.run(loop.run())
    assert ticker.starts == []

    asyncio.run(loop.run(max_ticks=2))  # the stop request was consumed; the loop can run again
    assert len(ticker.starts) == 2


def test_cancelling_run_still_cancels_it() -> None:
    fake = FakeTime()
    loop = TickLoop(Ticker(fake), RATE_HZ, clock=fake.clock, sleep=sleep_until_cancelled)

    async def scenario() -> None:
        run = asyncio.create_task(loop.run())
        await settle()
        run.cancel()
        with pytest.raises(asyncio.CancelledError):
            await run

    asyncio.run(scenario())
    assert not loop.running


def test_running_one_loop_twice_at_once_is_refused() -> None:
    fake = FakeTime()
    loop = TickLoop(Ticker(fake), RATE_HZ, clock=fake.clock, sleep=sleep_until_cancelled)

    async def scenario() -> None:
        run = asyncio.create_task(loop.run())
        await settle()
        with pytest.raises(RuntimeError, match="already running"):
            await loop.run()
        loop.stop()
        await run

    asyncio.run(scenario())


# --- faults and figures ---------------------------------------------------------------------------


def test_an_exception_escaping_tick_is_logged_counted_and_the_loop_keeps_ticking(
    caplog: pytest.LogCaptureFixture,
) -> None:
    fake = FakeTime()

    def faulty(n: int) -> float:
        if n == 2:
            raise KeyError("engine bug")
        return 0.0

    loop, ticker = make_loop(fake, faulty)

    with caplog.at_level(logging.ERROR, logger="engine.loop"):
        asyncio.run(loop.run(max_ticks=5))

    assert len(ticker.starts) == 5
    assert ticker.starts == at(0, 1, 2, 3, 4)
    assert loop.stats().tick_errors == 1
    assert loop.stats().ticks == 5
    (record,) = [r for r in caplog.records if r.levelno == logging.ERROR]
    assert record.exc_info is not None and record.exc_info[0] is KeyError


def test_every_tick_records_its_duration_and_lateness() -> None:
    fake = FakeTime()
    loop, _ = make_loop(fake, lambda n: 3.5 * PERIOD if n == 1 else 0.0)

    asyncio.run(loop.run(max_ticks=7))

    stats = loop.stats()
    assert isinstance(stats, LoopStats)
    assert stats.ticks == stats.tick_duration.count == stats.lateness.count == 7
    assert stats.rate_hz == RATE_HZ
    figures = stats.as_dict()
    assert figures["ticks"] == 7
    assert isinstance(figures["tick_duration"], dict) and "p99_ms" in figures["tick_duration"]


def test_the_history_has_a_point_per_step_with_its_ticks_and_their_lateness() -> None:
    fake = FakeTime()
    # 8 Hz, one point per second: ticks 0-7 in the first step (START is a whole second); tick
    # 10 takes 2.5 periods, so ticks 11 and 12 start late (1.5 and 0.5 periods).
    loop = TickLoop(
        Ticker(fake, lambda n: 2.5 * PERIOD if n == 10 else 0.0),
        RATE_HZ,
        clock=fake.clock,
        sleep=fake.sleep,
        history_s=4.0,
        history_step_s=1.0,
    )

    asyncio.run(loop.run(max_ticks=20))

    history = loop.history()
    assert (history.step_s, history.span_s) == (1.0, 4.0)
    assert history.now_s == fake.now
    assert [p.start_s for p in history.lateness] == [START, START + 1, START + 2]
    assert [p.count for p in history.lateness] == [8, 8, 4]
    assert [p.count for p in history.tick_duration] == [8, 8, 4]
    assert [p.max for p in history.lateness] == [0, round(1.5 * PERIOD * 1e9), 0]
    assert history.lateness[1].total == round(2 * PERIOD * 1e9)  # 1.5 + 0.5 periods
    assert history.lateness[1].p50 == 0  # most of the step's ticks were on time


def test_the_history_goes_back_no_further_than_its_span() -> None:
    fake = FakeTime()
    short = TickLoop(
        Ticker(fake), RATE_HZ, clock=fake.clock, sleep=fake.sleep, history_s=2.0, history_step_s=1.0
    )

    asyncio.run(short.run(max_ticks=8 * 30))  # thirty seconds of ticks

    history = short.history()
    assert [p.start_s for p in history.tick_duration] == [START + 28, START + 29]
    assert [p.count for p in history.lateness] == [8, 8]


@pytest.mark.parametrize(
    ("rate_hz", "max_catch_up_ticks", "message"),
    [
        (0.0, 5, "rate_hz"),
        (-10.0, 5, "rate_hz"),
        (float("inf"), 5, "rate_hz"),
        (10.0, -1, "max_catch_up_ticks"),
    ],
)
def test_nonsense_configuration_is_refused_with_a_clear_message(
    rate_hz: float, max_catch_up_ticks: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        TickLoop(lambda: None, rate_hz, max_catch_up_ticks)
