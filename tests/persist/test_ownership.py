"""Ownership in the shared database: zones and entities change owner only by compare-and-set,
all or nothing, and a hand-off applies once. Every test runs on SQLite and on PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from persist.ownership import (
    CLUSTER_SECRET_BYTES,
    OwnershipConflict,
    assign_zone,
    check_owned,
    claim,
    cluster_secret,
    ensure_ownership_tables,
    handoff_clock,
    move_zone,
    moved_since,
    owners_of,
    record_applied,
    release,
    transfer,
    zone_owner,
    zones_of,
)

#: How long a racing thread may take before the test calls it hung (a deadlock, not a timing).
RACE_TIMEOUT_S = 30.0


@pytest.fixture
def owned(db: sa.Engine) -> sa.Engine:
    ensure_ownership_tables(db)
    return db


def test_creating_the_tables_twice_keeps_what_they_hold(owned: sa.Engine) -> None:
    assign_zone(owned, "arkham", "shard-a")
    ensure_ownership_tables(owned)
    assert zone_owner(owned, "arkham") == ("shard-a", 1)


# --------------------------------------------------------------------------- zones


def test_assigning_a_zone_starts_its_epoch_at_one_and_each_takeover_adds_one(
    owned: sa.Engine,
) -> None:
    assert assign_zone(owned, "arkham", "shard-a") == 1
    assert assign_zone(owned, "arkham", "shard-b") == 2
    assert zone_owner(owned, "arkham") == ("shard-b", 2)
    assert zone_owner(owned, "innsmouth") is None


def test_zones_of_lists_a_shards_zones_in_name_order(owned: sa.Engine) -> None:
    for zone, shard in [("kingsport", "a"), ("arkham", "a"), ("innsmouth", "b")]:
        assign_zone(owned, zone, shard)
    assert zones_of(owned, "a") == ["arkham", "kingsport"]
    assert zones_of(owned, "b") == ["innsmouth"]
    assert zones_of(owned, "c") == []


def test_moving_a_zone_from_its_owner_bumps_the_epoch(owned: sa.Engine) -> None:
    assign_zone(owned, "arkham", "a")
    assert move_zone(owned, "arkham", "a", "b") == 2
    assert zones_of(owned, "a") == []
    assert zones_of(owned, "b") == ["arkham"]


def test_moving_a_zone_from_a_shard_that_does_not_own_it_is_refused_and_changes_nothing(
    owned: sa.Engine,
) -> None:
    assign_zone(owned, "arkham", "a")
    with pytest.raises(OwnershipConflict, match=r"'arkham' is owned by 'a'") as refused:
        move_zone(owned, "arkham", "b", "c")
    assert refused.value.owners == {"arkham": "a"}
    assert refused.value.expected == "b"
    assert zone_owner(owned, "arkham") == ("a", 1)


def test_moving_a_zone_nobody_owns_is_refused(owned: sa.Engine) -> None:
    with pytest.raises(OwnershipConflict, match=r"'dunwich' is unowned"):
        move_zone(owned, "dunwich", "a", "b")
    assert zone_owner(owned, "dunwich") is None


# --------------------------------------------------------------------------- claims


def test_claiming_unowned_entities_gives_them_to_the_shard_at_epoch_one(owned: sa.Engine) -> None:
    claim(owned, [3, 1, 2, 2], "a")
    assert owners_of(owned, [1, 2, 3, 4]) == {1: ("a", 1), 2: ("a", 1), 3: ("a", 1), 4: None}


def test_claiming_again_what_a_shard_already_owns_is_a_harmless_retry(owned: sa.Engine) -> None:
    claim(owned, [1, 2], "a")
    claim(owned, [1, 2, 3], "a")
    assert owners_of(owned, [1, 2, 3]) == {1: ("a", 1), 2: ("a", 1), 3: ("a", 1)}


def test_claiming_as_unowned_what_another_shard_owns_changes_nothing_at_all(
    owned: sa.Engine,
) -> None:
    claim(owned, [2], "b")
    with pytest.raises(OwnershipConflict, match=r"2 is owned by 'b'") as refused:
        claim(owned, [1, 2, 3], "a")
    assert refused.value.owners == {2: "b"}
    assert owners_of(owned, [1, 2, 3]) == {1: None, 2: ("b", 1), 3: None}


def test_claiming_from_an_expected_owner_moves_all_or_none(owned: sa.Engine) -> None:
    claim(owned, [1, 2], "a")
    claim(owned, [3], "c")
    with pytest.raises(OwnershipConflict) as refused:
        claim(owned, [1, 2, 3, 4], "b", expected_owner="a")
    assert refused.value.owners == {3: "c", 4: None}
    assert owners_of(owned, [1, 2, 3, 4]) == {1: ("a", 1), 2: ("a", 1), 3: ("c", 1), 4: None}

    claim(owned, [1, 2], "b", expected_owner="a")
    assert owners_of(owned, [1, 2]) == {1: ("b", 2), 2: ("b", 2)}


def test_releasing_drops_only_the_shards_own_entities_all_or_none(owned: sa.Engine) -> None:
    claim(owned, [1, 2], "a")
    claim(owned, [3], "b")
    with pytest.raises(OwnershipConflict, match=r"3 is owned by 'b'"):
        release(owned, [1, 3], "a")
    assert owners_of(owned, [1, 3]) == {1: ("a", 1), 3: ("b", 1)}
    release(owned, [1], "a")
    assert owners_of(owned, [1, 2]) == {1: None, 2: ("a", 1)}


# --------------------------------------------------------------------------- hand-offs


def test_a_transfer_moves_every_entity_and_records_its_hand_off(owned: sa.Engine) -> None:
    claim(owned, [1, 2], "a")
    assert transfer(owned, [1, 2], "a", "b", "h-1") is True
    assert owners_of(owned, [1, 2]) == {1: ("b", 2), 2: ("b", 2)}
    with owned.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, shard FROM kadath_handoffs_applied")).all()
    assert [tuple(row) for row in rows] == [("h-1", "b")]


def test_a_transfer_repeated_with_the_same_hand_off_id_is_applied_once(owned: sa.Engine) -> None:
    claim(owned, [1], "a")
    assert transfer(owned, [1], "a", "b", "h-1") is True
    transfer(owned, [1], "b", "c", "h-2")
    # The redelivered h-1 no longer matches the owner, yet it is recognised, not a conflict.
    assert transfer(owned, [1], "a", "b", "h-1") is False
    assert owners_of(owned, [1]) == {1: ("c", 3)}


def test_a_refused_transfer_changes_nothing_and_leaves_its_id_unrecorded(
    owned: sa.Engine,
) -> None:
    claim(owned, [1], "a")
    claim(owned, [2], "x")
    with pytest.raises(OwnershipConflict, match=r"2 is owned by 'x'") as refused:
        transfer(owned, [1, 2], "a", "b", "h-1")
    assert refused.value.owners == {2: "x"}
    assert owners_of(owned, [1, 2]) == {1: ("a", 1), 2: ("x", 1)}
    # Once the entity is back where the sender thought, the same hand-off applies.
    claim(owned, [2], "a", expected_owner="x")
    assert transfer(owned, [1, 2], "a", "b", "h-1") is True


def test_every_change_of_owner_advances_the_hand_off_clock_and_stamps_what_it_moved(
    owned: sa.Engine,
) -> None:
    claim(owned, [1, 2, 3], "a")  # claiming what nobody owns moves nothing: the clock stays
    assert handoff_clock(owned) == 0 and moved_since(owned, [1, 2, 3], 0) == set()
    assert transfer(owned, [1, 2], "a", "b", "h1")
    assert handoff_clock(owned) == 1 and moved_since(owned, [1, 2, 3], 0) == {1, 2}
    assert transfer(owned, [2], "b", "a", "h2")
    assert handoff_clock(owned) == 2 and moved_since(owned, [1, 2, 3], 1) == {2}
    with pytest.raises(OwnershipConflict):
        transfer(owned, [3], "b", "a", "h3")  # refused: nothing moved, the clock stays
    assert handoff_clock(owned) == 2 and moved_since(owned, [3], 0) == set()


def test_an_owner_table_made_before_the_hand_off_clock_gets_it_keeping_its_rows(
    db: sa.Engine,
) -> None:
    with db.begin() as conn:
        conn.execute(
            sa.text(
                "CREATE TABLE kadath_owners"
                " (sid BIGINT PRIMARY KEY, shard VARCHAR NOT NULL, epoch BIGINT NOT NULL)"
            )
        )
        conn.execute(sa.text("INSERT INTO kadath_owners VALUES (1, 'a', 3)"))
    ensure_ownership_tables(db)
    assert owners_of(db, [1]) == {1: ("a", 3)}
    assert moved_since(db, [1], 0) == set()
    assert transfer(db, [1], "a", "b", "h1")
    assert moved_since(db, [1], 0) == {1}


def test_record_applied_is_false_for_an_id_already_recorded(owned: sa.Engine) -> None:
    with owned.begin() as conn:
        assert record_applied(conn, "h-1", "a") is True
        assert record_applied(conn, "h-1", "a") is False
    with owned.begin() as conn:
        assert record_applied(conn, "h-1", "b") is False


def test_a_record_rolled_back_with_its_transaction_was_never_made(owned: sa.Engine) -> None:
    with pytest.raises(ZeroDivisionError), owned.begin() as conn:
        record_applied(conn, "h-1", "a")
        _ = 1 / 0
    with owned.begin() as conn:
        assert record_applied(conn, "h-1", "a") is True


def _race(*calls: Callable[[], bool]) -> list[bool | OwnershipConflict]:
    """Run ``calls`` on threads of their own, released together; each one's result or conflict."""
    start = threading.Barrier(len(calls))

    def run(call: Callable[[], bool]) -> bool | OwnershipConflict:
        start.wait(RACE_TIMEOUT_S)
        try:
            return call()
        except OwnershipConflict as conflict:
            return conflict

    with ThreadPoolExecutor(len(calls)) as pool:
        futures = [pool.submit(run, call) for call in calls]
        return [future.result(RACE_TIMEOUT_S) for future in futures]


