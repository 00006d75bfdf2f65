"""Who owns what, in the database all shards share: zones to shards, entities to shards, and the
hand-offs each shard has applied, the hand-off outbox, shards' id nodes and the world's secret
(docs/scaling.md).

Every change is a compare-and-set in one transaction: it names the owner it expects, and changes
nothing at all if any row has another. Runs on a writer or admin thread, never on the tick.
"""

from __future__ import annotations

import secrets
from collections.abc import Collection, Iterable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Field, SQLModel

from engine.component import RESERVED_PREFIX
from persist.database import exclusive_transaction, is_sqlite

__all__ = [
    "CLUSTER_SECRET_BYTES",
    "ClusterSecretRow",
    "HandOffClockRow",
    "HandOffRow",
    "OwnerRow",
    "OwnershipConflict",
    "ZoneRow",
    "assign_zone",
    "check_owned",
    "claim",
    "cluster_secret",
    "ensure_ownership_tables",
    "handoff_clock",
    "move_zone",
    "moved_since",
    "owners_of",
    "record_applied",
    "release",
    "transfer",
    "zone_owner",
    "zones_of",
]

#: The PostgreSQL advisory lock that serialises creating these tables: shards starting together
#: against one database take turns, and the later ones find the tables there.
_PG_CREATE_LOCK = 0x4B_4F_57_4E  # "KOWN"


class _Base(SQLModel):
    """The ownership tables live apart from the world's schema: only a sharded world needs them,
    and :func:`persist.migrate.ensure_schema` leaves them alone."""

    metadata = sa.MetaData()


class ZoneRow(_Base, table=True):
    """The shard that simulates a zone. ``epoch`` grows by one at every change of owner, so a
    shard can tell a stale assignment from the current one."""

    __tablename__ = f"{RESERVED_PREFIX}zone_map"
    zone: str = Field(primary_key=True)
    shard: str = Field(index=True)
    epoch: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    updated_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


class OwnerRow(_Base, table=True):
    """The one shard allowed to save an entity's rows, by the entity's stable id. ``moved`` is
    the hand-off clock (:class:`HandOffClockRow`) when it last changed hands, 0 if never."""

    __tablename__ = f"{RESERVED_PREFIX}owners"
    sid: int = Field(sa_column=sa.Column(sa.BigInteger, primary_key=True, autoincrement=False))
    shard: str = Field(index=True)
    epoch: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))
    moved: int = Field(
        default=0,
        sa_column=sa.Column(sa.BigInteger, nullable=False, server_default="0"),
    )


class HandOffClockRow(_Base, table=True):
    """The world's hand-off clock (a single row, ``id`` 1): one more at every change of owner,
    in that change's transaction, which stamps the rows it moves. A shard's flush records the
    clock as it was before the flush took its changes, so that a restart can tell which things
    changed hands after the state it saved (their rows are newer than its journal's tail:
    ``persist/rollforward.py``)."""

    __tablename__ = f"{RESERVED_PREFIX}handoff_clock"
    id: int = Field(primary_key=True)
    value: int = Field(sa_column=sa.Column(sa.BigInteger, nullable=False))


class HandOffRow(_Base, table=True):
    """A hand-off already applied, by its id: written in the transaction that applied it, so a
    redelivered hand-off is recognised even after a crash."""

    __tablename__ = f"{RESERVED_PREFIX}handoffs_applied"
    id: str = Field(primary_key=True)
    shard: str
    applied_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


class ClusterSecretRow(_Base, table=True):
    """The world's one shared secret (a single row, ``id`` 1): the key that signs resume
    tokens, so that any gateway accepts a token any shard minted (:mod:`net.tokens`)."""

    __tablename__ = f"{RESERVED_PREFIX}cluster_secret"
    id: int = Field(primary_key=True)
    secret: str  # hex
    created_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


