"""Change tracking: every change to a persistent component made through the public API is seen,
nothing else is reported, and components that are not persistent cost nothing."""

from __future__ import annotations

import copy
import pickle
from dataclasses import dataclass, replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engine.component import Component, ComponentError, component_info, persistent
from engine.world import World


@persistent("test_tracking_health", version=2)
@dataclass(slots=True)
class Health(Component):
    current: int
    maximum: int = 10


@persistent("test_tracking_mind")
@dataclass(slots=True)
class Mind(Component):
    lucidity: int
    fears: tuple[str, ...] = ()


@persistent("test_tracking_marked")
@dataclass(slots=True)
class Marked(Component):
    """A tag: no fields; its presence is the state."""


@dataclass(slots=True)
class Scratch(Component):
    """A transient component: never tracked."""

    value: int


def test_persistent_registration_records_name_version_and_fields() -> None:
    info = component_info(Health)
    assert info is not None
    assert (info.name, info.version, info.fields) == (
        "test_tracking_health",
        2,
        ("current", "maximum"),
    )
    assert component_info(Scratch) is None


def test_plain_attribute_assignment_is_tracked() -> None:
    world = World()
    entity = world.spawn(Health(10), persistent=True)
    world.collect_changes()
    health = world.get(entity, Health)
    health.current -= 3
    changes = world.collect_changes()
    sid = world.stable_id(entity)
    assert sid is not None
    assert set(changes.changed) == {(sid, Health)}
    assert changes.changed[(sid, Health)] is health and health.current == 7
    assert not changes.added and not changes.deleted


def test_several_writes_in_one_tick_are_reported_once_and_tracking_rearms_next_tick() -> None:
    world = World()
    entity = world.spawn(Health(10), persistent=True)
    world.collect_changes()
    health = world.get(entity, Health)
    for _ in range(5):
        health.current -= 1
    assert len(world.collect_changes().changed) == 1
    health.maximum = 20
    assert len(world.collect_changes().changed) == 1
    assert len(world.collect_changes()) == 0


def test_a_value_changed_and_changed_back_within_a_tick_is_not_reported() -> None:
    world = World()
    entity = world.spawn(Health(10), persistent=True)
    world.collect_changes()
    health = world.get(entity, Health)
    health.current = 3
    health.current = 10
    assert len(world.collect_changes()) == 0


def test_new_components_are_added_not_changed_even_if_written_in_the_same_tick() -> None:
    world = World()
    entity = world.spawn(Health(10), persistent=True)
    world.get(entity, Health).current = 1
    changes = world.collect_changes()
    assert list(changes.added) == [(world.stable_id(entity), Health)]
    assert not changes.changed
    assert changes.spawned == {world.stable_id(entity)}


def test_added_then_removed_within_a_tick_reports_nothing() -> None:
    world = World()
    entity = world.spawn(persistent=True)
    world.collect_changes()
    world.add(entity, Mind(5))
    world.remove(entity, Mind)
    assert len(world.collect_changes()) == 0


def test_removing_and_destroying_report_deletions() -> None:
    world = World()
    a = world.spawn(Health(1), Mind(2), persistent=True)
    b = world.spawn(Health(3), persistent=True)
    sid_a, sid_b = world.stable_id(a), world.stable_id(b)
    world.collect_changes()
    world.remove(a, Mind)
    world.destroy(b)
    changes = world.collect_changes()
    assert changes.deleted == {(sid_a, Mind), (sid_b, Health)}
    assert changes.destroyed == {sid_b}


def test_replacing_a_component_with_equal_values_is_not_a_change_but_different_values_are() -> None:
    world = World()
    entity = world.spawn(Health(5), persistent=True)
    world.collect_changes()
    world.add(entity, Health(5))
    assert len(world.collect_changes()) == 0
    world.add(entity, Health(6))
    assert len(world.collect_changes().changed) == 1


def test_a_replaced_or_removed_component_no_longer_reports_changes() -> None:
    world = World()
    entity = world.spawn(Health(5), persistent=True)
    world.collect_changes()
    old = world.get(entity, Health)
    world.add(entity, Health(5))
    world.collect_changes()
    old.current = 99
    assert len(world.collect_changes()) == 0
    removed = world.remove(entity, Health)
    world.collect_changes()
    removed.current = 1
    assert len(world.collect_changes()) == 0


