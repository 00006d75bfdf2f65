"""The fixed-rate tick loop: runs the world's synchronous tick on the asyncio event loop, on time.

It owns the schedule (absolute deadlines, bounded catch-up) and the loop-level timing figures, and
gives the event loop a turn between ticks so sockets keep flowing. It must never do I/O itself
(beyond logging a fault), never run ticks in another thread, and never let a slow tick snowball.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from engine.stats import (
    DEFAULT_WINDOW,
    Metric,
    RollingTimings,
    SeriesPoint,
    TimeSeries,
    TimingStats,
    counter,
    summary,
)

__all__ = [
    "DEFAULT_HISTORY_S",
    "DEFAULT_HISTORY_STEP_S",
    "LOOP_METRICS",
    "LoopHistory",
    "LoopStats",
    "TickLoop",
]

log = logging.getLogger(__name__)

_NS_PER_S = 1_000_000_000

SKIP_WARNING_INTERVAL_S = 10.0
"""At most one skipped-ticks warning per this many seconds; the counter keeps the exact figure."""

DEFAULT_HISTORY_S = 600.0
"""How far back the loop's history goes, unless told (``engine.stats_history_s``)."""
DEFAULT_HISTORY_STEP_S = 5.0
"""Seconds one point of that history sums up, unless told (``engine.stats_history_step_s``)."""


@dataclass(frozen=True, slots=True)
class LoopStats:
    """The loop's health at a glance: the snapshot ``TickLoop.stats()`` returns, for the log, the
    benchmarks (PERFORMANCE.md) and /metrics (``LOOP_METRICS``).

    ``ticks`` counts ticks run, including those that raised; ``skipped_ticks`` counts deadlines
    dropped because the loop was too far behind to catch up; ``lateness`` is how long after its
    deadline each tick started, which shows event-loop congestion that tick durations cannot.
    """

    rate_hz: float
    ticks: int
    overruns: int
    skipped_ticks: int
    tick_errors: int
    tick_duration: TimingStats
    lateness: TimingStats

    def as_dict(self) -> dict[str, object]:
        """Plain JSON-able values with timings in milliseconds, for display and metrics."""
        return {
            "rate_hz": self.rate_hz,
            "ticks": self.ticks,
            "overruns": self.overruns,
            "skipped_ticks": self.skipped_ticks,
            "tick_errors": self.tick_errors,
            "tick_duration": self.tick_duration.as_ms_dict(),
            "lateness": self.lateness.as_ms_dict(),
            # Flat, for the one line of the statistics table (which shows no nested values).
            "lateness_p50_ms": round(self.lateness.p50_ns / 1e6, 3),
            "lateness_p99_ms": round(self.lateness.p99_ns / 1e6, 3),
            "lateness_max_ms": round(self.lateness.max_ns / 1e6, 3),
        }


LOOP_METRICS: tuple[Metric[LoopStats], ...] = (
    counter(
        "kadath_loop_ticks_total", "Ticks run, including those that raised.", lambda s: s.ticks
    ),
    counter(
        "kadath_loop_overruns_total",
        "Ticks that took longer than one period.",
        lambda stats: stats.overruns,
    ),
    counter(
        "kadath_loop_skipped_ticks_total",
        "Tick deadlines dropped because the loop was too far behind to catch up.",
        lambda stats: stats.skipped_ticks,
    ),
    counter(
        "kadath_loop_tick_errors_total",
        "Ticks that raised: an engine bug; the loop kept running.",
        lambda stats: stats.tick_errors,
    ),
    summary(
        "kadath_loop_lateness_seconds",
        "How long after its deadline each tick started: the event loop's congestion.",
        lambda stats: stats.lateness,
    ),
)
"""What /metrics shows of the tick loop, once whoever runs the loop puts it on the engine's stats
board. Its tick durations are left to the engine's ``kadath_tick_duration_seconds``: one figure,
one name."""


@dataclass(frozen=True, slots=True)
class LoopHistory:
    """The loop's recent past, for charts (the /stats page): ``TickLoop.history()`` returns it.

    ``tick_duration`` and ``lateness`` have one point per ``step_s`` in which ticks ran, over the
    last ``span_s``, oldest first, in nanoseconds; both are recorded with each tick, so their
    points pair up by ``start_s``. Times are on the loop's clock, as is ``now_s``, the moment the
    history was read: ``now_s - point.start_s`` is how long ago a step began.
    """

    now_s: float
    step_s: float
    span_s: float
    tick_duration: tuple[SeriesPoint, ...]
    lateness: tuple[SeriesPoint, ...]