class OutboxRow(_Base, table=True):
    """A hand-off whose entities are already the receiver's in the database but which may not be
    on the broker yet: written in the transaction that transfers them, deleted once JetStream has
    stored it. A sending shard that restarts publishes what it finds here again (same id: the
    broker and the receiver each take it once)."""

    __tablename__ = f"{RESERVED_PREFIX}handoff_outbox"
    id: str = Field(primary_key=True)
    from_shard: str = Field(index=True)
    to_shard: str
    payload: bytes = Field(sa_column=sa.Column(sa.LargeBinary, nullable=False))
    created_at: datetime = Field(sa_column=sa.Column(sa.DateTime(timezone=True), nullable=False))


class ShardRow(_Base, table=True):
    """A shard of the world and the node of the stable ids it makes: every shard's ids differ
    from every other's, whichever machine it runs on, without asking anyone at run time."""

    __tablename__ = f"{RESERVED_PREFIX}shards"
    name: str = Field(primary_key=True)
    node: int = Field(sa_column=sa.Column(sa.Integer, nullable=False, unique=True))


#: The first node a shard is given: node 1 is a single server's (a world that grew into shards
#: keeps the ids it made), node 0 the content's.
FIRST_SHARD_NODE = 2

_zones: sa.Table = ZoneRow.__table__  # type: ignore[attr-defined]
_owners: sa.Table = OwnerRow.__table__  # type: ignore[attr-defined]
_handoffs: sa.Table = HandOffRow.__table__  # type: ignore[attr-defined]
_outbox: sa.Table = OutboxRow.__table__  # type: ignore[attr-defined]
_shards: sa.Table = ShardRow.__table__  # type: ignore[attr-defined]
_secret: sa.Table = ClusterSecretRow.__table__  # type: ignore[attr-defined]
_clock: sa.Table = HandOffClockRow.__table__  # type: ignore[attr-defined]

#: Bytes of randomness in the world's secret.
CLUSTER_SECRET_BYTES = 32

#: What a conflict reports for a zone or an entity that no shard owns.
UNOWNED = None


class OwnershipConflict(RuntimeError):
    """A compare-and-set found another owner than the one it expected; nothing was changed.

    ``owners`` maps each zone or entity that did not match to the shard that really owns it
    (``None``: no shard does), so the caller can tell a lost race from a stale map.
    """

    def __init__(
        self,
        action: str,
        expected: str | None,
        owners: Mapping[str, str | None] | Mapping[int, str | None],
    ) -> None:
        self.expected = expected
        self.owners: dict[str | int, str | None] = dict(owners.items())
        found = ", ".join(
            f"{key!r} is {'unowned' if shard is None else f'owned by {shard!r}'}"
            for key, shard in sorted(self.owners.items(), key=lambda item: repr(item[0]))
        )
        wanted = "unowned" if expected is None else f"owned by {expected!r}"
        super().__init__(f"cannot {action}: expected {wanted}, but {found}; nothing was changed")


def _now() -> datetime:
    return datetime.now(UTC)


def _require_names(**names: object) -> None:
    """Refuse an empty or non-text zone, shard or hand-off name before any SQL runs: stored, it
    would own rows that no shard could ever name to save or release them."""
    for what, value in names.items():
        if not isinstance(value, str) or not value:
            raise ValueError(f"{what} must be a non-empty string, not {value!r}")


def _insert(conn: sa.Connection, table: sa.Table) -> postgresql.Insert | sqlite.Insert:
    return postgresql.insert(table) if conn.dialect.name == "postgresql" else sqlite.insert(table)


@contextmanager
def transaction(db: sa.Engine) -> Iterator[sa.Connection]:
    """One transaction for a compare-and-set. PostgreSQL: an ordinary one; its row locks make a
    concurrent writer wait and then see the new owner. SQLite: one that takes the write lock at
    its first statement, so a read that decides a write is never made stale by another writer."""
    if is_sqlite(db):
        # The advisory lock key is PostgreSQL's alone: SQLite takes BEGIN IMMEDIATE instead.
        with exclusive_transaction(db, _PG_CREATE_LOCK) as conn:
            yield conn
    else:
        with db.begin() as conn:
            yield conn


