"""The persistence service: restore at start-up, a writer thread and a journal thread during play, a
final flush at stop.

``kadath serve`` finds it through the ``kadath.services`` entry point. It wires the snapshot and
the journal into the engine's tick hand-off and puts both on the engine's stats board. The tick
only ever calls :func:`~persist.snapshot.take_snapshot`, :meth:`~persist.writer.Writer.submit` and
:meth:`~persist.journal.JournalWriter.submit`.
"""

from __future__ import annotations

import dataclasses
import logging
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from engine.config import Config
from engine.core import Engine, TickResult
from engine.ids import StableIdAllocator
from engine.plugins import SetupError
from persist.accounts import SqlAccountStore
from persist.cli import export_lines
from persist.database import open_database
from persist.journal import (
    JOURNAL_FORMAT,
    JOURNAL_VERSION,
    JournalWriter,
    content_digest,
    new_run_folder,
)
from persist.migrate import MigrationError, ensure_schema
from persist.ownership import ensure_ownership_tables, shard_node
from persist.restore import restore
from persist.rollforward import RollForward, Unfinished, find_unfinished, roll_forward
from persist.schema import AccountRow, Schema
from persist.snapshot import take_snapshot
from persist.writer import Writer

__all__ = ["FINAL_FLUSH_TIMEOUT_S", "PersistenceService", "service"]

log = logging.getLogger("kadath.persist")

#: How long shutdown keeps retrying the final flush against a failing database before giving up
#: (and saying so): the state since the last good flush is then lost.
FINAL_FLUSH_TIMEOUT_S = 30.0


class PersistenceService:
    name = "persistence"
    priority = 10  # starts before the network, stops after it

    def __init__(self, config: Config) -> None:
        self.config = config
        self.db: sa.Engine | None = None
        self.writer: Writer | None = None
        self.journal: JournalWriter | None = None
        self.schema: Schema | None = None
        #: What the start rolled forward of the last run's journal (a single server's).
        self.rolled: RollForward | None = None

    def start(self, engine: Engine) -> None:
        url = self.config.persist.database_url
        self.db = db = open_database(url)
        self.schema = schema = Schema(engine.registry.component_types)
        shard = self.config.cluster.shard or None
        try:
            for action in ensure_schema(db, schema):
                log.info("schema: %s", action)
            if shard is not None:
                # A shard's new entities take ids of its own node, whatever engine.node_id says.
                ensure_ownership_tables(db)
                engine.world.ids = StableIdAllocator(shard_node(db, shard), 0)
            restore(engine.world, schema, db, shard=shard)
        except MigrationError as exc:
            raise SetupError(f"the database schema cannot be brought up to date: {exc}") from exc
        except SQLAlchemyError as exc:
            raise SetupError(
                f"cannot read the saved world from {db.url.render_as_string(hide_password=True)}: "
                f"{exc}".splitlines()[0]
            ) from exc
        engine.scheduler.rebase(engine.world.clock.seconds)
        engine.use_accounts(SqlAccountStore(db))
        persist = self.config.persist
        unfinished: Unfinished | None = None
        if persist.journal or persist.roll_forward:
            world = engine.world
            folders = [self.config.world.data_path, *(p for _, p in engine.registry.content_dirs)]
            header = journal_header(engine, world.clock.tick, content_digest(folders))
            header["database"] = db.url.render_as_string(hide_password=True)
            journals = persist.journal_path
            if self.config.cluster.shard:  # each shard journals its own inputs
                journals = journals / f"shard-{self.config.cluster.shard}"
            if persist.roll_forward:
                unfinished = find_unfinished(journals, header, world.clock.tick)
            if persist.journal:
                self.journal = self._journal(header, journals, schema, db)
        journal = self.journal
        self.writer = writer = Writer(
            db,
            schema,
            flush_interval_s=self.config.persist.flush_interval_s,
            stats_window=self.config.engine.stats_window,
            shard=shard,
        )
        world = engine.world

        def hand_off(result: TickResult) -> None:
            writer.submit(take_snapshot(result.changes, schema, world))
            if journal is not None:
                journal.submit(world, result.tick, result.inputs, result.changes)

        engine.on_tick_end(hand_off)
        engine.stats_board.add("writer", writer)
        writer.start()
        if journal is not None:
            engine.stats_board.add("journal", journal)
            journal.start()
            log.info("journal: %s", journal.folder)
        if unfinished is not None and self.config.cluster.shard:
            engine.world.insert_resource(unfinished)  # rolled forward by the shard: see there
        elif unfinished is not None:
            self.rolled = roll_forward(engine, unfinished)

    def _journal(
        self, header: dict[str, Any], journals: Path, schema: Schema, db: sa.Engine
    ) -> JournalWriter:
        """The journal of this run: its identity, and as its base the state just restored (read
        now, before the writer can change the database)."""
        base = list(export_lines(db, schema, leave_out=(AccountRow.__tablename__,)))
        folder = new_run_folder(journals, int(header["start_tick"]))
        header["run"] = folder.name
        return JournalWriter(
            folder,
            header,
            base,
            segment_bytes=self.config.persist.journal_segment_bytes,
            sync_interval_s=self.config.persist.flush_interval_s,
        )

    async def run(self, engine: Engine) -> None:
        """Nothing to await: the writer is a thread of its own."""

    def stop(self, engine: Engine) -> None:
        if self.writer is not None and self.schema is not None:
            # Every change happens inside a tick (the server's last one takes the players out);
            # anything changed since would be saved but is in no journal, so it is reported.
            late = engine.world.collect_changes()
            if len(late) or late.spawned or late.destroyed:
                log.warning("%d changes made outside a tick are saved but not journaled", len(late))
            self.writer.submit(take_snapshot(late, self.schema, engine.world))
        journal = self.journal
        if journal is not None and not journal.stop(
            FINAL_FLUSH_TIMEOUT_S, end_tick=engine.world.clock.tick
        ):
            log.error("the journal did not finish writing in time; its end may be cut off")
        if self.writer is not None:
            saved = self.writer.stop(FINAL_FLUSH_TIMEOUT_S)
            stats = self.writer.stats()
            if saved:
                log.info("final flush saved the world up to tick %d", stats.last_saved_tick)
            else:
                log.error(
                    "final flush failed: changes after tick %d are lost (%s)",
                    stats.last_saved_tick,
                    stats.last_error,
                )
        if self.db is not None:
            self.db.dispose()


def journal_header(engine: Engine, start_tick: int, content: str) -> dict[str, Any]:
    """What a replay must match: the journal format, the world's content, the component schema
    versions, the plugins, and the settings that shape the simulation. (The persistence service
    adds the database, which a roll-forward must match too.)"""
    config = engine.config
    tables = Schema(engine.registry.component_types).components
    components = {name: table.info.version for name, table in tables.items()}
    return {
        "format": JOURNAL_FORMAT,
        "version": JOURNAL_VERSION,
        "kadath": _kadath_version(),
        "start_tick": start_tick,
        "content": content,
        "data_dir": str(config.world.data_path),
        "components": components,
        "plugins": list(engine.plugins),
        "engine": {
            "tick_rate_hz": config.engine.tick_rate_hz,
            "seed": config.engine.seed,
            "node_id": config.engine.node_id,
        },
        "calendar": dataclasses.asdict(config.calendar),
        "plugins_disabled": list(config.world.plugins_disabled),
    }


def _kadath_version() -> str:
    try:
        return version("kadath")
    except PackageNotFoundError:
        return "unknown"


def service(config: Config) -> PersistenceService:
    """The ``kadath.services`` entry point."""
    return PersistenceService(config)
