"""Database fixtures: every persistence test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``PG_TEST_URL``; each test gets a schema of its own, dropped afterwards.
Without a reachable server those tests skip with the reason, unless ``REQUIRE_PG_TESTS=1`` (CI),
where an unreachable server fails them.
"""

from __future__ import annotations

import importlib.util
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from persist.database import open_database
from tests.services import unavailable

PG_URL_ENV = "PG_TEST_URL"
REQUIRE_PG_ENV = "REQUIRE_PG_TESTS"


def require_psycopg() -> None:
    """Skip a test that needs the psycopg driver when the ``postgres`` extra is not installed
    (``pip install -e '.[test]'``), saying so; in CI (``REQUIRE_PG_TESTS=1``) a missing driver
    fails the test instead, as an unreachable server does."""
    if os.environ.get(REQUIRE_PG_ENV) == "1":
        if importlib.util.find_spec("psycopg") is None:
            unavailable("the psycopg driver is not installed", REQUIRE_PG_ENV)
        return
    pytest.importorskip(
        "psycopg", reason="needs the psycopg driver: pip install -e '.[test,postgres]'"
    )


def postgres_url() -> str:
    """The test server's URL, or skip (or fail, in CI) with the reason."""
    url = os.environ.get(PG_URL_ENV, "")
    if not url:
        unavailable(
            f"PostgreSQL tests need {PG_URL_ENV}"
            " (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)",
            REQUIRE_PG_ENV,
        )
    require_psycopg()
    try:
        probe = open_database(url)
        with probe.connect():
            pass
        probe.dispose()
    except sa.exc.SQLAlchemyError as exc:
        unavailable(
            f"PostgreSQL at {PG_URL_ENV} is unreachable: {str(exc).splitlines()[0]}",
            REQUIRE_PG_ENV,
        )
    return url


def open_test_database(dialect: str, tmp_path: Path) -> tuple[sa.Engine, str, str | None]:
    """A fresh, empty database of ``dialect``: (engine, url, PostgreSQL schema or None)."""
    if dialect == "sqlite":
        url = f"sqlite:///{tmp_path / 'world.db'}"
        return open_database(url), url, None
    base = postgres_url()
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = open_database(base)
    with admin.begin() as conn:
        conn.execute(sa.text(f'CREATE SCHEMA "{schema}"'))
    admin.dispose()
    url = base + ("&" if "?" in base else "?") + f"options=-csearch_path%3D{schema}"
    return open_database(url), url, schema


def drop_test_schema(schema: str) -> None:
    admin = open_database(os.environ[PG_URL_ENV])
    with admin.begin() as conn:
        conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def dialect(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def database(dialect: str, tmp_path: Path) -> Iterator[tuple[sa.Engine, str]]:
    """(engine, url) of a fresh database; the URL lets a subprocess or a Config reach it too."""
    db, url, schema = open_test_database(dialect, tmp_path)
    try:
        yield db, url
    finally:
        db.dispose()
        if schema is not None:
            drop_test_schema(schema)


@pytest.fixture
def db(database: tuple[sa.Engine, str]) -> sa.Engine:
    return database[0]


@pytest.fixture(autouse=True)
def _in_a_folder_of_its_own(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run each test in its own folder: a server on PostgreSQL keeps its journal in the working
    directory (./kadath-journal), which must not be the repository."""
    monkeypatch.chdir(tmp_path)