def ensure_ownership_tables(db: sa.Engine) -> None:
    """Create the zone map, owner, applied hand-off and cluster secret tables where they are
    missing; a database that has them is left as it is, so every shard and gateway may call
    this at start-up."""
    with exclusive_transaction(db, _PG_CREATE_LOCK) as conn:
        _Base.metadata.create_all(conn, checkfirst=True)
        columns = {column["name"] for column in sa.inspect(conn).get_columns(_owners.name)}
        if "moved" not in columns:  # an owner table made before the hand-off clock
            conn.execute(
                sa.text(f"ALTER TABLE {_owners.name} ADD COLUMN moved BIGINT NOT NULL DEFAULT 0")
            )
        conn.execute(_insert(conn, _clock).values(id=1, value=0).on_conflict_do_nothing())


def handoff_clock(db: sa.Engine) -> int:
    """The hand-off clock now (see :class:`HandOffClockRow`)."""
    with db.connect() as conn:
        return int(conn.execute(sa.select(_clock.c.value).where(_clock.c.id == 1)).scalar_one())


def moved_since(db: sa.Engine, ids: Iterable[int], clock: int) -> set[int]:
    """Which of ``ids`` changed hands after the hand-off clock stood at ``clock``."""
    sids = _sids(ids)
    if not sids:
        return set()
    query = sa.select(_owners.c.sid).where(_owners.c.sid.in_(sids), _owners.c.moved > clock)
    with db.connect() as conn:
        return {int(sid) for (sid,) in conn.execute(query)}


# --------------------------------------------------------------------------- zones


def _zone_owner(conn: sa.Connection, zone: str) -> str | None:
    query = sa.select(_zones.c.shard).where(_zones.c.zone == zone).with_for_update()
    return conn.execute(query).scalar_one_or_none()


def _zone_epoch(conn: sa.Connection, zone: str) -> int:
    return int(conn.execute(sa.select(_zones.c.epoch).where(_zones.c.zone == zone)).scalar_one())


def assign_zone(db: sa.Engine, zone: str, shard: str) -> int:
    """Give ``zone`` to ``shard`` whoever had it (an operator's decision) and return its epoch:
    1 for a zone never assigned, one more than before otherwise."""
    _require_names(zone=zone, shard=shard)
    with transaction(db) as conn:
        insert = _insert(conn, _zones).values(zone=zone, shard=shard, epoch=1, updated_at=_now())
        conn.execute(
            insert.on_conflict_do_update(
                index_elements=[_zones.c.zone],
                set_={
                    "shard": insert.excluded.shard,
                    "epoch": _zones.c.epoch + 1,
                    "updated_at": insert.excluded.updated_at,
                },
            )
        )
        return _zone_epoch(conn, zone)


def move_zone(db: sa.Engine, zone: str, from_shard: str, to_shard: str) -> int:
    """Move ``zone`` from ``from_shard`` to ``to_shard`` and return its new epoch; raises
    :class:`OwnershipConflict` (naming the real owner) if ``from_shard`` does not own it."""
    _require_names(zone=zone, from_shard=from_shard, to_shard=to_shard)
    with transaction(db) as conn:
        moved = conn.execute(
            sa.update(_zones)
            .where(_zones.c.zone == zone, _zones.c.shard == from_shard)
            .values(shard=to_shard, epoch=_zones.c.epoch + 1, updated_at=_now())
        )
        if moved.rowcount != 1:
            owner = _zone_owner(conn, zone)
            raise OwnershipConflict(
                f"move zone {zone!r} to {to_shard!r}", from_shard, {zone: owner}
            )
        return _zone_epoch(conn, zone)


def zones_of(db: sa.Engine, shard: str) -> list[str]:
    """The zones ``shard`` simulates, in name order."""
    with db.connect() as conn:
        query = sa.select(_zones.c.zone).where(_zones.c.shard == shard).order_by(_zones.c.zone)
        return list(conn.execute(query).scalars())


