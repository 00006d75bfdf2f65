"""``kadath db``: initialise and upgrade the database, export and import a world's dynamic state.

Export writes JSON lines (one header, then one line per row) so that a world can be backed up,
inspected with ordinary tools, or moved between SQLite and PostgreSQL. These commands run on their
own, never next to a running server's tick.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Collection, Iterator
from datetime import datetime
from typing import IO, Any

import orjson
import sqlalchemy as sa

from engine.config import Config
from engine.core import Engine
from persist.database import open_database
from persist.migrate import MigrationError, ensure_schema
from persist.schema import AccountRow, Schema, VersionRow, engine_tables

__all__ = ["EXPORT_FORMAT", "export_lines", "import_lines", "register"]

EXPORT_FORMAT = "kadath-export"
EXPORT_VERSION = 1
#: Rows inserted per executemany while importing.
IMPORT_BATCH = 5_000


class ImportFileError(ValueError):
    """The export file cannot be imported; the message names the line and the problem."""


def _schema(config: Config) -> Schema:
    engine = Engine(config)  # plugins decide which component types (tables) exist
    return Schema(engine.registry.component_types)


def _plain(row: Any) -> dict[str, Any]:
    # Keys: SQLAlchemy's column names are a str subclass, which orjson refuses as keys.
    return {str(k): (v.isoformat() if isinstance(v, datetime) else v) for k, v in row.items()}


def export_lines(
    db: sa.Engine, schema: Schema, *, leave_out: Collection[str] = ()
) -> Iterator[bytes]:
    """The whole dynamic state as JSON lines: a header, then ``{"table", "row"}`` per row, each
    table in key order. ``leave_out`` names tables not to export (the journal's base leaves out
    the accounts)."""
    with db.connect() as conn:
        versions = {
            row.component: row.version
            for row in conn.execute(sa.select(VersionRow.__table__))  # type: ignore[attr-defined]
        }
        yield orjson.dumps(
            {"format": EXPORT_FORMAT, "version": EXPORT_VERSION, "components": versions}
        )
        tables = {**engine_tables(), **{n: t.table for n, t in schema.components.items()}}
        for name, table in tables.items():
            if name == VersionRow.__tablename__ or name in leave_out:
                continue
            keys = list(table.primary_key.columns)
            result = conn.execution_options(yield_per=10_000).execute(
                sa.select(table).order_by(*keys)
            )
            for row in result.mappings():
                yield orjson.dumps({"table": name, "row": _plain(row)})


def import_lines(db: sa.Engine, schema: Schema, lines: IO[bytes]) -> int:
    """Load an export into an empty database (in one transaction); returns rows imported."""
    tables = {**engine_tables(), **{n: t.table for n, t in schema.components.items()}}
    header_line = lines.readline()
    try:
        header = orjson.loads(header_line)
    except orjson.JSONDecodeError as exc:
        raise ImportFileError(f"line 1: not a Kadath export ({exc})") from None
    if not isinstance(header, dict) or header.get("format") != EXPORT_FORMAT:
        raise ImportFileError("line 1: not a Kadath export (no kadath-export header)")
    existing = set(sa.inspect(db).get_table_names())
    with db.connect() as conn:  # refuse before changing anything, the schema included
        for name, table in tables.items():
            if (
                name in existing
                and name != VersionRow.__tablename__
                and conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
            ):
                raise ImportFileError(
                    f"table {name!r} is not empty: import only into a fresh database"
                )
    ensure_schema(db, schema)
    with db.begin() as conn:
        versions = {
            row.component: row.version
            for row in conn.execute(sa.select(VersionRow.__table__))  # type: ignore[attr-defined]
        }
        for component, version in header.get("components", {}).items():
            if component in versions and versions[component] != version:
                raise ImportFileError(
                    f"the export has {component!r} at version {version}, this server at "
                    f"{versions[component]}: upgrade the source database first (kadath db upgrade)"
                )
        batches: dict[str, list[dict[str, Any]]] = {}
        imported = 0
        for number, line in enumerate(lines, start=2):
            if not line.strip():
                continue
            try:
                record = orjson.loads(line)
                name, row = record["table"], record["row"]
            except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
                raise ImportFileError(f"line {number}: malformed record ({exc})") from None
            if name not in tables:
                raise ImportFileError(
                    f"line {number}: unknown table {name!r} (a plugin missing on this server?)"
                )
            row = _checked_row(number, name, row, tables[name], schema)
            batch = batches.setdefault(name, [])
            batch.append(row)
            if len(batch) >= IMPORT_BATCH:
                conn.execute(sa.insert(tables[name]), batch)
                imported += len(batch)
                batch.clear()
        for name, batch in batches.items():
            if batch:
                conn.execute(sa.insert(tables[name]), batch)
                imported += len(batch)
    return imported


def _checked_row(
    number: int, name: str, row: Any, table: sa.Table, schema: Schema
) -> dict[str, Any]:
    """The row ready to insert, or an :class:`ImportFileError` naming the line and the problem.

    Keys must be the table's columns (every column without a default present); component rows
    must also decode into their component, which checks every value's type as restore will.
    """
    if not isinstance(row, dict):
        raise ImportFileError(f"line {number}: the row of {name!r} is not an object")
    columns = {c.name: c for c in table.columns}
    unknown = sorted(set(row) - set(columns))
    if unknown:
        raise ImportFileError(f"line {number}: table {name!r} has no column(s) {unknown}")
    missing = sorted(
        c.name
        for c in table.columns
        if c.name not in row and not c.nullable and c.default is None and c.server_default is None
    )
    if missing:
        raise ImportFileError(f"line {number}: the row of {name!r} lacks column(s) {missing}")
    component = schema.components.get(name)
    if component is not None:
        try:
            component.decode(row)
        except (TypeError, ValueError, KeyError) as exc:
            raise ImportFileError(f"line {number}: a bad value in {name!r}: {exc}") from None
    if name == AccountRow.__tablename__:
        try:
            for key in ("created", "last_login"):
                if row.get(key):
                    row[key] = datetime.fromisoformat(row[key])
        except (TypeError, ValueError) as exc:
            raise ImportFileError(f"line {number}: a bad date in {name!r}: {exc}") from None
    return row


def _run(ns: argparse.Namespace, config: Config) -> int:
    db = open_database(config.persist.database_url)
    try:
        schema = _schema(config)
        if ns.db_command in ("init", "upgrade"):
            actions = ensure_schema(db, schema)
            for action in actions:
                print(action)
            changes = [a for a in actions if not a.startswith("warning:")]
            print(f"database is up to date ({len(changes)} change(s) made)")
            return 0
        if ns.db_command == "export":
            out = sys.stdout.buffer if ns.file == "-" else open(ns.file, "wb")  # noqa: SIM115
            try:
                count = -1
                for count, line in enumerate(export_lines(db, schema)):  # noqa: B007
                    out.write(line + b"\n")
            finally:
                if out is not sys.stdout.buffer:
                    out.close()
            print(f"exported {count} rows", file=sys.stderr)
            return 0
        source = sys.stdin.buffer if ns.file == "-" else open(ns.file, "rb")  # noqa: SIM115
        try:
            count = import_lines(db, schema, source)
        finally:
            if source is not sys.stdin.buffer:
                source.close()
        print(f"imported {count} rows")
        return 0
    except (MigrationError, ImportFileError) as exc:
        print(f"kadath db: {exc}", file=sys.stderr)
        return 1
    except sa.exc.SQLAlchemyError as exc:
        print(f"kadath db: database error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 1
    finally:
        db.dispose()


def register(subparsers: Any) -> None:
    """The ``kadath.cli`` entry point: add ``kadath db``."""
    from engine.config import add_config_arguments

    parser: argparse.ArgumentParser = subparsers.add_parser(
        "db", help="initialise, upgrade, export or import the database"
    )
    sub = parser.add_subparsers(dest="db_command", required=True, metavar="ACTION")
    for name, text in (
        ("init", "create every table on an empty database"),
        ("upgrade", "add new tables and columns and apply declared migrations"),
    ):
        add_config_arguments(sub.add_parser(name, help=text))
    export = sub.add_parser("export", help="write the dynamic state as JSON lines")
    export.add_argument("file", nargs="?", default="-", help="output file (default: stdout)")
    add_config_arguments(export)
    load = sub.add_parser("import", help="load a JSON-lines export into a fresh database")
    load.add_argument("file", nargs="?", default="-", help="input file (default: stdin)")
    add_config_arguments(load)
    parser.set_defaults(run=_run)
