"""Shards of one world on real NATS and PostgreSQL: what crosses a border moves with all it
carries, is owned by exactly one shard at every moment, and its player plays on without noticing.

The sanitarium is shard ``a``'s and the rest of the world shard ``b``'s; the border runs between
the sanitarium gate and Arkham's hill road."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import urllib.error
import urllib.request
from collections import Counter
from pathlib import Path
from typing import Any

import orjson
import pytest
import sqlalchemy as sa
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from components.body import Npc
from components.content import Directory
from components.items import Item
from components.place import Location, Room
from engine.territory import Rosters
from persist import handoff, ownership
from systems.npc_spawn import SPAWN_CHECK_INTERVAL_S
from systems.whereabouts import move
from tests.net.cluster_harness import (
    Cluster,
    Player,
    PrivateBroker,
    running_cluster,
    start_shard,
)
from tests.net.harness import TIMEOUT_S, async_test
from tests.services import unavailable

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


async def _pick_up_a_candle(cluster: Cluster, player: Player) -> int:
    """The player, on shard a, picks up the candle lying where they woke; its stable id."""
    await cluster.gateway.line(player, "get candle")
    await cluster.until(lambda: _carried(cluster, "a", player.sid) != [], "the candle is carried")
    (candle,) = _carried(cluster, "a", player.sid)
    return candle


@async_test
async def test_a_player_crossing_into_another_shards_zone_moves_there_with_what_they_carry(
    tmp_path: Path,
) -> None:
    async with running_cluster(tmp_path, ZONES) as cluster:
        (player,) = await cluster.enter("randolph", role="admin")
        sid = player.sid
        candle = await _pick_up_a_candle(cluster, player)
        await cluster.gateway.line(player, "goto sanitarium.gate")
        await cluster.gateway.line(player, "s")
        await cluster.until(lambda: player.routes != [], "the player's gateway is re-routed")

        assert player.routes == [("b", 3)]
        await cluster.until(
            lambda: any(shard == "b" and kind == "room" for shard, kind, _ in player.messages),
            "shard b shows the player the room they walked into",
        )
        assert player.last("room")["data"]["id"] == "arkham.hill_road"
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


def _npcs(cluster: Cluster) -> Counter[str]:
    """Every NPC in the world, by template, counted on every shard."""
    return Counter(
        npc.template
        for shard in cluster.shards.values()
        for _, npc in shard.engine.world.query(Npc)
    )


@async_test
async def test_every_spawn_rules_npcs_are_made_once_by_the_shard_of_their_room(
    tmp_path: Path,
) -> None:
    async with running_cluster(tmp_path, ZONES) as cluster:
        world = cluster.shards["a"].engine.world
        expected: Counter[str] = Counter()
        for rule in world.resource(Directory).spawns:
            expected[rule.npc] += rule.max
        await cluster.until(lambda: _npcs(cluster) == expected, "every rule's NPCs are made")
        for _ in range(world.clock.ticks_for(3 * SPAWN_CHECK_INTERVAL_S)):
            await cluster.tick()
        assert _npcs(cluster) == expected  # and none was made twice, to be handed over
        for name, shard in cluster.shards.items():
            assert shard.server.handoffs_sent == 0, f"shard {name} sent NPCs away"


def _get(port: int, path: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=TIMEOUT_S) as reply:
            return reply.status, reply.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, refused.read().decode()


@async_test
async def test_a_shards_monitoring_port_answers_healthz_and_metrics_and_nothing_else(
    tmp_path: Path,
) -> None:
    async with running_cluster(tmp_path, ZONES) as cluster:
        (player,) = await cluster.enter("armitage", role="admin")
        await cluster.gateway.line(player, "goto arkham.hill_road")
        await cluster.until(lambda: cluster.shards["b"].holds(player.sid), "armitage is on b")
        port = cluster.shards["b"].config.cluster.http_port

        status, body = await asyncio.to_thread(_get, port, "/healthz")
        health = orjson.loads(body)
        assert status == 200 and health["status"] == "ok" and health["shard"] == "b"
        assert health["zones"] == ["arkham", "deep", "graveyard", "innsmouth"]
        assert health["players"] == 1 and health["handoffs_received"] == 1

        status, text = await asyncio.to_thread(_get, port, "/metrics")
        assert status == 200
        assert "kadath_shard_handoffs_received_total 1.0" in text.splitlines()
        assert "kadath_shard_players 1.0" in text.splitlines()
        assert any(line.startswith("kadath_tick ") for line in text.splitlines())

        status, text = await asyncio.to_thread(_get, port, "/")
        assert status == 404 and "players connect to a gateway" in text
        with pytest.raises(InvalidStatus):
            async with connect(f"ws://127.0.0.1:{port}/", open_timeout=TIMEOUT_S):
                pass


def _said(player: Player, kind: str) -> list[str]:
    return [body["text"] for _, k, body in player.messages if k == kind]


@async_test
async def test_who_tell_and_gossip_reach_players_on_other_shards(tmp_path: Path) -> None:
    async with running_cluster(tmp_path, ZONES) as cluster:
        west, east = await cluster.enter("carter", "pickman", role="admin")
        await cluster.gateway.line(east, "goto arkham.depot")
        await cluster.until(lambda: east.routes != [], "pickman is on shard b")

        await cluster.until(lambda: _rosters_told(cluster), "the shards told their rosters")
        await cluster.gateway.line(west, "who")
        await cluster.until(
            lambda: "who" in [k for _, k, _ in west.messages] or _who(west) != [],
            "carter's who is answered",
        )
        assert {p["name"] for p in _who(west)} == {"carter", "pickman"}

        await cluster.gateway.line(west, "tell pickman The stars are right")
        await cluster.until(
            lambda: "Carter tells you, 'The stars are right'" in _said(east, "msg"),
            "the tell reaches pickman on the other shard",
        )
        await cluster.gateway.line(east, "gossip Who knocks?")
        await cluster.until(
            lambda: "[gossip] Pickman: Who knocks?" in _said(west, "msg"),
            "gossip reaches carter on the other shard",
        )
        await cluster.gateway.line(west, "tell nobody hello")
        await cluster.until(
            lambda: any(
                body["data"].get("code") == "no_such_player"
                for _, k, body in west.messages
                if k == "error"
            ),
            "a tell to nobody is refused",
        )


@async_test
async def test_an_admins_goto_a_player_on_another_shard_takes_them_there(tmp_path: Path) -> None:
    async with running_cluster(tmp_path, ZONES) as cluster:
        admin, other = await cluster.enter("carter", "pickman", role="admin")
        await cluster.gateway.line(other, "goto innsmouth.marsh_road")
        await cluster.until(lambda: other.routes != [], "pickman is on shard b")
        await cluster.until(lambda: _rosters_told(cluster), "the shards told their rosters")
        await cluster.gateway.line(admin, "goto pickman")
        await cluster.until(lambda: admin.routes != [], "carter follows to shard b")
        assert _room_key(cluster, "b", admin.sid) == "innsmouth.marsh_road"


@async_test
async def test_an_admins_summon_and_teleport_of_a_player_on_another_shard_move_them_there(
    tmp_path: Path,
) -> None:
    async with running_cluster(tmp_path, ZONES) as cluster:
        (admin,) = await cluster.enter("carter", role="admin")
        (other,) = await cluster.enter("pickman")
        sid, admin_sid = other.sid, admin.sid
        await cluster.gateway.line(admin, "teleport pickman innsmouth.marsh_road")
        await cluster.until(lambda: cluster.shards["b"].holds(sid), "pickman is sent to b")
        await cluster.until(lambda: _rosters_told(cluster), "the shards told their rosters")

        # Held by b: a's admin asks b, which moves him within its own zones...
        await cluster.gateway.line(admin, "teleport pickman innsmouth.green")
        await cluster.until(
            lambda: _room_key(cluster, "b", sid) == "innsmouth.green", "b moves pickman"
        )
        # ...and hands him back to a when summoned there.
        await cluster.gateway.line(admin, "summon pickman")
        await cluster.until(lambda: cluster.shards["a"].holds(sid), "pickman comes back to a")
        assert _room_key(cluster, "a", sid) == _room_key(cluster, "a", admin_sid)
        assert not cluster.shards["b"].holds(sid)
        await cluster.until(
            lambda: any(
                "Pickman arrives." in str(body.get("text")) for _, _, body in admin.messages
            ),
            "the admin sees pickman arrive",
        )


@async_test
async def test_a_hand_off_while_the_database_is_down_is_retried_and_nothing_is_lost(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = handoff.hand_over
    failures: list[int] = []

    def down_three_times(*args: Any, **kwargs: Any) -> Any:
        if len(failures) < 3:
            failures.append(1)
            raise sa.exc.OperationalError("hand over", {}, ConnectionRefusedError("db down"))
        return real(*args, **kwargs)

    monkeypatch.setattr(handoff, "hand_over", down_three_times)
    async with running_cluster(tmp_path, ZONES) as cluster:
        (player,) = await cluster.enter("zadok", role="admin")
        candle = await _pick_up_a_candle(cluster, player)
        await cluster.gateway.line(player, "goto arkham.hill_road")
        await cluster.until(
            lambda: cluster.shards["b"].holds(player.sid), "b takes zadok in, after the retries"
        )
        assert len(failures) == 3
        assert "is unavailable" in caplog.text
        assert _carried(cluster, "b", player.sid) == [candle]
        assert not cluster.shards["a"].holds(candle)
        assert cluster.owner(player.sid) == "b" and cluster.owner(candle) == "b"


def _who(player: Player) -> list[dict[str, object]]:
    views = [body["data"] for _, k, body in player.messages if "players" in body.get("data", {})]
    return list(views[-1]["players"]) if views else []


def _rosters_told(cluster: Cluster) -> bool:
    """Each shard has heard the other's roster with someone on it."""
    a = cluster.shards["a"].engine.world.resource(Rosters)
    b = cluster.shards["b"].engine.world.resource(Rosters)
    return bool(a.others()) and bool(b.others())


