"""Database outages: the tick never waits, the writer keeps the newest state and retries, and once
the database is back nothing is lost. A server that cannot reach its database refuses to start.

The outages are scoped to the test's own connections, never the shared server:

- SQLite: a second connection holds ``BEGIN EXCLUSIVE`` on the world's file, as another process
  (a backup tool, an operator's shell) might. The writer's attempts time out on the lock.
- PostgreSQL: the writer reaches the database through a TCP proxy owned by the test. Taking the
  proxy down cuts the writer's open connections and refuses new ones, which is what a network
  partition or a database restart looks like from the writer's side; bringing it up is the
  database coming back. Nothing is done to the server itself, other tests never notice, and no
  table is renamed or revoked under the writer (which would be a schema problem, not an outage).
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

import persist.database
from components.body import Player, Posture, PostureState, Vitals
from components.content import Directory
from components.items import Item
from components.place import Door
from engine.cli import EXIT_BAD_SETUP, main
from engine.config import Config, PersistConfig
from engine.core import Engine
from persist.database import open_database
from persist.restore import restore
from persist.schema import Schema
from persist.service import PersistenceService
from persist.writer import Writer, WriterStats
from systems.characters import create_character
from systems.whereabouts import contents, move
from tests.persist.conftest import drop_test_schema, open_test_database, require_psycopg
from tests.systems.world_fixture import make_engine

DATA = str(Path(__file__).resolve().parents[2] / "data")
#: Generous bound for the writer to reach a state; never an assertion on speed.
WAIT_S = 60.0
FLUSH_INTERVAL_S = 0.05
#: Failed attempts to see before the database comes back (the backoff doubles after each).
FAILURES_DURING_OUTAGE = 2


def _config(url: str) -> Config:
    return Config(persist=PersistConfig(database_url=url, flush_interval_s=FLUSH_INTERVAL_S))


def _writer(service: PersistenceService) -> Writer:
    assert service.writer is not None
    return service.writer


def _tick_until(
    engine: Engine, done: Callable[[WriterStats], bool], writer: Writer, what: str
) -> tuple[int, int, WriterStats]:
    """Run ticks in this thread, changing a character each tick, until the writer reaches a state.

    Returns the ticks run, how many of them started and ended while the writer was inside a
    flush attempt (stuck on the database), and the writer's figures at the end. Each of those
    ticks returning is the point: the tick never waits for the writer.
    """
    world = engine.world
    someone = create_character(world, f"Witness{world.clock.tick}")
    deadline = time.monotonic() + WAIT_S
    ticks = beside_a_write = 0
    while not done(stats := writer.stats()):
        if time.monotonic() > deadline:
            pytest.fail(f"the writer never got to {what} within {WAIT_S} s: {stats}")
        world.get(someone, Vitals).dp = world.clock.tick % 20
        writing = stats.state == "writing"
        engine.tick()
        ticks += 1
        beside_a_write += writing and writer.stats().state == "writing"
        time.sleep(FLUSH_INTERVAL_S / 5)
    return ticks, beside_a_write, stats


def _wait_until_saved(engine: Engine, writer: Writer, what: str) -> WriterStats:
    """Wait, without ticking, until the writer has saved the world's current tick.

    The writer updates its figures one by one, without a lock, so a reader can see the new saved
    tick a moment before the failure streak is reset: wait for both.
    """
    deadline = time.monotonic() + WAIT_S
    tick = engine.world.clock.tick

    def saved(stats: WriterStats) -> bool:
        return (
            stats.state == "idle"
            and stats.last_saved_tick == tick
            and stats.consecutive_failures == 0
        )

    while not saved(stats := writer.stats()):
        if time.monotonic() > deadline:
            pytest.fail(f"the writer did not {what} (tick {tick}) within {WAIT_S} s: {stats}")
        time.sleep(FLUSH_INTERVAL_S / 5)
    return stats


def _item_in(engine: Engine, room: str, template: str) -> int:
    world = engine.world
    place = world.resource(Directory).rooms[room]
    return next(e for e in contents(world, place) if world.get(e, Item).template == template)


def _play_before(engine: Engine) -> None:
    """Changes of every kind a flush carries: new entities, updates, moves, deletions."""
    world = engine.world
    carter = create_character(world, "Carter", room="hall")
    move(world, _item_in(engine, "hall", "rusty_knife"), carter, "main_hand")
    world.destroy(_item_in(engine, "hall", "brass_key"))
    world.get(world.resource(Directory).doors["oak_door"], Door).locked = False
    world.add(carter, dataclasses.replace(world.get(carter, Posture), state=PostureState.LYING))
    world.rng.random()
    engine.tick()


def _play_during(engine: Engine) -> None:
    """More of every kind while the database is away, some undoing what was saved before it."""
    world = engine.world
    armitage = create_character(world, "Armitage", room="hall")
    move(world, _item_in(engine, "hall", "backpack"), armitage, "back")
    carter = next(e for e, p in world.query(Player) if p.account == "Carter")
    world.destroy(carter)
    world.get(world.resource(Directory).doors["oak_door"], Door).locked = True
    world.rng.random()
    engine.tick()


def _same_world_restored(engine: Engine, db: sa.Engine) -> None:
    again = make_engine()
    restore(again.world, Schema(again.registry.component_types), db)
    assert again.world.dump() == engine.world.dump()


def _failing(stats: WriterStats) -> bool:
    return stats.state == "failing" and stats.consecutive_failures >= FAILURES_DURING_OUTAGE


# ------------------------------------------------------------------------------ SQLite lock


@pytest.fixture(autouse=True)
def short_busy_timeout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each SQLite attempt gives up on a lock after 0.2 s instead of 2 s: same story, faster."""
    monkeypatch.setattr(persist.database, "SQLITE_BUSY_TIMEOUT_MS", 200)


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    """Another connection holds an exclusive lock on the SQLite file (no one else can write)."""
    locker = sqlite3.connect(path, isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        locker.execute("ROLLBACK")
        locker.close()


def test_a_locked_sqlite_file_never_stalls_the_tick_and_nothing_is_lost_once_it_is_released(
    tmp_path: Path,
) -> None:
    path = tmp_path / "world.db"
    engine = make_engine(_config(f"sqlite:///{path}"))
    service = PersistenceService(engine.config)
    service.start(engine)
    try:
        writer = _writer(service)
        _play_before(engine)
        _wait_until_saved(engine, writer, "save the first changes")

        with _locked(path):
            # The writer is blocked on the lock (for the busy timeout) or backing off; the ticks
            # go on in this thread all the while, and their changes pile up in memory.
            ticks, beside_a_write, during = _tick_until(engine, _failing, writer, "fail")
            _play_during(engine)
            assert ticks > 0 and beside_a_write > 0
            assert "database is locked" in during.last_error
            assert during.failures >= FAILURES_DURING_OUTAGE
            assert during.lag_ticks > 0
            assert during.last_saved_tick < engine.world.clock.tick
            assert during.pending_rows + during.queued_batches > 0

        after = _wait_until_saved(engine, writer, "catch up")
        assert after.lag_ticks == 0 and after.pending_rows == 0
        assert after.failures >= FAILURES_DURING_OUTAGE  # the outage stays on record
        reader = open_database(f"sqlite:///{path}")
        try:
            _same_world_restored(engine, reader)
        finally:
            reader.dispose()
    finally:
        service.stop(engine)


def test_a_shutdown_during_an_outage_keeps_retrying_the_final_flush_until_the_database_returns(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    path = tmp_path / "world.db"
    engine = make_engine(_config(f"sqlite:///{path}"))
    service = PersistenceService(engine.config)
    service.start(engine)
    writer = _writer(service)
    _play_before(engine)
    _wait_until_saved(engine, writer, "save the first changes")
    caplog.set_level(logging.INFO, logger="kadath.persist")
    stopper = threading.Thread(target=service.stop, args=(engine,), name="shutdown")
    with _locked(path):
        _tick_until(engine, _failing, writer, "fail")
        _play_during(engine)  # the last tick before the signal: the final flush must save it
        failures = writer.stats().failures
        stopper.start()
        deadline = time.monotonic() + WAIT_S
        while writer.stats().failures == failures:
            assert time.monotonic() < deadline, "the final flush was never tried"
            time.sleep(FLUSH_INTERVAL_S / 5)
        assert stopper.is_alive()  # the final flush failed, and stop() is still trying
    stopper.join(WAIT_S)
    assert not stopper.is_alive()
    assert f"final flush saved the world up to tick {engine.world.clock.tick}" in caplog.text
    reader = open_database(f"sqlite:///{path}")
    try:
        _same_world_restored(engine, reader)
    finally:
        reader.dispose()


# ------------------------------------------------------------------------------ PostgreSQL


class FlakyProxy:
    """A TCP proxy to a database server that the test can take down and bring back.

    Down, it cuts every proxied connection and drops new ones as soon as they are accepted, so
    clients see their connections fail as they would if the server restarted or the network went
    away. Each direction of each connection is pumped by a thread of its own (blocking I/O, so a
    large write in one direction never holds up the other).
    """

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)
        self.port: int = self.listener.getsockname()[1]
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        self._up = True
        self._closing = threading.Event()
        self._thread = threading.Thread(target=self._accept, name="flaky-proxy", daemon=True)
        self._thread.start()

    def down(self) -> None:
        with self._lock:
            self._up = False
            cut = list(self._open)
        for sock in cut:
            self._close(sock)

    def up(self) -> None:
        with self._lock:
            self._up = True

    def close(self) -> None:
        self._closing.set()
        self._thread.join(WAIT_S)
        self.down()
        self.listener.close()

    def _accept(self) -> None:
        while not self._closing.is_set():
            try:
                client, _ = self.listener.accept()
            except TimeoutError:
                continue
            client.settimeout(None)
            with self._lock:
                up = self._up
            if not up:
                client.close()
                continue
            try:
                server = socket.create_connection(self.upstream, timeout=WAIT_S)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            with self._lock:
                self._open |= {client, server}
            for source, target in ((client, server), (server, client)):
                threading.Thread(
                    target=self._pump, args=(source, target), name="flaky-proxy-pump", daemon=True
                ).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                target.sendall(data)
        except OSError:
            pass
        finally:
            self._close(source)
            self._close(target)

    def _close(self, sock: socket.socket) -> None:
        with self._lock:
            self._open.discard(sock)
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)  # wakes the pump blocked in recv on it
        sock.close()