def test_two_concurrent_transfers_of_one_entity_exactly_one_wins(owned: sa.Engine) -> None:
    claim(owned, [1, 2], "a")
    results = _race(
        lambda: transfer(owned, [1, 2], "a", "b", "to-b"),
        lambda: transfer(owned, [2, 1], "a", "c", "to-c"),
    )
    winners = [result for result in results if result is True]
    losers = [result for result in results if isinstance(result, OwnershipConflict)]
    assert len(winners) == 1 and len(losers) == 1
    winner = "b" if results[0] is True else "c"
    assert losers[0].owners == {1: winner, 2: winner}
    assert owners_of(owned, [1, 2]) == {1: (winner, 2), 2: (winner, 2)}
    with owned.connect() as conn:
        recorded = conn.execute(sa.text("SELECT shard FROM kadath_handoffs_applied")).scalars()
        assert list(recorded) == [winner]


def test_the_same_hand_off_delivered_twice_at_once_is_applied_once(owned: sa.Engine) -> None:
    claim(owned, [1], "a")
    results = _race(
        lambda: transfer(owned, [1], "a", "b", "h-1"),
        lambda: transfer(owned, [1], "a", "b", "h-1"),
    )
    assert sorted(results, key=str) == [False, True]
    assert owners_of(owned, [1]) == {1: ("b", 2)}