def test_removed_component_can_be_given_to_another_entity_and_is_tracked_there() -> None:
    world = World()
    a = world.spawn(Health(5), persistent=True)
    b = world.spawn(persistent=True)
    world.collect_changes()
    moved = world.remove(a, Health)
    world.add(b, moved)
    world.collect_changes()
    moved.current = 2
    assert set(world.collect_changes().changed) == {(world.stable_id(b), Health)}


def test_tag_components_without_fields_are_tracked_by_presence() -> None:
    world = World()
    entity = world.spawn(persistent=True)
    world.collect_changes()
    world.add(entity, Marked())
    assert len(world.collect_changes().added) == 1
    world.remove(entity, Marked)
    assert len(world.collect_changes().deleted) == 1


def test_persistent_components_on_transient_entities_are_not_tracked() -> None:
    world = World()
    entity = world.spawn(Health(5))
    world.get(entity, Health).current = 1
    assert len(world.collect_changes()) == 0


def test_transient_component_types_are_never_tracked() -> None:
    world = World()
    entity = world.spawn(Scratch(1), persistent=True)
    world.collect_changes()
    world.get(entity, Scratch).value = 2
    assert len(world.collect_changes()) == 0


def test_copies_and_pickles_of_a_tracked_component_are_detached() -> None:
    world = World()
    entity = world.spawn(Health(5), persistent=True)
    world.collect_changes()
    original = world.get(entity, Health)
    for clone in (
        copy.copy(original),
        copy.deepcopy(original),
        pickle.loads(pickle.dumps(original)),
        replace(original),
    ):
        assert clone == original
        clone.current = 0
    assert len(world.collect_changes()) == 0
    assert original.current == 5


# ------------------------------------------------------------------ where tracking state lives
#
# A tracked component carries its hook (``_k_track``), its key and its clean values in slots. These
# tests pin the cases where that state could go stale: a component leaving and coming back within
# a tick, replaced, moved, destroyed, copied, or offered to a second world; and that exactly the
# attached components of persistent entities are armed, each with its own key.


def _sid(world: World, entity: int) -> int:
    sid = world.stable_id(entity)
    assert sid is not None
    return sid


def _attached_persistent(world: World) -> dict[int, tuple[int, type]]:
    """By id, the keys of the components that ought to be tracked: persistent types on persistent
    entities."""
    return {
        id(component): (sid, type(component))
        for entity in world.entities()
        if (sid := world.stable_id(entity)) is not None
        for component in world.components(entity)
        if component_info(type(component)) is not None
    }


def _tracked_ids(world: World) -> set[int]:
    """Ids of the attached components this world tracks, checking each one's key."""
    tracked = set()
    for entity in world.entities():
        sid = world.stable_id(entity)
        if sid is None:
            continue  # a transient entity's components are not tracked (even if shared)
        for component in world.components(entity):
            if getattr(component, "_k_track", None) is world._record_write:
                assert component._k_key == (sid, type(component))
                tracked.add(id(component))
    return tracked


def test_removed_and_added_back_within_a_tick_is_compared_with_the_tick_start_values() -> None:
    world = World()
    entity = world.spawn(Health(5), persistent=True)
    sid = _sid(world, entity)
    world.collect_changes()
    health = world.get(entity, Health)
    health.current = 1  # written while attached: on the written list
    world.remove(entity, Health)
    health.current = 2  # detached: untracked
    world.add(entity, health)
    health.current = 5  # back to the tick-start value
    assert len(world.collect_changes()) == 0
    world.remove(entity, Health)
    world.add(entity, health)
    health.current = 7
    changes = world.collect_changes()
    assert set(changes.changed) == {(sid, Health)} and changes.values[(sid, Health)] == (7, 10)
    health.current = 8  # still tracked after coming back
    assert set(world.collect_changes().changed) == {(sid, Health)}
    assert _tracked_ids(world) == {id(health)}


