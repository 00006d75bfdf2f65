"""``kadath replay``: run a journal's inputs through the real tick again, from the state its run
started from, and say whether the world went the same way.

The replay builds the world as the server did (same content, plugins and settings, checked against
the journal's header), restores the journal's base over it through a scratch SQLite database, and
feeds each recorded input to the tick it was consumed at. After every tick it compares the digest
of each changed entity with the journal's, so the first tick and entity where the run went another
way are named. ``--check`` compares the replayed world with the state saved in the database at the
journal's end; ``--until`` stops at a tick and shows what each of its inputs changed.
It only reads the journal and the database: nothing is written but the scratch database.
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import sys
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import sqlalchemy as sa

from engine.commands import Command
from engine.component import component_info
from engine.config import (
    CalendarConfig,
    Config,
    EngineConfig,
    WorldConfig,
    add_config_arguments,
)
from engine.core import Engine, TickResult
from engine.inputs import DropConnection, EnterWorld, LeaveWorld, ReloadPlugin
from engine.plugins import PluginError, discover_plugins
from engine.world import Changes, World
from persist.cli import import_lines
from persist.database import open_database
from persist.journal import (
    JournalError,
    JournalRun,
    change_digests,
    content_digest,
    decode_input,
    read_run,
)
from persist.restore import read_meta, restore
from persist.schema import Schema

__all__ = [
    "Divergence",
    "Replay",
    "compare_states",
    "persistent_state",
    "register",
    "start_replay",
]

#: Exit status when the replay went another way than the journal, or differs from the database.
EXIT_DIFFERS = 1
#: Exit status when the journal cannot be replayed here (another world, version, a broken file).
EXIT_REFUSED = 2


@dataclass(frozen=True, slots=True)
class Divergence:
    """The first tick at which the replay changed an entity otherwise than the journal says."""

    tick: int
    sid: int
    recorded: int | None
    replayed: int | None

    def __str__(self) -> str:
        if self.recorded is None:
            what = "the replay changed it; the journal records no change"
        elif self.replayed is None:
            what = "the journal records a change the replay did not make"
        else:
            what = "both changed it, to different states"
        return f"tick {self.tick}, entity {self.sid}: {what}"


# ------------------------------------------------------------------------------- building


def replay_config(header: Mapping[str, Any], config: Config, data_dir: str | None) -> Config:
    """The configuration the recorded server ran with, where it shapes the simulation: its tick
    rate, seed, node id, calendar and plugins (an installed plugin it did not load is disabled);
    its world folder unless ``data_dir`` is given."""
    engine = header["engine"]
    recorded = set(header.get("plugins", ()))
    installed, _ = discover_plugins()
    world = WorldConfig(
        data_dir=data_dir if data_dir is not None else str(header["data_dir"]),
        plugins_disabled=tuple(sorted(p.name for p in installed if p.name not in recorded)),
    )
    return dataclasses.replace(
        config,
        engine=EngineConfig(
            tick_rate_hz=float(engine["tick_rate_hz"]),
            seed=int(engine["seed"]),
            node_id=int(engine["node_id"]),
        ),
        calendar=CalendarConfig(**header["calendar"]),
        world=world,
    )


def _check_identity(engine: Engine, header: Mapping[str, Any], config: Config) -> None:
    """Refuse a journal recorded with other plugins, component versions or content."""
    recorded_plugins = list(header.get("plugins", ()))
    if list(engine.plugins) != recorded_plugins:
        raise JournalError(
            f"the journal was recorded with plugins {recorded_plugins}, this server loads"
            f" {list(engine.plugins)}: install or disable plugins to match"
        )
    tables = Schema(engine.registry.component_types).components
    versions = {name: table.info.version for name, table in tables.items()}
    if versions != header.get("components"):
        recorded = header.get("components") or {}
        differ = sorted(
            name
            for name in set(versions) | set(recorded)
            if versions.get(name) != recorded.get(name)
        )
        raise JournalError(
            f"the journal was recorded with other component versions ({', '.join(differ)}):"
            " replay it with the Kadath version that wrote it"
        )
    folders = [config.world.data_path, *(path for _, path in engine.registry.content_dirs)]
    if content_digest(folders) != header.get("content"):
        raise JournalError(
            f"the journal was recorded on other content than {config.world.data_path}"
            " (a different world, or files changed since): give the world it was recorded on"
            " with --data"
        )


def _engine(config: Config) -> Engine:
    try:
        return Engine(config)
    except PluginError as exc:
        raise JournalError(f"the plugins cannot be loaded: {exc}") from None


@dataclass(slots=True)
class Replay:
    """A run being replayed: the engine at the run's current tick, and what was found so far."""

    run: JournalRun
    engine: Engine
    inputs: int = 0
    divergence: Divergence | None = None

    @property
    def tick(self) -> int:
        return self.engine.world.clock.tick

    def advance_to(self, last: int) -> None:
        """Replay every tick up to and including ``last``, checking each against the journal."""
        records = {record.tick: record for record in self.run.records}
        while self.tick < last:
            record = records.get(self.tick + 1)
            self._feed(record.inputs if record is not None else ())
            result = self.engine.tick()
            recorded = dict(record.digests) if record is not None else {}
            self._compare(result, recorded)

    def trace(self) -> TickResult:
        """Replay one more tick, collecting the changes of each input apart (not checked)."""
        record = next((r for r in self.run.records if r.tick == self.tick + 1), None)
        self._feed(record.inputs if record is not None else ())
        return self.engine.tick(trace=True)

    def _feed(self, inputs: tuple[list[Any], ...]) -> None:
        for encoded in inputs:
            self.engine.submit(decode_input(self.engine.world, encoded))
            self.inputs += 1

    def _compare(self, result: TickResult, recorded: Mapping[int, int]) -> None:
        if self.divergence is not None:
            return
        replayed = dict(change_digests(result.changes))
        if replayed == recorded:
            return
        sid = min(s for s in set(replayed) | set(recorded) if replayed.get(s) != recorded.get(s))
        self.divergence = Divergence(result.tick, sid, recorded.get(sid), replayed.get(sid))


