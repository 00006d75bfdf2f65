"""Every limit of the network shell, against a real server: frame size, command rate, slow readers,
idle connections and heartbeats.

Timing: limits on time (idle timeout, grace period) are judged by the server on the world's clock,
which follows the tick loop; the tests wait for their effects with generous bounds and never
assert how fast anything happened.
"""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path

import pytest
from websockets.asyncio.server import ServerConnection

from components.content import Directory
from components.place import Location
from engine.config import ConfigError
from net.protocol import BYE_REASONS, MAX_FRAME_BYTES
from net.server import WsLink
from tests.net.harness import (
    Client,
    LiveServer,
    async_test,
    live_server,
    make_config,
    wait_until,
)

PASSWORD = "correct-horse"


def link_of(server: LiveServer, client: Client) -> WsLink:
    link = server.session_of(client).link
    assert isinstance(link, WsLink)
    return link


def room_key(server: LiveServer, client: Client) -> str:
    """The content key of the room ``client``'s character stands in."""
    world = server.engine.world
    holder = world.get(server.entity_of(client), Location).holder
    rooms = world.resource(Directory).rooms
    return next(key for key, entity in rooms.items() if world.stable_id(entity) == holder)


# ---------------------------------------------------------------------------- frame size


@async_test
async def test_a_frame_over_the_size_limit_closes_the_connection_with_1009(tmp_path: Path) -> None:
    async with live_server(tmp_path, "net.max_frame_bytes=1024") as server:
        client = await server.player("Armitage")
        entity = server.entity_of(client)
        # Two-byte characters fill the frame while the command stays under 1,000 characters.
        await client.send_text("say " + "é" * 510)  # 1,024 bytes: the limit itself is fine
        await client.expect("say")
        await client.send_text("say x" + "é" * 510)  # 1,025 bytes
        assert await client.closed() == 1009
        # A dropped connection like any other: the character is link-dead, not gone.
        await wait_until(lambda: entity in server.hub.linkdead, "Armitage is link-dead")
        other = await server.player("Carter")
        await other.cmd("look")
        await other.expect("room")


@async_test
async def test_a_binary_frame_over_the_size_limit_closes_the_connection_too(
    tmp_path: Path,
) -> None:
    async with live_server(tmp_path) as server:
        client = await server.connect()
        await client.send_bytes(b"x" * (MAX_FRAME_BYTES + 1))
        assert await client.closed() == 1009


@async_test
async def test_the_welcome_announces_the_configured_frame_limit(tmp_path: Path) -> None:
    async with live_server(tmp_path, "net.max_frame_bytes=1024") as server:
        client = await server.connect(welcome=False)
        welcome = await client.recv()
        assert welcome.data["limits"]["frame_bytes"] == 1024


def test_the_frame_limit_may_be_lowered_but_not_raised_past_the_protocols_4_kib(
    tmp_path: Path,
) -> None:
    assert make_config(tmp_path, ["net.max_frame_bytes=4096"]).net.max_frame_bytes == 4096
    with pytest.raises(ConfigError, match=r"net\.max_frame_bytes"):
        make_config(tmp_path, ["net.max_frame_bytes=4097"])


# ---------------------------------------------------------------------------- command rate


@async_test
async def test_commands_over_the_burst_are_refused_and_never_executed(tmp_path: Path) -> None:
    # A burst of 3 and a refill so slow that no token comes back during the test.
    async with live_server(tmp_path, "net.command_burst=3", "net.commands_per_s=0.01") as server:
        client = await server.player("Armitage")
        # east, west, east are allowed; the two wests after them are over the limit. Had they
        # run, the character would be back in the ward.
        for direction in ("east", "west", "east", "west", "west"):
            await client.cmd(direction)
        answered = await client.round_trip()  # refusals come at once, rooms with a tick
        refused = [m for m in answered if m.type == "error"]
        assert [m.data["code"] for m in refused] == ["rate_limited"] * 2
        assert "That one was dropped." in refused[0].text
        rooms = [m.data["id"] for m in answered if m.type == "room"]
        while len(rooms) < 3:
            rooms.append((await client.expect("room")).data["id"])
        assert rooms == ["sanitarium.corridor", "sanitarium.ward", "sanitarium.corridor"]
        await server.wait_ticks(5)
        assert room_key(server, client) == "sanitarium.corridor"
        assert [m for m in await client.round_trip() if m.type in ("room", "error")] == []


