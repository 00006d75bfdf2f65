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
