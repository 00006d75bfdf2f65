"""``kadath profile``: run a world's real tick headless for N ticks, under a sampling profiler, then
print what each system and phase of the tick cost and write the profile for a flame view.

The world is a reference world by name (``bench/reference.py``) or a world's data folder, with
its active players typing through a headless network shell; no socket is opened, and no database
unless ``--db`` names one (then the world is saved, and restored from it at the next run, as a
server's). The cost table is the engine's own (``Engine.stats()``: every phase and system timed
with ``perf_counter_ns`` around its run, as ``kadath serve`` logs it and admins read it), cleared
once the world is built so that it covers only the profiled ticks. The profile is pyinstrument's:
an HTML page (its call tree, and a timeline that is a flame chart of the ticks), the same samples
as speedscope JSON, and as a ``.prof`` (pstats) file for snakeviz or gprof2dot.

This module is the shell around a run (arguments, files, the database); heavy imports wait until
the command runs, since every ``kadath`` command loads its parser.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from engine.config import Config, add_config_arguments
from engine.core import CostRow, EngineStats

if TYPE_CHECKING:  # imported when the command runs: every kadath command loads this parser
    from bench.reference import ReferenceRun
    from engine.core import Engine
    from persist.service import PersistenceService

__all__ = [
    "DEFAULT_HTML",
    "DEFAULT_TICKS",
    "SORTS",
    "ProfileError",
    "ProfileOptions",
    "format_table",
    "register",
    "run",
]

#: Exit status for arguments that cannot be run (an unknown world, no such folder, --ticks 0).
EXIT_BAD_ARGUMENTS = 2
#: Ticks profiled when ``--ticks`` is not given: 30 s of play at 10 Hz.
DEFAULT_TICKS = 300
#: Where the HTML profile goes when ``--html`` is not given (the speedscope JSON and the .prof
#: file go beside it, with the same name).
DEFAULT_HTML = "kadath-profile.html"
#: Active players in a world folder (``--players``); a reference world has its own.
DEFAULT_PLAYERS = 500
#: How often the profiler samples the stack, in seconds: pyinstrument's default, fine enough to
#: see a system of a tenth of a millisecond over a few hundred ticks.
SAMPLE_INTERVAL_S = 0.001
#: Play before the measured ticks, in seconds: every system has then run once, so what a rule
#: builds on its first run (its timers, its indexes, the census of the spawn rules: 0.26 s in a
#: restored city-100k) is start-up, not a tick of play.
SETTLING_S = 2.0
#: How long a run waits for the database writer to save a freshly populated world, in seconds.
FIRST_SAVE_TIMEOUT_S = 600.0
#: How often it looks.
FIRST_SAVE_POLL_S = 0.05
#: The key under which a profile's database says which reference world it holds.
WORLD_META_KEY = "profile_world"

#: ``--sort``: how the table is ordered, each most expensive (or most called) first.
SORTS: dict[str, Callable[[CostRow], Any]] = {
    "share": lambda row: -row.cost.total_ns,
    "p50": lambda row: -row.cost.p50_ns,
    "p99": lambda row: -row.cost.p99_ns,
    "max": lambda row: -row.cost.max_ns,
    "calls": lambda row: -row.runs,
    "name": lambda row: row.name,
}


class ProfileError(Exception):
    """Arguments or a database that cannot be profiled; the message says what to give instead."""


@dataclass(frozen=True, slots=True)
class ProfileOptions:
    """What ``kadath profile`` was asked, checked."""

    world: str  # a reference world's name, or a world folder (absolute)
    folder: Path | None  # the world folder, for a world that is not a reference world
    ticks: int
    players: int
    html: Path
    sort: str
    db: str | None  # a database URL, given with --db

    @property
    def speedscope(self) -> Path:
        return self.html.with_suffix(".speedscope.json")

    @property
    def pstats(self) -> Path:
        return self.html.with_suffix(".prof")


def register(subparsers: Any) -> None:
    """The ``kadath.cli`` entry point: add ``kadath profile``."""
    from bench.reference import REFERENCE_WORLDS

    names = ", ".join(REFERENCE_WORLDS)
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "profile",
        help="run a world's tick headless for N ticks; print each system's cost, write a profile",
        description=(
            "Build a reference world (or the world in a data folder), log its active players in"
            " to a headless network shell (no sockets) and let each type a command a second"
            " while the real tick runs N times back to back under a sampling profiler. Then print"
            " every tick phase and system with its calls, p50, p99, max and share of the tick,"
            " and write the profile: an HTML page (call tree and flame-chart timeline), the"
            " same as speedscope JSON, and a .prof (pstats) file. No database unless --db: then"
            " the world is saved there, and restored from it at the next run. Exit status 0,"
            " or 2 for arguments that cannot be run."
        ),
    )
    parser.add_argument(
        "--world",
        default="town-10k",
        metavar="NAME|PATH",
        help=f"a reference world ({names}; default town-10k) or a world's data folder",
    )
    parser.add_argument(
        "--ticks",
        type=int,
        default=DEFAULT_TICKS,
        help=f"ticks to profile (default {DEFAULT_TICKS}: 30 s of play at 10 Hz)",
    )
    parser.add_argument(
        "--players",
        type=int,
        default=None,
        help=f"active players in a world folder (default {DEFAULT_PLAYERS}); a reference world"
        " has its own",
    )
    parser.add_argument(
        "--html",
        metavar="FILE",
        default=DEFAULT_HTML,
        help=f"the HTML profile (default {DEFAULT_HTML}); FILE.speedscope.json and FILE.prof"
        " are written beside it",
    )
    parser.add_argument(
        "--sort",
        choices=sorted(SORTS),
        default="share",
        help="order of the table: share of the tick (total time, the default), p50, p99, max,"
        " calls or name",
    )
    add_config_arguments(parser, shortcuts=("--seed", "--db", "--tick-rate"))
    parser.set_defaults(run=run)


def check_options(ns: argparse.Namespace) -> ProfileOptions:
    """The command's arguments, checked; :class:`ProfileError` says what is wrong with them."""
    from bench.reference import REFERENCE_WORLDS

    if ns.ticks < 1:
        raise ProfileError(f"--ticks must be at least 1, not {ns.ticks}")
    folder: Path | None = None
    world = str(ns.world)
    if world not in REFERENCE_WORLDS:
        path = Path(world).expanduser()
        if not path.exists():
            looks_like_a_path = any(sep in world for sep in ("/", "\\")) or world.startswith(".")
            if looks_like_a_path:
                where = path.absolute()
                raise ProfileError(f"no world folder at {where}: give a world's data folder")
            raise ProfileError(
                f"unknown world {world!r}: name a reference world ({', '.join(REFERENCE_WORLDS)})"
                " or give a world's data folder"
            )
        if not path.is_dir():
            raise ProfileError(f"{path} is not a folder: give a world's data folder")
        folder = path.absolute()
        world = str(folder)
    if ns.players is not None and folder is None:
        players = REFERENCE_WORLDS[world].players
        raise ProfileError(f"--players is for a world folder; {world} has its own {players}")
    players = DEFAULT_PLAYERS if ns.players is None else ns.players
    if players < 1:
        raise ProfileError(f"--players must be at least 1, not {players}")
    html = Path(ns.html).expanduser().absolute()
    if not html.parent.is_dir():
        raise ProfileError(f"cannot write {html}: no folder {html.parent}")
    db = getattr(ns, "config_db", None)
    return ProfileOptions(world, folder, ns.ticks, players, html, ns.sort, db)