@async_test
async def test_a_zone_moved_to_another_shard_takes_its_players_and_things_along(
    tmp_path: Path,
) -> None:
    async with running_cluster(tmp_path, ZONES) as cluster:
        (player,) = await cluster.enter("olmstead", role="admin")
        sid = player.sid
        await cluster.gateway.line(player, "get candle")
        await cluster.gateway.line(player, "goto innsmouth.marsh_road")
        await cluster.until(lambda: player.routes != [], "the player is on shard b")
        (candle,) = _carried(cluster, "b", sid)

        ownership.move_zone(cluster.db, "innsmouth", "b", "a")
        await cluster.until(lambda: len(player.routes) == 2, "the player is handed back to a")

        assert player.routes[-1][0] == "a"
        a, b = cluster.shards["a"], cluster.shards["b"]
        assert a.holds(sid) and a.holds(candle)
        assert not b.holds(sid) and not b.holds(candle)
        assert _room_key(cluster, "a", sid) == "innsmouth.marsh_road"
        assert cluster.owner(sid) == "a" and cluster.owner(candle) == "a"
        await cluster.gateway.line(player, "look")
        await cluster.until(
            lambda: any(shard == "a" and kind == "room" for shard, kind, _ in player.messages[-3:]),
            "shard a answers the player now",
        )


