"""The persistence service: restore at start-up, a writer thread during play, a final flush at stop.

``kadath serve`` finds it through the ``kadath.services`` entry point. It wires the snapshot into
the engine's tick hand-off and puts the writer on the engine's stats board. The tick only
ever calls :func:`~persist.snapshot.take_snapshot` and :meth:`~persist.writer.Writer.submit`.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError

from engine.config import Config
from engine.core import Engine, TickResult
from engine.plugins import SetupError
from persist.accounts import SqlAccountStore
from persist.database import open_database
from persist.migrate import MigrationError, ensure_schema
from persist.restore import restore
from persist.schema import Schema
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
        self.schema: Schema | None = None

    def start(self, engine: Engine) -> None:
        url = self.config.persist.database_url
        self.db = db = open_database(url)
        self.schema = schema = Schema(engine.registry.component_types)
        try:
            for action in ensure_schema(db, schema):
                log.info("schema: %s", action)
            restore(engine.world, schema, db)
        except MigrationError as exc:
            raise SetupError(f"the database schema cannot be brought up to date: {exc}") from exc
        except SQLAlchemyError as exc:
            raise SetupError(
                f"cannot read the saved world from {db.url.render_as_string(hide_password=True)}: "
                f"{exc}".splitlines()[0]
            ) from exc
        engine.scheduler.rebase(engine.world.clock.seconds)
        engine.accounts = SqlAccountStore(db)
        self.writer = writer = Writer(
            db,
            schema,
            flush_interval_s=self.config.persist.flush_interval_s,
            stats_window=self.config.engine.stats_window,
        )
        world = engine.world

        def hand_off(result: TickResult) -> None:
            writer.submit(take_snapshot(result.changes, schema, world))

        engine.on_tick_end(hand_off)
        engine.stats_board.add("writer", writer)
        writer.start()

    async def run(self, engine: Engine) -> None:
        """Nothing to await: the writer is a thread of its own."""

    def stop(self, engine: Engine) -> None:
        if self.writer is not None and self.schema is not None:
            # The final snapshot: whatever changed after the last tick (the network service, which
            # stops first, takes the players' characters out of the world) is saved too.
            self.writer.submit(
                take_snapshot(engine.world.collect_changes(), self.schema, engine.world)
            )
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


def service(config: Config) -> PersistenceService:
    """The ``kadath.services`` entry point."""
    return PersistenceService(config)
