"""The World facade: entities, components, stable ids and queries that stay exact and cheap."""

from __future__ import annotations

from dataclasses import dataclass

import esper
import pytest

from engine.component import Component, ComponentError, persistent
from engine.events import Scope, ScopeKind
from engine.world import NoSuchComponent, NoSuchEntity, World


@dataclass(slots=True)
class Position:
    x: float
    y: float


@dataclass(slots=True)
class Velocity:
    dx: float
    dy: float


@dataclass(slots=True)
class InCombat:
    pass


@dataclass(slots=True)
class Dead:
    pass


@persistent("test_world_health")
@dataclass(slots=True)
class Health(Component):
    current: int
    maximum: int = 10


def test_two_worlds_in_one_process_do_not_share_entities() -> None:
    a, b = World(), World()
    ea = a.spawn(Position(1, 1))
    b.spawn(Position(2, 2), Velocity(0, 0))
    b.spawn(Position(3, 3))
    assert len(a) == 1 and len(b) == 2
    assert [p.x for _, p in a.query(Position)] == [1]
    assert sorted(p.x for _, p in b.query(Position)) == [2, 3]
    assert a.get(ea, Position).x == 1


def test_world_switches_esper_context_back_after_another_world_was_used() -> None:
    a = World()
    entity = a.spawn(Position(5, 5))
    World().spawn(Velocity(1, 1))
    esper.switch_world("default")
    assert a.get(entity, Position) == Position(5, 5)
    assert a.has(entity, Position)


def test_get_on_a_missing_entity_or_component_raises_a_specific_error() -> None:
    world = World()
    entity = world.spawn(Position(0, 0))
    with pytest.raises(NoSuchComponent, match="has no Velocity"):
        world.get(entity, Velocity)
    with pytest.raises(NoSuchEntity, match="does not exist"):
        world.get(entity + 100, Position)
    assert world.try_get(entity, Velocity) is None
    assert world.try_get(entity + 100, Position) is None


def test_adding_to_a_destroyed_entity_is_an_error() -> None:
    world = World()
    entity = world.spawn()
    world.destroy(entity)
    assert not world.exists(entity)
    with pytest.raises(NoSuchEntity):
        world.add(entity, Position(0, 0))
    with pytest.raises(NoSuchEntity):
        world.destroy(entity)


def test_remove_returns_the_component_and_discard_tolerates_absence() -> None:
    world = World()
    entity = world.spawn(Position(1, 2))
    assert world.remove(entity, Position) == Position(1, 2)
    assert world.discard(entity, Position) is None
    with pytest.raises(NoSuchComponent):
        world.remove(entity, Position)


def test_persistent_entities_get_distinct_stable_ids_and_transient_ones_none() -> None:
    world = World(node_id=7)
    a = world.spawn(persistent=True)
    b = world.spawn(persistent=True)
    c = world.spawn()
    sa, sb = world.stable_id(a), world.stable_id(b)
    assert sa is not None and sb is not None and sa != sb
    assert world.stable_id(c) is None
    assert world.entity_of(sa) == a
    world.destroy(a)
    assert world.entity_of(sa) is None


def test_restoring_an_entity_by_stable_id_keeps_the_id_and_is_never_reissued() -> None:
    world = World(node_id=3)
    restored = world.spawn(stable_id=(3 << 47) | 41)
    assert world.stable_id(restored) == (3 << 47) | 41
    fresh = world.spawn(persistent=True)
    assert world.stable_id(fresh) == (3 << 47) | 42
    with pytest.raises(ValueError, match="already names"):
        world.spawn(stable_id=(3 << 47) | 41)


def test_a_referable_transient_entity_is_named_by_a_negative_id_and_never_tracked() -> None:
    world = World(node_id=3)
    before = world.ids.next_sequence
    ghost = world.spawn(Health(5), referable=True)
    other = world.spawn(referable=True)
    ref = world.stable_id(ghost)
    assert ref is not None and ref < 0 and world.stable_id(other) == ref - 1
    assert world.entity_of(ref) == ghost
    assert not world.is_persistent(ghost)
    assert world.ids.next_sequence == before  # no stable id was taken
    world.get(ghost, Health).current = 1  # a persistent type, but on an entity never saved
    world.add(ghost, Health(2))
    changes = world.collect_changes()
    assert len(changes) == 0 and not changes.spawned
    world.destroy(ghost)
    assert world.entity_of(ref) is None
    assert not world.collect_changes().destroyed
    saved = world.spawn(Health(3), persistent=True)
    assert world.is_persistent(saved) and world.stable_id(saved) == (3 << 47) | before
    with pytest.raises(ValueError, match="transient"):
        world.spawn(referable=True, persistent=True)