def run(ns: argparse.Namespace, config: Config, out: IO[str] | None = None) -> int:
    """The command: check the arguments, then profile (:func:`profile`)."""
    out = out if out is not None else sys.stdout
    try:
        options = check_options(ns)
    except ProfileError as bad:
        print(f"kadath profile: {bad}", file=sys.stderr)
        return EXIT_BAD_ARGUMENTS
    try:
        profile(options, config, out)
    except ProfileError as bad:
        print(f"kadath profile: {bad}", file=sys.stderr)
        return EXIT_BAD_ARGUMENTS
    return 0


def profile(options: ProfileOptions, config: Config, out: IO[str]) -> EngineStats:
    """Build (or restore) the world and let it settle (``SETTLING_S``); run ``options.ticks``
    ticks measured by the engine alone, then as many more under the profiler; print the table
    of the first and write the profile of the others. Return the engine's statistics of the
    measured ticks.

    Two runs, because a profiler that follows every call (as pyinstrument does, to know when
    to sample) slows the tick itself, by 1.5x to 2.5x here: the table must not carry that. The
    profiler's clock comes from a thread of its own, which halves that cost."""
    from pyinstrument import Profiler

    from bench.grid import served_heap

    start = _start(options, _profile_config(options, config), time.perf_counter())
    run = start.run
    engine = run.engine
    profiler = Profiler(interval=SAMPLE_INTERVAL_S, async_mode="disabled", use_timing_thread=True)
    run.run(engine.world.clock.ticks_for(SETTLING_S))
    with served_heap():  # as ``kadath serve`` runs its world
        engine.clear_stats()
        typed, sent = sum(run.stream.typed.values()), run.shell.hub.stats()
        measuring = time.perf_counter()
        run.run(options.ticks)
        measured_s = time.perf_counter() - measuring
        stats = engine.stats()
        typed = sum(run.stream.typed.values()) - typed
        hub = run.shell.hub.stats()
        profiling = time.perf_counter()
        title = f"kadath profile: {_name(options)}, {options.ticks} ticks"
        profiler.start(target_description=title)
        run.run(options.ticks)
        profiler.stop()
        profiled_s = time.perf_counter() - profiling
    if start.database is not None:
        start.database.stop(engine)  # the final flush, as a server's at shutdown
    print(
        f"{_name(options)}: {stats.entities:,} entities, {len(run.players)} active players;"
        f" start-up {start.first_tick_s:.2f} s to the first tick ({start.how})",
        file=out,
    )
    print(
        f"{options.ticks} ticks at {stats.rate_hz:g} Hz in {measured_s:.2f} s: {typed:,}"
        f" commands typed, {hub.messages_sent - sent.messages_sent:,} messages delivered in"
        f" {hub.frames_sent - sent.frames_sent:,} frames"
        f" ({(hub.bytes_sent - sent.bytes_sent) / 1e6:.1f} MB)",
        file=out,
    )
    print(format_table(stats, options.sort), file=out)
    _write_profile(profiler, options)
    print(
        f"profile of the {options.ticks} ticks after ({profiled_s:.2f} s under the profiler):"
        f" {options.html} (the call tree; its timeline view is a flame chart of the ticks),"
        f" {options.speedscope.name} (speedscope), {options.pstats.name} (pstats)",
        file=out,
    )
    return stats