def start_replay(path: Path, config: Config, *, data_dir: str | None = None) -> Replay:
    """A run read from ``path`` (its folder or a segment), its world built and its base restored,
    ready at its start tick. Raises :class:`JournalError` if it cannot be replayed here."""
    run = read_run(path)
    engine = _engine(replay_config(run.header, config, data_dir))
    _check_identity(engine, run.header, engine.config)
    engine.build_world()
    with tempfile.TemporaryDirectory(prefix="kadath-replay-") as scratch:
        db = open_database(f"sqlite:///{Path(scratch) / 'base.db'}")
        try:
            schema = Schema(engine.registry.component_types)
            import_lines(db, schema, io.BytesIO(b"".join(line + b"\n" for line in run.base)))
            restore(engine.world, schema, db)
        finally:
            db.dispose()
    engine.scheduler.rebase(engine.world.clock.seconds)
    if engine.world.clock.tick != run.start_tick:
        raise JournalError(
            f"the journal's base restores to tick {engine.world.clock.tick}, but the run starts at"
            f" tick {run.start_tick}: the journal is damaged"
        )
    return Replay(run, engine)


# ---------------------------------------------------------------------------- comparing


def persistent_state(world: World) -> dict[Any, Any]:
    """The world as the database keeps it: every persistent entity's persistent components by
    stable name, with the tick, the random generator's state and the next stable id."""
    state: dict[Any, Any] = {
        "tick": world.clock.tick,
        "rng": world.rng.getstate(),
        "next_sequence": world.ids.next_sequence,
    }
    for entity in world.entities():
        sid = world.stable_id(entity)
        if sid is None or not world.is_persistent(entity):
            continue  # transient (a referable one has an id, but is never saved)
        components = {}
        for component in world.components(entity):
            info = component_info(type(component))
            if info is not None:
                components[info.name] = info.values(component)
        state[sid] = components
    return state


