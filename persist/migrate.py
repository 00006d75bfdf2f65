"""Bring a database's schema up to the running code: create missing tables, add defaulted columns,
rename and migrate component tables, and record each component's schema version.

Runs at start-up and from ``kadath db upgrade``, in one transaction: everything is applied or
nothing is. It reads and rewrites whole tables, so it must never run on the tick.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from engine.component import RESERVED_PREFIX
from persist.database import exclusive_transaction
from persist.schema import ComponentTable, Schema, VersionRow

__all__ = ["BATCH_ROWS", "MigrationError", "ensure_schema"]

#: Rows read, transformed and inserted per round trip while a table is migrated. Bounds the memory
#: a migration holds to one batch, whatever the size of the table.
BATCH_ROWS = 1000

#: The key column of every component table; migration steps may read it but never change it.
_KEY = "sid"

#: PostgreSQL cuts identifiers at 63 bytes, and names a primary key ``<table>_pkey``.
_PG_NAME_MAX = 63

#: The PostgreSQL advisory lock that serialises upgrades: processes starting together against one
#: database take turns, and the later ones find nothing left to do. (SQLite: ``BEGIN IMMEDIATE``.)
_PG_UPGRADE_LOCK = 0x4B_41_44_41  # "KADA"

_versions: sa.Table = VersionRow.__table__  # type: ignore[attr-defined]


class MigrationError(RuntimeError):
    """The database cannot be brought up to the code without the operator's (or author's) help.

    The message names the table and the field and says what to do. Nothing was changed: the
    whole upgrade runs in one transaction, which is rolled back.
    """


def ensure_schema(db: sa.Engine, schema: Schema) -> list[str]:
    """Bring the database behind ``db`` up to ``schema`` and return what was done, one line each.

    In one transaction, in this order:

    1. missing engine tables (``kadath_*``) are created;
    2. a component table found under one of its ``previous_names`` is renamed, with its
       recorded version;
    3. a missing component table is created and its version recorded;
    4. a component table at an older version is rebuilt through its migration steps, in order;
    5. a component table at the code's version gains the columns of new fields that have a
       default; a stale column the code no longer has stays if it is nullable or defaulted (the
       action list says so, as a line starting with ``warning:``).

    An empty list means the database already matched. Raises :class:`MigrationError` (and
    changes nothing) for a new field without a default, a stale ``NOT NULL`` column, a column
    whose type does not match its field, a missing migration step, or a database written by a
    newer version of a component.
    """
    with exclusive_transaction(db, _PG_UPGRADE_LOCK) as conn:
        return _Upgrade(conn, schema).run()


def _kind(column_type: sa.types.TypeEngine[Any]) -> str | None:
    """The broad storage class of a column type, or None when it is not one Kadath writes."""
    kinds: tuple[tuple[type, str], ...] = (
        (sa.JSON, "JSON"),
        (sa.Boolean, "boolean"),
        (sa.Integer, "integer"),
        (sa.Numeric, "floating-point"),  # Float is a Numeric
        (sa.String, "text"),
        (sa.DateTime, "timestamp"),
    )
    for klass, kind in kinds:
        if isinstance(column_type, klass):
            return kind
    return None


class _Upgrade:
    """One run of :func:`ensure_schema` on one open transaction."""

    def __init__(self, conn: sa.Connection, schema: Schema) -> None:
        self.conn = conn
        self.schema = schema
        self.dialect = conn.dialect
        self.quote = conn.dialect.identifier_preparer.quote
        self.actions: list[str] = []
        self.existing: set[str] = set(sa.inspect(conn).get_table_names())
        self.versions: dict[str, int] = {}

    def run(self) -> list[str]:
        component_tables = {ct.table.name for ct in self.schema.components.values()}
        for table in self.schema.tables:
            if table.name in component_tables:
                continue
            if table.name in self.existing:
                self._check_engine_table(table)
            else:
                self._create(table)
                self.actions.append(f"created engine table {table.name}")
        self.versions = {
            row.component: row.version for row in self.conn.execute(sa.select(_versions))
        }
        for ct in self.schema.components.values():  # renames come before everything else
            self._rename_component(ct)
        for ct in self.schema.components.values():
            self._upgrade_component(ct)
        return self.actions

    # ----------------------------------------------------------------------- components

    def _rename_component(self, ct: ComponentTable) -> None:
        name = ct.name
        old_names = [
            old
            for old in ct.info.previous_names
            if old in self.existing and old not in self.schema.components
        ]
        if name in self.existing:
            for old in old_names:
                self.actions.append(
                    f"warning: table {old} (a previous name of component {name!r}) still exists "
                    f"next to table {name}; it is not read. Drop it once you are sure it is stale."
                )
            return
        if len(old_names) > 1:
            raise MigrationError(
                f"component {name!r} has no table yet, and several of its previous names have "
                f"one ({', '.join(old_names)}): Kadath cannot tell which holds the saved data. "
                "Drop or rename all but the right one, then start again."
            )
        if not old_names:
            return
        old = old_names[0]
        self._rename_table(old, name)
        if name in self.versions:  # a stale record left by a dropped table
            self.conn.execute(_versions.delete().where(_versions.c.component == name))
            del self.versions[name]
        if old in self.versions:
            self.conn.execute(
                _versions.update().where(_versions.c.component == old).values(component=name)
            )
            self.versions[name] = self.versions.pop(old)
        self.actions.append(f"renamed table {old} to {name} (component {name!r} was {old!r})")

    def _upgrade_component(self, ct: ComponentTable) -> None:
        name, code_version = ct.name, ct.info.version
        recorded = self.versions.get(name)
        if name not in self.existing:
            self._create(ct.table)
            self._record_version(name, code_version)
            self.actions.append(
                f"created table {name} (component {name!r}, version {code_version})"
            )
            return
        if recorded is not None and recorded > code_version:
            raise MigrationError(
                f"table {name} holds version {recorded} of component {name!r}, but the running "
                f"code has version {code_version}: this database was written by a newer Kadath "
                f"(or a newer plugin that defines {name!r}). Run that newer version, or restore "
                "a backup taken before the upgrade."
            )
        if recorded is not None and recorded < code_version:
            self._migrate(ct, recorded)
            return
        self._check_columns(ct.table, ct.defaults, f"component {name!r}", version_fix=True)
        if recorded is None:
            self._record_version(name, code_version)
            self.actions.append(
                f"recorded version {code_version} for table {name} (no version was recorded; "
                "its columns match the code)"
            )

    def _migrate(self, ct: ComponentTable, recorded: int) -> None:
        name, target = ct.name, ct.info.version
        steps = ct.info.migrations
        missing = [v for v in range(recorded, target) if v not in steps]
        if missing:
            gaps = ", ".join(f"{v} -> {v + 1}" for v in missing)
            raise MigrationError(
                f"table {name} holds version {recorded} of component {name!r} and the code is at "
                f"version {target}, but there is no migration step for {gaps}. Add "
                f"migrations={{{missing[0]}: step, ...}} to @persistent({name!r}, ...), where "
                f"step turns a version-{missing[0]} row (a dict) into a version-{missing[0] + 1} "
                "row, or returns None to drop it."
            )
        temp = f"{RESERVED_PREFIX}old_{name}"
        if temp in self.existing:
            raise MigrationError(
                f"table {temp} already exists, so table {name} cannot be moved aside to be "
                f"migrated. It is not Kadath's (migrations never leave it behind): look at it, "
                "then drop or rename it."
            )
        self._rename_table(name, temp)
        old = sa.Table(temp, sa.MetaData(), autoload_with=self.conn)
        if _KEY not in old.c:
            raise MigrationError(
                f"table {name} has no {_KEY!r} column, so it is not a Kadath component table; "
                "rename it out of the way"
            )
        self._create(ct.table)
        kept = dropped = 0
        left_behind: set[str] = set()
        after: Any = None
        while True:
            query = sa.select(old).order_by(old.c[_KEY]).limit(BATCH_ROWS)
            if after is not None:
                query = query.where(old.c[_KEY] > after)
            rows = self.conn.execute(query).mappings().all()
            if not rows:
                break
            after = rows[-1][_KEY]
            batch: list[dict[str, Any]] = []
            for stored in rows:
                row = self._apply_steps(ct, dict(stored), recorded)
                if row is None:
                    dropped += 1
                    continue
                left_behind.update(k for k in row if k not in ct.table.c)
                batch.append(self._final_row(ct, row, stored[_KEY]))
            if batch:
                try:
                    self.conn.execute(ct.table.insert(), batch)
                except sa.exc.DBAPIError as exc:
                    raise MigrationError(
                        f"the migrated rows of {name!r} (version {recorded} -> {target}) do not "
                        f"fit the table of version {target}: {exc.orig}. Check that the "
                        "migration steps give each field a value of its new type."
                    ) from exc
                kept += len(batch)
        self.conn.execute(sa.text(f"DROP TABLE {self.quote(temp)}"))
        self.existing.discard(temp)
        self._record_version(name, target)
        note = f"; values of {', '.join(sorted(left_behind))} left behind" if left_behind else ""
        self.actions.append(
            f"migrated table {name} from version {recorded} to {target}: "
            f"{kept} rows kept, {dropped} dropped{note}"
        )

    def _apply_steps(
        self, ct: ComponentTable, row: dict[str, Any], recorded: int
    ) -> dict[str, Any] | None:
        name = ct.name
        sid = row[_KEY]
        for version in range(recorded, ct.info.version):
            try:
                result = ct.info.migrations[version](row)
            except Exception as exc:
                raise MigrationError(
                    f"the migration step {version} -> {version + 1} of component {name!r} failed "
                    f"on the row with {_KEY}={sid}: {exc!r}. Fix the step; nothing was changed."
                ) from exc
            if result is None:
                return None
            if not isinstance(result, dict):
                raise MigrationError(
                    f"the migration step {version} -> {version + 1} of component {name!r} "
                    f"returned a {type(result).__name__} for the row with {_KEY}={sid}; a step "
                    "returns a dict (the new row) or None (drop the row)"
                )
            if result.setdefault(_KEY, sid) != sid:
                raise MigrationError(
                    f"the migration step {version} -> {version + 1} of component {name!r} "
                    f"changed the {_KEY!r} of a row ({sid} -> {result[_KEY]!r}); a step may "
                    "change a row's fields, never the entity it belongs to"
                )
            row = result
        return row

    def _final_row(self, ct: ComponentTable, row: dict[str, Any], sid: Any) -> dict[str, Any]:
        final: dict[str, Any] = {_KEY: sid}
        for field in ct.columns:
            if field in row:
                final[field] = row[field]
            elif field in ct.defaults:
                final[field] = ct.defaults[field]
            else:
                raise MigrationError(
                    f"after its migration steps, the row of {ct.name!r} with {_KEY}={sid} has "
                    f"no value for field {field!r}, which has no default. Make the last step "
                    f"set {field!r}, or give the field a default."
                )
        return final

    # ----------------------------------------------------------------------- columns

    def _check_engine_table(self, table: sa.Table) -> None:
        defaults: dict[str, Any] = {}
        for column in table.columns:
            default = column.default
            if isinstance(default, sa.ColumnDefault) and default.is_scalar:
                defaults[column.name] = default.arg
        self._check_columns(table, defaults, f"engine table {table.name}", version_fix=False)

    def _check_columns(
        self, table: sa.Table, defaults: Mapping[str, Any], owner: str, *, version_fix: bool
    ) -> None:
        """Add missing defaulted columns; report stale ones; refuse anything else.

        Every problem is collected first, so the operator sees them all in one error.
        """
        name = table.name
        reflected = {c["name"]: c for c in sa.inspect(self.conn).get_columns(name)}
        keys = {c.name for c in table.primary_key.columns}
        fix = (
            f"bump the version of {owner} and declare a migration step"
            if version_fix
            else "this database needs a Kadath release that can migrate it"
        )
        problems: list[str] = []
        to_add: list[sa.Column[Any]] = []
        for column in table.columns:
            found = reflected.get(column.name)
            if found is None:
                if column.name in defaults:
                    to_add.append(column)
                elif column.name in keys:
                    problems.append(
                        f"table {name} has no key column {column.name!r}: it is not a Kadath "
                        f"table. Rename it out of the way and start again."
                    )
                elif version_fix:
                    problems.append(
                        f"field {column.name!r} of {owner} is new and has no column in table "
                        f"{name}, and it has no default to fill the saved rows with: give it a "
                        f"default or declare a migration (bump the version of {owner} and add a "
                        f"step that sets {column.name!r})"
                    )
                else:
                    problems.append(
                        f"column {column.name!r} of {owner} is missing and has no default: {fix}"
                    )
                continue
            want, have = _kind(column.type), _kind(found["type"])
            if want is not None and have is not None and want != have:
                problems.append(
                    f"column {name}.{column.name} is stored as {have} ({found['type']}) but the "
                    f"code declares {want}: a field changes type only through a new version; "
                    f"{fix} that converts the values"
                )
            elif column.name not in keys and bool(found["nullable"]) != bool(column.nullable):
                stored = "nullable" if found["nullable"] else "NOT NULL"
                declared = "may be None" if column.nullable else "may not be None"
                problems.append(
                    f"column {name}.{column.name} is {stored} in the database but the field "
                    f"{declared}: {fix} (the table is rebuilt in the new shape)"
                )
        for stale in reflected.values():
            if stale["name"] in table.c:
                continue
            if stale["nullable"] or stale["default"] is not None:
                self.actions.append(
                    f"warning: table {name} has a column {stale['name']!r} that {owner} no "
                    "longer has; it is left in place (and not read). Drop it once you are sure."
                )
            else:
                problems.append(
                    f"table {name} has a NOT NULL column {stale['name']!r} without a default "
                    f"that {owner} no longer has, so new rows could not be written: {fix} (the "
                    "table is rebuilt without it), or drop the column by hand"
                )
        if problems:
            raise MigrationError(
                f"table {name} does not match the code; nothing was changed:\n- "
                + "\n- ".join(problems)
            )
        for column in to_add:
            self._add_column(table, column, defaults[column.name], owner)

    def _add_column(
        self, table: sa.Table, column: sa.Column[Any], default: Any, owner: str
    ) -> None:
        column_type = self.dialect.type_compiler_instance.process(column.type)
        literal = self._literal(default, column, owner)
        not_null = "" if column.nullable else " NOT NULL"
        self.conn.execute(
            sa.text(
                f"ALTER TABLE {self.quote(table.name)} ADD COLUMN {self.quote(column.name)} "
                f"{column_type} DEFAULT {literal}{not_null}"
            )
        )
        self.actions.append(
            f"added column {table.name}.{column.name} ({column_type}, default {literal})"
        )

    def _literal(self, value: Any, column: sa.Column[Any], owner: str) -> str:
        """The SQL text of a default value, for this dialect."""
        if value is None:
            return "NULL"
        literal_type: sa.types.TypeEngine[Any] = column.type
        if isinstance(column.type, sa.JSON):
            # Both dialects take a JSON column's default as a string literal of the JSON text.
            value, literal_type = json.dumps(value), sa.Text()
        elif isinstance(value, float) and not math.isfinite(value):
            raise MigrationError(
                f"the default of {owner}.{column.name} ({value}) cannot be written as a SQL "
                "default; declare a migration that sets it instead"
            )
        bound = sa.literal(value, literal_type)
        return str(bound.compile(dialect=self.dialect, compile_kwargs={"literal_binds": True}))

    # ----------------------------------------------------------------------- tables

    def _create(self, table: sa.Table) -> None:
        table.create(self.conn, checkfirst=False)
        self.existing.add(table.name)

    def _rename_table(self, old: str, new: str) -> None:
        self.conn.execute(sa.text(f"ALTER TABLE {self.quote(old)} RENAME TO {self.quote(new)}"))
        self.existing.discard(old)
        self.existing.add(new)
        if self.dialect.name == "postgresql":
            # The primary key keeps its old name (an index, in the tables' namespace); give it
            # the new table's, or the next table created under the old name gets "<old>_pkey1".
            key = sa.inspect(self.conn).get_pk_constraint(new).get("name")
            if key == _pg_pkey_name(old):
                self.conn.execute(
                    sa.text(
                        f"ALTER TABLE {self.quote(new)} RENAME CONSTRAINT {self.quote(key)} "
                        f"TO {self.quote(_pg_pkey_name(new))}"
                    )
                )

    def _record_version(self, component: str, version: int) -> None:
        if component in self.versions:
            self.conn.execute(
                _versions.update().where(_versions.c.component == component).values(version=version)
            )
        else:
            self.conn.execute(_versions.insert().values(component=component, version=version))
        self.versions[component] = version


def _pg_pkey_name(table: str) -> str:
    """The name PostgreSQL gives the primary key of a new table (for ASCII table names)."""
    suffix = "_pkey"
    return table[: _PG_NAME_MAX - len(suffix)] + suffix
