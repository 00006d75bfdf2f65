"""``kadath db``: export and import move a world between SQLite and PostgreSQL unchanged, a bad
import changes nothing and says why (and where), and ``init``/``upgrade`` say what they did and
can be run again safely.

The worlds here are the bundled world served by the real :class:`PersistenceService` with every
installed plugin, as ``kadath serve`` would run it; the commands run in-process through
:func:`engine.cli.main`, exactly as typed on a shell.
"""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

import persist.cli
from components.body import Posture, Vitals
from components.items import Item
from engine.accounts import Account
from engine.cli import build_parser, main
from engine.config import Config, PersistConfig, WorldConfig
from engine.core import Engine
from persist.database import open_database
from persist.restore import restore
from persist.schema import AccountRow, Schema, engine_tables
from persist.service import PersistenceService
from systems.characters import create_character
from systems.whereabouts import move
from tests.persist.conftest import drop_test_schema, open_test_database

DATA = str(Path(__file__).resolve().parents[2] / "data")

OpenDb = Callable[[str], tuple[sa.Engine, str]]


@pytest.fixture(autouse=True)
def no_kadath_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """The commands read KADATH_* variables; the test's own flags must be all that counts."""
    for name in list(os.environ):
        if name.startswith("KADATH_"):
            monkeypatch.delenv(name)


@pytest.fixture
def open_db(tmp_path: Path) -> Iterator[OpenDb]:
    """Opens fresh databases of any dialect (several per test), dropped afterwards."""
    opened: list[tuple[sa.Engine, str | None]] = []

    def open_one(dialect: str) -> tuple[sa.Engine, str]:
        folder = tmp_path / f"db{len(opened)}"
        folder.mkdir()
        db, url, schema = open_test_database(dialect, folder)
        opened.append((db, schema))
        return db, url

    yield open_one
    for db, schema in opened:
        db.dispose()
        if schema is not None:
            drop_test_schema(schema)


def _config(url: str) -> Config:
    return Config(world=WorldConfig(data_dir=DATA), persist=PersistConfig(database_url=url))


def _play_and_save(url: str) -> Engine:
    """Serve the bundled world on ``url``, play a little, shut down (last tick, final flush)."""
    config = _config(url)
    engine = Engine(config)
    engine.build_world()
    service = PersistenceService(config)
    service.start(engine)
    world = engine.world
    engine.run_ticks(5)
    armitage = create_character(world, "Armitage")
    carter = create_character(world, "Carter")
    items = sorted(entity for entity, _ in world.query(Item))
    move(world, items[0], armitage)
    world.get(items[1], Item).quantity = 3
    world.destroy(items[2])  # content taken away in play: a tombstone
    world.get(carter, Vitals).dp = 7
    world.rng.random()
    engine.run_ticks(3)
    assert engine.accounts is not None
    engine.accounts.create(
        Account(
            "Armitage",
            "scrypt$not-a-real-hash",
            "player",
            created=datetime(1928, 10, 31, 23, 59, 1, tzinfo=UTC),
            last_login=datetime(1929, 1, 2, 3, 4, 5, 678000, tzinfo=UTC),
            character_sid=world.stable_id(armitage),
        )
    )
    engine.tick()
    service.stop(engine)
    return engine


def _restored_dump(url: str) -> list[tuple[object, ...]]:
    config = _config(url)
    engine = Engine(config)
    engine.build_world()
    db = open_database(url)
    try:
        restore(engine.world, Schema(engine.registry.component_types), db)
    finally:
        db.dispose()
    return engine.world.dump()


def _accounts(db: sa.Engine) -> list[dict[str, object]]:
    table = AccountRow.__table__  # type: ignore[attr-defined]
    with db.connect() as conn:
        return [dict(row) for row in conn.execute(sa.select(table)).mappings()]


def _row_counts(db: sa.Engine) -> dict[str, int]:
    """Rows in every table that exists, Kadath's or not."""
    names = sa.inspect(db).get_table_names()
    with db.connect() as conn:
        return {
            name: conn.execute(sa.text(f'SELECT count(*) FROM "{name}"')).scalar_one()
            for name in names
        }