def zone_owner(db: sa.Engine, zone: str) -> tuple[str, int] | None:
    """(shard, epoch) of ``zone``, or None if no shard has it."""
    with db.connect() as conn:
        query = sa.select(_zones.c.shard, _zones.c.epoch).where(_zones.c.zone == zone)
        row = conn.execute(query).first()
        return None if row is None else (str(row.shard), int(row.epoch))


def zone_map(db: sa.Engine) -> dict[str, str]:
    """Every assigned zone and the shard that simulates it."""
    with db.connect() as conn:
        return {
            str(zone): str(shard)
            for zone, shard in conn.execute(sa.select(_zones.c.zone, _zones.c.shard))
        }


def shard_node(db: sa.Engine, shard: str) -> int:
    """The stable-id node of ``shard``: the one it was given before, or the next free one (taken
    under a lock, so two shards starting together never get the same)."""
    _require_names(shard=shard)
    with exclusive_transaction(db, _PG_CREATE_LOCK) as conn:
        node = conn.execute(sa.select(_shards.c.node).where(_shards.c.name == shard)).scalar()
        if node is not None:
            return int(node)
        highest = conn.execute(sa.select(sa.func.max(_shards.c.node))).scalar()
        node = max(FIRST_SHARD_NODE, int(highest or 0) + 1)
        conn.execute(sa.insert(_shards).values(name=shard, node=node))
        return node


# --------------------------------------------------------------------------- entities


def _sids(ids: Iterable[int]) -> list[int]:
    """Distinct ids in ascending order: rows are always locked in that order, so two shards
    locking overlapping sets wait for each other instead of deadlocking."""
    found: set[int] = set()
    for sid in ids:
        if not isinstance(sid, int) or isinstance(sid, bool):
            raise ValueError(f"an entity's stable id is an integer, not {sid!r}")
        found.add(sid)
    return sorted(found)


def _lock_owners(conn: sa.Connection, sids: Collection[int]) -> dict[int, str | None]:
    """The owner of each id (None: no row), with the rows locked until the transaction ends
    (``FOR UPDATE`` on PostgreSQL; SQLite's write lock is already held for the whole database)."""
    owners: dict[int, str | None] = dict.fromkeys(sids, UNOWNED)
    if not sids:
        return owners
    query = (
        sa.select(_owners.c.sid, _owners.c.shard)
        .where(_owners.c.sid.in_(sids))
        .order_by(_owners.c.sid)
        .with_for_update()
    )
    for sid, shard in conn.execute(query):
        owners[int(sid)] = str(shard)
    return owners


def _compare_and_set(
    conn: sa.Connection, sids: list[int], expected: str, new_owner: str, action: str
) -> None:
    """Give every id in ``sids`` to ``new_owner`` if ``expected`` owns them all, else raise."""
    owners = _lock_owners(conn, sids)
    wrong = {sid: shard for sid, shard in owners.items() if shard != expected}
    if wrong:
        raise OwnershipConflict(action, expected, wrong)
    clock = conn.execute(
        sa.update(_clock)
        .where(_clock.c.id == 1)
        .values(value=_clock.c.value + 1)
        .returning(_clock.c.value)
    ).scalar_one()
    moved = conn.execute(
        sa.update(_owners)
        .where(_owners.c.sid.in_(sids), _owners.c.shard == expected)
        .values(shard=new_owner, epoch=_owners.c.epoch + 1, moved=clock)
    )
    if moved.rowcount != len(sids):  # cannot happen with the rows locked; never write half
        raise OwnershipConflict(action, expected, _lock_owners(conn, sids))


