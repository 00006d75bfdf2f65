"""Due times: a queue of keys by the simulated second they come due, and the same kept in step with
the components that hold due points (a corpse's decay, a body's next bleed).

A rule asks only for what is due now; nothing not yet due is looked at, so a world can hold a
hundred thousand pending timers for the cost of a glance at the earliest. Timers are never saved:
persistent components hold the due points (game seconds, never ticks or wall clocks) and the queue
is rebuilt from them. Standard library only; no I/O.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

if TYPE_CHECKING:
    from engine.world import Additions, World

__all__ = ["DUE_EPSILON_S", "ComponentTimers", "TimerQueue", "component_timers"]


class _Key(Protocol):
    """What a timer key must be: hashable (it is looked up) and orderable (ties are broken by
    key): an int, a string, a tuple of those."""

    def __hash__(self) -> int: ...

    def __lt__(self, other: Any, /) -> bool: ...


K = TypeVar("K", bound=_Key)
C = TypeVar("C")

DUE_EPSILON_S = 1e-9
"""Tolerance when comparing simulated times, so that a point due at 0.3 s is due at 3 x 0.1 s."""

#: Cancelled or replaced entries left in the buckets are swept out once they outnumber the live ones
#: by this much (and there are at least ``_SWEEP_MIN`` of them): memory stays proportional to what
#: is scheduled, and each sweep costs O(n), paid for by the n stale entries that caused it.
_SWEEP_RATIO = 1
_SWEEP_MIN = 64


class TimerQueue(Generic[K]):
    """Keys by due time (simulated seconds): schedule, cancel, and take what has come due.

    A calendar queue: a binary heap of the distinct due times, each with the bucket of keys due
    then, and lazy deletion. ``schedule`` is O(1) when its time already has a bucket and
    O(log t) otherwise (t distinct times); ``cancel`` is O(1); ``pop_due`` costs O(log t) per
    time that came due plus the sorting of its keys, so a thousand keys due together (things
    dropped in one tick) cost one heap pop. A call when nothing is due reads one entry. Each key is
    scheduled at most once (scheduling it again moves it).

    Keys must be orderable among themselves (ints, strings, tuples of them): keys due at the same
    time come out in key order, so the order never depends on the order they were scheduled in,
    and a queue rebuilt after a restart gives what the original would have. Not thread-safe: it
    belongs to the tick, like the world.
    """

    __slots__ = ("_buckets", "_due", "_entries", "_times")

    def __init__(self) -> None:
        self._times: list[float] = []  # a heap of the due times that have a bucket
        self._buckets: dict[float, list[K]] = {}
        self._due: dict[K, float] = {}  # what is scheduled: the truth the buckets are checked by
        self._entries = 0  # keys in buckets, stale ones included

    def __len__(self) -> int:
        """How many keys are scheduled."""
        return len(self._due)

    def __contains__(self, key: object) -> bool:
        return key in self._due

    def due_of(self, key: K) -> float | None:
        """When ``key`` comes due, or None if it is not scheduled."""
        return self._due.get(key)

    def schedule(self, key: K, due_s: float) -> None:
        """Make ``key`` come due at ``due_s``, replacing any time it had."""
        self._due[key] = due_s
        bucket = self._buckets.get(due_s)
        if bucket is None:
            self._buckets[due_s] = [key]
            heapq.heappush(self._times, due_s)
        else:
            bucket.append(key)
        self._entries += 1
        self._sweep_if_stale()

    def cancel(self, key: K) -> bool:
        """Unschedule ``key``; False if it was not scheduled. Its bucket entry goes lazily."""
        if self._due.pop(key, None) is None:
            return False
        self._sweep_if_stale()
        return True

    def next_due_s(self) -> float | None:
        """The earliest due time scheduled, or None when nothing is."""
        times, buckets, due = self._times, self._buckets, self._due
        while times:
            due_s = times[0]
            if any(due.get(key) == due_s for key in buckets[due_s]):
                return due_s
            heapq.heappop(times)  # only stale keys: cancelled or moved
            self._entries -= len(buckets.pop(due_s))
        return None

    def pop_due(self, now_s: float) -> list[K]:
        """Every key due at or before ``now_s``, earliest first (ties in key order), unscheduled.

        Times not yet due are not touched: the call stops at the first of them.
        """
        times, buckets, due = self._times, self._buckets, self._due
        limit = now_s + DUE_EPSILON_S
        found: list[K] = []
        while times and times[0] <= limit:
            due_s = heapq.heappop(times)
            bucket = buckets.pop(due_s)
            self._entries -= len(bucket)
            live = []
            for key in bucket:
                if due.get(key) == due_s:
                    del due[key]  # so a key in the bucket twice is taken once
                    live.append(key)
            live.sort()
            found.extend(live)
        return found

    def _sweep_if_stale(self) -> None:
        stale = self._entries - len(self._due)
        if stale > _SWEEP_MIN and stale > _SWEEP_RATIO * len(self._due):
            buckets: dict[float, list[K]] = {}
            for key, due_s in self._due.items():
                buckets.setdefault(due_s, []).append(key)
            self._buckets = buckets
            self._times = list(buckets)
            heapq.heapify(self._times)
            self._entries = len(self._due)


class ComponentTimers(Generic[C]):
    """The entities whose component of one type holds a due point, queued by that point.

    Built from every entity that has the component when it is made, then kept in step by the
    world's feed of additions of that type (:meth:`engine.world.World.additions`): whoever adds or
    replaces the component (a rule, a restore, a test) schedules it, and nobody has to remember
    to. A component's due point is read by ``due_of``; to move it, replace the component (due-point
    components are frozen for that reason). A component removed, or replaced by one due later, is
    dropped when its old time comes, by checking the entity's current component.

    Keys are entity ids: process-local, but the same for the same world built the same way, which
    is what a replay and a test need. Nothing here is saved.
    """

    __slots__ = ("_component", "_due_of", "_feed", "queue")

    def __init__(self, world: World, component_type: type[C], due_of: Callable[[C], float]) -> None:
        self._component = component_type
        self._due_of = due_of
        self.queue: TimerQueue[int] = TimerQueue()
        self._feed: Additions = world.additions(component_type)
        for entity, component in world.query(component_type):
            self.queue.schedule(entity, due_of(component))

    def __len__(self) -> int:
        return len(self.queue)

    def pop_due(self, world: World, now_s: float) -> list[tuple[int, C]]:
        """The entities due at ``now_s`` with their component, earliest first (ties by entity).

        Takes in the components added or replaced since the last call first, so one added this
        tick with a due point already past comes out now.
        """
        queue, component_type, due_of = self.queue, self._component, self._due_of
        for entity in self._feed.drain():
            component = world.try_get(entity, component_type)
            if component is not None:
                queue.schedule(entity, due_of(component))
        found: list[tuple[int, C]] = []
        limit = now_s + DUE_EPSILON_S
        for entity in queue.pop_due(now_s):
            component = world.try_get(entity, component_type)
            if component is not None and due_of(component) <= limit:
                found.append((entity, component))
        return found


class _TimerBoard:
    """A world resource: each component type's timers, made on first use."""

    __slots__ = ("by_type",)

    def __init__(self) -> None:
        self.by_type: dict[type, ComponentTimers[Any]] = {}


def component_timers(
    world: World, component_type: type[C], due_of: Callable[[C], float]
) -> ComponentTimers[C]:
    """The world's :class:`ComponentTimers` of ``component_type``, made on first use (filled from
    every entity that has the component then, and kept in step from there on).

    Every rule that asks for the same type gets the same timers; ``due_of`` must read the same
    point for all of them (it is used only when the timers are made).
    """
    board = world.try_resource(_TimerBoard)
    if board is None:
        board = _TimerBoard()
        world.insert_resource(board)
    timers = board.by_type.get(component_type)
    if timers is None:
        timers = board.by_type[component_type] = ComponentTimers(world, component_type, due_of)
    found: ComponentTimers[C] = timers
    return found
