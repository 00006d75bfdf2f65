"""The cluster's gateway against a real NATS server and a SQLite database: players connect to it,
and fake shards (played by the test, speaking net.cluster_wire on the bus) hold their characters.

The rules: a login opens the character on the shard that owns it, else on the start shard; lines
are numbered 1, 2, ... per connection and reach the shard in order; the gateway numbers every
message the shards send, so seq runs on across a hand-off, and a hand-off replays the lines the
new shard has not seen; a shard may close or refuse a connection; a silent shard pauses its
players and a restarted one opens them again; a signed token resumes on any gateway; nothing
malformed on the bus crashes the gateway.

Needs NATS (``NATS_TEST_URL``, default nats://127.0.0.1:4222): skipped without it unless
``REQUIRE_NATS_TESTS=1``. Every wait is for a message or a state, bounded by a timeout that only a
broken gateway reaches; short heartbeat settings make pauses quick, never a timing assertion.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import os
import socket
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import orjson
import pytest
from websockets.asyncio.client import connect

from engine.cli import main as cli_main
from engine.config import ClusterConfig, Config, NetConfig, PersistConfig
from net.cluster_wire import (
    Alive,
    Close,
    Deliver,
    Gone,
    Line,
    Open,
    OutboundItem,
    Refused,
    Route,
    ShardInput,
    decode_input,
    encode_alive,
    encode_outbound,
)
from net.protocol import (
    ServerMessage,
    auth_ok_message,
    bye_message,
    parse_server_frames,
    prepare,
)
from net.tokens import mint
from persist.accounts import SqlAccountStore
from persist.database import open_database
from persist.ownership import claim
from tests.net.harness import CHEAP_PARAMS, Client, async_test, wait_until
from tests.services import unavailable

try:
    from net import bus
    from net.gateway import PAUSED_CODE, RESUMED_EVENT, Gateway, open_gateway

    HAVE_NATS_PY = True
except ImportError:  # pragma: no cover - depends on the installed extras
    HAVE_NATS_PY = False

NATS_URL_ENV = "NATS_TEST_URL"
REQUIRE_NATS_ENV = "REQUIRE_NATS_TESTS"
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
TIMEOUT_S = 10.0
"""Bound on any wait: reached only when something is broken."""
HEARTBEAT_S = 0.05
DEAD_AFTER_S = 0.4
PASSWORD = "correct horse"

_T = TypeVar("_T")


def _missing(reason: str) -> NoReturn:
    unavailable(reason, REQUIRE_NATS_ENV)


async def _probe(settings: ClusterConfig) -> None:
    async with await bus.connect(settings, name="probe"):
        pass


@pytest.fixture
def config(tmp_path: Path) -> Config:
    """A world of this test's own on the test NATS server, with its accounts in a SQLite file."""
    if not HAVE_NATS_PY:
        _missing("nats-py is not installed: pip install -e '.[cluster]'")
    cluster = ClusterConfig(
        nats_url=os.environ.get(NATS_URL_ENV, DEFAULT_NATS_URL),
        world=f"t{uuid.uuid4().hex[:12]}",
        connect_timeout_s=2.0,
        heartbeat_s=HEARTBEAT_S,
        dead_after_s=DEAD_AFTER_S,
        replay_lines=8,
    )
    try:
        async_test(_probe)(cluster)
    except bus.BusUnavailable as exc:
        _missing(f"no NATS server for the gateway tests ({NATS_URL_ENV}): {exc}")
    return Config(
        persist=PersistConfig(database_url=f"sqlite:///{tmp_path / 'world.db'}"),
        net=NetConfig(port=0),
        cluster=cluster,
    )


# --------------------------------------------------------------------------- the fake shard


