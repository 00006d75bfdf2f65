"""The SQL account store, the account service on it, and ``kadath admin grant``, on SQLite and
PostgreSQL; each test is named after the rule it checks."""

from __future__ import annotations

import argparse
import asyncio
import threading
from datetime import UTC, datetime, timedelta, timezone

import pytest
import sqlalchemy as sa

from engine.accounts import Account, AccountExists
from engine.cli import EXIT_BAD_SETUP, main
from engine.config import config_from_args
from net.accounts import AccountService, AuthError, LoginThrottle
from net.passwords import ScryptParams, params_of
from persist.accounts import SqlAccountStore, UnknownAccount, UnknownRole
from persist.admin_cli import register
from persist.migrate import ensure_schema
from persist.schema import Schema
from tests.persist.conftest import require_psycopg

CHEAP = ScryptParams(n=2**4, r=1, p=1)
T0 = datetime(2024, 10, 31, 23, 0, 0, 123456, tzinfo=UTC)


@pytest.fixture
def store(db: sa.Engine) -> SqlAccountStore:
    ensure_schema(db, Schema(()))
    return SqlAccountStore(db)


def account(name: str, role: str = "player", **changes: object) -> Account:
    fields: dict[str, object] = {
        "name": name,
        "password_hash": f"hash-of-{name}",
        "role": role,
        "created": T0,
    }
    fields.update(changes)
    return Account(**fields)  # type: ignore[arg-type]


def test_get_finds_nothing_in_an_empty_store(store: SqlAccountStore) -> None:
    assert store.get("Armitage") is None
    assert store.count() == 0


def test_an_account_is_found_by_its_name_in_any_case_with_its_spelling_kept(
    store: SqlAccountStore,
) -> None:
    store.create(account("Armitage"))
    for name in ("Armitage", "armitage", "ARMITAGE", "aRmItAgE"):
        found = store.get(name)
        assert found is not None
        assert found.name == "Armitage"


def test_the_first_account_ever_created_becomes_admin_whatever_was_asked(
    store: SqlAccountStore,
) -> None:
    first = store.create(account("Armitage", "player"))
    second = store.create(account("Wilbur", "player"))
    third = store.create(account("Lavinia", "builder"))
    assert [first.role, second.role, third.role] == ["admin", "player", "builder"]
    assert [store.get(n).role for n in ("Armitage", "Wilbur", "Lavinia")] == [  # type: ignore[union-attr]
        "admin",
        "player",
        "builder",
    ]


def test_names_are_unique_ignoring_case(store: SqlAccountStore) -> None:
    store.create(account("Armitage"))
    with pytest.raises(AccountExists):
        store.create(account("armitage"))
    with pytest.raises(AccountExists):
        store.create(account("ARMITAGE"))
    assert store.count() == 1
    assert store.get("armitage").name == "Armitage"  # type: ignore[union-attr]


def test_a_failed_create_leaves_the_store_usable(store: SqlAccountStore) -> None:
    store.create(account("Armitage"))
    with pytest.raises(AccountExists):
        store.create(account("armitage"))
    assert store.create(account("Wilbur")).role == "player"
    assert store.count() == 2


def test_create_refuses_an_unknown_role(store: SqlAccountStore) -> None:
    with pytest.raises(UnknownRole, match="choose from player, builder, admin"):
        store.create(account("Armitage", "god"))
    assert store.count() == 0


def test_concurrent_first_registrations_make_exactly_one_admin(db: sa.Engine) -> None:
    ensure_schema(db, Schema(()))
    threads_n = 8
    barrier = threading.Barrier(threads_n)
    roles: list[str] = []
    errors: list[BaseException] = []

    def register_one(i: int) -> None:
        store = SqlAccountStore(db)
        barrier.wait()
        try:
            roles.append(store.create(account(f"Player{'abcdefgh'[i]}")).role)
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=register_one, args=(i,)) for i in range(threads_n)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    assert sorted(roles) == ["admin"] + ["player"] * (threads_n - 1)
    assert SqlAccountStore(db).count() == threads_n


