"""Schema upgrades: a database written by older code is brought up to the running code, or refused
with a clear error and left exactly as it was. Every test runs on SQLite and on PostgreSQL (the
``db`` fixture in conftest.py).

A persistent name belongs to one class per process (``persist.schema.table_for`` caches the
table), so "version 1" of a component is never a second class: :func:`legacy_table` builds the
table an older Kadath would have left, with plain SQLAlchemy DDL, rows and a recorded version.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import pytest
import sqlalchemy as sa

from engine.component import Component, persistent
from persist.migrate import MigrationError, ensure_schema
from persist.schema import Schema, VersionRow

VERSIONS: sa.Table = VersionRow.__table__  # type: ignore[attr-defined]
ENGINE_TABLES = {"kadath_meta", "kadath_versions", "kadath_tombstones", "kadath_accounts"}


# --------------------------------------------------------------------------- component types


@persistent("mig_ward", version=1)
@dataclass(slots=True)
class Ward(Component):
    strength: int
    sigil: str = "elder"


@persistent("mig_omen", version=1)
@dataclass(slots=True)
class Omen(Component):
    text: str


@persistent("mig_sanity", version=1)
@dataclass(slots=True)
class Sanity(Component):
    hp: int
    mood: str = "calm"
    whispers: tuple[str, ...] = ("ia", "it's")
    ratio: float = 0.5
    awake: bool = True
    dread: int | None = None


@persistent("mig_relic", version=1)
@dataclass(slots=True)
class Relic(Component):
    weight: int
    curse: str


@persistent("mig_lamp", version=1)
@dataclass(slots=True)
class Lamp(Component):
    oil: int


@persistent("mig_vitals", version=2, migrations={1: lambda row: {**row, "dp": row.pop("hp")}})
@dataclass(slots=True)
class Vitals(Component):
    dp: int


def _hp_to_dp(row: dict[str, Any]) -> dict[str, Any]:
    row["dp"] = row.pop("hp")
    return row


def _dp_to_points_and_title(row: dict[str, Any]) -> dict[str, Any]:
    # Needs step 1's "dp": proves the steps run in order.
    return {"points": row["dp"] * 10, "title": f"the {row['name']}"}


@persistent("mig_investigator", version=3, migrations={1: _hp_to_dp, 2: _dp_to_points_and_title})
@dataclass(slots=True)
class Investigator(Component):
    points: int
    title: str


def _rot_to_seconds(row: dict[str, Any]) -> dict[str, Any] | None:
    if row["rot"] >= 100:  # fully rotten corpses are gone
        return None
    return {"rot_s": row["rot"] * 60.0}


@persistent("mig_corpse", version=2, migrations={1: _rot_to_seconds})
@dataclass(slots=True)
class Corpse(Component):
    rot_s: float


@persistent("mig_tome", version=3, migrations={2: lambda row: row})
@dataclass(slots=True)
class Tome(Component):
    pages: int


@persistent("mig_ghoul", version=1, previous_names=("mig_ghast",))
@dataclass(slots=True)
class Ghoul(Component):
    hunger: int


@persistent(
    "mig_shoggoth",
    version=2,
    previous_names=("mig_blob",),
    migrations={1: lambda row: {"mass": row["size"] * 2}},
)
@dataclass(slots=True)
class Shoggoth(Component):
    mass: int


# --------------------------------------------------------------------------- helpers


def legacy_table(
    db: sa.Engine,
    name: str,
    version: int | None,
    *columns: sa.Column[Any],
    rows: Iterable[Mapping[str, Any]] = (),
) -> None:
    """Build the table an older Kadath left behind: its columns, rows and recorded version."""
    ensure_schema(db, Schema([]))  # the engine tables, kadath_versions among them
    table = sa.Table(
        name,
        sa.MetaData(),
        sa.Column("sid", sa.BigInteger, primary_key=True, autoincrement=False),
        *columns,
    )
    with db.begin() as conn:
        table.create(conn)
        if rows:
            conn.execute(table.insert(), [dict(r) for r in rows])
        if version is not None:
            conn.execute(VERSIONS.insert().values(component=name, version=version))


def tables(db: sa.Engine) -> set[str]:
    return set(sa.inspect(db).get_table_names())


def columns(db: sa.Engine, name: str) -> list[str]:
    return [c["name"] for c in sa.inspect(db).get_columns(name)]


def versions(db: sa.Engine) -> dict[str, int]:
    with db.connect() as conn:
        return {r.component: r.version for r in conn.execute(sa.select(VERSIONS))}


def rows_of(db: sa.Engine, name: str) -> list[dict[str, Any]]:
    table = sa.Table(name, sa.MetaData(), autoload_with=db)
    with db.connect() as conn:
        result = conn.execute(sa.select(table).order_by(*table.primary_key.columns))
        return [dict(r) for r in result.mappings()]


def decoded(db: sa.Engine, schema: Schema, name: str) -> dict[int, Any]:
    ct = schema.components[name]
    with db.connect() as conn:
        return {r["sid"]: ct.decode(r) for r in conn.execute(sa.select(ct.table)).mappings()}


def everything(db: sa.Engine) -> dict[str, tuple[list[str], list[dict[str, Any]]]]:
    """Every table's columns and rows: to prove a failed upgrade changed nothing."""
    return {name: (columns(db, name), rows_of(db, name)) for name in sorted(tables(db))}