def test_a_transfer_waits_for_a_save_that_checked_ownership_then_finds_it_gone(
    owned: sa.Engine,
) -> None:
    """A save holds its entities until it commits: a transfer that started meanwhile finishes
    after it, on the committed state, and a second save by the old owner is refused."""
    claim(owned, [1], "a")
    with owned.connect() as save:
        check_owned(save, [1], "a")
        with ThreadPoolExecutor(1) as pool:
            handed = pool.submit(transfer, owned, [1], "a", "b", "h-1")
            save.execute(sa.text("SELECT 1"))  # the save's own writes would go here
            save.commit()
            assert handed.result(RACE_TIMEOUT_S) is True
    with owned.begin() as late_save, pytest.raises(OwnershipConflict, match="owned by 'b'"):
        check_owned(late_save, [1], "a")


# --------------------------------------------------------------------------- saves


def test_check_owned_passes_a_shards_own_entities(owned: sa.Engine) -> None:
    claim(owned, [1, 2], "a")
    with owned.begin() as conn:
        check_owned(conn, [2, 1], "a")
        check_owned(conn, [], "a")


def test_check_owned_refuses_a_foreign_or_unowned_entity_naming_each(owned: sa.Engine) -> None:
    claim(owned, [1], "a")
    claim(owned, [2], "b")
    with owned.begin() as conn, pytest.raises(OwnershipConflict) as refused:
        check_owned(conn, [1, 2, 3], "a")
    assert refused.value.owners == {2: "b", 3: None}
    assert "2 is owned by 'b'" in str(refused.value)
    assert "3 is unowned" in str(refused.value)