def test_query_of_two_types_yields_only_entities_having_both() -> None:
    world = World()
    moving = world.spawn(Position(0, 0), Velocity(1, 1))
    world.spawn(Position(5, 5))
    world.spawn(Velocity(2, 2))
    rows = world.query(Position, Velocity)
    assert [(e, type(p), type(v)) for e, (p, v) in rows] == [(moving, Position, Velocity)]


def test_query_without_excludes_entities_having_the_excluded_type() -> None:
    world = World()
    alive = world.spawn(Health(5))
    dead = world.spawn(Health(0), Dead())
    assert [e for e, _ in world.query(Health, without=(Dead,))] == [alive]
    world.remove(dead, Dead)
    assert sorted(e for e, _ in world.query(Health, without=(Dead,))) == [alive, dead]
    world.add(alive, Dead())
    assert [e for e, _ in world.query(Health, without=(Dead,))] == [dead]


def test_cached_query_follows_adds_removes_replacements_and_destruction() -> None:
    world = World()
    a = world.spawn(Position(0, 0))
    assert world.query(Position, Velocity) == []
    world.add(a, Velocity(1, 0))
    assert world.query(Position, Velocity) == [(a, (Position(0, 0), Velocity(1, 0)))]
    world.add(a, Velocity(9, 9))  # replacement is seen
    assert world.query(Position, Velocity)[0][1][1] == Velocity(9, 9)
    world.remove(a, Position)
    assert world.query(Position, Velocity) == []
    world.add(a, Position(2, 2))
    b = world.spawn(Position(3, 3), Velocity(0, 1))
    assert {e for e, _ in world.query(Position, Velocity)} == {a, b}
    world.destroy(a)
    assert [e for e, _ in world.query(Position, Velocity)] == [b]


def test_churn_of_an_unrelated_type_leaves_a_cached_query_untouched() -> None:
    world = World()
    for i in range(100):
        world.spawn(Position(i, i), Velocity(1, 1))
    first = world.query(Position, Velocity)
    for entity, _ in first[:10]:
        world.add(entity, InCombat())
    for entity, _ in first[:10]:
        world.remove(entity, InCombat)
    # The very same list object: nothing was rebuilt.
    assert world.query(Position, Velocity) is first


def test_query_result_is_a_snapshot_safe_to_iterate_while_changing_the_world() -> None:
    world = World()
    for i in range(10):
        world.spawn(Health(i))
    for entity, health in world.query(Health):
        if health.current % 2:
            world.destroy(entity)
    assert sorted(h.current for _, h in world.query(Health)) == [0, 2, 4, 6, 8]


def test_query_rejects_requiring_and_excluding_the_same_type() -> None:
    with pytest.raises(TypeError, match="both require and exclude"):
        World().query(Health, without=(Health,))


def test_one_component_instance_cannot_belong_to_two_entities() -> None:
    world = World()
    shared = Health(5)
    world.spawn(shared, persistent=True)
    with pytest.raises(ComponentError, match="already belongs to an entity"):
        world.spawn(shared, persistent=True)


def test_emitted_events_carry_the_tick_and_are_drained_once() -> None:
    world = World()
    world.clock.advance()
    world.emit("msg", Scope.room(4), "A cold wind.", {"k": 1}, exclude=[9])
    events = world.drain_events()
    assert len(events) == 1
    event = events[0]
    assert (event.type, event.scope.kind, event.scope.target, event.tick) == (
        "msg",
        ScopeKind.ROOM,
        4,
        1,
    )
    assert event.data == {"k": 1} and event.exclude == frozenset({9})
    assert world.drain_events() == []


def test_dump_is_identical_for_identically_built_worlds_and_differs_otherwise() -> None:
    def build(hp: int) -> World:
        world = World(seed=5)
        world.spawn(Health(hp), persistent=True)
        world.spawn(Position(1, 2))
        return world

    assert build(3).dump() == build(3).dump()
    assert build(3).dump() != build(4).dump()


@dataclass(frozen=True, slots=True)
class At:
    """An immutable location: moving means replacing it, so an index on it is never stale."""

    room: str


