"""Hand-offs in the database: things that crossed from one shard's zone into another's, written
and given to the receiving shard in one transaction, with the message that tells it so.

The database is the truth of who holds what. :func:`hand_over` writes the things' rows exactly as
they left (every component, no stale row), moves their ownership by compare-and-set, and puts the
hand-off message in the outbox, all in one transaction: if the sender dies before it commits,
nothing moved and the sender restores them where they were; once it commits, they are the
receiver's, and the message is in the outbox until the broker has stored it (:func:`pending`
after a restart). Runs on a worker thread, never on the tick.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import orjson
import sqlalchemy as sa

from engine.component import component_info
from persist import ownership
from persist.schema import Schema, table_for, table_named

__all__ = [
    "HandOffError",
    "HandOffMessage",
    "decode_entities",
    "decode_message",
    "encode_entities",
    "encode_message",
    "hand_over",
    "pending",
    "published",
    "still_current",
]

Entities = tuple[tuple[int, tuple[object, ...]], ...]
"""(stable id, components) pairs, the one that crossed first: what a hand-off carries."""


class HandOffError(ValueError):
    """A hand-off message this process cannot read (another version, or a bug)."""


def encode_entities(entities: Iterable[tuple[int, Sequence[object]]]) -> list[Any]:
    """``[[sid, {component name: row}]]``, JSON-ready, the rows as the database would hold them.
    Transient components are left out: only what is saved can travel (a fight in progress, a
    target aimed at, end at the border)."""
    encoded: list[Any] = []
    for sid, components in entities:
        rows: dict[str, Any] = {}
        for component in components:
            info = component_info(type(component))
            if info is None:
                continue
            row = table_for(type(component)).encode(sid, info.values(component))
            del row["sid"]
            rows[info.name] = row
        encoded.append([sid, rows])
    return encoded


def decode_entities(encoded: Sequence[Any]) -> Entities:
    """The entities :func:`encode_entities` wrote, as fresh components of this process's types;
    :class:`HandOffError` names a component type not installed here."""
    try:
        decoded = []
        for sid, rows in encoded:
            components = []
            for name, row in rows.items():
                table = table_named(name)
                if table is None:
                    raise HandOffError(f"component {name!r} is not installed here")
                components.append(table.decode({**row, "sid": sid}))
            decoded.append((int(sid), tuple(components)))
        return tuple(decoded)
    except (TypeError, ValueError, KeyError, AttributeError) as exc:
        if isinstance(exc, HandOffError):
            raise
        raise HandOffError(f"a hand-off this version cannot read: {exc}") from exc


@dataclass(frozen=True, slots=True)
class HandOffMessage:
    """What the receiving shard is told: who sent what, the epoch the first entity's ownership
    reached in the transfer (a receiver applies the hand-off only while its owner row still says
    so: a late redelivery of an older hand-off is recognised and dropped), and, for a player, the
    connection that follows it (``session``: gateway, connection, account, last input number)."""

    handoff_id: str
    from_shard: str
    to_shard: str
    epoch: int
    entities: list[Any]
    session: dict[str, Any] | None = None


def encode_message(message: HandOffMessage) -> bytes:
    return orjson.dumps(
        {
            "id": message.handoff_id,
            "from": message.from_shard,
            "to": message.to_shard,
            "epoch": message.epoch,
            "entities": message.entities,
            "session": message.session,
        }
    )


def decode_message(payload: bytes) -> HandOffMessage:
    try:
        body = orjson.loads(payload)
        return HandOffMessage(
            str(body["id"]),
            str(body["from"]),
            str(body["to"]),
            int(body["epoch"]),
            list(body["entities"]),
            body.get("session"),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise HandOffError(f"not a hand-off message: {exc}") from exc


def _write_rows(conn: sa.Connection, schema: Schema, entities: Sequence[Any]) -> None:
    """Make the database hold exactly these entities' rows: every row of theirs goes, then what
    they carry now is inserted (a component removed this tick leaves no stale row behind).

    The deletes go as one batch of statements on PostgreSQL (one round trip, not one a table:
    measured the bulk of a hand-off's time otherwise); the ids are integers, checked, so they
    are written into the statements as numbers."""
    sids = [int(sid) for sid, _ in entities]
    by_table: dict[str, list[dict[str, Any]]] = {}
    for sid, rows in entities:
        for name, row in rows.items():
            by_table.setdefault(name, []).append({**row, "sid": sid})
    if conn.dialect.name == "postgresql":
        listed = ",".join(str(sid) for sid in sids)
        preparer = conn.dialect.identifier_preparer
        conn.exec_driver_sql(
            ";".join(
                f"DELETE FROM {preparer.quote(table.table.name)} WHERE sid IN ({listed})"
                for table in schema.components.values()
            )
        )
    else:
        for table in schema.components.values():
            conn.execute(sa.delete(table.table).where(table.table.c.sid.in_(sids)))
    for name, rows in by_table.items():
        found = schema.components.get(name)
        if found is not None:
            conn.execute(sa.insert(found.table), rows)


def hand_over(
    db: sa.Engine,
    schema: Schema,
    handoff_id: str,
    from_shard: str,
    to_shard: str,
    entities: list[Any],
    session: dict[str, Any] | None = None,
) -> HandOffMessage:
    """In one transaction: write the entities' rows as they left, give them to ``to_shard``
    (raises :class:`persist.ownership.OwnershipConflict` if any is not ``from_shard``'s: then
    nothing was written), and put the message in the outbox. Returns the message to publish."""
    sids = [int(sid) for sid, _ in entities]
    with ownership.transaction(db) as conn:
        epochs = ownership.hand_over(conn, sids, from_shard, to_shard, handoff_id)
        _write_rows(conn, schema, entities)
        message = HandOffMessage(
            handoff_id, from_shard, to_shard, epochs[sids[0]], entities, session
        )
        outbox = ownership.OutboxRow.__table__  # type: ignore[attr-defined]
        conn.execute(
            sa.insert(outbox).values(
                id=handoff_id,
                from_shard=from_shard,
                to_shard=to_shard,
                payload=encode_message(message),
                created_at=datetime.now(UTC),
            )
        )
    return message


def published(db: sa.Engine, handoff_id: str) -> None:
    """The broker has stored the hand-off: it leaves the outbox."""
    outbox = ownership.OutboxRow.__table__  # type: ignore[attr-defined]
    with db.begin() as conn:
        conn.execute(sa.delete(outbox).where(outbox.c.id == handoff_id))


def pending(db: sa.Engine, from_shard: str) -> list[HandOffMessage]:
    """Hand-offs ``from_shard`` committed but may not have published (it died in between), oldest
    first: a restarted shard publishes them again."""
    outbox = ownership.OutboxRow.__table__  # type: ignore[attr-defined]
    query = (
        sa.select(outbox.c.payload)
        .where(outbox.c.from_shard == from_shard)
        .order_by(outbox.c.created_at, outbox.c.id)
    )
    with db.connect() as conn:
        return [decode_message(bytes(payload)) for payload in conn.execute(query).scalars()]


def still_current(db: sa.Engine, message: HandOffMessage) -> bool:
    """Whether ``message`` is the latest word on its first entity: owned by the receiver, at the
    epoch the hand-off gave it. False for a redelivery that a later hand-off overtook."""
    sid = int(message.entities[0][0])
    owner = ownership.owners_of(db, [sid]).get(sid)
    return owner == (message.to_shard, message.epoch)
