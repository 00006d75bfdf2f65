"""A hard kill mid-write: the database opens cleanly and holds a consistent cut at the saved tick,
and the loss is bounded by the flush interval.

A real server (``tests/persist/crash_writer.py``: ``kadath serve``'s loop, signal handling and
persistence service on the bundled world) rewrites every player character's ``Vitals`` and
``Heartbeat`` to the current tick on every tick. The test waits until a few flushes are saved,
then sends SIGKILL right after the server reported that its writer was in the middle of a flush.
A consistent cut at tick *t* has every one of those rows equal to *t*; a torn flush would mix
ticks. Each test kills the same database several times over, so every restart also proves that a
crashed database restores and carries on.
"""

from __future__ import annotations

import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import sqlalchemy as sa

from components.body import Vitals
from engine.config import Config, EngineConfig, PersistConfig, WorldConfig
from persist.restore import read_meta, restore
from persist.schema import Schema
from tests.persist.crash_writer import Heartbeat, build_engine, players

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "data"

TICK_RATE_HZ = 50
FLUSH_INTERVAL_S = 0.2
#: Ticks the server runs between two flushes when it keeps its pace.
TICKS_PER_FLUSH = round(TICK_RATE_HZ * FLUSH_INTERVAL_S)
CHARACTERS = 500
#: Flushes that must be saved before the kill, so the kill lands on a database with history.
FLUSHES_BEFORE_KILL = 3
#: A hard kill may lose what happened since the last committed flush: the flush interval plus
#: the time the flush takes. The bound is a few intervals, to stay true on a loaded machine.
MAX_LOST_TICKS = 5 * TICKS_PER_FLUSH
#: Kills (and restarts) per database.
CYCLES = 3
#: Generous bound for anything the server must get to; never an assertion on speed.
WAIT_S = 60.0
POLL_S = 0.02


def _saved_tick(db: sa.Engine, sqlite_path: Path | None) -> int:
    """The tick of the last committed flush, read without writing anything (0 before the first)."""
    try:
        if sqlite_path is not None:
            conn = sqlite3.connect(f"file:{sqlite_path}?mode=ro", uri=True, timeout=5)
            try:
                row = conn.execute(
                    "SELECT value FROM kadath_meta WHERE key = 'saved_tick'"
                ).fetchone()
            finally:
                conn.close()
            return int(row[0]) if row else 0
        with db.connect() as sa_conn:
            return int(read_meta(sa_conn).get("saved_tick", 0))
    except (sqlite3.Error, sa.exc.SQLAlchemyError):
        return 0  # the server has not created its tables yet


@dataclass
class Run:
    """One server process and what it reported on stdout."""

    proc: subprocess.Popen[str]
    lines: queue.Queue[tuple[int, str] | None] = field(default_factory=queue.Queue)
    first_tick: int = 0
    last_tick: int = 0

    def next_report(self, timeout: float) -> tuple[int, str] | None:
        """The next ``(tick, writer state)`` the server printed, or None on end of output."""
        report = self.lines.get(timeout=timeout)
        if report is not None:
            self.first_tick = self.first_tick or report[0]
            self.last_tick = report[0]
        return report


def _start(url: str, log: Path) -> Run:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KADATH_")}
    with log.open("a") as errors:  # the child keeps its own copy of the file
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.persist.crash_writer",
                "--db",
                url,
                "--data",
                str(DATA),
                "--tick-rate",
                str(TICK_RATE_HZ),
                "--set",
                f"persist.flush_interval_s={FLUSH_INTERVAL_S}",
                "--set",
                f"persist.journal_dir={log.parent / 'journal'}",
                "--characters",
                str(CHARACTERS),
            ],
            cwd=ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=errors,
            text=True,
        )
    run = Run(proc)

    def read() -> None:
        assert proc.stdout is not None
        with proc.stdout:
            for line in proc.stdout:
                word, tick, state = line.split()
                assert word == "tick", line
                run.lines.put((int(tick), state))
        run.lines.put(None)

    threading.Thread(target=read, name="crash-writer-stdout", daemon=True).start()
    return run