def format_table(stats: EngineStats, sort: str = "share") -> str:
    """The cost of the profiled ticks: the tick's headline, then each phase and system with its
    calls, p50, p99 and max, and its share of the time of all ticks, ordered by ``sort``."""
    tick = stats.tick_cost
    lines = [
        f"tick: p50 {tick.p50_ns / 1e6:.3f} ms, p99 {tick.p99_ns / 1e6:.3f} ms,"
        f" max {tick.max_ns / 1e6:.3f} ms over {tick.count} ticks",
        f"{'name':<24} {'kind':<6} {'phase':<6} {'calls':>7} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'max ms':>8} {'share':>7}",
    ]
    total = tick.total_ns or 1
    for row in sorted(stats.rows, key=lambda r: (SORTS[sort](r), r.name)):
        cost = row.cost
        note = "" if row.enabled else f"  {row.note or 'disabled'}"
        lines.append(
            f"{row.name:<24} {row.kind:<6} {row.phase:<6} {row.runs:>7}"
            f" {cost.p50_ns / 1e6:>8.3f} {cost.p99_ns / 1e6:>8.3f} {cost.max_ns / 1e6:>8.3f}"
            f" {100 * cost.total_ns / total:>6.1f}%{note}"
        )
    return "\n".join(lines)


def _name(options: ProfileOptions) -> str:
    return options.world if options.folder is None else f"the world in {options.folder}"


def _profile_config(options: ProfileOptions, config: Config) -> Config:
    """The configuration of a profile: the one given, with the statistics window holding every
    profiled tick (so the percentiles are over all of them), the world folder asked for, and
    no journal (a profile's world is generated, not read from files a replay could check)."""
    engine = replace(config.engine, stats_window=max(config.engine.stats_window, options.ticks))
    world = config.world
    if options.folder is not None:
        world = replace(world, data_dir=str(options.folder))
    persist = replace(config.persist, journal=False)
    return replace(config, engine=engine, world=world, persist=persist)


@dataclass(slots=True)
class _Started:
    """A world ready to profile: driven, its first tick done."""

    run: ReferenceRun
    first_tick_s: float
    how: str
    database: PersistenceService | None = None  # with --db


