"""Shards of one sharded world inside a test's event loop, on real NATS and real PostgreSQL, and a
stand-in gateway that speaks :mod:`net.cluster_wire` for a test's players.

Each shard is assembled as ``kadath shard NAME`` assembles it (an ``Engine`` with the core plugin,
``build_world()``, the persistence then the network service started with ``cluster.shard`` set,
the network's ``run`` as a task), but the test drives the ticks: :meth:`Cluster.until` ticks every
shard, lets the event loop run, and looks again, so what a test waits for happens tick by tick.
Every wait is bounded by a generous timeout and is never an assertion on speed.

The database is a PostgreSQL schema of the test's own and the bus a world of its own (a uuid),
both dropped afterwards. Without PostgreSQL or NATS the tests skip with the reason (they fail in
CI, where ``.ci/run`` starts both).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson
import sqlalchemy as sa

from engine.accounts import Account
from engine.config import ClusterConfig, Config, load_config
from engine.core import Engine
from net import bus as busmod
from net.cluster_wire import (
    Close,
    Deliver,
    Gone,
    Line,
    Open,
    Refused,
    Route,
    ShardInput,
    decode_outbound,
    encode_input,
)
from net.service import NetworkService
from net.shard import ShardServer
from net.tasks import cancel_all
from persist import ownership
from persist.accounts import SqlAccountStore
from persist.service import PersistenceService
from tests.net.harness import DATA_DIR, TIMEOUT_S
from tests.persist.conftest import drop_test_schema, open_test_database
from tests.services import unavailable

NATS_URL = os.environ.get("NATS_TEST_URL", "nats://127.0.0.1:4222")
REQUIRE_NATS_ENV = "REQUIRE_NATS_TESTS"
#: Between two looks of :meth:`Cluster.until`: the event loop runs the bus meanwhile.
POLL_S = 0.005


@dataclass
class RunningShard:
    name: str
    config: Config
    engine: Engine
    persistence: PersistenceService
    network: NetworkService
    task: asyncio.Task[None]

    @property
    def server(self) -> ShardServer:
        assert self.network.shard is not None
        return self.network.shard

    def holds(self, sid: int) -> bool:
        return self.engine.world.entity_of(sid) is not None


@dataclass
class Player:
    """One connection of the stand-in gateway: what it was sent, item by item."""

    conn: int
    shard: str
    sent: int = 0
    messages: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    """(shard, type, body) of every message delivered, in order."""
    routes: list[tuple[str, int]] = field(default_factory=list)
    closed: tuple[int, str] | None = None
    refused: str | None = None

    def types(self) -> list[str]:
        return [kind for _, kind, _ in self.messages]

    def last(self, kind: str) -> dict[str, Any]:
        return next(body for _, k, body in reversed(self.messages) if k == kind)

    @property
    def sid(self) -> int:
        """The stable id of the character this connection plays (from its ``auth_ok``)."""
        return int(self.last("auth_ok")["data"]["entity"])


class StandInGateway:
    """Speaks for a test's players as ``kadath gateway`` would: Open and numbered Lines to the
    shard the player is routed to, following each Route (sending again the lines after it)."""

    def __init__(self, bus: busmod.Bus, name: str = "g1") -> None:
        self.bus = bus
        self.name = name
        self.players: dict[int, Player] = {}
        self.lines: dict[int, list[str]] = {}
        self._conns = iter(range(1, 1_000_000))
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        inbox = await self.bus.subscribe(self.bus.subjects.gateway_events(self.name))
        self._task = asyncio.create_task(self._read(inbox))

    async def stop(self) -> None:
        if self._task is not None:
            assert await cancel_all([self._task], TIMEOUT_S), "the stand-in gateway's reader ends"

    async def _send(self, shard: str, item: ShardInput) -> None:
        await self.bus.publish(self.bus.subjects.shard_inputs(shard), encode_input(item))

    async def heartbeat(self) -> None:
        await self.bus.publish(self.bus.subjects.gateway_alive(self.name), self.name.encode())

    async def open(self, shard: str, account: Account, *, resume: bool = False) -> Player:
        player = Player(next(self._conns), shard)
        self.players[player.conn] = player
        self.lines[player.conn] = []
        await self._send(shard, Open(self.name, player.conn, account, "test", resume))
        return player

    async def line(self, player: Player, text: str) -> None:
        self.lines[player.conn].append(text)
        player.sent += 1
        await self._send(player.shard, Line(self.name, player.conn, player.sent, text))

    async def gone(self, player: Player) -> None:
        await self._send(player.shard, Gone(self.name, player.conn))

    async def _read(self, inbox: busmod.Inbox) -> None:
        while True:
            try:
                message = await inbox.next(1.0)
            except busmod.BusTimeout:
                continue
            outbound = decode_outbound(message.payload)
            for item in outbound.items:
                player = self.players.get(item.conn)
                if player is None:
                    continue
                if isinstance(item, Deliver):
                    for prepared in item.messages:
                        body = orjson.loads(prepared.head + b"0" + prepared.tail)
                        player.messages.append((outbound.shard, prepared.type, body))
                elif isinstance(item, Route):
                    player.routes.append((outbound.shard, item.after_n))
                    player.shard = outbound.shard
                    for n, text in enumerate(
                        self.lines[item.conn][item.after_n :], item.after_n + 1
                    ):
                        await self._send(outbound.shard, Line(self.name, item.conn, n, text))
                elif isinstance(item, Close):
                    player.closed = (item.code, item.reason)
                elif isinstance(item, Refused):
                    player.refused = item.code


@dataclass
class Cluster:
    db: sa.Engine
    url: str
    settings: ClusterConfig
    shards: dict[str, RunningShard]
    bus: busmod.Bus
    gateway: StandInGateway

    async def tick(self) -> None:
        """One tick of every shard, then a turn of the event loop for the bus."""
        for shard in self.shards.values():
            shard.engine.tick()
        await asyncio.sleep(POLL_S)

    async def until(
        self, predicate: Callable[[], bool], what: str, timeout: float = TIMEOUT_S
    ) -> None:
        deadline = time.monotonic() + timeout
        beats = 0
        while not predicate():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:g} s waiting until {what}")
            await self.tick()
            beats += 1
            if beats % 20 == 0:
                await self.gateway.heartbeat()

    async def enter(self, *names: str, role: str = "player", shard: str = "a") -> list[Player]:
        """Players with new accounts called ``names``, opened through ``shard``, once each is
        in the world."""
        players = [await self.gateway.open(shard, self.account(name, role)) for name in names]
        await self.until(
            lambda: all("auth_ok" in player.types() for player in players),
            f"{', '.join(names)} {'is' if len(names) == 1 else 'are'} in",
        )
        return players

    def account(self, name: str, role: str = "player") -> Account:
        """An account in the shared table, as the gateway's login would have found it."""
        account = Account(name, "x", role, datetime.now(UTC))
        return SqlAccountStore(self.db).create(dataclasses.replace(account, role=role))

    def account_now(self, name: str) -> Account:
        """The account as the shared table holds it now (its character once one was made)."""
        found = SqlAccountStore(self.db).get(name)
        assert found is not None
        return found

    def owner(self, sid: int) -> str | None:
        found = ownership.owners_of(self.db, [sid])[sid]
        return None if found is None else found[0]