class FakeShard:
    """A shard played by the test: it reads its inbox, says it is alive every heartbeat (as the
    run it is told), and sends gateways what the test gives it."""

    def __init__(self, config: Config, name: str, *, start: bool = False, run: str = "run-1"):
        self.cluster = config.cluster
        self.name = name
        self.start = start
        self.run = run
        self._bus: bus.Bus | None = None
        self._inbox: bus.Inbox | None = None
        self._beating: asyncio.Task[None] | None = None

    async def __aenter__(self) -> FakeShard:
        self._bus = await bus.connect(self.cluster, name=f"fake-{self.name}")
        self._inbox = await self._bus.subscribe(self._bus.subjects.shard_inputs(self.name))
        self.beat()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.silence()
        assert self._bus is not None and self._inbox is not None
        await self._inbox.close()  # what the test did not read would hold up the drain
        await self._bus.close()

    def beat(self, run: str | None = None) -> None:
        """Start saying it is alive (as ``run``, a restart, if given)."""
        self.silence()
        if run is not None:
            self.run = run
        self._beating = asyncio.create_task(self._beat())

    def silence(self) -> None:
        """Stop saying it is alive, as a hung or dead shard."""
        if self._beating is not None:
            self._beating.cancel()
            self._beating = None

    async def _beat(self) -> None:
        assert self._bus is not None
        subject = self._bus.subjects.shard_alive(self.name)
        while True:
            alive = Alive(self.name, self.run, (f"{self.name}-zone",), True, self.start)
            await self._bus.publish(subject, encode_alive(alive))
            await asyncio.sleep(HEARTBEAT_S)

    async def next_input(self) -> ShardInput:
        assert self._inbox is not None
        return decode_input((await self._inbox.next(TIMEOUT_S)).payload)

    async def expect(self, kind: type[_T]) -> _T:
        message = await self.next_input()
        assert isinstance(message, kind), f"shard {self.name} got {message!r}, not a {kind}"
        return message

    async def send(self, gateway: str, *items: OutboundItem) -> None:
        assert self._bus is not None
        subject = self._bus.subjects.gateway_events(gateway)
        await self._bus.publish(subject, encode_outbound(self.name, items))

    async def publish_raw(self, subject: str, payload: bytes) -> None:
        assert self._bus is not None
        await self._bus.publish(subject, payload)


def say(text: str, tick: int = 7) -> Deliver:
    """Placeholder for a Deliver; the connection is filled in by ``to``."""
    return Deliver(0, (prepare("msg", {"event": "say"}, text, tick=tick),))


def saying(text: str) -> Callable[[ServerMessage], bool]:
    """A predicate: the message says ``text``."""
    return lambda message: message.text == text


def to(conn: int, item: Deliver) -> Deliver:
    return dataclasses.replace(item, conn=conn)


# --------------------------------------------------------------------------- helpers


@contextlib.asynccontextmanager
async def running(config: Config, name: str) -> AsyncIterator[Gateway]:
    gateway = await open_gateway(config, name, params=CHEAP_PARAMS)
    try:
        yield gateway
    finally:
        await gateway.stop()


@contextlib.asynccontextmanager
async def player(gateway: Gateway) -> AsyncIterator[Client]:
    ws = await connect(f"ws://127.0.0.1:{gateway.port}/")
    client = Client(ws)
    try:
        welcome = await client.recv(TIMEOUT_S)
        assert welcome.type == "welcome"
        yield client
    finally:
        await client.close()


async def knows(gateway: Gateway, *shards: str) -> None:
    """Wait until ``gateway`` has heard each shard and counts it up."""
    await wait_until(
        lambda: all(s in gateway.shards and gateway.shards[s].up for s in shards),
        f"{gateway.name} knows {shards} are up",
        TIMEOUT_S,
    )


async def register(client: Client, shard: FakeShard, name: str = "Armitage") -> Open:
    """Register ``name``; the shard gets the Open and answers auth_ok, as a real one would."""
    await client.send_json({"type": "register", "name": name, "password": PASSWORD})
    opened = await shard.expect(Open)
    ok = auth_ok_message(name, 1001, "token", tick=3)
    await shard.send(opened.gateway, Deliver(opened.conn, (ok,)))
    assert (await client.recv(TIMEOUT_S)).type == "auth_ok"
    return opened