@async_test
async def test_the_command_rate_refills_over_time(tmp_path: Path) -> None:
    async with live_server(tmp_path, "net.command_burst=1", "net.commands_per_s=5") as server:
        client = await server.player("Armitage")
        await client.cmd("look")
        await client.cmd("look")
        errors = [m for m in await client.round_trip() if m.type == "error"]
        assert [m.data["code"] for m in errors] == ["rate_limited"]
        await asyncio.sleep(0.5)  # at 5 a second, at least one token is back (waiting longer is ok)
        await client.cmd("look")
        assert [m for m in await client.round_trip() if m.type == "error"] == []


@async_test
async def test_the_rate_limit_is_per_connection(tmp_path: Path) -> None:
    async with live_server(tmp_path, "net.command_burst=2", "net.commands_per_s=0.01") as server:
        armitage = await server.player("Armitage")
        carter = await server.player("Carter")
        for _ in range(3):
            await armitage.cmd("look")
        assert [m.data["code"] for m in await armitage.round_trip() if m.type == "error"] == [
            "rate_limited"
        ]
        await carter.cmd("look")
        await carter.cmd("look")
        assert [m for m in await carter.round_trip() if m.type == "error"] == []


# ---------------------------------------------------------------------------- slow readers

#: The slow reader's test: the speaker may talk as fast as the test wants.
SLOW_READER_SETTINGS = (
    "net.commands_per_s=1000",
    "net.command_burst=1000",
    "net.outbound_max_messages=200",
    "net.outbound_max_bytes=65536",
)
#: Says per tick: about 1 KiB each, so a tick sends a reader far less than its 64 KiB bound.
SAYS_PER_ROUND = 10


async def never_reading_client(server: LiveServer) -> Client:
    """A logged-in websockets client that the test never reads from: the library stops reading
    from the socket once one message waits (``max_queue=1``), so once the kernel buffers between
    the two ends are full, the server's sends stall.

    The server's send buffer for this one connection is shrunk (Linux autotunes it up to several
    MiB on loopback), so the stall shows after about a hundred kilobytes instead of megabytes.
    The client's receive buffer is left alone: a tiny one makes loopback TCP crawl (delayed
    acknowledgements) when the client does read, at the end of the test.
    """
    client = await server.connect("stalled", max_queue=1)
    await client.register("Armitage", PASSWORD)
    ws = link_of(server, client).ws
    ws.transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
    return client


async def talk_until_cut_off(server: LiveServer, speaker: Client, link: WsLink) -> int:
    """The speaker says long lines, a round per tick, reading its own echoes, until the
    listener's link gives up on it; returns how many lines were said."""
    said = 0
    for _ in range(1000):
        for _ in range(SAYS_PER_ROUND):
            said += 1
            await speaker.cmd(f"say {said:05d} " + "x" * 900)
        for _ in range(SAYS_PER_ROUND):
            await speaker.expect("say")
        if link.overflowed:
            return said
    raise AssertionError("the stalled reader was never cut off")


@async_test
async def test_a_client_that_stops_reading_is_cut_off_and_the_world_carries_on(
    tmp_path: Path,
) -> None:
    async with live_server(tmp_path, *SLOW_READER_SETTINGS) as server:
        stalled = await never_reading_client(server)
        entity = server.entity_of(stalled)
        speaker = await server.player("Carter")
        link = link_of(server, stalled)

        said = await talk_until_cut_off(server, speaker, link)
        assert said > SAYS_PER_ROUND  # it took a stall, not one tick's burst

        # The world goes on: ticks advance, the speaker is still served.
        await server.wait_ticks(10)
        await speaker.cmd("look")
        await speaker.expect("room")
        assert server.session_of(speaker).link is not link

        # The stalled client, when it finally reads, finds the connection closed with 1008.
        assert await stalled.closed() == 1008
        assert stalled.ws.close_reason == "not reading"
        # It did not get everything: what did not fit was dropped, not kept.
        assert len([m for m in stalled.received if m.type == "say"]) < said
        await wait_until(lambda: entity in server.hub.linkdead, "Armitage is link-dead")
        assert server.engine.world.has(entity, Location)  # link-dead, in the world, resumable
        back = await server.connect()
        assert stalled.token is not None
        assert (await back.resume(stalled.token)).data["resumed"] is True


@async_test
async def test_a_client_cut_off_for_not_reading_has_no_more_commands_executed(
    tmp_path: Path,
) -> None:
    async with live_server(tmp_path, *SLOW_READER_SETTINGS) as server:
        stalled = await never_reading_client(server)
        entity = server.entity_of(stalled)
        speaker = await server.player("Carter")
        await talk_until_cut_off(server, speaker, link_of(server, stalled))

        await stalled.cmd("east")  # sent after the cut-off
        await stalled.closed()  # its close comes after the command on the wire
        await wait_until(lambda: entity in server.hub.linkdead, "Armitage is link-dead")
        await server.wait_ticks(5)
        assert room_key(server, stalled) == "sanitarium.ward"