def free_port() -> int:
    """A TCP port nothing listens on now (for a test's own servers)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def start_shard(
    name: str, url: str, settings: ClusterConfig, tmp_path: Path, overrides: Sequence[str] = ()
) -> RunningShard:
    config = load_config(
        env={},
        overrides=[
            f"world.data_dir={DATA_DIR}",
            f"persist.database_url={url}",
            "persist.flush_interval_s=0.05",
            f"persist.journal_dir={tmp_path / 'journal'}",
            *overrides,
        ],
    )
    config = dataclasses.replace(
        config, cluster=dataclasses.replace(settings, shard=name, http_port=free_port())
    )
    engine = Engine(config)
    engine.build_world()
    persistence = PersistenceService(config)
    persistence.start(engine)
    network = NetworkService(config)
    network.start(engine)
    task = asyncio.create_task(network.run(engine))
    return RunningShard(name, config, engine, persistence, network, task)


async def stop_shard(shard: RunningShard) -> None:
    shard.network.stop(shard.engine)
    shard.engine.tick_pending()
    with contextlib.suppress(Exception):
        await asyncio.wait_for(shard.task, TIMEOUT_S)
    shard.persistence.stop(shard.engine)


@contextlib.asynccontextmanager
async def running_cluster(
    tmp_path: Path,
    zones: Mapping[str, str],
    overrides: Sequence[str] = (),
    *,
    nats_url: str = NATS_URL,
) -> AsyncIterator[Cluster]:
    """Shards named by ``zones``' values, each given its zones, on a fresh database and bus."""
    db, url, schema = open_test_database("postgresql", tmp_path)
    settings = ClusterConfig(
        nats_url=nats_url,
        world=f"t{uuid.uuid4().hex[:12]}",
        connect_timeout_s=2.0,
        heartbeat_s=0.1,
        dead_after_s=1.0,
        handoff_ack_wait_s=2.0,
        zone_map_check_s=0.2,
    )
    try:
        bus = await busmod.connect(settings, name="test")
    except busmod.BusUnavailable as exc:
        if schema is not None:
            drop_test_schema(schema)
        unavailable(str(exc), REQUIRE_NATS_ENV)
    shards: dict[str, RunningShard] = {}
    gateway = StandInGateway(bus)
    try:
        ownership.ensure_ownership_tables(db)
        for zone, owner in zones.items():
            ownership.assign_zone(db, zone, owner)
        for name in dict.fromkeys(zones.values()):
            shards[name] = await start_shard(name, url, settings, tmp_path / name, overrides)
        await gateway.start()
        cluster = Cluster(db, url, settings, shards, bus, gateway)
        await cluster.until(
            lambda: all(s.server.ready for s in shards.values()), "every shard is ready"
        )
        yield cluster
    finally:
        await gateway.stop()
        for running in shards.values():
            await stop_shard(running)
        with contextlib.suppress(Exception):
            await bus.delete_handoff_stream()
        await bus.close()
        db.dispose()
        if schema is not None:
            drop_test_schema(schema)


class PrivateBroker:
    """A NATS server of the test's own (JetStream, its store in the test's folder), to stop and
    start again; the machine's shared one is never touched."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "nats-server",
                "-a",
                "127.0.0.1",
                "-p",
                str(self.port),
                "-js",
                "-sd",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + TIMEOUT_S
        while time.monotonic() < deadline:
            with (
                contextlib.suppress(OSError),
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2),
            ):
                return
            time.sleep(0.05)
        raise AssertionError(f"nats-server did not listen on {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(TIMEOUT_S)
            self.process = None
