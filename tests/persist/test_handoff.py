"""Hand-offs in the database, on SQLite and PostgreSQL: one transaction writes what crossed exactly
as it left, gives it to the receiver and keeps the message in the outbox until it is published; a
receiver applies only the latest word on what it carries."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from components.body import Identity, Player, Posture, PostureState
from components.items import Item
from components.place import Location
from engine.component import component_info
from persist import handoff, ownership
from persist.migrate import ensure_schema
from persist.schema import Schema

PLAYER, CANDLE = 7001, 7002
SCHEMA = Schema([Identity, Player, Posture, Item, Location])


@pytest.fixture
def shared(db: sa.Engine) -> sa.Engine:
    ensure_schema(db, SCHEMA)
    ownership.ensure_ownership_tables(db)
    return db


def _departing() -> list[object]:
    return handoff.encode_entities(
        [
            (PLAYER, (Identity("Randolph", ("randolph",)), Player("randolph"), Location(1))),
            (CANDLE, (Item("candle_stub"), Location(PLAYER))),
        ]
    )


def _rows(db: sa.Engine, component: type, sid: int) -> list[sa.Row[object]]:
    info = component_info(component)
    assert info is not None
    table = SCHEMA.components[info.name].table
    with db.connect() as conn:
        return list(conn.execute(sa.select(table).where(table.c.sid == sid)))


def test_entities_travel_as_saved_rows_and_come_back_as_equal_components() -> None:
    entities = ((PLAYER, (Identity("Randolph", ("randolph",)), Player("randolph"))),)
    decoded = handoff.decode_entities(handoff.encode_entities(entities))
    assert decoded == entities


def test_a_component_type_not_installed_here_is_refused_by_name() -> None:
    with pytest.raises(handoff.HandOffError, match="no_such_component"):
        handoff.decode_entities([[PLAYER, {"no_such_component": {}}]])


def test_a_message_that_is_not_a_hand_off_is_refused() -> None:
    with pytest.raises(handoff.HandOffError):
        handoff.decode_message(b"not json")


def test_handing_over_writes_the_rows_moves_the_owners_and_keeps_the_message(
    shared: sa.Engine,
) -> None:
    ownership.claim(shared, [PLAYER, CANDLE], "a")
    message = handoff.hand_over(shared, SCHEMA, "a.run.1", "a", "b", _departing(), {"gw": "g1"})

    assert ownership.owners_of(shared, [PLAYER, CANDLE]) == {PLAYER: ("b", 2), CANDLE: ("b", 2)}
    assert message.epoch == 2 and message.session == {"gw": "g1"}
    assert [row.holder for row in _rows(shared, Location, CANDLE)] == [PLAYER]
    assert handoff.pending(shared, "a") == [message]
    assert handoff.still_current(shared, message)
    handoff.published(shared, "a.run.1")
    assert handoff.pending(shared, "a") == []


def test_a_component_removed_before_the_crossing_leaves_no_stale_row(shared: sa.Engine) -> None:
    ownership.claim(shared, [PLAYER], "a")
    sitting = handoff.encode_entities([(PLAYER, (Posture(PostureState.SITTING),))])
    handoff.hand_over(shared, SCHEMA, "a.run.1", "a", "b", sitting)
    assert len(_rows(shared, Posture, PLAYER)) == 1
    standing_without_posture = handoff.encode_entities([(PLAYER, (Player("randolph"),))])
    handoff.hand_over(shared, SCHEMA, "b.run.1", "b", "a", standing_without_posture)
    assert _rows(shared, Posture, PLAYER) == []


def test_things_never_saved_are_claimed_by_the_shard_that_holds_them_as_it_hands_them_on(
    shared: sa.Engine,
) -> None:
    handoff.hand_over(shared, SCHEMA, "a.run.1", "a", "b", _departing())
    assert ownership.owners_of(shared, [PLAYER])[PLAYER] == ("b", 2)


def test_handing_over_what_another_shard_owns_changes_nothing(shared: sa.Engine) -> None:
    ownership.claim(shared, [PLAYER, CANDLE], "c")
    with pytest.raises(ownership.OwnershipConflict):
        handoff.hand_over(shared, SCHEMA, "a.run.1", "a", "b", _departing())
    assert ownership.owners_of(shared, [PLAYER])[PLAYER] == ("c", 1)
    assert _rows(shared, Location, CANDLE) == []
    assert handoff.pending(shared, "a") == []


def test_a_hand_off_overtaken_by_a_later_one_is_no_longer_current(shared: sa.Engine) -> None:
    ownership.claim(shared, [PLAYER, CANDLE], "a")
    first = handoff.hand_over(shared, SCHEMA, "a.run.1", "a", "b", _departing())
    handoff.hand_over(shared, SCHEMA, "b.run.1", "b", "a", _departing())
    assert not handoff.still_current(shared, first)
