"""Database connections: SQLite (a file in WAL mode, the default) or PostgreSQL (psycopg 3), by URL.

Opening an engine does no I/O yet; connections are made when the writer, the restore or a command
first needs one. Never used on the tick path.
"""

from __future__ import annotations

import importlib.util
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from engine.config import DATABASE_SCHEMES
from engine.plugins import SetupError

__all__ = [
    "SQLITE_BUSY_TIMEOUT_MS",
    "DatabaseSetupError",
    "check_database_url",
    "exclusive_transaction",
    "is_sqlite",
    "open_database",
]

#: How long a SQLite connection waits on a lock held by another process before failing. The
#: writer treats the failure as an outage and retries, so this only bounds one attempt.
SQLITE_BUSY_TIMEOUT_MS = 2000


class DatabaseSetupError(SetupError):
    """The database URL cannot work on this machine (a missing driver, a folder that is not
    there): one line that says what to do, found before anything is opened."""


def check_database_url(url: str) -> None:
    """Refuse, with :class:`DatabaseSetupError`, a URL that could never be opened here.

    Checked at start-up rather than left to the first connection, whose error (a traceback
    ending in ``ModuleNotFoundError``, or ``unable to open database file``) does not say what to
    do about it.
    """
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise DatabaseSetupError(f"not a database URL: {url!r}") from None
    scheme = parsed.drivername.lower()
    if scheme not in DATABASE_SCHEMES:
        raise DatabaseSetupError(
            f"unknown database URL scheme {scheme!r}: use sqlite:///FILE, or"
            " postgresql+psycopg://USER:PASSWORD@HOST/DB"
        )
    if parsed.get_backend_name() == "postgresql":
        if importlib.util.find_spec("psycopg") is None:
            raise DatabaseSetupError(
                "PostgreSQL needs the psycopg 3 driver, which is not installed:"
                " pip install 'kadath[postgres]'"
            )
        return
    if parsed.database in (None, "", ":memory:"):
        return
    path = Path(parsed.database).absolute()
    if path.is_dir():
        raise DatabaseSetupError(f"the SQLite database {path} is a folder, not a file")
    folder = path.parent
    if not folder.is_dir():
        raise DatabaseSetupError(
            f"the SQLite database {path} cannot be made: its folder {folder} does not exist"
        )
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        raise DatabaseSetupError(f"the SQLite database {path} is not readable and writable")
    if not path.exists() and not os.access(folder, os.W_OK | os.X_OK):
        raise DatabaseSetupError(
            f"the SQLite database {path} cannot be made: its folder {folder} is not writable"
        )


def is_sqlite(db: sa.Engine) -> bool:
    return db.dialect.name == "sqlite"


def open_database(url: str, **kwargs: Any) -> sa.Engine:
    """An SQLAlchemy engine for ``url``, set up for Kadath's access pattern.

    SQLite gets WAL mode (readers never block the writer) and ``synchronous=FULL`` (a committed
    flush survives a power cut; with about one commit a second it costs well under a millisecond).
    PostgreSQL URLs without a driver get psycopg 3, which batches executemany upserts. A URL that
    cannot work here raises :class:`DatabaseSetupError` (see :func:`check_database_url`).
    """
    check_database_url(url)
    parsed = make_url(url)
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    if parsed.get_backend_name() == "sqlite":
        connect_args = {"check_same_thread": False, "timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}
        connect_args.update(kwargs.pop("connect_args", {}))
        db = sa.create_engine(parsed, connect_args=connect_args, **kwargs)

        @sa.event.listens_for(db, "connect")
        def _pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=FULL")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return db
    kwargs.setdefault("pool_pre_ping", True)
    return sa.create_engine(parsed, **kwargs)


@contextmanager
def exclusive_transaction(db: sa.Engine, pg_lock_key: int) -> Iterator[sa.Connection]:
    """One transaction that holds a write lock from its first statement, and covers DDL too.

    SQLite: Python's sqlite3 module (before 3.12's ``autocommit``) opens transactions lazily, at
    the first INSERT/UPDATE/DELETE, and commits DDL on its own; here the driver's implicit handling
    is switched off and ``BEGIN IMMEDIATE`` takes the database write lock up front. PostgreSQL:
    a transaction-level advisory lock on ``pg_lock_key``, held until commit or rollback,
    serialises every transaction that asks for the same key. Used where a read decides a write
    (the first account becomes admin; a schema upgrade) and two processes must take turns.
    """
    with db.connect() as conn:
        driver = conn.connection.driver_connection
        sqlite = driver if isinstance(driver, sqlite3.Connection) else None
        saved_level = sqlite.isolation_level if sqlite is not None else None
        if sqlite is not None:
            sqlite.isolation_level = None
        try:
            with conn.begin():
                if sqlite is not None and not sqlite.in_transaction:
                    conn.exec_driver_sql("BEGIN IMMEDIATE")
                if conn.dialect.name == "postgresql":
                    conn.execute(
                        sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": pg_lock_key}
                    )
                yield conn
        finally:
            if sqlite is not None:
                sqlite.isolation_level = saved_level