async def lines(shard: FakeShard, count: int) -> list[Line]:
    return [await shard.expect(Line) for _ in range(count)]


def numbered(found: Iterable[Line]) -> list[tuple[int, str]]:
    return [(line.n, line.text) for line in found]


# --------------------------------------------------------------------------- login and lines


@async_test
async def test_a_new_character_opens_on_the_start_shard_and_its_lines_follow_numbered(
    config: Config,
) -> None:
    async with (
        FakeShard(config, "north", start=True) as start,
        FakeShard(config, "south"),
        running(config, "gw1") as gateway,
    ):
        await knows(gateway, "north", "south")
        async with player(gateway) as client:
            opened = await register(client, start)
            assert await client.round_trip() == []  # a ping is answered by the gateway itself
            assert (opened.gateway, opened.account.name, opened.resume) == (
                "gw1",
                "Armitage",
                False,
            )
            for text in ("look", "north", "say hello"):
                await client.cmd(text)
            found = await lines(start, 3)
            assert numbered(found) == [(1, "look"), (2, "north"), (3, "say hello")]
            assert {line.conn for line in found} == {opened.conn}
        assert await start.expect(Gone) == Gone("gw1", opened.conn)


@async_test
async def test_a_character_a_shard_owns_opens_on_that_shard(config: Config) -> None:
    async with (
        FakeShard(config, "north", start=True) as start,
        FakeShard(config, "south") as owner,
        running(config, "gw1") as gateway,
    ):
        await knows(gateway, "north", "south")
        async with player(gateway) as client:
            await register(client, start)
        await start.expect(Gone)
        db = open_database(config.persist.database_url)
        try:
            store = SqlAccountStore(db)
            account = store.get("Armitage")
            assert account is not None
            store.update(dataclasses.replace(account, character_sid=4242))
            claim(db, [4242], "south")
        finally:
            db.dispose()
        async with player(gateway) as client:
            await client.send_json({"type": "login", "name": "Armitage", "password": PASSWORD})
            opened = await owner.expect(Open)
            assert opened.account.character_sid == 4242


@async_test
async def test_a_login_with_no_shard_to_go_to_is_refused_as_unavailable(config: Config) -> None:
    async with running(config, "gw1") as gateway, player(gateway) as client:
        reply = await client.auth({"type": "register", "name": "Armitage", "password": PASSWORD})
        assert (reply.type, reply.data["code"]) == ("auth_error", "unavailable")
        await client.cmd("look")
        assert (await client.expect_error("not_authenticated")).type == "error"


@async_test
async def test_lines_past_the_burst_are_refused_as_rate_limited_and_not_forwarded(
    config: Config,
) -> None:
    config = dataclasses.replace(
        config, net=NetConfig(port=0, commands_per_s=0.01, command_burst=2)
    )
    async with (
        FakeShard(config, "north", start=True) as start,
        running(config, "gw1") as gateway,
    ):
        await knows(gateway, "north")
        async with player(gateway) as client:
            await register(client, start)
            for text in ("one", "two", "three"):
                await client.cmd(text)
            await client.expect_error("rate_limited")
            assert numbered(await lines(start, 2)) == [(1, "one"), (2, "two")]


# --------------------------------------------------------------------------- what shards send