def compare_states(saved: Mapping[Any, Any], replayed: Mapping[Any, Any]) -> str | None:
    """None if equal, else the first difference in words (meta first, then by stable id)."""
    for key in ("tick", "next_sequence", "rng"):
        if saved.get(key) != replayed.get(key):
            shown = "state" if key == "rng" else f"{saved.get(key)} / {replayed.get(key)}"
            return f"the {key.replace('_', ' ')} differs (saved / replayed: {shown})"
    sids = sorted(k for k in set(saved) | set(replayed) if isinstance(k, int))
    for sid in sids:
        a, b = saved.get(sid), replayed.get(sid)
        if a == b:
            continue
        if a is None or b is None:
            where = "replay" if a is None else "saved state"
            return f"entity {sid} is only in the {where}"
        names = sorted(set(a) | set(b))
        name = next(n for n in names if a.get(n) != b.get(n))
        return f"entity {sid}, component {name!r}: saved {a.get(name)!r}, replayed {b.get(name)!r}"
    return None


def saved_state(config: Config, db_url: str) -> tuple[int, dict[Any, Any]]:
    """The saved tick and state of the database at ``db_url``, as a server would restore it."""
    engine = _engine(config)
    engine.build_world()
    db = open_database(db_url)
    try:
        with db.connect() as conn:
            saved_tick = int(read_meta(conn).get("saved_tick", 0))
        restore(engine.world, Schema(engine.registry.component_types), db)
    finally:
        db.dispose()
    return saved_tick, persistent_state(engine.world)


# ------------------------------------------------------------------------------ showing


def _describe(item: object, world: World) -> str:
    if isinstance(item, Command):
        line = f"{item.verb} {item.args}".strip()
        return f"command {line!r} from entity {world.stable_id(item.actor)} ({item.role})"
    if isinstance(item, EnterWorld):
        return f"{item.account} enters the world (character {item.character})"
    if isinstance(item, DropConnection):
        return f"the connection of entity {item.character} drops (grace {item.grace_s:g} s)"
    if isinstance(item, LeaveWorld):
        return f"entity {item.character} leaves the world ({item.reason})"
    if isinstance(item, ReloadPlugin):
        refused = f", refused: {item.refused}" if item.refused else " (not replayed)"
        return f"plugin {item.plugin!r} reloaded by entity {item.by}{refused}"
    return "the systems"


def _changes_lines(changes: Changes) -> Iterator[str]:
    for (sid, ctype), values in sorted(
        changes.values.items(), key=lambda kv: (kv[0][0], str(kv[0][1]))
    ):
        info = component_info(ctype)
        name = info.name if info is not None else ctype.__qualname__
        fields = info.fields if info is not None else ()
        shown = ", ".join(f"{f}={v!r}" for f, v in zip(fields, values, strict=False))
        yield f"    entity {sid} {name}: {shown}"
    for sid, ctype in sorted(changes.deleted, key=lambda key: (key[0], str(key[1]))):
        info = component_info(ctype)
        yield f"    entity {sid} {info.name if info else ctype.__qualname__}: removed"
    for sid in sorted(changes.destroyed):
        yield f"    entity {sid}: destroyed"


def format_trace(result: TickResult, world: World) -> str:
    """What each input of a traced tick changed, then what the systems changed."""
    lines = [f"tick {result.tick}:"]
    for item, changes in result.trace:
        lines.append(f"  {_describe(item, world)}:")
        body = list(_changes_lines(changes))
        lines += body or ["    (no persistent change)"]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------- CLI


