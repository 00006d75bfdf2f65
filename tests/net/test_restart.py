"""A server restart on the same database: characters come back where they were, with what they
carried, however their last session ended.

Two servers run one after the other in the test's event loop (``harness.live_server``) on one
SQLite file, each started and stopped the way ``kadath serve`` does it: the second restores the
world the first saved in its final flush.
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from components.body import Offline
from systems.wounds import hurt
from tests.net.harness import Client, LiveServer, async_test, live_server, read_rows, wait_until

PASSWORD = "correct-horse"
DAYROOM = "sanitarium.dayroom"


async def inventory(client: Client) -> list[str]:
    """The names of what the character carries, from the ``inventory`` command."""
    await client.cmd("inventory")
    shown = await client.expect("msg", lambda m: m.data.get("action") == "inventory")
    items: list[dict[str, Any]] = shown.data["items"]
    return [str(item["name"]) for item in items]


async def room_items(client: Client) -> list[str]:
    await client.cmd("look")
    room = await client.expect("room")
    return [str(item["name"]) for item in room.data["items"]]


async def walk_to_the_day_room_and_take_the_bread(client: Client) -> None:
    for direction, room in (("east", "sanitarium.corridor"), ("south", DAYROOM)):
        await client.cmd(direction)
        assert (await client.expect("room")).data["id"] == room
    assert "a heel of stale bread" in await room_items(client)
    await client.cmd("get bread")
    await client.expect("msg", lambda m: m.data.get("action") == "get")
    assert await inventory(client) == ["a heel of stale bread"]
    assert "a heel of stale bread" not in await room_items(client)


async def end_session(server: LiveServer, client: Client, how: str) -> None:
    entity = server.entity_of(client)
    if how == "quit":
        await client.cmd("quit")
        await client.expect("bye")
        await wait_until(lambda: entity not in server.hub.playing, "the character has quit")
    elif how == "drop":
        client.ws.transport.abort()
        await wait_until(lambda: entity in server.hub.linkdead, "the character is link-dead")
    else:
        assert how == "stay", how  # still connected when the server stops: bye shutdown


@pytest.mark.parametrize("how", ["quit", "drop", "stay"])
@async_test
async def test_after_a_restart_the_character_is_where_it_was_with_what_it_carried(
    tmp_path: Path, how: str
) -> None:
    database = tmp_path / "world.db"
    async with live_server(tmp_path, database=database) as first:
        armitage = await first.player("Armitage")
        await walk_to_the_day_room_and_take_the_bread(armitage)
        await end_session(first, armitage, how)
        await first.stop()  # as kadath serve stops: network first, then the final flush
        stopped_at = first.tick
        if how == "stay":
            assert (await armitage.expect("bye")).data["reason"] == "shutdown"

    async with live_server(tmp_path, database=database) as second:
        assert second.tick >= stopped_at  # the clock carries on from the saved tick
        back = await second.connect()
        ok = await back.login("Armitage", PASSWORD)
        assert ok.data["entity"] == armitage.entity  # the same character, by its stable id
        assert ok.data["resumed"] is False  # a restart forgets link-dead bodies and tokens
        room = await back.expect("room")
        assert room.data["id"] == DAYROOM
        assert "a heel of stale bread" not in [item["name"] for item in room.data["items"]]
        assert await inventory(back) == ["a heel of stale bread"]
        # And the old resume token is no longer valid.
        assert armitage.token is not None
        stranger = await second.connect()
        refused = await stranger.auth({"type": "resume", "token": armitage.token})
        assert refused.data["code"] == "bad_token"


@async_test
async def test_accounts_and_roles_survive_a_restart(tmp_path: Path) -> None:
    database = tmp_path / "world.db"
    async with live_server(tmp_path, database=database) as first:
        await first.player("Armitage")  # the first account: admin
        await first.player("Carter")
    async with live_server(tmp_path, database=database) as second:
        admin = await second.connect()
        await admin.login("Armitage", PASSWORD)
        carter = await second.connect()
        await carter.login("Carter", PASSWORD)
        refused = await carter.auth({"type": "register", "name": "CARTER", "password": PASSWORD})
        assert refused.data["code"] == "already_authenticated"
        newcomer = await second.connect()
        taken = await newcomer.auth({"type": "register", "name": "CARTER", "password": PASSWORD})
        assert taken.data["code"] == "name_taken"
        await carter.cmd("kick Armitage")
        await carter.expect_error("forbidden")
        await admin.cmd("kick Carter")
        assert (await carter.expect("bye")).data["reason"] == "kicked"


@async_test
async def test_a_character_left_in_the_world_by_a_crash_is_taken_out_at_start_up(
    tmp_path: Path,
) -> None:
    """A hard kill leaves the last flushed state, with characters still in the world: the next
    start takes them out (``NetworkService.start``), so nobody stands there link-dead for ever."""
    database = tmp_path / "world.db"
    async with live_server(tmp_path, database=database) as first:
        armitage = await first.player("Armitage")
        await armitage.cmd("east")
        await armitage.expect("room")
        writer = first.persistence.writer
        assert writer is not None
        target = first.tick
        await wait_until(lambda: writer.stats().last_saved_tick >= target, "the move is saved")
        # Simulate the crash: the connection drops, and the network's goodbye is skipped, so the
        # final flush still has the character in the world, as a killed process leaves it.
        entity = first.entity_of(armitage)
        armitage.ws.transport.abort()
        await wait_until(lambda: entity in first.hub.linkdead, "Armitage is link-dead")
        first.hub.shutdown = lambda: None  # type: ignore[method-assign]
    sid = armitage.entity
    assert sid is not None
    assert await asyncio.to_thread(read_rows, database, "offline", sid) == []
    assert await asyncio.to_thread(read_rows, database, "location", sid) != []
    async with live_server(tmp_path, database=database) as second:
        world = second.engine.world
        restored = world.entity_of(sid)
        assert restored is not None
        assert world.has(restored, Offline)
        back = await second.connect()
        await back.login("Armitage", PASSWORD)
        assert (await back.expect("room")).data["id"] == "sanitarium.corridor"


@async_test
async def test_a_dead_character_is_still_dead_after_a_restart_and_its_corpse_still_theirs(
    tmp_path: Path,
) -> None:
    """Death across a restart, end to end: the corpse keeps what the character carried, its
    owner and its grace; the character still waits dead, and wakes with ``respawn``."""
    database = tmp_path / "world.db"
    async with live_server(tmp_path, database=database) as first:
        armitage = await first.player("Armitage")
        await walk_to_the_day_room_and_take_the_bread(armitage)
        hurt(first.engine.world, first.entity_of(armitage), 100)  # a blow from nowhere
        died = await armitage.expect("combat", lambda m: m.data["kind"] == "death")
        assert died.text.startswith("You have died.")
        assert (await armitage.expect("status")).data["state"] == "dead"
        await first.stop()

    async with live_server(tmp_path, database=database) as second:
        back = await second.connect()
        await back.login("Armitage", PASSWORD)
        status = await back.expect("status")  # sent as the session starts, then the room
        assert status.data["state"] == "dead"
        room = await back.expect("room")
        assert room.data["id"] == DAYROOM
        assert "the corpse of Armitage" in [c["name"] for c in room.data["containers"]]
        carter = await second.player("Carter")
        for direction in ("east", "south"):
            await carter.cmd(direction)
            await carter.expect("room")
        await carter.cmd("get bread from corpse")
        assert (await carter.expect_error("corpse_in_grace")).data["owner"] == back.entity
        await back.cmd("respawn")
        assert (await back.expect("room")).data["id"] == "sanitarium.ward"
        assert (await back.expect("status")).data["state"] is None
        assert await inventory(back) == []
