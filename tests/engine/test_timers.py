"""Due times: the timer queue gives what is due, in a fixed order, touching nothing not yet due;
component timers follow the components that hold due points, whoever adds or replaces them."""

from __future__ import annotations

import random
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from engine.component import Component, persistent
from engine.timers import ComponentTimers, TimerQueue, component_timers
from engine.world import World


@persistent("test_timers_ripens")
@dataclass(frozen=True, slots=True)
class Ripens(Component):
    at_s: float


def ripe_at(ripens: Ripens) -> float:
    return ripens.at_s


def test_keys_come_due_in_time_order_and_ties_in_key_order() -> None:
    queue: TimerQueue[int] = TimerQueue()
    for key, due in ((5, 2.0), (3, 1.0), (9, 1.0), (1, 3.0)):
        queue.schedule(key, due)
    assert queue.pop_due(0.5) == []
    assert queue.pop_due(1.0) == [3, 9]
    assert queue.pop_due(10.0) == [5, 1]
    assert len(queue) == 0


def test_a_point_reached_by_adding_tick_lengths_is_due() -> None:
    queue: TimerQueue[str] = TimerQueue()
    queue.schedule("bell", 0.3)
    assert queue.pop_due(0.1 + 0.1 + 0.1) == ["bell"]


def test_scheduling_a_key_again_moves_it_and_cancelling_removes_it() -> None:
    queue: TimerQueue[int] = TimerQueue()
    queue.schedule(1, 5.0)
    queue.schedule(1, 1.0)
    queue.schedule(2, 1.0)
    assert queue.due_of(1) == 1.0
    assert queue.cancel(2)
    assert not queue.cancel(2)
    assert 2 not in queue
    assert queue.next_due_s() == 1.0
    assert queue.pop_due(10.0) == [1]


def test_stale_entries_are_swept_so_memory_follows_what_is_scheduled() -> None:
    queue: TimerQueue[int] = TimerQueue()
    for round_ in range(50):
        for key in range(100):
            queue.schedule(key, float(round_ * 100 + key))
    assert len(queue) == 100
    assert queue._entries <= 2 * 100 + 64 + 1
    assert sum(len(bucket) for bucket in queue._buckets.values()) == queue._entries


def test_nothing_not_yet_due_is_touched() -> None:
    """A call when nothing is due reads the earliest entry and stops: nothing is changed."""
    queue: TimerQueue[int] = TimerQueue()
    for key in range(1000):
        queue.schedule(key, 100.0 + key)
    times, buckets = list(queue._times), dict(queue._buckets)
    assert queue.pop_due(99.0) == []
    assert (queue._times, queue._buckets) == (times, buckets)


def test_keys_due_together_share_one_time_and_come_out_in_key_order() -> None:
    queue: TimerQueue[int] = TimerQueue()
    for key in (9, 3, 7, 1):
        queue.schedule(key, 5.0)
    queue.schedule(3, 6.0)  # moved out of the bucket
    queue.schedule(3, 5.0)  # and back: once, not twice
    assert len(queue._times) <= 2
    assert queue.pop_due(5.0) == [1, 3, 7, 9]


@settings(max_examples=100, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["schedule", "cancel", "pop"]), st.integers(0, 20), st.integers(0, 50)
        ),
        max_size=200,
    )
)
def test_the_queue_gives_what_a_plain_dict_would(ops: list[tuple[str, int, int]]) -> None:
    queue: TimerQueue[int] = TimerQueue()
    model: dict[int, float] = {}
    for op, key, when in ops:
        if op == "schedule":
            queue.schedule(key, float(when))
            model[key] = float(when)
        elif op == "cancel":
            assert queue.cancel(key) == (model.pop(key, None) is not None)
        else:
            expected = sorted((due, k) for k, due in model.items() if due <= when)
            assert queue.pop_due(float(when)) == [k for _, k in expected]
            for _, k in expected:
                del model[k]
        assert len(queue) == len(model)


def test_additions_report_each_entity_given_the_type_once_in_order() -> None:
    world = World()
    before = world.spawn(Ripens(1.0))
    feed = world.additions(Ripens)
    other = world.additions(Ripens)
    a = world.spawn()
    b = world.spawn(Ripens(2.0))
    world.add(a, Ripens(3.0))
    world.add(b, Ripens(4.0))  # replaced: still once
    world.add(before, Ripens(5.0))
    assert feed.drain() == [b, a, before]
    assert feed.drain() == []
    assert other.drain() == [b, a, before]  # each feed is its own


def test_removals_report_every_component_taken_off_with_its_value_in_order() -> None:
    world = World()
    kept = world.spawn(Ripens(1.0))
    feed = world.removals(Ripens)
    other = world.removals(Ripens)
    a = world.spawn(Ripens(2.0))
    b = world.spawn(Ripens(3.0), persistent=True)
    world.add(kept, Ripens(4.0))  # replaced: an addition, not a removal
    world.remove(a, Ripens)
    world.add(a, Ripens(5.0))
    assert world.discard(a, Ripens) == Ripens(5.0)
    world.destroy(b)  # destroyed with its entity
    world.destroy(world.spawn())  # nothing of the type: nothing reported
    assert feed.drain() == [(a, Ripens(2.0)), (a, Ripens(5.0)), (b, Ripens(3.0))]
    assert feed.drain() == []
    assert len(other) == 3  # each feed is its own
    world.destroy(kept)
    assert other.drain()[-1] == (kept, Ripens(4.0))


def test_component_timers_follow_whoever_adds_or_replaces_the_component() -> None:
    world = World()
    early = world.spawn(Ripens(1.0))
    late = world.spawn(Ripens(9.0))
    timers = ComponentTimers(world, Ripens, ripe_at)
    added = world.spawn(Ripens(2.0))  # after the timers were made: through the feed
    world.add(late, Ripens(3.0))  # moved earlier
    world.add(early, Ripens(8.0))  # moved later: its old time passes unnoticed
    gone = world.spawn(Ripens(2.5))
    world.remove(gone, Ripens)
    assert timers.pop_due(world, 1.5) == []
    assert [e for e, _ in timers.pop_due(world, 3.0)] == [added, late]
    assert [(e, r.at_s) for e, r in timers.pop_due(world, 100.0)] == [(early, 8.0)]


def test_component_timers_are_one_per_world_and_type() -> None:
    world = World()
    world.spawn(Ripens(1.0))
    first = component_timers(world, Ripens, ripe_at)
    assert component_timers(world, Ripens, ripe_at) is first
    assert len(first) == 1
    assert component_timers(World(), Ripens, ripe_at) is not first


def test_a_rebuilt_queue_gives_the_same_order_as_the_original() -> None:
    """Timers are not saved: rebuilt from the components, they must come due as before."""
    rng = random.Random(7)
    points = [float(rng.randint(0, 30)) for _ in range(200)]
    original: TimerQueue[int] = TimerQueue()
    for key, due in enumerate(points):
        original.schedule(key, due)
    rebuilt: TimerQueue[int] = TimerQueue()
    for key in rng.sample(range(len(points)), len(points)):
        rebuilt.schedule(key, points[key])
    for now in range(31):
        assert original.pop_due(float(now)) == rebuilt.pop_due(float(now))