@async_test
async def test_a_shard_asked_to_open_a_character_another_shard_holds_sends_the_gateway_on(
    tmp_path: Path,
) -> None:
    async with running_cluster(tmp_path, ZONES) as cluster:
        (player,) = await cluster.enter("wilcox")
        await cluster.gateway.gone(player)
        await cluster.until(
            lambda: cluster.account_now("wilcox").character_sid is not None,
            "the account names its character",
        )
        account = cluster.account_now("wilcox")
        assert account.character_sid is not None

        stale = await cluster.gateway.open("b", account)
        await cluster.until(lambda: stale.refused is not None, "shard b refuses")

        assert stale.refused == "elsewhere"
        assert not cluster.shards["b"].holds(account.character_sid)
        assert cluster.owner(account.character_sid) in (None, "a")


def _saved_holder(cluster: Cluster, sid: int) -> int | None:
    """Who holds ``sid`` in the database (its saved Location's holder)."""
    with cluster.db.connect() as conn:
        row = conn.execute(
            sa.text("SELECT holder FROM location WHERE sid = :sid"), {"sid": sid}
        ).first()
    return None if row is None else int(row[0])


async def _crash(cluster: Cluster, name: str) -> None:
    """Shard ``name`` dies as a killed process does: no goodbye, no final flush (its writer was
    frozen), its journal written to the last tick."""
    shard = cluster.shards[name]
    shard.task.cancel()
    with contextlib.suppress(BaseException):
        await shard.task
    shard.persistence.stop(shard.engine)