@async_test
async def test_the_gateway_numbers_shard_messages_and_seq_runs_on_across_a_hand_off(
    config: Config,
) -> None:
    async with (
        FakeShard(config, "north", start=True) as north,
        FakeShard(config, "south") as south,
        running(config, "gw1") as gateway,
    ):
        await knows(gateway, "north", "south")
        async with player(gateway) as client:
            conn = (await register(client, north)).conn
            await north.send("gw1", to(conn, say("one")), to(conn, say("two")))
            assert [(await client.recv()).text for _ in range(2)] == ["one", "two"]
            for text in ("l1", "l2", "l3", "l4"):
                await client.cmd(text)
            assert [line.n for line in await lines(north, 4)] == [1, 2, 3, 4]
            # North consumed lines 1 and 2 before the hand-off; south takes the rest again.
            await south.send("gw1", Route(conn, 2), to(conn, say("you arrive south")))
            assert numbered(await lines(south, 2)) == [(3, "l3"), (4, "l4")]
            arrived = await client.recv()
            assert (arrived.text, arrived.seq) == ("you arrive south", 5)  # welcome, auth_ok, 2
            await client.cmd("l5")
            assert numbered(await lines(south, 1)) == [(5, "l5")]
            await south.send("gw1", to(conn, say("still counting")))
            assert (await client.recv()).seq == 6
        assert await south.expect(Gone) == Gone("gw1", conn)


@async_test
async def test_a_client_speaking_version_2_gets_one_delivery_as_one_batched_frame(
    config: Config,
) -> None:
    async with (
        FakeShard(config, "north", start=True) as north,
        running(config, "gw1") as gateway,
    ):
        await knows(gateway, "north")
        async with player(gateway) as client:
            conn = (await register(client, north)).conn
            await client.send_json({"type": "protocol", "version": 2})
            assert (await client.recv()).type == "protocol"
            messages = tuple(prepare("msg", {}, f"line {i}", tick=9) for i in range(3))
            await north.send("gw1", Deliver(conn, messages))
            frame = await asyncio.wait_for(client.ws.recv(), TIMEOUT_S)
            batch = parse_server_frames(frame)
            assert [(m.seq, m.text, m.tick) for m in batch] == [
                (4, "line 0", 9),
                (5, "line 1", 9),
                (6, "line 2", 9),
            ]


@async_test
async def test_a_close_from_the_shard_closes_the_websocket_after_what_was_delivered(
    config: Config,
) -> None:
    async with (
        FakeShard(config, "north", start=True) as north,
        running(config, "gw1") as gateway,
    ):
        await knows(gateway, "north")
        async with player(gateway) as client:
            conn = (await register(client, north)).conn
            bye = Deliver(conn, (bye_message("quit", tick=12),))
            await north.send("gw1", bye, Close(conn, 1000, "quit"))
            assert (await client.recv()).type == "bye"
            assert await client.closed(TIMEOUT_S) == 1000
        assert await north.expect(Gone) == Gone("gw1", conn)


@async_test
async def test_a_refusal_is_an_auth_error_and_leaves_the_connection_logged_out(
    config: Config,
) -> None:
    async with (
        FakeShard(config, "north", start=True) as north,
        running(config, "gw1") as gateway,
    ):
        await knows(gateway, "north")
        async with player(gateway) as client:
            await client.send_json({"type": "register", "name": "Armitage", "password": PASSWORD})
            opened = await north.expect(Open)
            text = "That character is no longer in the world; log in."
            await north.send("gw1", Refused(opened.conn, "bad_token", text))
            refused = await client.expect_auth_error("bad_token")
            assert refused.text == text
            await client.cmd("look")
            await client.expect_error("not_authenticated")


@async_test
async def test_close_and_refusal_from_a_shard_that_does_not_hold_the_player_are_ignored(
    config: Config,
) -> None:
    async with (
        FakeShard(config, "north", start=True) as north,
        FakeShard(config, "south") as south,
        running(config, "gw1") as gateway,
    ):
        await knows(gateway, "north", "south")
        async with player(gateway) as client:
            conn = (await register(client, north)).conn
            # South's word comes in one batch: had the close or the refusal counted, the
            # delivery after them would never reach the player, or an auth_error would first.
            stale = (Close(conn, 1000, "stale"), Refused(conn, "bad_token", "x"))
            await south.send("gw1", *stale, to(conn, say("still here")))
            assert (await client.recv()).text == "still here"
            await client.cmd("look")
            assert numbered(await lines(north, 1)) == [(1, "look")]