# --------------------------------------------------------------------------- fresh and repeated


def test_fresh_database_gets_every_table_and_the_component_versions(db: sa.Engine) -> None:
    schema = Schema([Ward, Vitals, Investigator])

    actions = ensure_schema(db, schema)

    assert tables(db) == ENGINE_TABLES | {"mig_ward", "mig_vitals", "mig_investigator"}
    assert versions(db) == {"mig_ward": 1, "mig_vitals": 2, "mig_investigator": 3}
    assert len(actions) == len(ENGINE_TABLES) + 3
    assert "created table mig_vitals (component 'mig_vitals', version 2)" in actions


def test_upgrading_an_up_to_date_database_does_nothing(db: sa.Engine) -> None:
    schema = Schema([Ward, Sanity, Vitals])
    ensure_schema(db, schema)

    assert ensure_schema(db, schema) == []


def test_new_component_type_gets_its_table_on_an_existing_database(db: sa.Engine) -> None:
    ensure_schema(db, Schema([Ward]))
    ward = Schema([Ward]).components["mig_ward"]
    with db.begin() as conn:
        conn.execute(ward.table.insert(), [ward.encode(7, (3, "yellow"))])

    actions = ensure_schema(db, Schema([Ward, Omen]))

    assert actions == ["created table mig_omen (component 'mig_omen', version 1)"]
    assert versions(db) == {"mig_ward": 1, "mig_omen": 1}
    assert rows_of(db, "mig_ward") == [{"sid": 7, "strength": 3, "sigil": "yellow"}]


# --------------------------------------------------------------------------- fields added, removed


def test_new_fields_with_defaults_become_columns_and_saved_rows_get_the_defaults(
    db: sa.Engine,
) -> None:
    legacy_table(
        db,
        "mig_sanity",
        1,
        sa.Column("hp", sa.BigInteger, nullable=False),
        rows=[{"sid": 1, "hp": 10}, {"sid": 2, "hp": 3}],
    )
    schema = Schema([Sanity])

    actions = ensure_schema(db, schema)

    assert len(actions) == 5
    assert all(a.startswith("added column mig_sanity.") for a in actions)
    assert columns(db, "mig_sanity") == ["sid", "hp", "mood", "whispers", "ratio", "awake", "dread"]
    assert decoded(db, schema, "mig_sanity") == {
        1: Sanity(hp=10),
        2: Sanity(hp=3),
    }
    # The new shape takes new rows, and a second upgrade finds nothing to do.
    ct = schema.components["mig_sanity"]
    with db.begin() as conn:
        conn.execute(ct.table.insert(), [ct.encode(3, (1, "dread", ("a",), 0.25, False, 4))])
    assert decoded(db, schema, "mig_sanity")[3] == Sanity(1, "dread", ("a",), 0.25, False, 4)
    assert ensure_schema(db, schema) == []


def test_new_field_without_a_default_is_refused_and_nothing_changes(db: sa.Engine) -> None:
    legacy_table(
        db, "mig_relic", 1, sa.Column("weight", sa.BigInteger), rows=[{"sid": 1, "weight": 9}]
    )
    before = everything(db)

    # Omen comes first: its table would be created before Relic's error, and must not survive it.
    with pytest.raises(MigrationError) as error:
        ensure_schema(db, Schema([Omen, Relic]))

    message = str(error.value)
    assert "'curse'" in message
    assert "'mig_relic'" in message
    assert "give it a default or declare a migration" in message
    assert everything(db) == before
    assert "mig_omen" not in tables(db)