def _kill_mid_flush(run: Run, db: sa.Engine, sqlite_path: Path | None, log: Path) -> None:
    """Let the server save a few flushes, then SIGKILL it just after it reported its writer busy.

    The writer takes tens of milliseconds per flush here, so the signal usually lands inside the
    transaction; when the flush happens to end first, the kill lands between flushes, which must
    be just as safe.
    """
    deadline = time.monotonic() + WAIT_S
    start_saved = last_saved = _saved_tick(db, sqlite_path)
    flushes = 0
    try:
        while True:
            if time.monotonic() > deadline:
                pytest.fail(
                    f"server saved {flushes} flushes (saved tick {last_saved}, reported tick "
                    f"{run.last_tick}) within {WAIT_S} s:\n{log.read_text()[-3000:]}"
                )
            try:
                report = run.next_report(POLL_S)
            except queue.Empty:
                report = (run.last_tick, "")
            if report is None:
                pytest.fail(f"server exited (status {run.proc.wait()}):\n{log.read_text()[-3000:]}")
            saved = _saved_tick(db, sqlite_path)
            if saved > last_saved:
                flushes += 1
                last_saved = saved
            if flushes >= FLUSHES_BEFORE_KILL and report[1] == "writing":
                break
    finally:
        run.proc.send_signal(signal.SIGKILL)
        run.proc.wait(timeout=WAIT_S)
    assert last_saved > start_saved
    while run.next_report(WAIT_S) is not None:  # take in what it printed before it died
        pass


def _check_integrity(sqlite_path: Path | None) -> None:
    if sqlite_path is None:
        return  # PostgreSQL rolls back a dead client's transaction; there is no file to check
    conn = sqlite3.connect(sqlite_path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
    finally:
        conn.close()


def _config(url: str) -> Config:
    return Config(
        engine=EngineConfig(tick_rate_hz=TICK_RATE_HZ),
        world=WorldConfig(data_dir=str(DATA)),
        persist=PersistConfig(database_url=url, flush_interval_s=FLUSH_INTERVAL_S),
    )


def _restored_cut(db: sa.Engine, url: str) -> tuple[int, set[tuple[int, int, int]], int]:
    """(saved tick, the distinct (dp, max_dp, heartbeat) of the characters, their number)."""
    with db.connect() as conn:
        saved = int(read_meta(conn)["saved_tick"])
    engine = build_engine(_config(url))
    restore(engine.world, Schema(engine.registry.component_types), db)
    world = engine.world
    assert world.clock.tick == saved
    characters = players(world)
    values = set()
    for character in characters:
        vitals, beat = world.get(character, Vitals), world.get(character, Heartbeat)
        values.add((vitals.dp, vitals.max_dp, beat.tick))
    return saved, values, len(characters)


def test_a_hard_kill_mid_flush_leaves_a_consistent_cut_at_the_saved_tick_and_loses_little(
    dialect: str, database: tuple[sa.Engine, str], tmp_path: Path
) -> None:
    db, url = database
    sqlite_path = tmp_path / "world.db" if dialect == "sqlite" else None
    log = tmp_path / "server.log"
    saved = 0
    for cycle in range(CYCLES):
        run = _start(url, log)
        _kill_mid_flush(run, db, sqlite_path, log)
        db.dispose()  # forget connections opened before the kill
        _check_integrity(sqlite_path)
        if cycle:
            # The restarted server restored the previous cut and carried on from its tick.
            assert run.first_tick == saved + 1
        saved, values, count = _restored_cut(db, url)
        assert count == CHARACTERS
        assert values == {(saved, saved, saved)}, f"a torn cut: rows from ticks {sorted(values)}"
        assert saved <= run.last_tick
        assert run.last_tick - saved <= MAX_LOST_TICKS, (
            f"killed at tick {run.last_tick}, but only tick {saved} was saved"
        )