def test_concurrent_registrations_of_one_name_create_it_once(db: sa.Engine) -> None:
    ensure_schema(db, Schema(()))
    barrier = threading.Barrier(6)
    outcomes: list[str] = []

    def register_one(name: str) -> None:
        store = SqlAccountStore(db)
        barrier.wait()
        try:
            store.create(account(name))
            outcomes.append("created")
        except AccountExists:
            outcomes.append("exists")

    names = ["Armitage", "armitage", "ARMITAGE", "ArMitage", "armitagE", "ARMItage"]
    threads = [threading.Thread(target=register_one, args=(n,)) for n in names]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["created"] + ["exists"] * 5


def test_update_saves_hash_role_last_login_and_character_but_never_created(
    store: SqlAccountStore,
) -> None:
    store.create(account("Armitage"))
    store.create(account("Wilbur"))
    later = T0 + timedelta(days=3)
    store.update(
        account(
            "wilbur",
            "builder",
            password_hash="new-hash",
            created=T0 + timedelta(days=99),
            last_login=later,
            character_sid=2**62 + 5,
        )
    )
    found = store.get("Wilbur")
    assert found == Account(
        name="wilbur",
        password_hash="new-hash",
        role="builder",
        created=T0,
        last_login=later,
        character_sid=2**62 + 5,
    )
    assert store.get("Armitage").password_hash == "hash-of-Armitage"  # type: ignore[union-attr]


def test_update_of_an_unknown_account_raises(store: SqlAccountStore) -> None:
    with pytest.raises(UnknownAccount):
        store.update(account("Nobody"))


def test_times_come_back_as_utc_whatever_zone_they_were_given_in(store: SqlAccountStore) -> None:
    arkham = timezone(timedelta(hours=-5))
    store.create(account("Armitage", created=datetime(2024, 10, 31, 18, 0, tzinfo=arkham)))
    store.create(account("Wilbur", created=datetime(2024, 10, 31, 23, 0)))  # naive: UTC
    for name in ("Armitage", "Wilbur"):
        found = store.get(name)
        assert found is not None
        assert found.created == datetime(2024, 10, 31, 23, 0, tzinfo=UTC)
        assert found.created.tzinfo is UTC


def test_set_role_changes_the_role_and_reports_the_previous_one(store: SqlAccountStore) -> None:
    store.create(account("Armitage"))
    store.create(account("Wilbur"))
    updated, before = store.set_role("WILBUR", "builder")
    assert (updated.name, updated.role, before) == ("Wilbur", "builder", "player")
    assert store.get("wilbur").role == "builder"  # type: ignore[union-attr]


def test_set_role_refuses_an_unknown_account_or_role(store: SqlAccountStore) -> None:
    store.create(account("Armitage"))
    with pytest.raises(UnknownAccount):
        store.set_role("Nobody", "admin")
    with pytest.raises(UnknownRole):
        store.set_role("Armitage", "god")


# --------------------------------------------------------------------------- service on SQL


def test_register_and_login_work_end_to_end_on_the_database(store: SqlAccountStore) -> None:
    later = T0 + timedelta(hours=2)
    service = AccountService(store, LoginThrottle(), params=CHEAP, clock=lambda: T0)

    async def scenario() -> tuple[Account, Account, Account, list[str]]:
        first = await service.register("Armitage", "necronomicon", "10.0.0.1")
        second = await service.register("Wilbur", "whateley!!", "10.0.0.2")
        codes: list[str] = []
        for coro in (
            service.register("ARMITAGE", "necronomicon", "10.0.0.3"),
            service.login("Armitage", "wrong password", "10.0.0.1", 0.0),
            service.login("Nobody", "necronomicon", "10.0.0.1", 1.0),
        ):
            try:
                await coro
            except AuthError as exc:
                codes.append(exc.code)
        service.clock = lambda: later
        logged_in = await service.login("armitage", "necronomicon", "10.0.0.1", 2.0)
        return first, second, logged_in, codes

    first, second, logged_in, codes = asyncio.run(scenario())
    assert (first.role, second.role) == ("admin", "player")
    assert codes == ["name_taken", "bad_credentials", "bad_credentials"]
    assert logged_in.last_login == later
    assert store.get("Armitage").last_login == later  # type: ignore[union-attr]


def test_a_login_rehashes_an_old_hash_in_the_database(store: SqlAccountStore) -> None:
    old = AccountService(store, params=ScryptParams(n=2**5, r=1, p=1), clock=lambda: T0)
    asyncio.run(old.register("Armitage", "necronomicon", "a"))
    new = AccountService(store, params=CHEAP, clock=lambda: T0)
    asyncio.run(new.login("Armitage", "necronomicon", "a", 0.0))
    assert params_of(store.get("Armitage").password_hash) == CHEAP  # type: ignore[union-attr]