def test_removed_nullable_field_stays_with_a_warning(db: sa.Engine) -> None:
    legacy_table(
        db,
        "mig_lamp",
        1,
        sa.Column("oil", sa.BigInteger, nullable=False),
        sa.Column("wick", sa.Text, nullable=True),
        rows=[{"sid": 1, "oil": 5, "wick": "cotton"}],
    )
    schema = Schema([Lamp])

    actions = ensure_schema(db, schema)

    assert len(actions) == 1
    assert actions[0].startswith("warning: table mig_lamp has a column 'wick'")
    assert columns(db, "mig_lamp") == ["sid", "oil", "wick"]
    assert decoded(db, schema, "mig_lamp") == {1: Lamp(oil=5)}
    ct = schema.components["mig_lamp"]
    with db.begin() as conn:  # new rows leave the stale column empty
        conn.execute(ct.table.insert(), [ct.encode(2, (8,))])
    assert decoded(db, schema, "mig_lamp")[2] == Lamp(oil=8)


def test_removed_not_null_field_without_a_default_is_refused(db: sa.Engine) -> None:
    legacy_table(
        db,
        "mig_lamp",
        1,
        sa.Column("oil", sa.BigInteger, nullable=False),
        sa.Column("wick", sa.Text, nullable=False),
        rows=[{"sid": 1, "oil": 5, "wick": "cotton"}],
    )
    before = everything(db)

    with pytest.raises(MigrationError, match="NOT NULL column 'wick'") as error:
        ensure_schema(db, Schema([Lamp]))

    assert "bump the version of component 'mig_lamp'" in str(error.value)
    assert everything(db) == before


def test_field_whose_type_changed_without_a_version_bump_is_refused(db: sa.Engine) -> None:
    legacy_table(db, "mig_ward", 1, sa.Column("strength", sa.Text), sa.Column("sigil", sa.Text))

    with pytest.raises(MigrationError, match=r"mig_ward\.strength is stored as text") as error:
        ensure_schema(db, Schema([Ward]))

    assert "code declares integer" in str(error.value)


# --------------------------------------------------------------------------- versions


def test_field_renamed_by_a_version_bump_is_migrated(db: sa.Engine) -> None:
    legacy_table(
        db,
        "mig_vitals",
        1,
        sa.Column("hp", sa.BigInteger, nullable=False),
        rows=[{"sid": 1, "hp": 10}, {"sid": 2, "hp": -3}],
    )
    schema = Schema([Vitals])

    actions = ensure_schema(db, schema)

    assert actions == [
        "migrated table mig_vitals from version 1 to 2: 2 rows kept, 0 dropped; "
        "values of hp left behind"
    ]
    assert rows_of(db, "mig_vitals") == [{"sid": 1, "dp": 10}, {"sid": 2, "dp": -3}]
    assert versions(db)["mig_vitals"] == 2
    assert "kadath_old_mig_vitals" not in tables(db)
    assert ensure_schema(db, schema) == []


