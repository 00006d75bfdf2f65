"""The ``kadath`` command line: serve a world, show the configuration, the schedule and the plugins,
make a game folder or a new plugin.

This is the imperative shell around the engine: it reads configuration, sets up logging and signal
handling, and runs the tick loop on asyncio. Rules never live here.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import dataclasses
import gc
import logging
import shutil
import signal
import sys
from collections.abc import Callable, Sequence
from importlib.metadata import entry_points
from pathlib import Path

import orjson

from engine.config import Config, ConfigError, add_config_arguments, config_from_args
from engine.core import Engine, StopRequest
from engine.game_folder import GameFolderError, make_game_folder
from engine.loop import TickLoop
from engine.plugin_report import format_report, plugin_report, report_json
from engine.plugins import PluginError, PluginSource, SetupError, discover_sources, rule_sections
from engine.scaffold import ScaffoldError, make_plugin
from engine.services import Service, discover_services
from engine.text import wrapped

log = logging.getLogger("kadath.server")

#: Exit status for a configuration or plugin problem found before the world starts.
EXIT_BAD_SETUP = 2
#: Entry-point group of extra subcommands: ``register(subparsers)`` adds a parser whose defaults
#: include ``run``, a function of the parsed arguments returning the exit status.
CLI_ENTRY_POINT_GROUP = "kadath.cli"
#: How often a thread holding the GIL is asked to hand it over (seconds); see ``serve``.
GIL_SWITCH_INTERVAL_S = 0.001
#: The cyclic collector's thresholds while serving (CPython's default is 700, 10, 10): a young
#: collection every 50,000 net allocations of containers, not every 700, so that what a tick
#: allocates (rendered rooms, a tick's deliveries, websocket writes) dies young instead of being
#: promoted, and full collections of the whole heap (70-650 ms with 1,000 players) stop coming
#: every few seconds. Measured in docs/PERFORMANCE.md, *Crowds*.
GC_THRESHOLDS = (50_000, 20, 20)
#: Allocations from this size up are mapped and unmapped on their own (glibc's M_MMAP_THRESHOLD,
#: its default); see ``_fixed_mmap_threshold``.
MMAP_THRESHOLD_BYTES = 128 * 1024
#: How long a stopped service's run coroutine may take to finish before shutdown goes on.
SERVICE_STOP_TIMEOUT_S = 10.0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kadath", description="Kadath: a game-server core for text multiplayer worlds."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    serve = sub.add_parser("serve", help="run the world until Ctrl-C or SIGTERM")
    add_config_arguments(serve)
    serve.add_argument(
        "--max-ticks",
        type=int,
        default=None,
        help="stop by itself after this many ticks (smoke tests, profiling runs)",
    )
    shard = sub.add_parser(
        "shard",
        help="run one shard of a sharded world: the zones the zone map gives NAME",
        description=(
            "Run shard NAME of a sharded world: the engine, the rules and the writer for the zones"
            " the zone map (in the shared database) gives NAME, talking to the other shards and"
            " to the gateways over NATS ([cluster] settings). Players connect to a gateway"
            " (kadath gateway), never to a shard. See docs/scaling.md."
        ),
    )
    shard.add_argument("name", metavar="NAME", help="the shard's name (letters, digits, - and _)")
    add_config_arguments(shard)
    shard.add_argument(
        "--max-ticks",
        type=int,
        default=None,
        help="stop by itself after this many ticks (smoke tests)",
    )
    show = sub.add_parser("config", help="print the effective configuration as TOML")
    add_config_arguments(show)
    schedule = sub.add_parser(
        "schedule", help="print every system with its phase, order and interval"
    )
    add_config_arguments(schedule)
    init = sub.add_parser(
        "init",
        help="make a game folder: kadath.toml, a copy of the bundled world to edit, a README",
        description=(
            "Make DIR a game folder: kadath.toml (every setting, commented out at its default),"
            " world/ (a copy of the bundled world, which kadath.toml points at) and README.md."
            " Then run kadath serve in DIR."
        ),
    )
    init.add_argument("folder", metavar="DIR", help="the folder to make (or fill)")
    init.add_argument(
        "--force",
        action="store_true",
        help="use a folder that is not empty: add only what is missing, overwrite nothing",
    )
    plugins = sub.add_parser(
        "plugins",
        help="list the installed plugins: versions, requirements, load order, what each registered",
        description=(
            "List every installed plugin (the kadath.plugins entry points): its version and"
            " package, the plugins it requires, its place in the load order, and what it"
            " registered (components, systems, commands, events, content...). Plugins that"
            " cannot load are listed with the reason; the exit status is then 2."
        ),
    )
    plugins.add_argument(
        "names", nargs="*", metavar="NAME", help="show only these plugins' registrations"
    )
    plugins.add_argument("--json", action="store_true", help="print the report as JSON")
    plugins.add_argument(
        "--brief", action="store_true", help="print the table only, without each registration"
    )
    add_config_arguments(plugins)
    scaffold = sub.add_parser(
        "new-plugin",
        help="make a new plugin package to start from: it installs and passes its own test",
        description=(
            "Make the folder DIR/NAME (DIR defaults to the current folder): an installable"
            " package with the kadath.plugins entry point, a component, a system, a command, a"
            " content table, a test and a README, written against the public API (engine.api)."
            " Then: pip install -e NAME && pytest NAME."
        ),
    )
    scaffold.add_argument("name", metavar="NAME", help="the plugin's name: a Python identifier")
    scaffold.add_argument(
        "--dir", metavar="DIR", default=".", help="where to make the plugin's folder (default: .)"
    )
    for ep in sorted(entry_points(group=CLI_ENTRY_POINT_GROUP), key=lambda e: e.name):
        # Subcommands of the outer layers (content checks, database tools) plug in here, since
        # the engine may not import them.
        register = ep.load()
        register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    ns = parser.parse_args(argv)
    if ns.command == "init":
        return _init(Path(ns.folder), force=ns.force)
    if ns.command == "new-plugin":
        return _new_plugin(ns.name, Path(ns.dir))
    sources = discover_sources()
    installed = [s.plugin for s in sources if s.plugin is not None]
    rules, clashes = rule_sections(installed)  # their rule sections are configuration too
    if clashes:
        print(f"kadath: {PluginError(clashes)}", file=sys.stderr)
        return EXIT_BAD_SETUP
    try:
        config = config_from_args(ns, rules=rules)
    except (ConfigError, TypeError) as exc:
        print(f"kadath: {exc}", file=sys.stderr)
        return EXIT_BAD_SETUP
    if ns.command == "shard":
        try:
            config = dataclasses.replace(
                config, cluster=dataclasses.replace(config.cluster, shard=ns.name)
            )
        except ConfigError as exc:
            print(f"kadath shard: {exc}", file=sys.stderr)
            return EXIT_BAD_SETUP
    _setup_logging(config)
    run = getattr(ns, "run", None)
    if run is not None:
        try:
            status: int = run(ns, config)
        except (SetupError, ConfigError) as exc:  # a missing driver, folder or package
            print(f"kadath: {exc}", file=sys.stderr)
            return EXIT_BAD_SETUP
        return status
    if ns.command == "config":
        print(config.to_toml(), end="")
        return 0
    if ns.command == "plugins":
        return _plugins(config, sources, names=ns.names, as_json=ns.json, brief=ns.brief)
    # Only a server starts; other commands that fail say which command failed.
    serving = ns.command in ("serve", "shard")
    failed = "kadath: cannot start" if serving else f"kadath {ns.command}"
    if serving:
        try:
            _log_whereabouts(config)
        except ConfigError as exc:
            print(f"{failed}: {exc}", file=sys.stderr)
            return EXIT_BAD_SETUP
    try:
        engine = Engine(config)
    except PluginError as exc:
        print(f"{failed}: {exc}", file=sys.stderr)
        return EXIT_BAD_SETUP
    if ns.command == "schedule":
        print(format_schedule(engine))
        return 0
    started: list[Service] = []
    try:
        services = discover_services(config)
        engine.build_world()
        for service in services:
            service.start(engine)
            started.append(service)
    except SetupError as exc:
        for service in reversed(started):
            service.stop(engine)
        print(f"kadath: cannot start: {exc}", file=sys.stderr)
        return EXIT_BAD_SETUP
    return asyncio.run(serve(engine, services, max_ticks=ns.max_ticks))


def _init(folder: Path, *, force: bool) -> int:
    try:
        report = make_game_folder(folder, force=force)
    except (GameFolderError, ConfigError, OSError) as exc:
        print(f"kadath init: {exc}", file=sys.stderr)
        return EXIT_BAD_SETUP
    for name in report.made:
        print(f"made {report.folder / name}")
    for name in report.kept:
        print(f"kept {report.folder / name} as it is")
    print(f"next: cd {folder} && kadath serve")
    return 0


def _plugins(
    config: Config,
    sources: Sequence[PluginSource],
    *,
    names: Sequence[str],
    as_json: bool,
    brief: bool,
) -> int:
    """``kadath plugins``: the report; status 2 when a plugin cannot load (or a NAME is unknown)."""
    rows = plugin_report(config, sources)
    unknown = [name for name in names if name not in {row.name for row in rows}]
    if unknown:
        known = ", ".join(row.name for row in rows) or "none"
        print(
            f"kadath plugins: no installed plugin is called {', '.join(map(repr, unknown))}"
            f" (installed: {known})",
            file=sys.stderr,
        )
        return EXIT_BAD_SETUP
    if names:
        rows = [row for row in rows if row.name in names]
    if as_json:
        print(orjson.dumps(report_json(rows), option=orjson.OPT_INDENT_2).decode())
    else:
        print(format_report(rows, details=not brief))
    return EXIT_BAD_SETUP if any(row.problem for row in rows) else 0


def _new_plugin(name: str, folder: Path) -> int:
    """``kadath new-plugin``: make the package, or refuse in one line (status 2)."""
    try:
        made = make_plugin(name, folder)
    except ScaffoldError as exc:
        print(f"kadath new-plugin: {exc}", file=sys.stderr)
        return EXIT_BAD_SETUP
    print(f"made the plugin {name!r} in {made}")
    print(f"next: pip install -e {made} && pytest {made}")
    return 0


def _log_whereabouts(config: Config) -> None:
    """The first lines of a server's log: which world, and where it is saved (absolute paths),
    so an operator never wonders which folder or database file a server is using."""
    world = config.world
    which = "the bundled world" if world.bundled else "world"
    log.info("%s: %s", which, world.data_path)
    log.info("database: %s", config.persist.describe())


def format_schedule(engine: Engine) -> str:
    """The schedule as data, tbaMUD-style: what runs, in which phase and order, how often."""
    header = f"{'#':>3} {'system':<24} {'phase':<6} {'every':>8}  {'plugin':<12} description"
    lines = [header]
    width = max(80, shutil.get_terminal_size((100, 24)).columns)
    indent = len(header) - len("description")
    for row in engine.scheduler.stats():
        every = f"{row.every_s:g} s" if row.every_s else "tick"
        sys_ = engine.scheduler.systems[row.order]
        lines.append(
            f"{row.order:>3} {row.name:<24} {row.phase:<6} {every:>8}  "
            f"{row.plugin or '-':<12} {wrapped(sys_.doc, width, indent)}"
        )
    if len(lines) == 1:
        lines.append("    (no systems registered)")
    return "\n".join(lines)


async def serve(
    engine: Engine, services: Sequence[Service] = (), *, max_ticks: int | None = None
) -> int:
    """Run the tick loop until a signal (or ``max_ticks``); log the cost table periodically.

    ``services`` have been started; their ``run`` is awaited alongside the loop, and they are
    stopped in reverse order after the last tick (the network first, the database last).
    """
    config = engine.config
    # Everything loaded so far lives as long as the server: take it out of the collector's sight,
    # so that collections during play scan only what play allocates (see docs/PERFORMANCE.md).
    gc.collect()
    gc.freeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(*GC_THRESHOLDS)
    # A busy writer thread hands the GIL back to the tick after 1 ms instead of the default 5 ms.
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)
    _fixed_mmap_threshold()

    def tick() -> None:
        engine.tick()
        request = engine.world.try_resource(StopRequest)
        if request is not None:
            log.info("stopping: %s", request.reason)
            loop.stop()

    loop = TickLoop(
        tick,
        config.engine.tick_rate_hz,
        config.engine.max_catch_up_ticks,
        stats_window=config.engine.stats_window,
        history_s=config.engine.stats_history_s,
        history_step_s=config.engine.stats_history_step_s,
    )
    engine.stats_board.add("loop", loop)
    aio = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on every platform
            aio.add_signal_handler(sig, _stop_on_signal, loop, sig)
    reporter = asyncio.create_task(_report_periodically(engine, config))
    running = [asyncio.ensure_future(service.run(engine)) for service in services]
    failed: list[str] = []

    def _watch(service: Service) -> Callable[[asyncio.Future[None]], None]:
        def done(task: asyncio.Future[None]) -> None:
            if not task.cancelled() and task.exception() is not None:
                failed.append(service.name)
                log.error("service %r failed: %s; stopping", service.name, task.exception())
                loop.stop()

        return done

    for service, task in zip(services, running, strict=True):
        task.add_done_callback(_watch(service))
    log.info(
        "serving world at %g Hz with plugins %s (node %d, seed %d)",
        config.engine.tick_rate_hz,
        ", ".join(engine.plugins) or "none",
        engine.world.ids.node,
        config.engine.seed,
    )
    try:
        await loop.run(max_ticks=max_ticks)
    finally:
        reporter.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await reporter
        # One at a time, last started first, each allowed to finish its run (the network says
        # goodbye to everyone) before the next stops (the database saves what that changed).
        for service, task in reversed(list(zip(services, running, strict=True))):
            try:
                service.stop(engine)
            except Exception:
                log.exception("service %r failed to stop cleanly", service.name)
            try:
                await asyncio.wait_for(task, SERVICE_STOP_TIMEOUT_S)
            except Exception:
                log.exception("service %r did not end cleanly", service.name)
            engine.tick_pending()  # what the stopped service left to do, before the next stops
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                aio.remove_signal_handler(sig)
    gc.set_threshold(*thresholds)
    log.info("stopped at tick %d\n%s", engine.world.clock.tick, engine.format_stats())
    return 1 if failed else 0


def _fixed_mmap_threshold() -> None:
    """Keep big, short-lived buffers out of the heap: every password check allocates a 16 MiB
    scrypt buffer in a worker thread, and glibc, once such a mapped block is freed, raises its
    mmap threshold past 16 MiB, so the next ones come from per-thread heaps that keep their pages
    (about 100 MB more resident memory after a burst of logins, measured in PERFORMANCE.md).
    Setting the threshold fixes it at its default. Only on glibc; elsewhere nothing happens."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6")
        m_mmap_threshold = -3
        libc.mallopt(m_mmap_threshold, MMAP_THRESHOLD_BYTES)


def _stop_on_signal(loop: TickLoop, sig: signal.Signals) -> None:
    log.info("received %s: finishing the current tick and stopping", sig.name)
    loop.stop()


async def _report_periodically(engine: Engine, config: Config) -> None:
    interval = config.engine.stats_log_interval_s
    while True:
        await asyncio.sleep(interval)
        log.info("tick statistics\n%s", engine.format_stats())


class _JsonFormatter(logging.Formatter):
    """One JSON object per record, for log collectors (``log.json = true``)."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, object] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return orjson.dumps(entry).decode()


def _setup_logging(config: Config) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if config.log.json:
        handler.setFormatter(_JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=config.log.level, handlers=[handler])


if __name__ == "__main__":
    raise SystemExit(main())