def test_moved_to_another_entity_within_a_tick_is_a_deletion_and_an_addition() -> None:
    world = World()
    a = world.spawn(Health(5), persistent=True)
    b = world.spawn(persistent=True)
    world.collect_changes()
    health = world.get(a, Health)
    health.current = 4
    world.add(b, world.remove(a, Health))
    health.current = 3
    changes = world.collect_changes()
    key_a, key_b = (_sid(world, a), Health), (_sid(world, b), Health)
    assert changes.deleted == {key_a}
    assert set(changes.added) == {key_b} and changes.values[key_b] == (3, 10)
    assert not changes.changed
    health.current = 2
    assert set(world.collect_changes().changed) == {key_b}


def test_a_replaced_component_written_in_the_same_tick_reports_only_its_successor() -> None:
    world = World()
    entity = world.spawn(Health(5), persistent=True)
    sid = _sid(world, entity)
    world.collect_changes()
    old = world.get(entity, Health)
    old.current = 1  # on the written list, then replaced
    successor = Health(6)
    world.add(entity, successor)
    old.current = 2  # after replacement: untracked
    changes = world.collect_changes()
    assert changes.changed == {(sid, Health): successor}
    assert changes.values[(sid, Health)] == (6, 10)
    assert _tracked_ids(world) == {id(successor)}
    # The replaced instance is free to join another entity, where it is tracked.
    other = world.spawn(persistent=True)
    world.add(other, old)
    world.collect_changes()
    old.current = 3
    assert set(world.collect_changes().changed) == {(world.stable_id(other), Health)}


def test_after_a_structural_change_the_next_tick_compares_with_the_values_reported() -> None:
    world = World()
    entity = world.spawn(persistent=True)
    sid = _sid(world, entity)
    world.collect_changes()
    added = Health(5)
    world.add(entity, added)
    added.current = 3  # written in the tick it was added: reported as added with 3
    assert world.collect_changes().values[(sid, Health)] == (3, 10)
    added.current = 5  # its value when added, but the database holds 3
    assert set(world.collect_changes().changed) == {(sid, Health)}
    successor = Health(8)
    world.add(entity, successor)
    successor.current = 6
    assert world.collect_changes().values[(sid, Health)] == (6, 10)
    successor.current = 8
    assert set(world.collect_changes().changed) == {(sid, Health)}


def test_replacing_with_an_equal_component_then_writing_it_back_reports_nothing() -> None:
    world = World()
    entity = world.spawn(Health(5), persistent=True)
    world.collect_changes()
    world.get(entity, Health).current = 9
    successor = Health(1)
    world.add(entity, successor)
    successor.current = 5  # the tick-start value of the key, on another instance
    assert len(world.collect_changes()) == 0


def test_a_component_written_then_destroyed_with_its_entity_leaves_no_tracking_state() -> None:
    world = World()
    keep = world.spawn(Health(1), persistent=True)
    doomed = world.spawn(Health(2), Mind(3), persistent=True)
    sid = _sid(world, doomed)
    world.collect_changes()
    health = world.get(doomed, Health)
    health.current = 0
    world.destroy(doomed)
    health.current = 4  # a stale reference: untracked
    changes = world.collect_changes()
    assert changes.deleted == {(sid, Health), (sid, Mind)} and changes.destroyed == {sid}
    assert not changes.changed and not changes.added
    assert _tracked_ids(world) == {id(world.get(keep, Health))}
    assert health._k_track is None


def test_a_copy_of_an_attached_component_is_detached_and_may_join_another_entity() -> None:
    world = World()
    entity = world.spawn(Health(5), persistent=True)
    world.collect_changes()
    original = world.get(entity, Health)
    for clone in (copy.copy(original), pickle.loads(pickle.dumps(original)), replace(original)):
        assert clone._k_track is None
        other = world.spawn(clone, persistent=True)  # not "already belongs to an entity"
        world.collect_changes()
        clone.current = 1
        assert set(world.collect_changes().changed) == {(world.stable_id(other), Health)}
    assert original.current == 5 and original._k_track is not None