def register(subparsers: Any) -> None:
    """The ``kadath.cli`` entry point: add ``kadath replay``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "replay",
        help="replay a journal through the tick and check it against what was saved",
        description=(
            "Replay JOURNAL (a run's folder, or one of its segment files: the run up to it) from"
            " the state it started from, tick by tick, and report the first tick and entity where"
            " the replay went another way. Exit status: 0 the same, 1 different, 2 refused."
        ),
    )
    parser.add_argument("journal", metavar="JOURNAL", help="a run folder or a segment file")
    parser.add_argument(
        "--until",
        type=int,
        metavar="TICK",
        default=None,
        help="stop at this tick and show what each of its inputs, then its systems, changed",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="compare the replayed world with the state saved in the database (--db) at the"
        " tick it was saved at",
    )
    add_config_arguments(parser)
    parser.set_defaults(run=run)


def run(ns: argparse.Namespace, config: Config, out: IO[str] | None = None) -> int:
    out = out if out is not None else sys.stdout
    data_dir = getattr(ns, "config_data", None)
    try:
        replay = start_replay(Path(ns.journal), config, data_dir=data_dir)
    except (JournalError, sa.exc.SQLAlchemyError) as exc:
        print(f"kadath replay: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    journal = replay.run
    print(
        f"replaying {journal.folder.name}: {journal.segments} segment(s), ticks"
        f" {journal.start_tick + 1}..{journal.last_tick}",
        file=out,
    )
    if journal.cut_off:
        print(
            f"the journal is cut off: {journal.cut_off}; replaying up to its last whole"
            f" record (tick {journal.last_tick})",
            file=out,
        )
    last = journal.last_tick
    saved: tuple[int, dict[Any, Any]] | None = None
    if ns.check:
        try:
            saved = saved_state(replay.engine.config, config.persist.database_url)
        except (JournalError, sa.exc.SQLAlchemyError) as exc:
            print(f"kadath replay: cannot read the saved state: {exc}", file=sys.stderr)
            return EXIT_REFUSED
        if not journal.start_tick <= saved[0] <= journal.last_tick:
            print(
                f"kadath replay: the database was saved at tick {saved[0]}, outside this"
                f" journal's ticks {journal.start_tick}..{journal.last_tick}",
                file=sys.stderr,
            )
            return EXIT_REFUSED
        last = saved[0]
    if ns.until is not None:
        if not journal.start_tick < ns.until <= journal.last_tick:
            print(
                f"kadath replay: --until {ns.until} is outside the journal's ticks"
                f" {journal.start_tick + 1}..{journal.last_tick}",
                file=sys.stderr,
            )
            return EXIT_REFUSED
        try:
            replay.advance_to(ns.until - 1)
            traced = replay.trace()
        except JournalError as exc:
            print(f"kadath replay: {exc}", file=sys.stderr)
            return EXIT_REFUSED
        print(format_trace(traced, replay.engine.world), file=out)
        return _verdict(replay, out)
    try:
        replay.advance_to(last)
    except JournalError as exc:
        print(f"kadath replay: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    status = _verdict(replay, out)
    if saved is not None:
        difference = compare_states(saved[1], persistent_state(replay.engine.world))
        if difference is None:
            entities = sum(1 for key in saved[1] if isinstance(key, int))
            print(
                f"the replayed world equals the saved state at tick {saved[0]}"
                f" ({entities} persistent entities)",
                file=out,
            )
        else:
            print(
                f"the replayed world differs from the saved state at tick {saved[0]}: {difference}",
                file=out,
            )
            status = EXIT_DIFFERS
    return status


def _verdict(replay: Replay, out: IO[str]) -> int:
    if replay.divergence is not None:
        print(f"the replay went another way: first at {replay.divergence}", file=out)
        return EXIT_DIFFERS
    print(
        f"replayed {replay.inputs} inputs to tick {replay.tick}: every tick checked changed what"
        " the journal recorded",
        file=out,
    )
    return 0