class TickLoop:
    """Call ``tick`` ``rate_hz`` times a second, on deadlines that never drift.

    **Absolute deadlines.** Tick *n* is due at ``start + n * period``, and each wait is computed
    from the clock to the next deadline. Sleeping "one period minus the tick's duration" instead
    would add every late wake-up and rounding error to all later ticks, and the game clock would
    drift from wall time; with absolute deadlines an error delays one tick and is gone.

    **Bounded catch-up.** After a stall (a slow tick, a GC pause, a busy event loop) the deadlines
    that have passed are run back to back, so the simulated time the world saw stays true, but
    never more than ``max_catch_up_ticks`` of them in a row. If the loop is still behind after
    that, the remaining missed deadlines are dropped, counted in ``skipped_ticks`` and logged (at
    most once every ``SKIP_WARNING_INTERVAL_S``), and the schedule is re-based so that the next
    tick is due one period from now. Unbounded catch-up is a death spiral: catch-up ticks take
    time too, during which more deadlines pass, so a server overloaded for a moment would run
    ticks back to back for ever, starve the sockets (commands and output stall, players time out)
    and never recover. Dropping ticks degrades to a slower world instead of a frozen one.

    **Cooperative.** The loop yields to the event loop at least once between ticks, even when
    behind, so network I/O keeps flowing. ``stop()`` only sets a flag and cuts the current wait
    short, so it is safe in a signal-handler callback (``loop.add_signal_handler``); from another
    thread use ``loop.call_soon_threadsafe(tick_loop.stop)``.

    ``clock`` and ``sleep`` are injectable so that tests can drive the loop with fake time; an
    overrun (a tick longer than one period) is judged on ``clock``, the same clock as the
    deadlines, while tick durations are recorded with ``time.perf_counter_ns`` for precision.

    **History.** Beside the rolling windows, each tick's duration and lateness go into a
    :class:`~engine.stats.TimeSeries` stamped with the tick's start on ``clock``: the last
    ``history_s`` seconds, one point per ``history_step_s`` (median and maximum of its ticks). That
    costs an append per tick; the points are summarised when someone reads ``history()``. Only
    the loop can keep it: a figure sampled from ``stats()`` now and then would miss the worst tick
    of a step, whose window spans a hundred seconds.
    """

    metrics = LOOP_METRICS

    def __init__(
        self,
        tick: Callable[[], object],
        rate_hz: float,
        max_catch_up_ticks: int = 5,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        stats_window: int = DEFAULT_WINDOW,
        history_s: float = DEFAULT_HISTORY_S,
        history_step_s: float = DEFAULT_HISTORY_STEP_S,
    ) -> None:
        if not (math.isfinite(rate_hz) and rate_hz > 0):
            raise ValueError(
                f"rate_hz must be a positive number of ticks a second, got {rate_hz!r}"
            )
        if max_catch_up_ticks < 0:
            raise ValueError(
                f"max_catch_up_ticks must be 0 (never catch up) or more, got {max_catch_up_ticks!r}"
            )
        self._tick = tick
        self._rate_hz = float(rate_hz)
        self._period_s = 1.0 / self._rate_hz
        self._max_catch_up_ticks = max_catch_up_ticks
        self._clock = clock
        self._sleep = sleep
        self._tick_duration = RollingTimings(stats_window)
        self._lateness = RollingTimings(stats_window)
        self._duration_history = TimeSeries(history_step_s, history_s)
        self._lateness_history = TimeSeries(history_step_s, history_s)
        self._ticks = 0
        self._overruns = 0
        self._skipped_ticks = 0
        self._tick_errors = 0
        self._running = False
        self._stop_requested = False
        self._waiter: asyncio.Future[None] | None = None
        self._last_skip_warning_at: float | None = None
        self._skipped_since_warning = 0

    @property
    def rate_hz(self) -> float:
        return self._rate_hz

    @property
    def period_s(self) -> float:
        """Seconds between tick deadlines."""
        return self._period_s

    @property
    def max_catch_up_ticks(self) -> int:
        return self._max_catch_up_ticks

    @property
    def running(self) -> bool:
        """True while ``run`` is executing."""
        return self._running

    def stop(self) -> None:
        """Ask ``run`` to return once the current tick (if any) has finished.

        Only sets a flag and cancels the pending wait, so ``run`` returns promptly rather than at
        the next deadline. If called before ``run`` starts, that ``run`` returns without ticking,
        so a signal that arrives during start-up is not lost.
        """
        self._stop_requested = True
        waiter = self._waiter
        if waiter is not None and not waiter.done():
            waiter.cancel()

    async def run(self, max_ticks: int | None = None) -> None:
        """Tick on schedule until ``stop()`` is called (or ``max_ticks`` ticks have run, for tests).

        The first tick is due immediately. Raises ``RuntimeError`` if the loop is already running:
        two schedules driving one world would run every tick twice.
        """
        if self._running:
            raise RuntimeError(
                "this TickLoop is already running; call stop() before running it again"
            )
        if max_ticks is not None and max_ticks < 0:
            raise ValueError(
                f"max_ticks must be None (run until stopped) or >= 0, got {max_ticks!r}"
            )
        self._running = True
        try:
            await self._run(max_ticks)
        finally:
            self._running = False
            self._stop_requested = False
            self._waiter = None

    def stats(self) -> LoopStats:
        """A snapshot of the counters and timings; sorts the windows, so not per tick."""
        return LoopStats(
            rate_hz=self._rate_hz,
            ticks=self._ticks,
            overruns=self._overruns,
            skipped_ticks=self._skipped_ticks,
            tick_errors=self._tick_errors,
            tick_duration=self._tick_duration.stats(),
            lateness=self._lateness.stats(),
        )

    def history(self) -> LoopHistory:
        """Tick durations and lateness over the last ``history_s``: summarises the steps not yet
        read, so for whoever shows them, not per tick."""
        now = self._clock()
        return LoopHistory(
            now_s=now,
            step_s=self._duration_history.step_s,
            span_s=self._duration_history.span_s,
            tick_duration=self._duration_history.points(now),
            lateness=self._lateness_history.points(now),
        )

    async def _run(self, max_ticks: int | None) -> None:
        period = self._period_s
        base = self._clock()  # the schedule's origin: tick `index` is due at base + index * period
        index = 0
        ran = 0  # ticks run by this call to run()
        catch_up = 0  # ticks started late, back to back, since the loop last waited for a deadline
        while not self._stop_requested and (max_ticks is None or ran < max_ticks):
            deadline = base + index * period
            now = self._clock()
            if now < deadline:
                await self._wait(deadline - now)
                catch_up = 0
            elif ran > 0:
                if catch_up >= self._max_catch_up_ticks:
                    missed = int((now - deadline) // period) + 1
                    self._skip(missed, now - deadline, now)
                    base, index, catch_up = now, 1, 0
                    continue
                catch_up += 1
                await self._sleep(0)  # behind schedule, but the sockets still get their turn
            else:
                await self._sleep(0)
            if self._stop_requested:
                break
            self._run_tick(deadline)
            index += 1
            ran += 1

    async def _wait(self, delay_s: float) -> None:
        """Sleep until the next deadline, unless ``stop()`` cuts the sleep short."""
        waiter = asyncio.ensure_future(self._sleep(delay_s))
        self._waiter = waiter
        try:
            await waiter
        except asyncio.CancelledError:
            task = asyncio.current_task()
            # Swallow only the cancellation stop() caused; a cancelled run() must still end.
            if not self._stop_requested or (task is not None and task.cancelling()):
                raise
        finally:
            self._waiter = None

    def _run_tick(self, deadline: float) -> None:
        started = self._clock()
        lateness = max(0, round((started - deadline) * _NS_PER_S))
        self._lateness.record(lateness)
        self._lateness_history.record(started, lateness)
        tick_number = self._ticks
        t0 = time.perf_counter_ns()
        try:
            self._tick()
        except Exception:
            # Systems are isolated inside the tick, so reaching here is an engine bug. Stopping the
            # world for it would punish every player; log it loudly, count it, and carry on.
            self._tick_errors += 1
            log.exception("tick %d raised; the loop keeps running", tick_number)
        duration = time.perf_counter_ns() - t0
        self._tick_duration.record(duration)
        self._duration_history.record(started, duration)
        self._ticks += 1
        if self._clock() - started > self._period_s:
            self._overruns += 1

    def _skip(self, missed: int, behind_s: float, now: float) -> None:
        self._skipped_ticks += missed
        self._skipped_since_warning += missed
        last = self._last_skip_warning_at
        if last is not None and now - last < SKIP_WARNING_INTERVAL_S:
            return  # an overloaded server would otherwise log every few ticks, adding to its load
        log.warning(
            "tick loop fell %.1f ms behind: skipped %d ticks since the last warning (%d in total); "
            "the world is running slower than %.4g Hz",
            behind_s * 1000,
            self._skipped_since_warning,
            self._skipped_ticks,
            self._rate_hz,
        )
        self._last_skip_warning_at = now
        self._skipped_since_warning = 0