def test_a_component_tracked_by_one_world_cannot_join_another_until_removed() -> None:
    first, second = World(), World()
    entity = first.spawn(Health(5), persistent=True)
    health = first.get(entity, Health)
    with pytest.raises(ComponentError, match="already belongs to an entity"):
        second.spawn(health, persistent=True)
    first.collect_changes()
    second.collect_changes()
    first.remove(entity, Health)
    there = second.spawn(health, persistent=True)
    first.collect_changes()
    second.collect_changes()
    health.current = 1
    assert len(first.collect_changes()) == 0
    assert set(second.collect_changes().changed) == {(second.stable_id(there), Health)}
    assert _tracked_ids(first) == set() and _tracked_ids(second) == {id(health)}


def test_a_persistent_component_on_a_transient_entity_holds_no_tracking_state() -> None:
    world = World()
    entity = world.spawn(Health(5))
    health = world.get(entity, Health)
    assert health._k_track is None and _tracked_ids(world) == set()
    # As before: only tracked instances are refused a second entity.
    world.spawn(health, persistent=True)
    assert _tracked_ids(world) == {id(health)}


def test_mark_clean_takes_the_values_of_components_added_and_written_since_collection() -> None:
    world = World()
    entity = world.spawn(Health(10), persistent=True)
    world.add(entity, Mind(2))
    world.get(entity, Mind).lucidity = 1
    world.mark_clean()
    assert len(world.collect_changes()) == 0
    world.get(entity, Mind).lucidity = 2  # the value at add, but not the clean one any more
    world.get(entity, Health).current = 10  # the clean value: no change
    assert set(world.collect_changes().changed) == {(world.stable_id(entity), Mind)}


def test_mark_clean_after_a_move_within_the_period_tracks_the_component_where_it_is() -> None:
    world = World()
    a = world.spawn(persistent=True)
    b = world.spawn(persistent=True)
    health = Health(5)
    world.add(a, health)
    world.add(b, world.remove(a, Health))
    world.mark_clean()
    assert len(world.collect_changes()) == 0
    health.current = 1
    assert set(world.collect_changes().changed) == {(_sid(world, b), Health)}
    world.remove(b, Health)
    world.mark_clean()
    health.current = 2
    assert len(world.collect_changes()) == 0 and _tracked_ids(world) == set()


def test_a_mutable_container_field_is_refused_with_a_fix() -> None:
    with pytest.raises(ComponentError, match="Use tuple"):

        @persistent("test_tracking_bad_list")
        @dataclass(slots=True)
        class Inventory(Component):
            items: list[int]

    with pytest.raises(ComponentError, match="Use frozenset"):

        @persistent("test_tracking_bad_set")
        @dataclass(slots=True)
        class Flags(Component):
            flags: set[str]


def test_persistent_needs_a_slotted_dataclass_component() -> None:
    with pytest.raises(ComponentError, match="slots=True"):

        @persistent("test_tracking_no_slots")
        @dataclass
        class Loose(Component):
            value: int

    with pytest.raises(ComponentError, match=r"subclass of engine\.Component"):

        @persistent("test_tracking_no_base")
        @dataclass(slots=True)
        class Orphan:  # type: ignore[type-var]
            value: int


def test_persistent_names_must_be_usable_as_table_names() -> None:
    with pytest.raises(ComponentError, match="letters, digits and underscores"):
        persistent("bad name!")
    with pytest.raises(ComponentError, match="version"):
        persistent("fine", version=0)


# --------------------------------------------------------------------------- property test
#
# Random sequences of public-API mutations within one tick; the reported changes must equal the
# difference between the canonical persistent state before and after, computed independently.

TYPES = (Health, Mind, Marked)


def _persistent_state(world: World) -> dict[tuple[int, type], tuple[object, ...]]:
    state: dict[tuple[int, type], tuple[object, ...]] = {}
    for entity in world.entities():
        sid = world.stable_id(entity)
        if sid is None:
            continue
        for component in world.components(entity):
            info = component_info(type(component))
            if info is not None:
                state[(sid, type(component))] = tuple(getattr(component, f) for f in info.fields)
    return state


def _fresh(ctype: type, value: int) -> Component:
    if ctype is Health:
        return Health(value % 4, 10)
    if ctype is Mind:
        return Mind(value % 3, ("dark",) * (value % 2))
    return Marked()