@pytest.fixture
def postgres_behind_proxy(tmp_path: Path) -> Iterator[tuple[sa.Engine, str, FlakyProxy]]:
    """(direct engine, URL through the proxy, proxy) for a fresh PostgreSQL test schema."""
    db, url, schema = open_test_database("postgresql", tmp_path)
    assert schema is not None
    parsed = make_url(url)
    proxy = FlakyProxy(parsed.host or "127.0.0.1", parsed.port or 5432)
    proxied = parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
    try:
        yield db, proxied, proxy
    finally:
        proxy.close()
        db.dispose()
        drop_test_schema(schema)


def test_a_postgresql_outage_never_stalls_the_tick_and_nothing_is_lost_when_it_returns(
    postgres_behind_proxy: tuple[sa.Engine, str, FlakyProxy],
) -> None:
    direct, url, proxy = postgres_behind_proxy
    engine = make_engine(_config(url))
    service = PersistenceService(engine.config)
    service.start(engine)
    try:
        writer = _writer(service)
        _play_before(engine)
        _wait_until_saved(engine, writer, "save the first changes")

        proxy.down()
        try:
            ticks, _, during = _tick_until(engine, _failing, writer, "fail")
            _play_during(engine)
            assert ticks > 0
            assert "OperationalError" in during.last_error
            assert during.failures >= FAILURES_DURING_OUTAGE
            assert during.lag_ticks > 0
            assert during.pending_rows + during.queued_batches > 0
        finally:
            proxy.up()

        after = _wait_until_saved(engine, writer, "catch up")
        assert after.lag_ticks == 0 and after.pending_rows == 0
        _same_world_restored(engine, direct)
    finally:
        service.stop(engine)


