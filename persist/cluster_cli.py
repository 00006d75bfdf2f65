"""``kadath cluster``: a sharded world's zone map, and the whole world on one machine.

- ``kadath cluster up --shards N`` starts N shards and a gateway against the configured
  PostgreSQL and NATS, with one port for players (``net.port``), giving every zone of the world a
  shard first if the zone map lacks it; a shard that dies is started again, as an operator's
  supervisor would. Ctrl-C stops them all.
- ``kadath cluster zones`` prints the zone map; ``kadath cluster assign ZONE SHARD`` edits it
  (for a world that is not running); ``kadath cluster move ZONE SHARD`` moves a zone while the
  world runs.

Processes are started with the same configuration this command read (written to a file they all
load), so every one of them talks to the same database and bus.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sqlalchemy.exc import SQLAlchemyError

from components.content import Directory
from engine.config import Config, add_config_arguments
from engine.config.settings import subject_token_problem
from engine.core import Engine
from engine.plugins import PluginError, SetupError
from persist import ownership
from persist.database import is_sqlite, open_database
from persist.migrate import MigrationError, ensure_schema
from persist.schema import Schema

__all__ = ["plan_zones", "register"]

EXIT_BAD_SETUP = 2
#: How long a shard that died waits before it is started again (it restores and resumes).
RESTART_AFTER_S = 1.0
#: How long stopping waits for each process to save and exit before it is killed.
STOP_TIMEOUT_S = 30.0


def plan_zones(
    zones: Sequence[str], shards: Sequence[str], given: dict[str, str]
) -> dict[str, str]:
    """Every zone of ``zones`` with a shard: what ``given`` says, and the rest dealt out in name
    order to the shards with the fewest zones, so that a fresh world is split evenly."""
    plan = {zone: shard for zone, shard in given.items() if zone in zones}
    load = dict.fromkeys(shards, 0)
    for shard in plan.values():
        if shard in load:
            load[shard] += 1
    for zone in sorted(zones):
        if zone not in plan:
            fewest = min(shards, key=lambda shard: (load[shard], shard))
            plan[zone] = fewest
            load[fewest] += 1
    return plan


def _world(config: Config) -> tuple[list[str], Schema]:
    """The zones of the configured world's content and its tables (built once, as a shard
    would)."""
    engine = Engine(config)
    engine.build_world()
    directory = engine.world.resource(Directory)
    return sorted(directory.zones), Schema(engine.registry.component_types)


def _shared_database(config: Config) -> Any:
    url = config.persist.database_url
    db = open_database(url)
    if is_sqlite(db):
        db.dispose()
        raise SetupError(
            "a sharded world needs a database every process shares: set persist.database_url"
            " to PostgreSQL (--db postgresql+psycopg://postgres@127.0.0.1:5432/kadath)"
        )
    return db


def _zones(ns: argparse.Namespace, config: Config) -> int:
    db = open_database(config.persist.database_url)
    try:
        ownership.ensure_ownership_tables(db)
        zone_map = ownership.zone_map(db)
    finally:
        db.dispose()
    if not zone_map:
        print("no zone is assigned: kadath cluster assign ZONE SHARD, or kadath cluster up")
        return 0
    for zone, shard in sorted(zone_map.items()):
        print(f"{zone}\t{shard}")
    return 0


def _assign(ns: argparse.Namespace, config: Config) -> int:
    for what, value in (("zone", ns.zone), ("shard", ns.shard)):
        problem = subject_token_problem(value)
        if problem is not None:
            print(f"kadath cluster assign: bad {what} {value!r}: {problem}", file=sys.stderr)
            return EXIT_BAD_SETUP
    zones, _ = _world(config)
    if ns.zone not in zones:
        print(
            f"kadath cluster assign: the world has no zone {ns.zone!r}; its zones are"
            f" {', '.join(zones)}",
            file=sys.stderr,
        )
        return EXIT_BAD_SETUP
    db = open_database(config.persist.database_url)
    try:
        ownership.ensure_ownership_tables(db)
        epoch = ownership.assign_zone(db, ns.zone, ns.shard)
    finally:
        db.dispose()
    print(f"zone {ns.zone} is shard {ns.shard}'s (epoch {epoch})")
    return 0


def _move(ns: argparse.Namespace, config: Config) -> int:
    """Give a zone to another shard while the world runs: the shards see the new map within
    ``cluster.zone_map_check_s`` and hand everything in the zone over."""
    problem = subject_token_problem(ns.shard)
    if problem is not None:
        print(f"kadath cluster move: bad shard {ns.shard!r}: {problem}", file=sys.stderr)
        return EXIT_BAD_SETUP
    db = open_database(config.persist.database_url)
    try:
        ownership.ensure_ownership_tables(db)
        current = ownership.zone_owner(db, ns.zone)
        if current is None:
            print(
                f"kadath cluster move: zone {ns.zone!r} is in no shard's map; kadath cluster"
                " assign gives it one",
                file=sys.stderr,
            )
            return EXIT_BAD_SETUP
        if current[0] == ns.shard:
            print(f"zone {ns.zone} is already shard {ns.shard}'s")
            return 0
        epoch = ownership.move_zone(db, ns.zone, current[0], ns.shard)
    except ownership.OwnershipConflict as exc:
        print(f"kadath cluster move: {exc}", file=sys.stderr)
        return 1
    finally:
        db.dispose()
    print(f"zone {ns.zone} moves from shard {current[0]} to shard {ns.shard} (epoch {epoch})")
    return 0


class _Supervisor:
    """The world's processes: started together, started again when one dies, stopped together."""

    def __init__(self, commands: dict[str, list[str]], restart: bool) -> None:
        self.commands = commands
        self.restart = restart
        self.processes: dict[str, subprocess.Popen[bytes]] = {}
        self.stopping = False

    def start(self, name: str) -> None:
        self.processes[name] = subprocess.Popen(self.commands[name])
        print(f"kadath cluster: started {name} (pid {self.processes[name].pid})", flush=True)

    def watch(self) -> int:
        for name in self.commands:
            self.start(name)
        while not self.stopping:
            time.sleep(0.2)
            for name, process in list(self.processes.items()):
                status = process.poll()
                if status is None or self.stopping:
                    continue
                print(f"kadath cluster: {name} exited with status {status}", flush=True)
                if not self.restart:
                    self.stop()
                    return 1
                time.sleep(RESTART_AFTER_S)
                self.start(name)
        return 0

    def stop(self, *_: object) -> None:
        """SIGTERM to all (each saves and exits), then wait; kill what does not exit."""
        self.stopping = True
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        deadline = time.monotonic() + STOP_TIMEOUT_S
        for name, process in self.processes.items():
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                print(f"kadath cluster: {name} did not stop in time; killed", flush=True)
                process.kill()