operation = st.one_of(
    st.tuples(st.just("spawn"), st.booleans(), st.integers(0, 7)),
    st.tuples(st.just("destroy"), st.integers(0, 50)),
    st.tuples(st.just("add"), st.integers(0, 50), st.sampled_from(TYPES), st.integers(0, 7)),
    st.tuples(st.just("remove"), st.integers(0, 50), st.sampled_from(TYPES)),
    st.tuples(
        st.just("set"),
        st.integers(0, 50),
        st.sampled_from(("current", "maximum", "lucidity", "fears")),
        st.integers(0, 3),
    ),
    st.tuples(st.just("augment"), st.integers(0, 50), st.integers(-2, 2)),
    st.tuples(
        st.just("collect"),
    ),
    st.tuples(st.just("mark_clean")),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(operation, max_size=60))
def test_reported_changes_equal_the_actual_difference_in_persistent_state(
    ops: list[tuple[object, ...]],
) -> None:
    world = World(seed=1)
    for i in range(4):
        world.spawn(Health(i), Mind(i), persistent=True)
    world.spawn(Health(1))  # transient entity: never reported
    world.collect_changes()
    before = _persistent_state(world)

    def pick(index: object) -> int | None:
        entities = world.entities()
        return entities[int(index) % len(entities)] if entities else None  # type: ignore[call-overload]

    for op in ops:
        kind = op[0]
        if kind == "spawn":
            comps = [_fresh(Health, int(op[2]))] if op[2] else []  # type: ignore[call-overload]
            world.spawn(*comps, persistent=bool(op[1]))
        elif kind == "destroy" and (entity := pick(op[1])) is not None:
            world.destroy(entity)
        elif kind == "add" and (entity := pick(op[1])) is not None:
            world.add(entity, _fresh(op[2], int(op[3])))  # type: ignore[arg-type, call-overload]
        elif kind == "remove" and (entity := pick(op[1])) is not None:
            world.discard(entity, op[2])  # type: ignore[arg-type]
        elif kind == "set" and (entity := pick(op[1])) is not None:
            field, value = str(op[2]), int(op[3])  # type: ignore[call-overload]
            target: Component | None = (
                world.try_get(entity, Health)
                if field in ("current", "maximum")
                else world.try_get(entity, Mind)
            )
            if target is not None:
                setattr(target, field, ("dark",) * value if field == "fears" else value)
        elif kind == "augment" and (entity := pick(op[1])) is not None:
            health = world.try_get(entity, Health)
            if health is not None:
                health.current += int(op[2])  # type: ignore[call-overload]
        elif kind == "collect":
            changes = world.collect_changes()
            after = _persistent_state(world)
            _assert_changes_match(before, after, changes)
            before = after
        elif kind == "mark_clean":
            world.mark_clean()
            before = _persistent_state(world)  # what the database is taken to hold
        # Exactly the attached components of persistent entities are armed, at every step.
        assert _tracked_ids(world) == set(_attached_persistent(world))
    changes = world.collect_changes()
    after = _persistent_state(world)
    _assert_changes_match(before, after, changes)


def _assert_changes_match(before: dict, after: dict, changes: object) -> None:  # type: ignore[type-arg]
    from engine.world import Changes

    assert isinstance(changes, Changes)
    expected_added = {k for k in after if k not in before}
    expected_deleted = {k for k in before if k not in after}
    expected_changed = {k for k in after if k in before and after[k] != before[k]}
    assert set(changes.added) == expected_added
    assert set(changes.deleted) == expected_deleted
    assert set(changes.changed) == expected_changed
    # The snapshot values are the end-of-period field values of every added or changed component.
    assert dict(changes.values) == {k: after[k] for k in expected_added | expected_changed}


def test_mark_clean_forgets_pending_changes_and_tracks_from_the_state_it_left() -> None:
    world = World()
    entity = world.spawn(Health(10), Mind(3), persistent=True)
    health = world.get(entity, Health)
    health.current = 4
    world.remove(entity, Mind)
    world.mark_clean()
    assert len(world.collect_changes()) == 0
    health.current = 10  # back to the value before mark_clean: a change from the clean state
    changes = world.collect_changes()
    assert set(changes.changed) == {(world.stable_id(entity), Health)}
