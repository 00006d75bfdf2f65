"""A gateway killed (SIGKILL: no goodbye) and its player resuming on another gateway, with the
token the first gave: real processes (two shards, two gateways) on real NATS and PostgreSQL.

The player carries something and stands in a room of the second shard; after the kill, the
resume on the other gateway finds the same character where it stood, with what it carried, and
its commands are answered there. The old connection is gone with its gateway."""

from __future__ import annotations

import time
from pathlib import Path

from websockets.asyncio.client import connect

from net.protocol import ServerMessage
from tests.net.chaos_cluster import free_port, process_cluster
from tests.net.harness import TIMEOUT_S, Client, async_test

ZONES = {"sanitarium": "a", "arkham": "a", "graveyard": "a", "innsmouth": "b", "deep": "b"}
SETTINGS = ["cluster.heartbeat_s=0.1", "cluster.dead_after_s=1.0", "persist.flush_interval_s=0.2"]
PASSWORD = "sesame123"


async def _client(port: int) -> Client:
    client = Client(await connect(f"ws://127.0.0.1:{port}/", open_timeout=20))
    await client.expect("welcome")
    return client


async def _answer(client: Client, command: str) -> list[ServerMessage]:
    await client.cmd(command)
    return await client.sync()


async def _room(client: Client) -> str:
    views = [m for m in await _answer(client, "look") if m.type == "room"]
    assert views, f"{client!r}: no room in answer to look"
    return str(views[-1].data["id"])


async def _carried(client: Client) -> list[str]:
    found = [m for m in await _answer(client, "inventory") if m.data.get("action") == "inventory"]
    assert found, f"{client!r}: no inventory in answer"
    return sorted(str(item["template"]) for item in found[-1].data["items"])


@async_test
async def test_a_player_whose_gateway_is_killed_resumes_on_another_where_they_stood(
    tmp_path: Path,
) -> None:
    async with process_cluster(tmp_path, ZONES, SETTINGS) as cluster:
        other_port = free_port()
        cluster.start_shard("a")
        cluster.start_shard("b")
        cluster.start_gateway("g1")
        cluster.start_gateway("g2", other_port)
        await cluster.until_up("a")
        await cluster.until_up("b")

        first = await _client(cluster.gateway_port)
        await first.register("dexter", PASSWORD)
        await _answer(first, "get candle")
        await _answer(first, "goto innsmouth.marsh_road")  # onto shard b
        assert await _room(first) == "innsmouth.marsh_road"
        carried = await _carried(first)
        assert carried != []
        token = first.token

        cluster.kill("gateway-g1")
        assert await first.closed() is not None  # its connection went with it

        second = await _client(other_port)
        deadline = time.monotonic() + TIMEOUT_S
        reply = await second.auth({"type": "resume", "token": token})
        while reply.type != "auth_ok" and time.monotonic() < deadline:
            reply = await second.auth({"type": "resume", "token": token})  # g2 still learning
        assert reply.type == "auth_ok", reply
        assert reply.data["name"] == "dexter" and reply.data["entity"] == first.entity
        assert await _room(second) == "innsmouth.marsh_road"
        assert await _carried(second) == carried
        await second.close()