# --------------------------------------------------------------------------- kadath admin grant


def grant(url: str, *args: str) -> int:
    """Run ``kadath admin grant ARGS --db URL`` in-process, through the registered parser."""
    parser = argparse.ArgumentParser(prog="kadath")
    register(parser.add_subparsers(dest="command", required=True))
    ns = parser.parse_args(["admin", "grant", *args, "--db", url])
    status: int = ns.run(ns, config_from_args(ns, env={}))
    return status


def test_admin_grant_makes_an_account_admin_by_default(
    database: tuple[sa.Engine, str], capsys: pytest.CaptureFixture[str]
) -> None:
    db, url = database
    ensure_schema(db, Schema(()))
    store = SqlAccountStore(db)
    store.create(account("Armitage"))
    store.create(account("Wilbur"))
    assert grant(url, "wilbur") == 0
    assert capsys.readouterr().out == "Wilbur is now admin (was player)\n"
    assert store.get("Wilbur").role == "admin"  # type: ignore[union-attr]


def test_admin_grant_gives_the_role_asked_for(
    database: tuple[sa.Engine, str], capsys: pytest.CaptureFixture[str]
) -> None:
    db, url = database
    ensure_schema(db, Schema(()))
    store = SqlAccountStore(db)
    store.create(account("Armitage"))
    assert grant(url, "Armitage", "--role", "builder") == 0
    assert store.get("Armitage").role == "builder"  # type: ignore[union-attr]
    assert grant(url, "Armitage", "--role", "builder") == 0
    assert capsys.readouterr().out.splitlines() == [
        "Armitage is now builder (was admin)",
        "Armitage is already builder",
    ]


def test_admin_grant_fails_clearly_for_an_unknown_account(
    database: tuple[sa.Engine, str], capsys: pytest.CaptureFixture[str]
) -> None:
    _, url = database  # an empty database: the accounts table is created first
    assert grant(url, "Nobody") == 1
    assert capsys.readouterr().err == "kadath admin: there is no account named 'Nobody'\n"


def test_admin_grant_fails_clearly_for_an_unknown_role(
    database: tuple[sa.Engine, str], capsys: pytest.CaptureFixture[str]
) -> None:
    db, url = database
    ensure_schema(db, Schema(()))
    SqlAccountStore(db).create(account("Armitage", "player"))
    assert grant(url, "Armitage", "--role", "god") == 1
    assert capsys.readouterr().err == (
        "kadath admin: unknown role 'god': choose from player, builder, admin\n"
    )
    assert SqlAccountStore(db).get("Armitage").role == "admin"  # type: ignore[union-attr]


def test_admin_grant_reports_an_unreachable_database(capsys: pytest.CaptureFixture[str]) -> None:
    require_psycopg()
    url = "postgresql+psycopg://kadath:s3cret@127.0.0.1:9/kadath"  # nothing listens on port 9
    assert grant(url, "Armitage") == 1
    err = capsys.readouterr().err
    assert err.startswith("kadath admin: database error: ")
    assert "s3cret" not in err


def test_admin_grant_refuses_a_database_that_could_never_be_made(
    capsys: pytest.CaptureFixture[str],
) -> None:
    url = "sqlite:////nonexistent-dir/kadath.db"
    assert main(["admin", "grant", "Armitage", "--db", url]) == EXIT_BAD_SETUP
    assert capsys.readouterr().err == (
        "kadath: the SQLite database /nonexistent-dir/kadath.db cannot be made: its folder"
        " /nonexistent-dir does not exist\n"
    )


def test_recording_the_character_keeps_a_role_granted_meanwhile(store: SqlAccountStore) -> None:
    store.create(account("Armitage"))
    made = store.create(account("Carter"))  # a player, read before the grant below
    store.set_role("Carter", "admin")
    store.set_character(made.name, 4242)
    carter = store.get("carter")
    assert carter is not None
    assert (carter.role, carter.character_sid) == ("admin", 4242)


def test_recording_the_character_of_no_account_is_refused(store: SqlAccountStore) -> None:
    with pytest.raises(UnknownAccount):
        store.set_character("nobody", 1)