def claim(db: sa.Engine, ids: Iterable[int], shard: str, expected_owner: str | None = None) -> None:
    """Make ``shard`` the owner of every entity in ``ids``, or of none.

    ``expected_owner=None`` claims entities no shard owns (a new entity, a world's first start);
    one ``shard`` already owns is left as it is, so a retried claim succeeds. Otherwise every
    entity must belong to ``expected_owner``. Raises :class:`OwnershipConflict` naming each
    entity that does not match and its real owner; then nothing was changed.
    """
    _require_names(shard=shard)
    if expected_owner is not None:
        _require_names(expected_owner=expected_owner)
    sids = _sids(ids)
    if not sids:
        return
    with transaction(db) as conn:
        if expected_owner is not None:
            _compare_and_set(conn, sids, expected_owner, shard, f"claim for {shard!r}")
            return
        _claim_unowned(conn, sids, shard)
        wrong = {sid: owner for sid, owner in _lock_owners(conn, sids).items() if owner != shard}
        if wrong:
            raise OwnershipConflict(f"claim for {shard!r}", None, wrong)


def release(db: sa.Engine, ids: Iterable[int], shard: str) -> None:
    """Drop ``shard``'s ownership of every entity in ``ids`` (gone from the world), or of none:
    raises :class:`OwnershipConflict` if any is not ``shard``'s."""
    _require_names(shard=shard)
    sids = _sids(ids)
    if not sids:
        return
    with transaction(db) as conn:
        owners = _lock_owners(conn, sids)
        wrong = {sid: owner for sid, owner in owners.items() if owner != shard}
        if wrong:
            raise OwnershipConflict(f"release for {shard!r}", shard, wrong)
        conn.execute(sa.delete(_owners).where(_owners.c.sid.in_(sids), _owners.c.shard == shard))


def record_applied(conn: sa.Connection, handoff_id: str, shard: str) -> bool:
    """Record, in the caller's transaction, that ``shard`` applied hand-off ``handoff_id``.

    False if it was already recorded: the caller must then not apply it again. Written in the
    transaction that applies the hand-off, the record and its effect commit or vanish together.
    """
    _require_names(handoff_id=handoff_id, shard=shard)
    inserted = conn.execute(
        _insert(conn, _handoffs)
        .values(id=handoff_id, shard=shard, applied_at=_now())
        .on_conflict_do_nothing(index_elements=[_handoffs.c.id])
        .returning(_handoffs.c.id)
    )
    return inserted.first() is not None


def transfer(
    db: sa.Engine, ids: Iterable[int], from_shard: str, to_shard: str, handoff_id: str
) -> bool:
    """Hand every entity in ``ids`` from ``from_shard`` to ``to_shard`` as hand-off
    ``handoff_id``, recording the id in the same transaction.

    True if it was applied now; False if this id was applied before (a redelivery: nothing
    changes, whoever owns the entities now). Raises :class:`OwnershipConflict` if any entity is
    not ``from_shard``'s; then nothing was changed and the id is not recorded.
    """
    _require_names(from_shard=from_shard, to_shard=to_shard, handoff_id=handoff_id)
    sids = _sids(ids)
    with transaction(db) as conn:
        if not record_applied(conn, handoff_id, to_shard):
            return False
        _compare_and_set(
            conn, sids, from_shard, to_shard, f"hand {handoff_id!r} over to {to_shard!r}"
        )
        return True


def hand_over(
    conn: sa.Connection, ids: Iterable[int], from_shard: str, to_shard: str, handoff_id: str
) -> dict[int, int]:
    """In the caller's transaction: give every entity in ``ids`` from ``from_shard`` to
    ``to_shard`` (or raise :class:`OwnershipConflict`, changing nothing) and return each one's
    new epoch, the number a receiver checks to tell this hand-off from a stale one."""
    _require_names(from_shard=from_shard, to_shard=to_shard, handoff_id=handoff_id)
    sids = _sids(ids)
    _claim_unowned(conn, sids, from_shard)  # held since start-up, never saved: the holder's
    _compare_and_set(conn, sids, from_shard, to_shard, f"hand {handoff_id!r} to {to_shard!r}")
    query = sa.select(_owners.c.sid, _owners.c.epoch).where(_owners.c.sid.in_(sids))
    return {int(sid): int(epoch) for sid, epoch in conn.execute(query)}