def _monitoring(config: Config, shard: str) -> list[str]:
    """Shard ``sN``'s /healthz and /metrics port: net.port + N, next to the players' port."""
    return ["--set", f"cluster.http_port={config.net.port + int(shard.removeprefix('s'))}"]


def _up(ns: argparse.Namespace, config: Config) -> int:
    if ns.shards < 1:
        print("kadath cluster up: --shards must be at least 1", file=sys.stderr)
        return EXIT_BAD_SETUP
    shards = [f"s{i}" for i in range(1, ns.shards + 1)]
    try:
        zones, schema = _world(config)
        db = _shared_database(config)
    except (SetupError, PluginError) as exc:
        print(f"kadath cluster up: {exc}", file=sys.stderr)
        return EXIT_BAD_SETUP
    try:
        ensure_schema(db, schema)
        ownership.ensure_ownership_tables(db)
        given = ownership.zone_map(db)
        plan = plan_zones(zones, shards, given)
        for zone, shard in sorted(plan.items()):
            if given.get(zone) != shard:
                ownership.assign_zone(db, zone, shard)
    except (MigrationError, SQLAlchemyError) as exc:
        print(f"kadath cluster up: cannot prepare the database: {exc}", file=sys.stderr)
        return EXIT_BAD_SETUP
    finally:
        db.dispose()
    running = sorted(set(plan.values()))
    for shard in running:
        print(f"kadath cluster: shard {shard}: {', '.join(z for z in zones if plan[z] == shard)}")
    with tempfile.TemporaryDirectory(prefix="kadath-cluster-") as folder:
        settings = Path(folder) / "kadath.toml"
        settings.write_text(config.to_toml(redact_secrets=False), encoding="utf-8")
        kadath = [sys.executable, "-c", "import sys; from engine.cli import main; sys.exit(main())"]
        commands = {
            f"shard {s}": [*kadath, "shard", s, "--config", str(settings), *_monitoring(config, s)]
            for s in running
        }
        commands["gateway"] = [*kadath, "gateway", "--name", "g1", "--config", str(settings)]
        supervisor = _Supervisor(commands, restart=not ns.no_restart)
        previous = signal.signal(signal.SIGINT, supervisor.stop)
        previous_term = signal.signal(signal.SIGTERM, supervisor.stop)
        print(
            f"kadath cluster: players connect to ws://{config.net.host}:{config.net.port}/"
            " (Ctrl-C stops the world)",
            flush=True,
        )
        try:
            return supervisor.watch()
        finally:
            supervisor.stop()
            with contextlib.suppress(ValueError):
                signal.signal(signal.SIGINT, previous)
                signal.signal(signal.SIGTERM, previous_term)


def register(subparsers: Any) -> None:
    """The ``kadath.cli`` entry point: add ``kadath cluster``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "cluster",
        help="a sharded world: start it on this machine, or show and edit its zone map",
        description=(
            "A world whose zones run on several shards (kadath shard) behind gateways (kadath"
            " gateway), sharing PostgreSQL and NATS with JetStream. See docs/scaling.md."
        ),
    )
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    up = actions.add_parser(
        "up",
        help="start the world's shards and a gateway on this machine (Ctrl-C stops them)",
    )
    up.add_argument("--shards", type=int, default=2, help="how many shards (default: 2)")
    up.add_argument(
        "--no-restart",
        action="store_true",
        help="stop everything when one process dies, instead of starting it again",
    )
    add_config_arguments(up)
    up.set_defaults(run=_up)
    zones = actions.add_parser("zones", help="print the zone map: each zone and its shard")
    add_config_arguments(zones, shortcuts=("--db",))
    zones.set_defaults(run=_zones)
    assign = actions.add_parser(
        "assign", help="give a zone to a shard in the zone map (for a world that is not running)"
    )
    assign.add_argument("zone", metavar="ZONE")
    assign.add_argument("shard", metavar="SHARD")
    add_config_arguments(assign)
    assign.set_defaults(run=_assign)
    move = actions.add_parser(
        "move",
        help="move a zone to another shard while the world runs (what is in it is handed over)",
    )
    move.add_argument("zone", metavar="ZONE")
    move.add_argument("shard", metavar="SHARD")
    add_config_arguments(move, shortcuts=("--db",))
    move.set_defaults(run=_move)