def _export(url: str, path: Path, capsys: pytest.CaptureFixture[str]) -> int:
    """Run ``kadath db export``; returns the row count it reported."""
    assert main(["db", "export", str(path), "--db", url]) == 0
    err = capsys.readouterr().err
    assert err.startswith("exported ") and err.rstrip().endswith(" rows"), err
    return int(err.split()[1])


# ------------------------------------------------------------------------ export and import


@pytest.mark.parametrize(("source", "target"), [("sqlite", "postgresql"), ("postgresql", "sqlite")])
def test_export_then_import_moves_a_world_between_dialects_unchanged(
    source: str, target: str, open_db: OpenDb, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source_db, source_url = open_db(source)
    target_db, target_url = open_db(target)
    played = _play_and_save(source_url)
    before = _restored_dump(source_url)
    assert before == played.world.dump()  # the source itself restores the world that was played

    path = tmp_path / "world.jsonl"
    exported = _export(source_url, path, capsys)
    assert main(["db", "import", str(path), "--db", target_url]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"imported {exported} rows"

    assert _restored_dump(target_url) == before
    assert _accounts(target_db) == _accounts(source_db)
    # And back again: the target exports the same rows (in whatever order the database gives).
    again = tmp_path / "again.jsonl"
    assert _export(target_url, again, capsys) == exported
    assert sorted(again.read_bytes().splitlines()) == sorted(path.read_bytes().splitlines())


def test_an_export_is_json_lines_with_a_header_naming_each_component_version(
    open_db: OpenDb, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, url = open_db("sqlite")
    _play_and_save(url)
    path = tmp_path / "world.jsonl"
    exported = _export(url, path, capsys)
    header, *records = (orjson.loads(line) for line in path.read_bytes().splitlines())
    assert header["format"] == "kadath-export" and header["version"] == 1
    assert header["components"]["vitals"] == 1
    assert len(records) == exported
    assert {"table": "kadath_meta", "row": {"key": "saved_tick", "value": 9}} in records
    assert all(set(record) == {"table", "row"} for record in records)


#: The stable id of the one character in the hand-written export (node 1, sequence 7).
CHARACTER_SID = (1 << 47) + 7


def _records() -> list[dict[str, object]]:
    """A small export written by hand: one character, a tombstone, an account, the saved tick.

    Independent of ``kadath db export``, so the import is tested on its own.
    """
    sid = CHARACTER_SID
    return [
        {"table": "kadath_meta", "row": {"key": "saved_tick", "value": 9}},
        {"table": "kadath_meta", "row": {"key": "next_sequence:1", "value": 8}},
        {
            "table": "identity",
            "row": {"sid": sid, "name": "Wilbur", "keywords": ["wilbur"], "description": "Tall."},
        },
        {"table": "player", "row": {"sid": sid, "account": "Wilbur"}},
        {"table": "vitals", "row": {"sid": sid, "dp": 7, "max_dp": 20}},
        {"table": "posture", "row": {"sid": sid, "state": "sitting", "resting": True}},
        {"table": "inventory", "row": {"sid": sid, "capacity": 20}},
        {"table": "kadath_tombstones", "row": {"sid": 99, "component": "*"}},
        {
            "table": "kadath_accounts",
            "row": {
                "name_key": "wilbur",
                "name": "Wilbur",
                "password_hash": "scrypt$x",
                "role": "player",
                "created": "1928-09-01T12:00:00+00:00",
                "last_login": None,
                "character_sid": sid,
            },
        },
    ]


def _write_export(path: Path, records: list[dict[str, object]]) -> list[bytes]:
    header = {"format": "kadath-export", "version": 1, "components": {"vitals": 1}}
    lines = [orjson.dumps(header), *(orjson.dumps(record) for record in records)]
    path.write_bytes(b"\n".join(lines) + b"\n")
    return lines


def _world_data(db: sa.Engine) -> dict[str, int]:
    """Row counts of every table but the schema's own version records."""
    return {name: n for name, n in _row_counts(db).items() if name != "kadath_versions"}


def test_an_export_imports_into_a_fresh_database_and_restores(
    dialect: str, open_db: OpenDb, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, url = open_db(dialect)
    path = tmp_path / "world.jsonl"
    _write_export(path, _records())
    assert main(["db", "import", str(path), "--db", url]) == 0
    assert capsys.readouterr().out.splitlines() == [f"imported {len(_records())} rows"]
    engine = Engine(_config(url))
    engine.build_world()
    restore(engine.world, Schema(engine.registry.component_types), db)
    world = engine.world
    wilbur = world.entity_of(CHARACTER_SID)
    assert wilbur is not None and world.clock.tick == 9
    assert (world.get(wilbur, Vitals).dp, world.get(wilbur, Posture).resting) == (7, True)
    (account,) = _accounts(db)
    assert account["created"] == datetime(1928, 9, 1, 12, tzinfo=UTC)


def test_importing_into_a_database_that_is_not_empty_is_refused_and_changes_nothing(
    dialect: str, open_db: OpenDb, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, url = open_db(dialect)
    _play_and_save(url)
    path = tmp_path / "world.jsonl"
    _write_export(path, _records())
    counts = _row_counts(db)
    assert main(["db", "import", str(path), "--db", url]) == 1
    err = capsys.readouterr().err
    assert "is not empty: import only into a fresh database" in err
    assert _row_counts(db) == counts


def _broken(lines: list[bytes], number: int, line: bytes) -> list[bytes]:
    """``lines`` with line ``number`` (1-based, as an editor shows it) replaced."""
    return [*lines[: number - 1], line, *lines[number:]]


MALFORMED = {
    "cut short": b'{"table": "vitals", "row": {"sid": 1, "dp"',
    "not a record": b'["vitals", 1, 20, 20]',
    "no row": b'{"table": "vitals"}',
    "unknown table": b'{"table": "spells", "row": {"sid": 1}}',
}


@pytest.mark.parametrize("problem", list(MALFORMED))
def test_a_malformed_export_line_is_reported_with_its_line_number_and_nothing_is_imported(
    problem: str,
    dialect: str,
    open_db: OpenDb,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    db, url = open_db(dialect)
    path = tmp_path / "world.jsonl"
    lines = _write_export(path, _records())
    number = len(lines) - 1  # late in the file: every row before it has been sent already
    path.write_bytes(b"\n".join(_broken(lines, number, MALFORMED[problem])) + b"\n")
    monkeypatch.setattr(persist.cli, "IMPORT_BATCH", 1)  # insert each row as soon as it is read

    assert main(["db", "import", str(path), "--db", url]) == 1
    err = capsys.readouterr().err
    assert f"line {number}:" in err
    assert set(_world_data(db).values()) == {0}  # the tables exist, empty: all rolled back


@pytest.mark.parametrize(
    "row",
    [
        pytest.param(b'{"table": "vitals", "row": {"sid": 2, "hp": 20}}', id="unknown column"),
        pytest.param(
            b'{"table": "vitals", "row": {"sid": 2, "dp": "lots", "max_dp": 20}}', id="wrong type"
        ),
    ],
)
def test_a_row_that_does_not_fit_its_table_is_reported_with_its_line_number(
    row: bytes, dialect: str, open_db: OpenDb, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, url = open_db(dialect)
    path = tmp_path / "world.jsonl"
    lines = _write_export(path, _records())
    path.write_bytes(b"\n".join([*lines, row]) + b"\n")
    assert main(["db", "import", str(path), "--db", url]) == 1
    err = capsys.readouterr().err
    assert f"line {len(lines) + 1}:" in err
    assert set(_world_data(db).values()) == {0}


def test_a_file_that_is_not_an_export_is_refused_at_line_1(
    open_db: OpenDb, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db, url = open_db("sqlite")
    path = tmp_path / "notes.txt"
    path.write_text('{"hello": "world"}\n')
    assert main(["db", "import", str(path), "--db", url]) == 1
    assert "line 1: not a Kadath export" in capsys.readouterr().err
    assert _row_counts(db) == {}  # refused before the schema was even created


# ------------------------------------------------------------------------ init and upgrade


def test_db_init_and_upgrade_say_what_they_did_and_change_nothing_the_second_time(
    database: tuple[sa.Engine, str], capsys: pytest.CaptureFixture[str]
) -> None:
    db, url = database
    assert main(["db", "init", "--db", url]) == 0
    first = capsys.readouterr().out.splitlines()
    tables = Schema(Engine(_config(url)).registry.component_types).components
    assert {f"created engine table {name}" for name in engine_tables()} <= set(first)
    assert {
        f"created table {name} (component {name!r}, version {ct.info.version})"
        for name, ct in tables.items()
    } <= set(first)
    assert first[-1] == f"database is up to date ({len(first) - 1} change(s) made)"
    assert set(sa.inspect(db).get_table_names()) == {*engine_tables(), *tables}

    for command in ("init", "upgrade"):
        assert main(["db", command, "--db", url]) == 0
        assert capsys.readouterr().out.splitlines() == ["database is up to date (0 change(s) made)"]


def test_db_upgrade_adds_what_a_newly_installed_plugin_needs(
    database: tuple[sa.Engine, str], capsys: pytest.CaptureFixture[str]
) -> None:
    db, url = database
    assert main(["db", "init", "--db", url, "--set", "world.plugins_disabled=candles"]) == 0
    capsys.readouterr()
    assert main(["db", "upgrade", "--db", url]) == 0
    assert capsys.readouterr().out.splitlines() == [
        "created table candles_candle (component 'candles_candle', version 1)",
        "database is up to date (1 change(s) made)",
    ]
    assert "candles_candle" in sa.inspect(db).get_table_names()


# ------------------------------------------------------------------------ the operations guide

OPERATIONS = Path(__file__).resolve().parents[2] / "docs" / "operations.md"
#: Where a shell command line stops being kadath's arguments.
SHELL_OPERATORS = {"|", ">", ">>", "<", "&&", "||", ";"}


def _documented_commands() -> list[list[str]]:
    """Every ``kadath ...`` command line in the operations guide, as the arguments after ``kadath``.

    Taken from the code blocks (any line where a word is ``kadath`` or ends in ``bin/kadath``,
    up to the first shell operator) and from inline code that starts with ``kadath ``.
    """
    text = OPERATIONS.read_text()
    found: list[list[str]] = []
    blocks = re.findall(r"^```[a-z]*\n(.*?)^```", text, flags=re.M | re.S)
    for block in blocks:
        for line in block.splitlines():
            words = shlex.split(line, comments=True) if "kadath" in line else []
            starts = [i for i, w in enumerate(words) if w == "kadath" or w.endswith("bin/kadath")]
            if starts:
                found.append(_up_to_an_operator(words[starts[0] + 1 :]))
    prose = re.sub(r"^```.*?^```", "", text, flags=re.M | re.S)
    for span in re.findall(r"`(kadath [^`]+)`", prose):
        found.append(_up_to_an_operator(shlex.split(span)[1:]))
    return found


def _up_to_an_operator(words: list[str]) -> list[str]:
    cut = [i for i, word in enumerate(words) if word in SHELL_OPERATORS]
    return words[: cut[0]] if cut else words


def test_every_kadath_command_in_the_operations_guide_is_a_real_command_line() -> None:
    documented = _documented_commands()
    named = {tuple(args[:2]) for args in documented}
    for expected in (
        ("serve",),
        ("config",),
        ("schedule",),
        ("check-world",),
        ("admin", "grant"),
        *(("db", action) for action in ("init", "upgrade", "export", "import")),
    ):
        assert any(name[: len(expected)] == expected for name in named), expected
    parser = build_parser()
    for args in documented:
        try:
            parser.parse_args(args)
        except SystemExit:
            pytest.fail(f"docs/operations.md shows a command kadath does not take: kadath {args}")
