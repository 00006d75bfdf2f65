"""Shards of one world on real NATS and PostgreSQL: what crosses a border moves with all it
carries, is owned by exactly one shard at every moment, and its player plays on without noticing.

The sanitarium is shard ``a``'s and the rest of the world shard ``b``'s; the border runs between
the sanitarium gate and Arkham's hill road."""

from __future__ import annotations

from pathlib import Path

from components.items import Item
from components.place import Location, Room
from tests.net.cluster_harness import Cluster, running_cluster
from tests.net.harness import async_test

ZONES = {
    "sanitarium": "a",
    "arkham": "b",
    "graveyard": "b",
    "innsmouth": "b",
    "deep": "b",
}


def _room_key(cluster: Cluster, shard: str, sid: int) -> str:
    world = cluster.shards[shard].engine.world
    entity = world.entity_of(sid)
    assert entity is not None
    room = world.entity_of(world.get(entity, Location).holder)
    assert room is not None
    return world.get(room, Room).key


def _carried(cluster: Cluster, shard: str, sid: int) -> list[int]:
    world = cluster.shards[shard].engine.world
    return [
        world.stable_id(thing) or 0
        for thing in world.lookup(Location, "holder", sid)
        if world.has(thing, Item)
    ]


@async_test
async def test_a_player_crossing_into_another_shards_zone_moves_there_with_what_they_carry(
    tmp_path: Path,
) -> None:
    async with running_cluster(tmp_path, ZONES) as cluster:
        account = cluster.account("randolph", role="admin")
        player = await cluster.gateway.open("a", account)
        await cluster.until(lambda: "auth_ok" in player.types(), "the player is in")
        sid = player.last("auth_ok")["data"]["entity"]
        await cluster.gateway.line(player, "get candle")
        await cluster.until(lambda: _carried(cluster, "a", sid) != [], "the candle is carried")
        (candle,) = _carried(cluster, "a", sid)
        await cluster.gateway.line(player, "goto sanitarium.gate")
        await cluster.gateway.line(player, "s")
        await cluster.until(lambda: player.routes != [], "the player's gateway is re-routed")

        assert player.routes == [("b", 3)]
        a, b = cluster.shards["a"], cluster.shards["b"]
        assert not a.holds(sid) and not a.holds(candle)
        assert b.holds(sid) and b.holds(candle)
        assert _room_key(cluster, "b", sid) == "arkham.hill_road"
        assert _carried(cluster, "b", sid) == [candle]
        assert cluster.owner(sid) == "b" and cluster.owner(candle) == "b"

        await cluster.gateway.line(player, "look")
        await cluster.until(
            lambda: any(shard == "b" and kind == "room" for shard, kind, _ in player.messages),
            "shard b answers the player's look",
        )
        assert player.last("room")["data"]["id"] == "arkham.hill_road"
