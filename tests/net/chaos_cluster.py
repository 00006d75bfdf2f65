"""A sharded world as real processes, for tests that kill them: shards and a gateway started as
``kadath shard`` and ``kadath gateway`` subprocesses on a PostgreSQL schema and a bus world of
the test's own, each run logging to a file of its own in the test's folder.

Unlike :mod:`tests.net.cluster_harness` (shards inside the test's event loop, ticked by the test),
nothing here is driven by the test: the processes tick on their own clocks, and a shard can be
SIGKILLed at any moment and started again, as ``kadath cluster up``'s supervisor would. What the
test knows of them it learns as a player or an operator would: over a websocket, from the
gateway's ``/healthz``, and from the database. It never deletes anything but its own schema and
its own stream, and never signals a process it did not start.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from engine.config import ClusterConfig
from net import bus as busmod
from persist import ownership
from tests.net.harness import DATA_DIR, http_get
from tests.persist.conftest import drop_test_schema, open_test_database
from tests.services import unavailable

NATS_URL = os.environ.get("NATS_TEST_URL", "nats://127.0.0.1:4222")
REQUIRE_NATS_ENV = "REQUIRE_NATS_TESTS"
#: ``python -c`` line that runs ``kadath``: the same entry point as the installed script.
KADATH = [sys.executable, "-c", "import sys; from engine.cli import main; sys.exit(main())"]
#: Bound on a process starting, a shard coming back, a graceful stop: only a broken one hits it.
PROCESS_TIMEOUT_S = 60.0
POLL_S = 0.05
#: Set to 1 to keep the test's PostgreSQL schema after the run, to look into what went wrong.
KEEP_SCHEMA_ENV = "CHAOS_KEEP_SCHEMA"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Run:
    """One run of one process: its command, its log and how it ended."""

    name: str
    number: int
    process: subprocess.Popen[bytes]
    log_path: Path
    killed: bool = False

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@dataclass
class ProcessCluster:
    """The processes of one world. ``settings`` are the ``--set`` lines every process gets."""

    folder: Path
    url: str
    db: sa.Engine
    world: str
    gateway_port: int
    settings: list[str]
    runs: dict[str, list[Run]] = field(default_factory=dict)

    # ----------------------------------------------------------------- processes

    def _start(self, name: str, args: Sequence[str]) -> Run:
        number = len(self.runs.setdefault(name, [])) + 1
        log_path = self.folder / "logs" / f"{name}.{number}.log"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KADATH_")}
        sets = [item for setting in self.settings for item in ("--set", setting)]
        with log_path.open("wb") as log_file:
            process = subprocess.Popen(
                [*KADATH, *args, "--db", self.url, *sets],
                cwd=self.folder,
                env=env,
                stdout=log_file,
                stderr=subprocess.STDOUT,
            )
        run = Run(name, number, process, log_path)
        self.runs[name].append(run)
        return run

    def start_shard(self, name: str) -> Run:
        journal = self.folder / "journal" / name
        return self._start(
            f"shard-{name}", ["shard", name, "--set", f"persist.journal_dir={journal}"]
        )

    def start_gateway(self, name: str = "g1", port: int | None = None) -> Run:
        """Gateway ``name`` on ``port`` (the cluster's gateway port unless given)."""
        port = self.gateway_port if port is None else port
        return self._start(f"gateway-{name}", ["gateway", "--name", name, "--port", str(port)])

    def current(self, name: str) -> Run:
        return self.runs[name][-1]

    def kill(self, name: str) -> None:
        """SIGKILL: no goodbye, no last save. Waits until the process is gone."""
        run = self.current(name)
        run.killed = True
        run.process.send_signal(signal.SIGKILL)
        run.process.wait(PROCESS_TIMEOUT_S)

    def terminate(self, name: str) -> int:
        """SIGTERM, as an operator stops a process (a shard saves first); its exit status."""
        run = self.current(name)
        if run.process.poll() is None:
            run.process.send_signal(signal.SIGTERM)
        try:
            return run.process.wait(PROCESS_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            run.process.kill()
            run.process.wait()
            raise AssertionError(
                f"{name} ignored SIGTERM for {PROCESS_TIMEOUT_S:g} s; its log: {run.log_path}"
            ) from None

    def check_alive(self) -> None:
        """Fail at once, naming the log, if a process exited that the test did not stop."""
        for name, runs in self.runs.items():
            run = runs[-1]
            status = run.process.poll()
            if status is not None and not run.killed:
                raise AssertionError(
                    f"{name} (run {run.number}) exited by itself with status {status}:\n"
                    + "\n".join(run.log().splitlines()[-30:])
                )

    def stop_all(self) -> None:
        for runs in self.runs.values():
            process = runs[-1].process
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for runs in self.runs.values():
            process = runs[-1].process
            try:
                process.wait(PROCESS_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    # ------------------------------------------------------------------- gateway

    async def health(self) -> dict[str, Any]:
        """The gateway's ``/healthz``; empty if it does not answer (yet)."""
        try:
            reply = await http_get(self.gateway_port, "/healthz", timeout=5.0)
        except OSError:
            return {}
        if reply.status != 200:
            return {}
        found: dict[str, Any] = orjson.loads(reply.body)
        return found

    async def shard_run(self, name: str) -> str | None:
        """The run id of shard ``name`` if the gateway counts it up (its players served)."""
        shard = (await self.health()).get("shards", {}).get(name)
        return str(shard["run"]) if shard and shard["up"] else None

    async def until_up(self, name: str, not_run: str | None = None) -> str:
        """Wait until the gateway serves shard ``name`` as a run other than ``not_run``."""
        deadline = time.monotonic() + PROCESS_TIMEOUT_S
        while True:
            self.check_alive()
            run = await self.shard_run(name)
            if run is not None and run != not_run:
                return run
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"shard {name} not up for the gateway after {PROCESS_TIMEOUT_S:g} s;"
                    f" its log: {self.current(f'shard-{name}').log_path}"
                )
            await asyncio.sleep(POLL_S)


@contextlib.asynccontextmanager
async def process_cluster(
    folder: Path, zones: Mapping[str, str], settings: Sequence[str] = ()
) -> AsyncIterator[ProcessCluster]:
    """A fresh schema with ``zones`` assigned and a fresh bus world; nothing started yet. On the
    way out every process still running is stopped, the stream deleted and the schema dropped."""
    db, url, schema = open_test_database("postgresql", folder)
    world = f"t{uuid.uuid4().hex[:12]}"
    bus_settings = ClusterConfig(nats_url=NATS_URL, world=world, connect_timeout_s=2.0)
    try:
        bus = await busmod.connect(bus_settings, name="chaos-test")
    except busmod.BusUnavailable as exc:
        db.dispose()
        if schema is not None:
            drop_test_schema(schema)
        unavailable(str(exc), REQUIRE_NATS_ENV)
    cluster = ProcessCluster(
        folder,
        url,
        db,
        world,
        free_port(),
        [
            f"world.data_dir={DATA_DIR}",
            f"cluster.nats_url={NATS_URL}",
            f"cluster.world={world}",
            *settings,
        ],
    )
    try:
        ownership.ensure_ownership_tables(db)
        for zone, shard in zones.items():
            ownership.assign_zone(db, zone, shard)
        yield cluster
    finally:
        await asyncio.to_thread(cluster.stop_all)
        with contextlib.suppress(Exception):
            await bus.delete_handoff_stream()
        await bus.close()
        db.dispose()
        if schema is not None and os.environ.get(KEEP_SCHEMA_ENV) == "1":
            print(f"\nkept the schema {schema} and the logs in {folder} ({KEEP_SCHEMA_ENV}=1)")
        elif schema is not None:
            drop_test_schema(schema)