# ------------------------------------------------------------------------------ start-up


def test_serve_refuses_to_start_when_postgresql_is_unreachable_and_hides_the_password(
    capsys: pytest.CaptureFixture[str],
) -> None:
    require_psycopg()
    url = "postgresql+psycopg://kadath:s3cret@127.0.0.1:9/kadath"  # nothing listens on port 9
    assert main(["serve", "--data", DATA, "--db", url, "--max-ticks", "1"]) == EXIT_BAD_SETUP
    err = capsys.readouterr().err
    assert "cannot start" in err
    assert "cannot read the saved world from postgresql+psycopg://kadath:***@127.0.0.1:9" in err
    assert "s3cret" not in err


def test_serve_refuses_to_start_when_the_sqlite_files_folder_does_not_exist(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "no such folder" / "world.db"
    url = f"sqlite:///{missing}"
    assert main(["serve", "--data", DATA, "--db", url, "--max-ticks", "1"]) == EXIT_BAD_SETUP
    err = capsys.readouterr().err
    assert f"cannot start: the SQLite database {missing} cannot be made" in err
    assert not missing.parent.exists()


def test_serve_refuses_to_start_when_the_sqlite_file_is_not_a_database(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    garbage = tmp_path / "world.db"
    garbage.write_bytes(b"not a database, only words " * 100)
    url = f"sqlite:///{garbage}"
    assert main(["serve", "--data", DATA, "--db", url, "--max-ticks", "1"]) == EXIT_BAD_SETUP
    err = capsys.readouterr().err
    assert "cannot start" in err and "file is not a database" in err
    assert garbage.read_bytes() == b"not a database, only words " * 100


def test_serve_refuses_a_folder_named_as_the_sqlite_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path}"
    assert main(["serve", "--data", DATA, "--db", url, "--max-ticks", "1"]) == EXIT_BAD_SETUP
    err = capsys.readouterr().err
    assert f"cannot start: the SQLite database {tmp_path} is a folder, not a file" in err