# --------------------------------------------------------------------------- bad input


@pytest.mark.parametrize("shard", ["", None, 7])
def test_a_shard_without_a_name_is_refused_before_anything_is_written(
    owned: sa.Engine, shard: object
) -> None:
    with pytest.raises(ValueError, match="shard must be a non-empty string"):
        claim(owned, [1], shard)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="shard must be a non-empty string"):
        assign_zone(owned, "arkham", shard)  # type: ignore[arg-type]
    assert owners_of(owned, [1]) == {1: None}
    assert zone_owner(owned, "arkham") is None


def test_a_transfer_without_a_hand_off_id_is_refused_and_changes_nothing(
    owned: sa.Engine,
) -> None:
    claim(owned, [1], "a")
    with pytest.raises(ValueError, match="handoff_id must be a non-empty string"):
        transfer(owned, [1], "a", "b", "")
    assert owners_of(owned, [1]) == {1: ("a", 1)}


@pytest.mark.parametrize("sid", ["1", 1.0, True, None])
def test_an_entity_id_that_is_not_an_integer_is_refused(owned: sa.Engine, sid: object) -> None:
    with pytest.raises(ValueError, match="stable id is an integer"):
        claim(owned, [2, sid], "a")  # type: ignore[list-item]
    assert owners_of(owned, [2]) == {2: None}


def test_using_the_tables_before_they_exist_fails_without_creating_anything(
    db: sa.Engine,
) -> None:
    missing_table = (sa.exc.OperationalError, sa.exc.ProgrammingError)  # SQLite, PostgreSQL
    with pytest.raises(missing_table, match="kadath_owners"):
        claim(db, [1], "a")
    assert not sa.inspect(db).has_table("kadath_owners")


# --------------------------------------------------------------------------- the world's secret


def test_the_cluster_secret_is_made_once_and_every_later_call_reads_the_same(
    owned: sa.Engine,
) -> None:
    first = cluster_secret(owned)
    assert len(first) == CLUSTER_SECRET_BYTES
    assert cluster_secret(owned) == first
    ensure_ownership_tables(owned)
    assert cluster_secret(owned) == first


def test_processes_asking_for_the_first_secret_at_once_all_get_the_same(
    owned: sa.Engine,
) -> None:
    start = threading.Barrier(4)

    def first_start() -> bytes:
        start.wait(RACE_TIMEOUT_S)
        return cluster_secret(owned)

    with ThreadPoolExecutor(4) as pool:
        futures = [pool.submit(first_start) for _ in range(4)]
        secrets = {future.result(RACE_TIMEOUT_S) for future in futures}
    assert len(secrets) == 1
