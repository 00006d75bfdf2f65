"""Player accounts in the database: the SQL implementation of :class:`engine.accounts.AccountStore`.

Accounts live in the ``kadath_accounts`` table (:class:`persist.schema.AccountRow`), keyed by the
case-folded name, so "Armitage" and "armitage" are one account. The first account ever created
becomes an admin; deciding that is race-free on both databases (SQLite: ``BEGIN IMMEDIATE``;
PostgreSQL: a transaction-level advisory lock), so two first registrations at once never both
become admins.

Times are stored in UTC (the column is SQLModel's time-zone-aware ``UTCDateTime``) and read back
as aware UTC datetimes; a naive datetime handed in is taken to be UTC already.

Every method blocks on the database: it must never run on the tick or the event loop (the network
shell calls the store through ``asyncio.to_thread``). This module never hashes or checks passwords:
it stores what it is given.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from contextlib import AbstractContextManager
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa

from engine.accounts import ROLES, Account, AccountExists
from persist.database import exclusive_transaction
from persist.schema import AccountRow

__all__ = ["SqlAccountStore", "UnknownAccount", "UnknownRole"]

#: The PostgreSQL advisory lock held by every account creation until its transaction ends, so the
#: "is this the first account?" count and the insert are one atomic step ("KAAC").
PG_ACCOUNTS_LOCK = 0x4B_41_41_43

#: The role the first account ever created gets, whatever was asked.
FIRST_ACCOUNT_ROLE = "admin"

_accounts: sa.Table = AccountRow.__table__  # type: ignore[attr-defined]


class UnknownAccount(LookupError):
    """No account has this name (ignoring case)."""


class UnknownRole(ValueError):
    """A role that is not one of :data:`engine.accounts.ROLES`."""


def _key(name: str) -> str:
    return name.casefold()


def _utc(moment: datetime | None) -> datetime | None:
    """The same moment as an aware UTC datetime (a naive value is taken to be UTC already)."""
    if moment is None:
        return None
    if moment.utcoffset() is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _check_role(role: str) -> None:
    if role not in ROLES:
        raise UnknownRole(f"unknown role {role!r}: choose from {', '.join(ROLES)}")


def _row(account: Account) -> dict[str, Any]:
    return {
        "name_key": _key(account.name),
        "name": account.name,
        "password_hash": account.password_hash,
        "role": account.role,
        "created": _utc(account.created),
        "last_login": _utc(account.last_login),
        "character_sid": account.character_sid,
    }


def _account(row: Mapping[Any, Any]) -> Account:
    created = _utc(row["created"])
    assert created is not None  # the column is NOT NULL
    return Account(
        name=row["name"],
        password_hash=row["password_hash"],
        role=row["role"],
        created=created,
        last_login=_utc(row["last_login"]),
        character_sid=row["character_sid"],
    )


class SqlAccountStore:
    """:class:`engine.accounts.AccountStore` over SQLite or PostgreSQL.

    Safe to call from several threads at once (each call takes its own connection from the pool).
    The table must exist: :func:`persist.migrate.ensure_schema` creates it.
    """

    def __init__(self, db: sa.Engine) -> None:
        self.db = db

    def get(self, name: str) -> Account | None:
        """The account with this name, ignoring case, or None."""
        with self.db.connect() as conn:
            row = (
                conn.execute(sa.select(_accounts).where(_accounts.c.name_key == _key(name)))
                .mappings()
                .first()
            )
        return None if row is None else _account(row)

    def create(self, account: Account) -> Account:
        """Store a new account and return it as stored.

        The first account ever created gets the role ``admin``, whatever ``account.role`` says;
        the count and the insert run in one write-locked transaction. Raises
        :class:`~engine.accounts.AccountExists` if the name is taken (ignoring case), and
        :class:`UnknownRole` for a role not in :data:`~engine.accounts.ROLES`.
        """
        _check_role(account.role)
        row = _row(account)
        try:
            with self._write_transaction() as conn:
                first = not conn.execute(
                    sa.select(sa.func.count()).select_from(_accounts)
                ).scalar_one()
                if first:
                    row["role"] = FIRST_ACCOUNT_ROLE
                conn.execute(_accounts.insert().values(row))
        except sa.exc.IntegrityError as exc:
            raise AccountExists(f"the name {account.name!r} is taken") from exc
        return _account(row)

    def update(self, account: Account) -> None:
        """Save the changeable fields (name spelling, password hash, role, last login, character)
        of an existing account; ``created`` never changes. Raises :class:`UnknownAccount` if
        there is no such account and :class:`UnknownRole` for an unknown role."""
        _check_role(account.role)
        values = _row(account)
        del values["name_key"], values["created"]
        with self.db.begin() as conn:
            result = conn.execute(
                _accounts.update().where(_accounts.c.name_key == _key(account.name)).values(values)
            )
        if result.rowcount == 0:
            raise UnknownAccount(f"there is no account named {account.name!r}")

    def set_character(self, name: str, character_sid: int) -> None:
        """Record account ``name``'s character, and nothing else: saving the whole record
        read before a role was granted would take the role back. Raises
        :class:`UnknownAccount`."""
        with self.db.begin() as conn:
            result = conn.execute(
                _accounts.update()
                .where(_accounts.c.name_key == _key(name))
                .values(character_sid=character_sid)
            )
        if result.rowcount == 0:
            raise UnknownAccount(f"there is no account named {name!r}")

    def count(self) -> int:
        """How many accounts exist."""
        with self.db.connect() as conn:
            return int(conn.execute(sa.select(sa.func.count()).select_from(_accounts)).scalar_one())

    def set_role(self, name: str, role: str) -> tuple[Account, str]:
        """Give the account ``name`` (ignoring case) the role ``role``.

        Returns the updated account and the role it had before. Raises :class:`UnknownRole` or
        :class:`UnknownAccount`.
        """
        _check_role(role)
        query = sa.select(_accounts).where(_accounts.c.name_key == _key(name))
        with self.db.begin() as conn:
            row = conn.execute(query.with_for_update()).mappings().first()
            if row is None:
                raise UnknownAccount(f"there is no account named {name!r}")
            conn.execute(
                _accounts.update().where(_accounts.c.name_key == _key(name)).values(role=role)
            )
        before = _account(row)
        return dataclasses.replace(before, role=role), before.role

    def _write_transaction(self) -> AbstractContextManager[sa.Connection]:
        """A transaction holding the accounts write lock from its first statement, so that two
        first registrations cannot both count zero accounts (see ``exclusive_transaction``)."""
        return exclusive_transaction(self.db, PG_ACCOUNTS_LOCK)
