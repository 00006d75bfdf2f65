"""Database connections: SQLite (a file in WAL mode, the default) or PostgreSQL (psycopg 3), by URL.

Opening an engine does no I/O yet; connections are made when the writer, the restore or a command
first needs one. Never used on the tick path.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import make_url

__all__ = ["SQLITE_BUSY_TIMEOUT_MS", "is_sqlite", "open_database"]

#: How long a SQLite connection waits on a lock held by another process before failing. The
#: writer treats the failure as an outage and retries, so this only bounds one attempt.
SQLITE_BUSY_TIMEOUT_MS = 2000


def is_sqlite(db: sa.Engine) -> bool:
    return db.dialect.name == "sqlite"


def open_database(url: str, **kwargs: Any) -> sa.Engine:
    """An SQLAlchemy engine for ``url``, set up for Kadath's access pattern.

    SQLite gets WAL mode (readers never block the writer) and ``synchronous=FULL`` (a committed
    flush survives a power cut; with about one commit a second it costs well under a millisecond).
    PostgreSQL URLs without a driver get psycopg 3, which batches executemany upserts.
    """
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