def keep_owned(conn: sa.Connection, ids: Iterable[int], shard: str) -> set[int]:
    """In a save's transaction: claim for ``shard`` the entities of ``ids`` that no shard owns
    (made here, or never saved by any shard yet), then return those it owns, locked until the
    save commits. What it holds but does not own (handed on meanwhile, or its copy of a
    world-wide thing another shard saves) is left to its owner."""
    _require_names(shard=shard)
    sids = _sids(ids)
    _claim_unowned(conn, sids, shard)
    return {sid for sid, owner in _lock_owners(conn, sids).items() if owner == shard}


def claim_unowned(db: sa.Engine, ids: Iterable[int], shard: str) -> None:
    """Make ``shard`` the owner of each entity of ``ids`` that no shard owns, leaving the others
    to their owners: what a shard holds after its start (a world saved by a single server, or
    things no shard has saved yet), so that a gateway finds their owner at once."""
    _require_names(shard=shard)
    sids = _sids(ids)
    for start in range(0, len(sids), CLAIM_CHUNK):
        with transaction(db) as conn:
            _claim_unowned(conn, sids[start : start + CLAIM_CHUNK], shard)


#: Owner rows inserted per statement by :func:`claim_unowned`.
CLAIM_CHUNK = 5_000


def _claim_unowned(conn: sa.Connection, sids: list[int], shard: str) -> None:
    if sids:
        conn.execute(
            _insert(conn, _owners)
            .values([{"sid": sid, "shard": shard, "epoch": 1} for sid in sids])
            .on_conflict_do_nothing(index_elements=[_owners.c.sid])
        )


def check_owned(conn: sa.Connection, ids: Iterable[int], shard: str) -> None:
    """Refuse, with :class:`OwnershipConflict`, to let ``shard`` save entities it does not own.

    Called by a writer inside its own save transaction: the owner rows stay locked until that
    transaction ends (``FOR UPDATE`` on PostgreSQL), so no hand-off can take an entity between
    this check and the save's commit. SQLite has no row locks (and Python's driver begins a
    transaction only at its first write): there the save must hold the database's write lock
    before it checks, as :func:`persist.database.exclusive_transaction` does.
    """
    _require_names(shard=shard)
    sids = _sids(ids)
    wrong = {sid: owner for sid, owner in _lock_owners(conn, sids).items() if owner != shard}
    if wrong:
        raise OwnershipConflict(f"save for {shard!r}", shard, wrong)


def owners_of(db: sa.Engine, ids: Iterable[int]) -> dict[int, tuple[str, int] | None]:
    """(shard, epoch) of each entity in ``ids``, None for one no shard owns."""
    sids = _sids(ids)
    found: dict[int, tuple[str, int] | None] = dict.fromkeys(sids)
    if not sids:
        return found
    with db.connect() as conn:
        query = sa.select(_owners.c.sid, _owners.c.shard, _owners.c.epoch).where(
            _owners.c.sid.in_(sids)
        )
        for sid, shard, epoch in conn.execute(query):
            found[int(sid)] = (str(shard), int(epoch))
    return found


# --------------------------------------------------------------------------- the world's secret


def cluster_secret(db: sa.Engine) -> bytes:
    """The world's shared secret, made on first use: every process of the world gets the same
    bytes, however many ask at once for the first time (the first insert wins, the others find
    its row). Call :func:`ensure_ownership_tables` first."""
    with db.begin() as conn:
        conn.execute(
            _insert(conn, _secret)
            .values(id=1, secret=secrets.token_hex(CLUSTER_SECRET_BYTES), created_at=_now())
            .on_conflict_do_nothing(index_elements=[_secret.c.id])
        )
        stored = conn.execute(sa.select(_secret.c.secret).where(_secret.c.id == 1)).scalar_one()
    return bytes.fromhex(stored)