def test_an_index_finds_entities_by_field_in_arrival_order_and_follows_moves() -> None:
    world = World()
    world.add_index(At, "room")
    a = world.spawn(At("hall"))
    b = world.spawn(At("hall"))
    c = world.spawn(At("crypt"))
    assert list(world.lookup(At, "room", "hall")) == [a, b]
    world.add(a, At("crypt"))
    assert list(world.lookup(At, "room", "hall")) == [b]
    assert list(world.lookup(At, "room", "crypt")) == [c, a]
    world.remove(b, At)
    world.destroy(c)
    assert list(world.lookup(At, "room", "hall")) == []
    assert list(world.lookup(At, "room", "crypt")) == [a]
    assert list(world.lookup(At, "room", "nowhere")) == []


def test_an_index_declared_late_includes_existing_entities() -> None:
    world = World()
    a = world.spawn(At("hall"))
    world.add_index(At, "room")
    assert list(world.lookup(At, "room", "hall")) == [a]


def test_only_frozen_components_can_be_indexed_and_lookups_need_a_declared_index() -> None:
    world = World()
    with pytest.raises(TypeError, match="frozen dataclass"):
        world.add_index(Position, "x")
    with pytest.raises(TypeError, match="no field"):
        world.add_index(At, "zone")
    with pytest.raises(KeyError, match="add_index"):
        world.lookup(At, "room", "hall")


@persistent("test_world_place")
@dataclass(frozen=True, slots=True)
class Place(Component):
    room: str


def test_a_frozen_persistent_component_is_tracked_by_replacement() -> None:
    world = World()
    entity = world.spawn(Place("hall"), persistent=True)
    world.collect_changes()
    world.add(entity, Place("crypt"))
    assert len(world.collect_changes().changed) == 1
    world.add(entity, Place("crypt"))
    assert len(world.collect_changes()) == 0


class Directory:
    def __init__(self) -> None:
        self.rooms = {"hall": 1}


def test_resources_are_world_wide_singletons_found_by_type() -> None:
    world = World()
    assert world.try_resource(Directory) is None
    with pytest.raises(KeyError, match="insert_resource"):
        world.resource(Directory)
    directory = Directory()
    world.insert_resource(directory)
    assert world.resource(Directory) is directory
    assert World().try_resource(Directory) is None


def test_destroy_all_destroys_each_and_stops_at_one_that_is_not_there() -> None:
    world = World()
    a, b, c = (world.spawn(Health(i), persistent=True) for i in range(3))
    world.collect_changes()
    world.destroy_all([a, b])
    assert not world.exists(a) and not world.exists(b) and world.exists(c)
    assert [entity for entity, _ in world.query(Health)] == [c]
    with pytest.raises(NoSuchEntity):
        world.destroy_all([c, a])  # a is gone: c, before it, is destroyed all the same
    assert not world.exists(c)
    assert len(world.collect_changes().destroyed) == 3


def test_an_evicted_entity_leaves_with_its_components_and_nothing_is_saved_of_it() -> None:
    world = World()
    body = world.spawn(Health(5), Position(1, 2), persistent=True)
    sid = world.stable_id(body)
    assert sid is not None
    world.collect_changes()
    world.get(body, Health).current = 3  # changed in the tick it leaves: handed on, not saved
    (taken,) = world.evict([body])
    assert taken[0] == sid
    assert {type(c) for c in taken[1]} == {Health, Position}
    assert not world.exists(body) and world.entity_of(sid) is None
    changes = world.collect_changes()
    assert len(changes) == 0 and not changes.destroyed and not changes.deleted
    assert world.evicted_stable_id(body) == sid  # the journal still names its commands


def test_a_removals_feed_may_leave_out_evicted_entities_which_live_on_elsewhere() -> None:
    world = World()
    every = world.removals(Health)
    losses = world.removals(Health, evictions=False)
    leaving = world.spawn(Health(5), persistent=True)
    dying = world.spawn(Health(1), persistent=True)
    world.evict([leaving])
    world.destroy(dying)
    assert [entity for entity, _ in every.drain()] == [leaving, dying]
    assert [entity for entity, _ in losses.drain()] == [dying]


def test_evicting_a_transient_entity_is_refused_and_evicts_nothing() -> None:
    world = World()
    saved = world.spawn(Health(5), persistent=True)
    transient = world.spawn(Position(0, 0))
    with pytest.raises(ValueError, match="not persistent"):
        world.evict([saved, transient])
    assert world.exists(saved) and world.exists(transient)
