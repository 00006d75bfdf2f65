"""Due times: a queue of keys by the simulated second they come due, and the same kept in step with
the components that hold due points (a corpse's decay, a body's next bleed).

A rule asks only for what is due now; nothing not yet due is looked at, so a world can hold a
hundred thousand pending timers for the cost of a glance at the earliest. Timers are never saved:
persistent components hold the due points (game seconds, never ticks or wall clocks) and the queue
is rebuilt from them. Standard library only; no I/O.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Hashable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:
    from engine.world import Additions, World

__all__ = ["DUE_EPSILON_S", "ComponentTimers", "TimerQueue", "component_timers"]

K = TypeVar("K", bound=Hashable)
C = TypeVar("C")

DUE_EPSILON_S = 1e-9
"""Tolerance when comparing simulated times, so that a point due at 0.3 s is due at 3 x 0.1 s."""

#: Cancelled or replaced entries left in the heap are swept out once they outnumber the live ones
#: by this much (and there are at least ``_SWEEP_MIN`` of them): memory stays proportional to what
#: is scheduled, and each sweep costs O(n), paid for by the n stale entries that caused it.
_SWEEP_RATIO = 1
_SWEEP_MIN = 64


class TimerQueue(Generic[K]):
    """Keys by due time (simulated seconds): schedule, cancel, and take what has come due.

    A binary heap of ``(due_s, key)`` with lazy deletion: ``schedule`` is O(log n), ``cancel``
    O(1), and ``pop_due`` O(k log n) for the k keys it returns; a call when nothing is due reads
    one entry. Each key is scheduled at most once (scheduling it again moves it).

    Keys must be orderable among themselves (ints, strings, tuples of them): keys due at the same
    time come out in key order, so the order never depends on the order they were scheduled in,
    and a queue rebuilt after a restart gives what the original would have. Not thread-safe: it
    belongs to the tick, like the world.
    """

    __slots__ = ("_due", "_heap")

    def __init__(self) -> None:
        self._heap: list[tuple[float, K]] = []
        self._due: dict[K, float] = {}

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
        heapq.heappush(self._heap, (due_s, key))
        self._sweep_if_stale()

    def cancel(self, key: K) -> bool:
        """Unschedule ``key``; False if it was not scheduled. Its heap entry goes lazily."""
        if self._due.pop(key, None) is None:
            return False
        self._sweep_if_stale()
        return True

    def next_due_s(self) -> float | None:
        """The earliest due time scheduled, or None when nothing is."""
        heap, due = self._heap, self._due
        while heap:
            due_s, key = heap[0]
            if due.get(key) == due_s:
                return due_s
            heapq.heappop(heap)  # stale: cancelled or moved
        return None

    def pop_due(self, now_s: float) -> list[K]:
        """Every key due at or before ``now_s``, earliest first (ties in key order), unscheduled.

        Entries not yet due are not touched: the call stops at the first of them.
        """
        heap, due = self._heap, self._due
        limit = now_s + DUE_EPSILON_S
        found: list[K] = []
        while heap and heap[0][0] <= limit:
            due_s, key = heapq.heappop(heap)
            if due.get(key) == due_s:
                del due[key]
                found.append(key)
        return found

    def _sweep_if_stale(self) -> None:
        heap = self._heap
        stale = len(heap) - len(self._due)
        if stale > _SWEEP_MIN and stale > _SWEEP_RATIO * len(self._due):
            self._heap = [(due_s, key) for key, due_s in self._due.items()]
            heapq.heapify(self._heap)


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