def test_migration_steps_run_in_order_from_the_saved_version(db: sa.Engine) -> None:
    legacy_table(
        db,
        "mig_investigator",
        1,
        sa.Column("hp", sa.BigInteger, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        rows=[{"sid": 4, "hp": 7, "name": "Armitage"}],
    )

    ensure_schema(db, Schema([Investigator]))

    assert rows_of(db, "mig_investigator") == [{"sid": 4, "points": 70, "title": "the Armitage"}]
    assert versions(db)["mig_investigator"] == 3


def test_rows_saved_at_an_intermediate_version_run_only_the_later_steps(db: sa.Engine) -> None:
    legacy_table(
        db,
        "mig_investigator",
        2,
        sa.Column("dp", sa.BigInteger, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        rows=[{"sid": 4, "dp": 2, "name": "Wilmarth"}],
    )

    ensure_schema(db, Schema([Investigator]))

    assert rows_of(db, "mig_investigator") == [{"sid": 4, "points": 20, "title": "the Wilmarth"}]


def test_migration_step_returning_none_drops_the_row(db: sa.Engine, monkeypatch: Any) -> None:
    monkeypatch.setattr("persist.migrate.BATCH_ROWS", 2)  # several batches
    legacy_table(
        db,
        "mig_corpse",
        1,
        sa.Column("rot", sa.BigInteger, nullable=False),
        rows=[{"sid": s, "rot": r} for s, r in [(1, 10), (2, 100), (3, 0), (4, 250), (5, 99)]],
    )

    actions = ensure_schema(db, Schema([Corpse]))

    assert actions == ["migrated table mig_corpse from version 1 to 2: 3 rows kept, 2 dropped"]
    assert rows_of(db, "mig_corpse") == [
        {"sid": 1, "rot_s": 600.0},
        {"sid": 3, "rot_s": 0.0},
        {"sid": 5, "rot_s": 5940.0},
    ]


def test_missing_migration_step_is_refused_and_rolled_back(db: sa.Engine) -> None:
    legacy_table(
        db, "mig_tome", 1, sa.Column("leaves", sa.BigInteger), rows=[{"sid": 1, "leaves": 3}]
    )
    before = everything(db)

    with pytest.raises(MigrationError) as error:
        ensure_schema(db, Schema([Omen, Tome]))

    message = str(error.value)
    assert "'mig_tome'" in message
    assert "version 1" in message
    assert "version 3" in message
    assert "no migration step for 1 -> 2" in message
    assert everything(db) == before
    assert versions(db) == {"mig_tome": 1}


def test_failing_migration_step_names_the_row_and_changes_nothing(db: sa.Engine) -> None:
    legacy_table(
        db, "mig_corpse", 1, sa.Column("decay", sa.BigInteger), rows=[{"sid": 8, "decay": 1}]
    )
    before = everything(db)

    with pytest.raises(MigrationError, match=r"step 1 -> 2 of component 'mig_corpse'.*sid=8"):
        ensure_schema(db, Schema([Corpse]))

    assert everything(db) == before


def test_database_written_by_a_newer_kadath_is_refused(db: sa.Engine) -> None:
    legacy_table(db, "mig_ward", 5, sa.Column("strength", sa.BigInteger))
    before = everything(db)

    with pytest.raises(MigrationError, match="written by a newer Kadath") as error:
        ensure_schema(db, Schema([Omen, Ward]))

    assert "version 5" in str(error.value)
    assert everything(db) == before


# --------------------------------------------------------------------------- renamed components


def test_component_renamed_through_previous_names_keeps_its_rows(db: sa.Engine) -> None:
    legacy_table(
        db,
        "mig_ghast",
        1,
        sa.Column("hunger", sa.BigInteger, nullable=False),
        rows=[{"sid": 1, "hunger": 4}],
    )
    schema = Schema([Ghoul])

    actions = ensure_schema(db, schema)

    assert actions == [
        "renamed table mig_ghast to mig_ghoul (component 'mig_ghoul' was 'mig_ghast')"
    ]
    assert "mig_ghast" not in tables(db)
    assert versions(db) == {"mig_ghoul": 1}
    assert decoded(db, schema, "mig_ghoul") == {1: Ghoul(hunger=4)}
    assert ensure_schema(db, schema) == []
    if db.dialect.name == "postgresql":  # the key follows the table's name
        assert sa.inspect(db).get_pk_constraint("mig_ghoul")["name"] == "mig_ghoul_pkey"


def test_renamed_component_is_also_migrated_from_its_old_version(db: sa.Engine) -> None:
    legacy_table(
        db,
        "mig_blob",
        1,
        sa.Column("size", sa.BigInteger, nullable=False),
        rows=[{"sid": 1, "size": 21}],
    )

    actions = ensure_schema(db, Schema([Shoggoth]))

    assert actions == [
        "renamed table mig_blob to mig_shoggoth (component 'mig_shoggoth' was 'mig_blob')",
        "migrated table mig_shoggoth from version 1 to 2: 1 rows kept, 0 dropped",
    ]
    assert rows_of(db, "mig_shoggoth") == [{"sid": 1, "mass": 42}]
    assert versions(db) == {"mig_shoggoth": 2}
    assert tables(db) == ENGINE_TABLES | {"mig_shoggoth"}


# --------------------------------------------------------------------------- concurrency


def test_servers_starting_together_take_turns_and_the_later_one_finds_nothing_to_do(
    db: sa.Engine,
) -> None:
    schema = Schema([Ward, Sanity, Vitals, Investigator])
    start = threading.Barrier(2)
    results: list[list[str]] = []
    errors: list[BaseException] = []

    def upgrade() -> None:
        start.wait()
        try:
            results.append(ensure_schema(db, schema))
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=upgrade) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(len(r) for r in results) == [0, len(ENGINE_TABLES) + 4]
    assert versions(db) == {"mig_ward": 1, "mig_sanity": 1, "mig_vitals": 2, "mig_investigator": 3}
