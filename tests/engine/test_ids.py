"""Rules of stable entity ids: they round-trip, stay in bounds, are never re-issued after a restore,
never collide between nodes, and always fit a signed 64-bit database column."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.ids import (
    MAX_NODE,
    MAX_SEQUENCE,
    NODE_BITS,
    SEQUENCE_BITS,
    IdSpaceExhausted,
    StableIdAllocator,
    make_stable_id,
    split_stable_id,
)
from engine.world import World

INT64_MAX = 2**63 - 1

nodes = st.integers(min_value=1, max_value=MAX_NODE)
sequences = st.integers(min_value=0, max_value=MAX_SEQUENCE)


# --------------------------------------------------------------------------------------------------
# Composition


@given(node=nodes, sequence=sequences)
def test_a_stable_id_splits_back_into_the_node_and_sequence_it_was_made_from(
    node: int, sequence: int
) -> None:
    assert split_stable_id(make_stable_id(node, sequence)) == (node, sequence)


@given(node=nodes, sequence=sequences)
def test_every_stable_id_is_a_positive_signed_64_bit_integer(node: int, sequence: int) -> None:
    stable_id = make_stable_id(node, sequence)
    assert 0 < stable_id <= INT64_MAX


def test_the_largest_stable_id_is_exactly_the_largest_signed_64_bit_integer() -> None:
    assert NODE_BITS + SEQUENCE_BITS == 63
    assert make_stable_id(MAX_NODE, MAX_SEQUENCE) == INT64_MAX


@given(a=nodes, b=nodes, seq_a=sequences, seq_b=sequences)
def test_ids_made_on_different_nodes_never_collide(a: int, b: int, seq_a: int, seq_b: int) -> None:
    if a != b:
        assert make_stable_id(a, seq_a) != make_stable_id(b, seq_b)


@pytest.mark.parametrize("node", [0, -1, MAX_NODE + 1])
def test_a_node_id_outside_1_to_65535_is_rejected_with_the_allowed_range(node: int) -> None:
    with pytest.raises(ValueError, match=rf"node id must be between 1 and {MAX_NODE}, got {node}"):
        make_stable_id(node, 0)


@pytest.mark.parametrize("sequence", [-1, MAX_SEQUENCE + 1])
def test_a_sequence_outside_the_47_bit_range_is_rejected_with_the_allowed_range(
    sequence: int,
) -> None:
    with pytest.raises(ValueError, match=rf"between 0 and {MAX_SEQUENCE}, got {sequence}"):
        make_stable_id(1, sequence)


def test_the_bounds_themselves_are_valid() -> None:
    assert split_stable_id(make_stable_id(1, 0)) == (1, 0)
    assert split_stable_id(make_stable_id(MAX_NODE, MAX_SEQUENCE)) == (MAX_NODE, MAX_SEQUENCE)


# --------------------------------------------------------------------------------------------------
# The allocator


def test_an_allocator_hands_out_its_nodes_ids_in_sequence_from_zero() -> None:
    ids = StableIdAllocator(node=7)
    assert [ids.allocate() for _ in range(4)] == [make_stable_id(7, seq) for seq in range(4)]
    assert ids.next_sequence == 4


def test_an_allocator_carries_on_from_the_saved_next_sequence() -> None:
    ids = StableIdAllocator(node=3, next_sequence=1_000)
    assert ids.allocate() == make_stable_id(3, 1_000)
    assert ids.allocate() == make_stable_id(3, 1_001)


@pytest.mark.parametrize("node", [0, MAX_NODE + 1])
def test_an_allocator_refuses_a_bad_node_id_when_created_not_when_first_used(node: int) -> None:
    with pytest.raises(ValueError, match="node id must be between 1 and"):
        StableIdAllocator(node=node)


def test_an_allocator_refuses_a_negative_starting_sequence() -> None:
    with pytest.raises(ValueError, match="sequence"):
        StableIdAllocator(node=1, next_sequence=-1)


def test_an_allocator_that_has_used_every_sequence_says_so_instead_of_wrapping() -> None:
    ids = StableIdAllocator(node=2, next_sequence=MAX_SEQUENCE)
    assert ids.allocate() == make_stable_id(2, MAX_SEQUENCE)
    with pytest.raises(IdSpaceExhausted, match="node 2 has allocated all"):
        ids.allocate()


def test_restored_ids_are_never_issued_again_whatever_order_they_are_observed_in() -> None:
    restored = [make_stable_id(5, seq) for seq in (0, 3, 17, 4, 900, 12)]
    random.Random(1).shuffle(restored)
    ids = StableIdAllocator(node=5)
    for stable_id in restored:
        ids.observe(stable_id)
    fresh = [ids.allocate() for _ in range(1_000)]
    assert not set(fresh) & set(restored)
    assert fresh[0] == make_stable_id(5, 901)


def test_observing_an_id_older_than_the_counter_does_not_move_it_back() -> None:
    ids = StableIdAllocator(node=5, next_sequence=50)
    ids.observe(make_stable_id(5, 10))
    assert ids.allocate() == make_stable_id(5, 50)


def test_observing_another_nodes_id_does_not_move_this_nodes_counter() -> None:
    ids = StableIdAllocator(node=5)
    ids.observe(make_stable_id(6, 1_000))
    assert ids.allocate() == make_stable_id(5, 0)


def test_observing_the_last_possible_id_exhausts_the_node() -> None:
    ids = StableIdAllocator(node=5)
    ids.observe(make_stable_id(5, MAX_SEQUENCE))
    with pytest.raises(IdSpaceExhausted):
        ids.allocate()


def test_allocators_on_different_nodes_sharing_a_database_never_collide() -> None:
    first, second = StableIdAllocator(node=1), StableIdAllocator(node=2)
    from_first = {first.allocate() for _ in range(5_000)}
    from_second = {second.allocate() for _ in range(5_000)}
    assert len(from_first) == len(from_second) == 5_000
    assert not from_first & from_second
    assert {split_stable_id(i)[0] for i in from_first} == {1}
    assert {split_stable_id(i)[0] for i in from_second} == {2}


# --------------------------------------------------------------------------------------------------
# Through the world


def test_a_world_gives_new_persistent_entities_ids_after_every_restored_one() -> None:
    world = World(node_id=9)
    restored = make_stable_id(9, 41)
    old = world.spawn(stable_id=restored)
    new = world.spawn(persistent=True)
    assert world.stable_id(old) == restored
    assert world.stable_id(new) == make_stable_id(9, 42)


def test_a_world_refuses_to_restore_two_entities_with_one_stable_id() -> None:
    world = World(node_id=9)
    world.spawn(stable_id=make_stable_id(9, 1))
    with pytest.raises(ValueError, match="already names entity"):
        world.spawn(stable_id=make_stable_id(9, 1))


def test_transient_entities_use_no_stable_ids() -> None:
    world = World(node_id=4)
    transient = world.spawn()
    persistent = world.spawn(persistent=True)
    assert world.stable_id(transient) is None
    assert world.stable_id(persistent) == make_stable_id(4, 0)


def test_content_ids_are_stable_per_key_and_live_on_the_reserved_content_node() -> None:
    from engine.ids import CONTENT_NODE, content_stable_id

    first = content_stable_id("arkham.library")
    assert first == content_stable_id("arkham.library")
    assert first != content_stable_id("arkham.library2")
    assert split_stable_id(first)[0] == CONTENT_NODE
    allocator = StableIdAllocator(1)
    allocator.observe(first)  # a content id never moves a node's own sequence
    assert allocator.next_sequence == 0