@async_test
async def test_a_reading_client_is_not_cut_off_by_one_busy_tick(tmp_path: Path) -> None:
    async with live_server(tmp_path, "net.outbound_max_messages=10") as server:
        listener = await server.player("Armitage")
        speaker = await server.player("Carter")
        await listener.expect_msg("arrive")
        # Fifteen lines in the inbox at once (queued between two ticks): one tick says them all.
        for line in range(15):
            server.engine.submit_line(server.entity_of(speaker), f"say line {line}")
        for line in range(15):
            heard = await listener.expect("say")
            assert heard.data["text"] == f"line {line}"


# ---------------------------------------------------------------------------- idle, heartbeat


@async_test
async def test_an_idle_connection_gets_bye_idle_and_is_closed(tmp_path: Path) -> None:
    async with live_server(tmp_path, "net.idle_timeout_s=1.5") as server:
        player = await server.player("Armitage")
        entity = server.entity_of(player)
        anonymous = await server.connect()
        for client in (player, anonymous):
            bye = await client.expect("bye")
            assert bye.data["reason"] == "idle"
            assert bye.text == BYE_REASONS["idle"]
            assert await client.closed() == 1000
        # An idle player's character is link-dead like any dropped one.
        await wait_until(lambda: entity in server.hub.linkdead, "Armitage is link-dead")


@async_test
async def test_any_frame_counts_as_activity(tmp_path: Path) -> None:
    async with live_server(tmp_path, "net.idle_timeout_s=1.5") as server:
        client = await server.player("Armitage")
        start = server.tick
        rate = server.config.engine.tick_rate_hz
        # Two idle timeouts of world time pass while the client pings five times a second.
        while server.tick < start + 3 * rate:
            assert "bye" not in [m.type for m in await client.round_trip()], client.received
            await asyncio.sleep(0.2)
        bye = await client.expect("bye")  # then it stops, and the timeout applies
        assert bye.data["reason"] == "idle"


@async_test
async def test_a_connection_that_answers_heartbeat_pings_is_kept_until_the_idle_timeout(
    tmp_path: Path,
) -> None:
    """The server pings every ``net.ping_interval_s``; the websockets client answers by itself
    (the test never reads or sends). The connection survives several ping intervals, and is then
    closed by the idle timeout (bye idle, 1000): pings keep a connection alive, not active.

    The interval is not made tiny: the server waits as long for a pong as between pings, and the
    client answers on the same busy event loop as the server, on a possibly busy machine."""
    settings = ("net.ping_interval_s=1", "net.idle_timeout_s=3.5")
    async with live_server(tmp_path, *settings) as server:
        client = await server.player("Armitage")
        ws = link_of(server, client).ws
        await wait_until(lambda: ws.latency > 0, "a heartbeat ping was answered")
        bye = await client.expect("bye")
        assert bye.data["reason"] == "idle"
        assert await client.closed() == 1000


@async_test
async def test_a_client_that_stops_answering_pings_is_dropped_and_goes_link_dead(
    tmp_path: Path,
) -> None:
    """A client that stops answering pings (its host froze, a NAT forgot it): websockets' own
    keepalive fails the connection (close code 1011, "keepalive ping timeout") once no pong has
    come ``ping_timeout`` (here the same as ``net.ping_interval_s``) after a ping, and the
    character goes link-dead, resumable within the grace period.

    Failing the connection still sends a close frame and waits up to websockets'
    ``close_timeout`` (10 s by default; the server does not change it) for the TCP connection to
    end, which a frozen client never does; this test shortens it on the one connection.
    """
    async with live_server(tmp_path, "net.ping_interval_s=0.3") as server:
        client = await server.player("Armitage")
        entity = server.entity_of(client)
        ws: ServerConnection = link_of(server, client).ws
        ws.close_timeout = 0.5
        client.ws.transport.pause_reading()  # frozen: nothing is read, so no pong is sent
        await wait_until(lambda: entity in server.hub.linkdead, "Armitage is link-dead")
        assert ws.protocol.close_sent is not None
        assert ws.protocol.close_sent.code == 1011
        assert server.engine.world.has(entity, Location)
        client.ws.transport.abort()  # the frozen client would never finish its own close