def _start(options: ProfileOptions, config: Config, started: float) -> _Started:
    """Build the world, then populate it (or restore it from ``--db``) and drive it; with a
    fresh database, wait until the writer has saved it."""
    from bench.reference import (
        Population,
        build_reference_content,
        district_rooms,
        drive,
        populate,
        reference_world,
    )
    from components.content import Directory
    from engine.core import Engine
    from engine.plugins import PluginError, SetupError

    restored = _database_holds(options) if options.db is not None else False
    try:
        engine = Engine(config)
    except PluginError as exc:
        raise ProfileError(f"cannot start: {exc}") from exc
    seed = config.engine.seed
    plan = None
    if options.folder is None:
        spec = reference_world(options.world)
        plan = build_reference_content(engine, spec, seed)
        population, district = spec.population, district_rooms(spec)
    else:
        try:
            engine.build_world()
        except SetupError as exc:
            raise ProfileError(str(exc).splitlines()[0]) from exc
        population = Population(players=options.players, fights=options.players // 10)
        district = sorted(engine.world.resource(Directory).rooms)
    database = _open_database(engine, config) if options.db is not None else None
    if not restored:
        populate(engine, population, district, seed, plan=plan)
    # With --db, the persistence service takes the snapshots; the players keep to the district.
    run = drive(engine, seed, snapshots=database is None, roam=district)
    first_tick_s = time.perf_counter() - started
    if database is None:
        how = "built and populated"
    elif restored:
        how = "restored from the database"
    else:
        how = "built and populated, then saved"
        _save_first(database, engine.world.clock.tick, options)
    return _Started(run, first_tick_s, how, database)


def _database_holds(options: ProfileOptions) -> bool:
    """Whether ``--db`` holds this world, saved by an earlier profile (False: it is empty). A
    database that holds another world, or one that ``kadath profile`` did not make (a game's:
    the profile would write to it), is refused, before anything is built."""
    import sqlalchemy as sa

    from engine.plugins import SetupError
    from persist.database import open_database
    from persist.restore import read_meta
    from persist.schema import MetaRow

    url = options.db
    assert url is not None
    try:
        db = open_database(url)
        try:
            with db.connect() as conn:
                present = sa.inspect(conn).has_table(MetaRow.__tablename__)
                meta = read_meta(conn) if present else {}
        finally:
            db.dispose()
    except (SetupError, sa.exc.SQLAlchemyError) as exc:
        shown = _shown(url)
        raise ProfileError(f"cannot open the database {shown}: {exc}".splitlines()[0]) from exc
    holds = meta.get(WORLD_META_KEY)
    if meta.get("saved_tick") is not None and holds != options.world:
        what = f"the world {holds!r}" if holds else "a world that kadath profile did not make"
        raise ProfileError(
            f"the database {_shown(url)} holds {what}: give another --db to profile {options.world}"
        )
    return holds == options.world


def _open_database(engine: Engine, config: Config) -> PersistenceService:
    """The persistence service over ``--db``, started: what the database holds is restored."""
    from engine.plugins import SetupError
    from persist.service import PersistenceService

    service = PersistenceService(config)
    try:
        service.start(engine)
    except SetupError as exc:
        raise ProfileError(str(exc)) from exc
    return service


def _save_first(service: PersistenceService, tick: int, options: ProfileOptions) -> None:
    """Wait until the writer has saved the freshly populated world (up to ``tick``), then mark
    the database as this world's, so that the next run restores it."""
    import sqlalchemy as sa

    from persist.schema import MetaRow

    writer, db = service.writer, service.db
    assert writer is not None and db is not None  # the service has started
    db_url = str(options.db)
    deadline = time.monotonic() + FIRST_SAVE_TIMEOUT_S
    while writer.stats().last_saved_tick < tick:
        if time.monotonic() > deadline:
            error = writer.stats().last_error or "it did not finish"
            raise ProfileError(f"the world could not be saved in {_shown(db_url)}: {error}")
        time.sleep(FIRST_SAVE_POLL_S)
    table = MetaRow.__table__  # type: ignore[attr-defined]
    with db.begin() as conn:
        conn.execute(sa.delete(table).where(table.c.key == WORLD_META_KEY))
        conn.execute(sa.insert(table).values(key=WORLD_META_KEY, value=options.world))


def _shown(url: str) -> str:
    """A database URL fit to print: its password, if any, as ``***``."""
    import sqlalchemy as sa

    try:
        return sa.make_url(url).render_as_string(hide_password=True)
    except sa.exc.ArgumentError:
        return url


def _write_profile(profiler: Any, options: ProfileOptions) -> None:
    """The HTML page, the speedscope JSON and the pstats file of the profiled ticks."""
    from pyinstrument.renderers import HTMLRenderer, SpeedscopeRenderer
    from pyinstrument.renderers.pstatsrenderer import PstatsRenderer

    # Every frame, however small: a tick is a small part of the run, and so is each of the
    # frames under it in a timeline (speedscope's default would keep only frames of 1 % or more).
    everything = {"filter_threshold": 0.0}
    options.html.write_text(profiler.output(HTMLRenderer()), encoding="utf-8")
    speedscope = SpeedscopeRenderer(processor_options=everything)
    options.speedscope.write_text(profiler.output(speedscope), encoding="utf-8")
    pstats = profiler.output(PstatsRenderer(processor_options=everything))  # bytes in a str
    options.pstats.write_bytes(pstats.encode("utf-8", errors="surrogateescape"))