@async_test
async def test_an_idle_player_is_told_goodbye_and_its_shard_that_it_is_gone(
    config: Config,
) -> None:
    config = dataclasses.replace(config, net=NetConfig(port=0, idle_timeout_s=1.0))
    async with (
        FakeShard(config, "north", start=True) as north,
        running(config, "gw1") as gateway,
    ):
        await knows(gateway, "north")
        async with player(gateway) as client:
            conn = (await register(client, north)).conn
            bye = await client.expect("bye")
            assert bye.data["reason"] == "idle"
            assert await client.closed(TIMEOUT_S) == 1000
        assert await north.expect(Gone) == Gone("gw1", conn)


@async_test
async def test_a_client_that_stops_reading_is_cut_off_and_its_shard_told_it_is_gone(
    config: Config,
) -> None:
    net = NetConfig(port=0, outbound_max_messages=50, outbound_max_bytes=64 * 1024)
    config = dataclasses.replace(config, net=net)
    async with (
        FakeShard(config, "north", start=True) as north,
        running(config, "gw1") as gateway,
    ):
        await knows(gateway, "north")
        # The library stops reading the socket once one message waits (max_queue=1); the
        # gateway's send buffer for it is shrunk so that the stall shows after kilobytes.
        stalled = Client(await connect(f"ws://127.0.0.1:{gateway.port}/", max_queue=1))
        assert (await stalled.recv(TIMEOUT_S)).type == "welcome"
        quiet = await register(stalled, north)
        link = gateway.connections[quiet.conn].link
        link.ws.transport.get_extra_info("socket").setsockopt(
            socket.SOL_SOCKET, socket.SO_SNDBUF, 4096
        )
        async with player(gateway) as reader:
            other = await register(reader, north, "Carter")
            for n in range(500):
                long = tuple(prepare("msg", {"event": "say"}, "x" * 900, tick=n) for _ in range(20))
                await north.send("gw1", Deliver(quiet.conn, long))
                await north.send("gw1", to(other.conn, say(f"round {n}")))
                await reader.expect("msg", saying(f"round {n}"))
                if link.overflowed:
                    break
            assert link.overflowed, "the client that stopped reading was never cut off"
            assert n > 0  # it took a stall, not one burst
            assert await north.expect(Gone) == Gone("gw1", quiet.conn)
            await north.send("gw1", to(other.conn, say("still here")))
            assert (await reader.expect("msg", saying("still here"))).text == "still here"
        assert await stalled.closed() == 1008
        assert stalled.ws.close_reason == "not reading"


# --------------------------------------------------------------------------- liveness


@async_test
async def test_a_silent_shard_pauses_its_players_and_the_same_run_back_only_resumes(
    config: Config,
) -> None:
    async with (
        FakeShard(config, "north", start=True) as north,
        running(config, "gw1") as gateway,
    ):
        await knows(gateway, "north")
        async with player(gateway) as client:
            await register(client, north)
            await client.cmd("one")
            assert numbered(await lines(north, 1)) == [(1, "one")]
            north.silence()
            told = await client.expect_error(PAUSED_CODE)
            assert "paused" in told.text
            await client.cmd("lost")
            await client.expect_error(PAUSED_CODE)
            north.beat()  # the same run: it was only slow
            await client.expect_msg(RESUMED_EVENT)
            await client.cmd("two")
            assert numbered(await lines(north, 1)) == [(2, "two")]  # the paused line was dropped


@async_test
async def test_a_shard_back_as_a_new_run_gets_its_players_opened_again(config: Config) -> None:
    async with (
        FakeShard(config, "north", start=True) as north,
        running(config, "gw1") as gateway,
    ):
        await knows(gateway, "north")
        async with player(gateway) as client:
            first = await register(client, north)
            north.silence()
            await client.expect_error(PAUSED_CODE)
            north.beat(run="run-2")
            again = await north.expect(Open)
            assert (again.conn, again.account.name, again.resume) == (first.conn, "Armitage", False)
            await client.expect_msg(RESUMED_EVENT)
            await client.cmd("look")
            assert [line.text for line in await lines(north, 1)] == ["look"]