@async_test
async def test_a_restarted_shard_plays_again_what_its_journal_holds_past_its_last_flush(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with running_cluster(tmp_path, ZONES) as cluster:
        names = ("armitage", "randolph", "carter")
        armitage, randolph, carter = await cluster.enter(*names, role="admin")
        a, b = cluster.shards["a"], cluster.shards["b"]
        writer = a.persistence.writer
        assert writer is not None
        entered = a.engine.world.clock.tick
        await cluster.until(lambda: writer.stats().last_saved_tick >= entered, "a saves them")
        monkeypatch.setattr(writer, "submit", lambda batch: None)  # a saves nothing more

        candle = await _pick_up_a_candle(cluster, armitage)
        # Randolph crosses to b and stays; Carter crosses to b and comes back.
        await cluster.gateway.line(randolph, "goto arkham.hill_road")
        await cluster.gateway.line(carter, "goto arkham.hill_road")
        await cluster.until(lambda: b.holds(randolph.sid) and b.holds(carter.sid), "b has both")
        await cluster.gateway.line(carter, "goto sanitarium.corridor")
        await cluster.until(lambda: a.holds(carter.sid), "carter is back on a")
        await _crash(cluster, "a")
        monkeypatch.undo()
        assert [cluster.owner(p.sid) for p in (armitage, randolph, carter)] == ["a", "b", "a"]

        cluster.shards["a"] = a = await start_shard(
            "a", cluster.url, cluster.settings, tmp_path / "a"
        )
        await cluster.until(lambda: a.server.ready, "a is back")
        # Armitage's "get candle" was played again. Randolph's and Carter's steps were not:
        # Randolph is b's alone, and Carter stands where he came back to, on a alone (his
        # "goto arkham.hill_road", played again, would have handed him to b a second time).
        assert _carried(cluster, "a", armitage.sid) == [candle]
        assert not a.holds(randolph.sid) and b.holds(randolph.sid)
        assert _room_key(cluster, "a", carter.sid) == "sanitarium.corridor"
        assert not b.holds(carter.sid)
        await cluster.until(
            lambda: _saved_holder(cluster, candle) == armitage.sid, "a saves the candle carried"
        )
        assert [cluster.owner(p.sid) for p in (armitage, randolph, carter)] == ["a", "b", "a"]


@async_test
async def test_a_broker_restart_in_the_middle_of_a_hand_off_loses_nothing(tmp_path: Path) -> None:
    if shutil.which("nats-server") is None:
        unavailable(
            "nats-server is not installed: apt-get install nats-server", "REQUIRE_NATS_TESTS"
        )
    broker = PrivateBroker(tmp_path / "nats")
    broker.start()
    try:
        async with running_cluster(tmp_path, ZONES, nats_url=broker.url) as cluster:
            (player,) = await cluster.enter("ward", role="admin")
            sid = player.sid
            candle = await _pick_up_a_candle(cluster, player)

            broker.stop()
            world = cluster.shards["a"].engine.world
            road = world.resource(Directory).rooms["arkham.hill_road"]
            entity = world.entity_of(sid)
            assert entity is not None
            move(world, entity, road)  # across the border while the broker is down
            await cluster.until(lambda: not cluster.shards["a"].holds(sid), "a lets the player go")
            await cluster.until(lambda: cluster.owner(sid) == "b", "the hand-off is committed")
            assert not cluster.shards["b"].holds(sid)  # its message waits for the broker
            broker.start()
            await cluster.until(
                lambda: cluster.shards["b"].holds(sid) and cluster.shards["b"].holds(candle),
                "b takes the player in once the broker is back",
            )
            assert _carried(cluster, "b", sid) == [candle]
            assert not cluster.shards["a"].holds(candle)
            # The gateway's next line reaches b and is answered, over the broker that restarted.
            await cluster.until(lambda: player.shard == "b", "the gateway is routed to b")
            await cluster.gateway.line(player, "drop candle")
            await cluster.until(lambda: _carried(cluster, "b", sid) == [], "b drops the candle")
            await cluster.until(
                lambda: any("You drop" in str(body.get("text")) for _, _, body in player.messages),
                "the player is told",
            )
    finally:
        broker.stop()