# --------------------------------------------------------------------------- resume tokens


@async_test
async def test_a_signed_token_resumes_on_another_gateway(config: Config) -> None:
    async with (
        FakeShard(config, "north", start=True) as north,
        running(config, "gw1") as first,
        running(config, "gw2") as second,
    ):
        await knows(first, "north")
        await knows(second, "north")
        async with player(first) as client:
            await register(client, north)
        await north.expect(Gone)
        token = mint(first.secret, "Armitage", time.time(), 60.0)
        async with player(second) as client:
            await client.send_json({"type": "resume", "token": token})
            opened = await north.expect(Open)
            assert (opened.gateway, opened.account.name, opened.resume) == ("gw2", "Armitage", True)
        async with player(second) as client:
            forged = mint(b"not the world's secret!!", "Armitage", time.time(), 60.0)
            expired = mint(first.secret, "Armitage", time.time() - 120.0, 60.0)
            for bad in (forged, expired, "nonsense"):
                reply = await client.auth({"type": "resume", "token": bad})
                assert (reply.type, reply.data["code"]) == ("auth_error", "bad_token")


# --------------------------------------------------------------------------- bad input


@async_test
async def test_malformed_bus_messages_are_dropped_and_the_gateway_goes_on(config: Config) -> None:
    async with (
        FakeShard(config, "north", start=True) as north,
        running(config, "gw1") as gateway,
    ):
        await knows(gateway, "north")
        subjects = bus.Subjects(config.cluster.world)
        garbage: list[tuple[str, bytes]] = [
            (subjects.gateway_events("gw1"), b"not ours"),
            (subjects.gateway_events("gw1"), b"K1\x00\x00\x00\x05north\x09"),  # cut short
            (subjects.shard_alive("north"), b"{]"),
            (
                subjects.shard_alive("north"),
                orjson.dumps({"shard": "a.b", "run": "r", "zones": [], "ready": True}),
            ),
        ]
        async with player(gateway) as client:
            conn = (await register(client, north)).conn
            for subject, payload in garbage:
                await north.publish_raw(subject, payload)
            await wait_until(
                lambda: gateway.bad_bus_messages >= len(garbage), "the garbage is dropped"
            )
            await north.send("gw1", to(conn, say("after the garbage")))
            assert (await client.recv()).text == "after the garbage"
            health = await _healthz(gateway)
            assert health["gateway"] == "gw1" and health["players"] == 1
            assert health["shards"]["north"]["up"] is True
            assert health["bad_bus_messages"] >= len(garbage)


async def _healthz(gateway: Gateway) -> dict[str, Any]:
    reader, writer = await asyncio.open_connection("127.0.0.1", gateway.port)
    writer.write(b"GET /healthz HTTP/1.1\r\nHost: test\r\n\r\n")
    raw = await asyncio.wait_for(reader.read(), TIMEOUT_S)
    writer.close()
    head, _, body = raw.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200"), head
    found: dict[str, Any] = orjson.loads(body)
    return found


# --------------------------------------------------------------------------- the command


def test_kadath_gateway_refuses_a_name_that_is_no_bus_subject_token(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert cli_main(["gateway", "--name", "gw.1"]) == 2
    assert "bad --name 'gw.1'" in capsys.readouterr().err


def test_kadath_gateway_exits_2_in_one_line_when_nats_does_not_answer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not HAVE_NATS_PY:
        _missing("nats-py is not installed: pip install -e '.[cluster]'")
    status = cli_main(
        [
            "gateway",
            "--db",
            f"sqlite:///{tmp_path / 'world.db'}",
            "--port",
            "0",
            "--set",
            "cluster.nats_url=nats://127.0.0.1:1",
            "--set",
            "cluster.connect_timeout_s=1",
        ]
    )
    err = capsys.readouterr().err.strip()
    assert status == 2
    assert err.startswith("kadath gateway: cannot start: cannot reach NATS at nats://127.0.0.1:1")
    assert len(err.splitlines()) == 1
