"""The whole wire protocol against a real server, with real websocket clients.

Each test starts its own server (``tests/net/harness.py``): the login throttle counts failures per
address, and every client here comes from 127.0.0.1, so servers are not shared between tests that
log in. Every message any client reads is checked by the harness for the envelope and for ``seq``
rising by exactly one, so each test here checks the numbering as well.
"""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import pytest

from components.body import Offline, Player
from components.content import Directory
from components.place import Location
from engine.accounts import Account
from engine.commands import Args, Command, CommandInbox, CommandSpec, InboxFull, Input
from engine.plugins import Plugin, PluginKit
from engine.world import World
from net.protocol import (
    AUTH_ERROR_CODES,
    BYE_REASONS,
    MAX_COMMAND_CHARS,
    MAX_NAME_CHARS,
    MAX_TOKEN_CHARS,
    ServerMessage,
)
from tests.net.harness import (
    Client,
    LiveServer,
    async_test,
    live_server,
    saved_rows,
    wait_until,
)

PASSWORD = "correct-horse"
WARD = "sanitarium.ward"
CORRIDOR = "sanitarium.corridor"


def room_sid(server: LiveServer, key: str) -> int:
    """The stable id of the room with this content key."""
    world = server.engine.world
    sid = world.stable_id(world.resource(Directory).rooms[key])
    assert sid is not None
    return sid


def where(server: LiveServer, client: Client) -> int | None:
    """The stable id of the room ``client``'s character stands in (None: out of the world)."""
    location = server.engine.world.try_get(server.entity_of(client), Location)
    return location.holder if location is not None else None


def seen_about(messages: list[ServerMessage], name: str) -> list[str]:
    """The ``arrive``/``leave`` event kinds in ``messages`` that concern ``name``."""
    return [
        str(m.data["event"])
        for m in messages
        if m.type == "msg"
        and m.data.get("event") in ("arrive", "leave")
        and m.data.get("who") == name
    ]


async def protocol_errors(client: Client) -> list[str]:
    """The ``error`` codes the server sent before answering a ``ping`` (frames are handled in
    order, so this is everything the frames sent before the ping earned at once)."""
    return [str(m.data["code"]) for m in await client.round_trip() if m.type == "error"]


# ------------------------------------------------------------------------------ greeting


@async_test
async def test_the_server_speaks_first_with_a_welcome_numbered_1(tmp_path: Path) -> None:
    async with live_server(tmp_path) as server:
        client = await server.connect(welcome=False)
        welcome = await client.recv()
        assert (welcome.type, welcome.seq) == ("welcome", 1)
        assert welcome.data["server"] == "Kadath"
        assert welcome.data["version"] == version("kadath")
        assert welcome.data["protocol"] == 1
        assert welcome.data["limits"]["frame_bytes"] == 4096
        assert welcome.text.startswith("Welcome to Kadath.")
        assert "login <name> <password>" in welcome.text
        # Whatever comes next is numbered 2, 3, 4... (the harness checks every message).
        for _ in range(3):
            await client.send_json({"type": "ping"})
            pong = await client.recv()
            assert pong.type == "pong"
        assert client.seq == 4


# ----------------------------------------------------------------------------- accounts


@async_test
async def test_register_logs_in_sends_the_status_then_shows_the_start_room(
    tmp_path: Path,
) -> None:
    async with live_server(tmp_path) as server:
        client = await server.connect()
        ok = await client.register("Armitage", PASSWORD)
        assert ok.seq == 2
        assert ok.data["name"] == "Armitage"
        assert ok.data["resumed"] is False
        assert isinstance(ok.data["entity"], int)
        assert isinstance(ok.data["token"], str) and len(ok.data["token"]) == 43
        assert ok.text == "Welcome, Armitage."
        status = await client.recv()
        assert status.type == "status"
        assert status.data["posture"] == "standing"
        assert status.data["dp"] == status.data["max_dp"]
        room = await client.expect("room")
        assert room.data["id"] == WARD
        assert where(server, client) == room_sid(server, WARD)


@async_test
async def test_a_raw_client_registers_and_logs_in_with_plain_command_lines(tmp_path: Path) -> None:
    async with live_server(tmp_path, "net.linkdead_grace_s=0") as server:
        first = await server.connect()
        await first.send_text("register Armitage correct horse battery")  # spaces in the password
        reply = await first.auth_reply()
        assert reply.type == "auth_ok", reply
        entity = server.entity_of(first)
        await first.close()
        await wait_until(lambda: server.engine.world.has(entity, Offline), "Armitage has left")

        second = await server.connect()
        await second.send_text("LOGIN armitage correct horse battery")  # verb and name any case
        reply = await second.auth_reply()
        assert reply.type == "auth_ok", reply
        assert reply.data["name"] == "Armitage"  # as registered
        assert server.entity_of(second) == entity
        await second.send_text("look")
        assert (await second.expect("room")).data["id"] == WARD


@async_test
async def test_lines_sent_right_after_login_wait_for_the_character_and_run_in_order(
    tmp_path: Path,
) -> None:
    """The character enters the world at the next tick; what its player typed meanwhile is kept
    and played once it is in, in order."""
    async with live_server(tmp_path) as server:
        client = await server.connect()
        await client.send_json({"type": "register", "name": "Armitage", "password": PASSWORD})
        await client.cmd("sit")
        await client.cmd("say ia")
        await client.cmd("stand")
        assert (await client.auth_reply()).type == "auth_ok"
        said = await client.expect("say")
        assert said.data["text"] == "ia"
        postures = [m.data["posture"] for m in client.received if m.data.get("event") == "posture"]
        assert postures == ["sitting"]
        await client.expect_msg("posture", lambda m: m.data["posture"] == "standing")


class SilentLink:
    """A connection that takes frames and closes, with nobody behind it."""

    def send(self, frame: bytes, count: int = 1) -> None:
        pass

    def close(self, code: int, reason: str) -> None:
        pass

    def backlog(self) -> int:
        return 0


@async_test
async def test_a_connection_gone_before_its_character_entered_leaves_it_link_dead(
    tmp_path: Path,
) -> None:
    """The login went through, the character enters at the next tick, but the connection is
    already gone: the character comes in, finds nobody, and drops like any lost connection."""
    async with live_server(tmp_path, "net.linkdead_grace_s=0") as server:
        account = Account("Armitage", "x", "player", created=datetime(2026, 1, 1, tzinfo=UTC))
        hub = server.hub
        session = hub.connect(SilentLink(), "10.0.0.1")
        hub.login(session, account)
        assert hub.entering == {"armitage": session}
        hub.disconnect(session)
        assert not hub.entering
        world = server.engine.world
        await wait_until(lambda: len(world.query(Offline)) == 1, "the character came and went")
        (armitage,) = [e for e, _ in world.query(Offline)]
        assert world.has(armitage, Player) and not hub.playing and not hub.linkdead


@async_test
async def test_login_brings_the_character_back_where_it_left_the_world(tmp_path: Path) -> None:
    async with live_server(tmp_path, "net.linkdead_grace_s=0") as server:
        first = await server.player("Armitage")
        await first.cmd("east")
        assert (await first.expect("room")).data["id"] == CORRIDOR
        entity = server.entity_of(first)
        await first.close()
        await wait_until(lambda: server.engine.world.has(entity, Offline), "Armitage has left")
        assert server.engine.world.get(entity, Offline).room == room_sid(server, CORRIDOR)

        again = await server.connect()
        ok = await again.login("Armitage", PASSWORD)
        assert ok.data["resumed"] is False
        assert ok.data["entity"] == first.entity
        assert ok.data["token"] != first.token
        assert (await again.expect("room")).data["id"] == CORRIDOR
        assert where(server, again) == room_sid(server, CORRIDOR)


@pytest.mark.parametrize(
    ("name", "password", "code"),
    [
        ("Armitage2", PASSWORD, "bad_name"),  # a digit
        ("Al", PASSWORD, "bad_name"),  # too short
        ("A" * 21, PASSWORD, "bad_name"),  # too long (but within the field's limit)
        ("Admin", PASSWORD, "bad_name"),  # reserved
        ("Carter", "short", "bad_password"),  # under 8 characters
        ("Nyarlathotep", "NYARLATHOTEP", "bad_password"),  # the name itself
        ("ARMITAGE", PASSWORD, "name_taken"),  # taken, ignoring case
        ("armitage", "another-password", "name_taken"),
    ],
)
@async_test
async def test_a_refused_registration_says_why_and_the_connection_stays_open(
    tmp_path: Path, name: str, password: str, code: str
) -> None:
    async with live_server(tmp_path) as server:
        await server.player("Armitage")
        client = await server.connect()
        refused = await client.auth({"type": "register", "name": name, "password": password})
        assert refused.type == "auth_error"
        assert refused.data["code"] == code
        assert refused.text == refused.data["message"]
        if code == "bad_password":
            assert password not in refused.text  # a password is never repeated
        # Still connected, still able to try again.
        await client.register("Carter", PASSWORD)


@async_test
async def test_a_refused_login_does_not_say_whether_the_name_exists(tmp_path: Path) -> None:
    async with live_server(tmp_path) as server:
        await server.player("Armitage")
        client = await server.connect()
        wrong = await client.auth({"type": "login", "name": "Armitage", "password": "wrong-pass"})
        unknown = await client.auth({"type": "login", "name": "Nobody", "password": PASSWORD})
        for refused in (wrong, unknown):
            assert refused.type == "auth_error"
            assert refused.data["code"] == "bad_credentials"
        assert wrong.data["message"] == unknown.data["message"]
        ok = await client.login("armitage", PASSWORD)  # the name ignoring case
        assert ok.data["name"] == "Armitage"


@async_test
async def test_five_failed_logins_throttle_the_name_and_the_address(tmp_path: Path) -> None:
    async with live_server(tmp_path) as server:
        await server.player("Armitage")
        await server.player("Carter")
        client = await server.connect()
        for _ in range(5):
            refused = await client.auth({"type": "login", "name": "Armitage", "password": "nope!"})
            assert refused.data["code"] == "bad_credentials"
        # Now even the right password is refused, and so is another name from this address.
        for name in ("Armitage", "Carter"):
            refused = await client.auth({"type": "login", "name": name, "password": PASSWORD})
            assert refused.type == "auth_error"
            assert refused.data["code"] == "throttled"


@async_test
async def test_the_login_throttle_is_configured_in_the_net_section(tmp_path: Path) -> None:
    settings = (
        "net.login_failures_per_name=2",
        "net.login_failures_per_address=3",
        "net.login_failure_window_s=120",
    )
    async with live_server(tmp_path, *settings) as server:
        await server.player("Armitage")
        await server.player("Carter")
        client = await server.connect()
        for _ in range(2):
            refused = await client.auth({"type": "login", "name": "Armitage", "password": "nope!"})
            assert refused.data["code"] == "bad_credentials"
        refused = await client.auth({"type": "login", "name": "Armitage", "password": PASSWORD})
        assert refused.data["code"] == "throttled"  # the name, after 2
        assert refused.data["message"] == ("too many failed logins: wait 2 minutes and try again")
        ok = await client.auth({"type": "login", "name": "Carter", "password": PASSWORD})
        assert ok.type == "auth_ok"  # the address has 2 failures of 3
        await client.close()
        client = await server.connect()
        refused = await client.auth({"type": "login", "name": "Nobody", "password": "nope!"})
        assert refused.data["code"] == "bad_credentials"  # the address's third failure
        refused = await client.auth({"type": "login", "name": "Carter", "password": PASSWORD})
        assert refused.data["code"] == "throttled"


@async_test
async def test_logging_in_twice_on_one_connection_is_refused(tmp_path: Path) -> None:
    """``auth_error`` ``already_authenticated``; the session is unaffected."""
    async with live_server(tmp_path) as server:
        client = await server.player("Armitage")
        refused = await client.auth({"type": "login", "name": "Armitage", "password": PASSWORD})
        assert refused.type == "auth_error"
        assert refused.data["code"] == "already_authenticated"
        await client.cmd("look")
        await client.expect("room")


@async_test
async def test_every_auth_error_code_the_server_sends_is_documented(tmp_path: Path) -> None:
    async with live_server(tmp_path) as server:
        client = await server.player("Armitage")
        refused = await client.auth({"type": "register", "name": "Carter", "password": PASSWORD})
        assert refused.data["code"] in AUTH_ERROR_CODES


class BrokenStore:
    """An account store whose database is down."""

    def get(self, name: str) -> Account | None:
        raise OSError("database is down")

    def create(self, account: Account) -> Account:
        raise OSError("database is down")

    def update(self, account: Account) -> None:
        raise OSError("database is down")

    def set_character(self, name: str, character_sid: int) -> None:
        raise OSError("database is down")

    def count(self) -> int:
        raise OSError("database is down")


@async_test
async def test_an_unavailable_account_store_is_reported_as_unavailable(tmp_path: Path) -> None:
    async with live_server(tmp_path) as server:
        server.net.accounts.store = BrokenStore()
        client = await server.connect()
        for kind in ("register", "login"):
            refused = await client.auth({"type": kind, "name": "Armitage", "password": PASSWORD})
            assert refused.type == "auth_error"
            assert refused.data["code"] == "unavailable"


# ----------------------------------------------------------------------------- commands


@async_test
async def test_commands_work_as_json_messages_plain_lines_and_utf8_binary_frames(
    tmp_path: Path,
) -> None:
    async with live_server(tmp_path) as server:
        client = await server.player("Armitage")
        await client.send_json({"type": "cmd", "text": "look"})
        assert (await client.expect("room")).data["id"] == WARD
        await client.send_text("  look\t")
        assert (await client.expect("room")).data["id"] == WARD
        await client.send_bytes(b"look")
        assert (await client.expect("room")).data["id"] == WARD
        await client.send_text("'The stars are right.")
        said = await client.expect("say")
        assert said.data["text"] == "The stars are right."
        assert said.text == "You say, 'The stars are right.'"


@async_test
async def test_ping_is_answered_with_pong_before_and_after_login(tmp_path: Path) -> None:
    async with live_server(tmp_path) as server:
        client = await server.connect()
        for _ in range(2):
            await client.send_json({"type": "ping"})
            pong = await client.recv()
            assert (pong.type, pong.data, pong.text) == ("pong", {}, "")
            if client.name is None:
                await client.register("Armitage", PASSWORD)
                await client.expect("room")


@async_test
async def test_commands_before_login_are_refused_with_how_to_log_in(tmp_path: Path) -> None:
    async with live_server(tmp_path) as server:
        client = await server.connect()
        await client.send_text("look")
        await client.cmd("say hello")
        errors = [m for m in await client.round_trip() if m.type == "error"]
        assert [e.data["code"] for e in errors] == ["not_authenticated"] * 2
        assert "login <name> <password>" in errors[0].text


@async_test
async def test_an_unknown_verb_gets_suggestions(tmp_path: Path) -> None:
    async with live_server(tmp_path) as server:
        client = await server.player("Armitage")
        await client.cmd("lok")
        error = await client.expect_error("unknown_command")
        assert "look" in error.data["suggestions"]
        assert "Did you mean" in error.text
        await client.cmd("xyzzy")
        error = await client.expect_error("unknown_command")
        assert error.data["suggestions"] == []


@async_test
async def test_bad_arguments_get_the_usage_line(tmp_path: Path) -> None:
    async with live_server(tmp_path) as server:
        client = await server.player("Armitage")
        await client.cmd("get")
        error = await client.expect_error("bad_args")
        assert error.data["usage"] == "get <item...> [from <container...>]"
        assert error.data["usage"] in error.text


# --------------------------------------------------------------------- players together


@async_test
async def test_players_see_each_other_leave_and_arrive(tmp_path: Path) -> None:
    async with live_server(tmp_path) as server:
        armitage = await server.player("Armitage")
        carter = await server.player("Carter")
        woke = await armitage.expect_msg("arrive", lambda m: m.data["who"] == "Carter")
        assert woke.text == "Carter wakes and looks around."

        await carter.cmd("east")
        left = await armitage.expect_msg("leave")
        assert left.data["who"] == "Carter"
        assert left.data["direction"] == "e"
        assert left.text == "Carter leaves east."
        assert (await carter.expect("room")).data["id"] == CORRIDOR

        await armitage.cmd("east")
        arrived = await carter.expect_msg("arrive")
        assert arrived.data["who"] == "Armitage"
        assert arrived.data["from"] == "w"
        room = await armitage.expect("room")
        assert "Carter" in [o["name"] for o in room.data["occupants"]]


@async_test
async def test_players_hear_each_other_speak(tmp_path: Path) -> None:
    async with live_server(tmp_path) as server:
        armitage = await server.player("Armitage")
        carter = await server.player("Carter")
        await armitage.cmd("say The stars are right.")
        heard = await carter.expect("say")
        assert heard.data["from"] == "Armitage"
        assert heard.data["from_id"] == armitage.entity
        assert heard.data["text"] == "The stars are right."
        assert heard.text == "Armitage says, 'The stars are right.'"
        echo = await armitage.expect("say")
        assert echo.text == "You say, 'The stars are right.'"
        await carter.send_text("'Ia! Ia!")
        heard = await armitage.expect("say")
        assert (heard.data["from"], heard.data["text"]) == ("Carter", "Ia! Ia!")


@async_test
async def test_status_is_sent_at_login_and_again_when_the_posture_changes(tmp_path: Path) -> None:
    async with live_server(tmp_path) as server:
        client = await server.connect()
        await client.register("Armitage", PASSWORD)
        first = await client.expect("status")
        assert first.data["posture"] == "standing"
        await client.cmd("sit")
        sat = await client.expect_msg("posture")
        assert sat.text == "You sit down."
        sitting = await client.expect("status")
        assert sitting.data["posture"] == "sitting"
        assert sitting.data["dp"] == first.data["dp"]
        await client.cmd("stand")
        assert (await client.expect("status")).data["posture"] == "standing"


@async_test
async def test_status_tells_the_state_of_a_fight_and_is_sent_again_when_it_ends(
    tmp_path: Path,
) -> None:
    async with live_server(tmp_path) as server:
        armitage = await server.player("Armitage")  # the first account: an admin
        await armitage.cmd("east")  # the corridor, where an orderly walks
        corridor = await armitage.expect("room", lambda m: m.data["id"] == "sanitarium.corridor")
        if not any(o["keyword"] == "orderly" for o in corridor.data["occupants"]):
            await armitage.expect("msg", lambda m: m.data.get("npc") == "orderly")
        await armitage.cmd("attack orderly")
        engaged = await armitage.expect("combat", lambda m: m.data["kind"] == "engage")
        assert engaged.text == "You attack the orderly!"
        fighting = await armitage.expect("status", lambda m: m.data["state"] == "fighting")
        assert fighting.text.endswith("| fighting")
        await armitage.cmd("despawn orderly")
        over = await armitage.expect("combat", lambda m: m.data["kind"] == "end")
        assert over.text == "The orderly is gone. The fight is over."
        assert (await armitage.expect("status")).data["state"] is None


# ----------------------------------------------------------------------- leaving, resuming


@async_test
async def test_quit_says_bye_closes_and_saves_the_character_out_of_the_world(
    tmp_path: Path,
) -> None:
    async with live_server(tmp_path) as server:
        armitage = await server.player("Armitage")
        carter = await server.player("Carter")
        entity = server.entity_of(armitage)
        await armitage.cmd("quit")
        farewell = await armitage.expect_msg("quit")
        assert farewell.text == "You close your eyes. Until next time."
        bye = await armitage.recv()  # queued in the same delivery, right after the farewell
        assert bye.type == "bye", bye
        assert bye.data["reason"] == "quit"
        assert bye.text == BYE_REASONS["quit"]
        assert await armitage.closed() == 1000
        left = await carter.expect_msg("leave", lambda m: m.data["who"] == "Armitage")
        assert left.text == "Armitage closes their eyes and is gone."
        world = server.engine.world
        assert world.has(entity, Offline) and not world.has(entity, Location)
        await wait_until(lambda: entity not in server.hub.playing, "Armitage is not playing")
        assert entity not in server.hub.linkdead  # quitting is not dropping: no grace period
        sid = armitage.entity
        assert sid is not None
        assert await saved_rows(server, "offline", sid) == [(sid, room_sid(server, WARD))]
        assert await saved_rows(server, "location", sid) == []
        # The token died with the session.
        assert armitage.token is not None
        again = await server.connect()
        refused = await again.auth({"type": "resume", "token": armitage.token})
        assert refused.data["code"] == "bad_token"


@async_test
async def test_resume_within_the_grace_period_takes_the_same_character_back_unseen(
    tmp_path: Path,
) -> None:
    async with live_server(tmp_path) as server:
        armitage = await server.player("Armitage")
        carter = await server.player("Carter")
        await armitage.cmd("sit")  # some state to find again
        await armitage.expect("status", lambda m: m.data["posture"] == "sitting")
        entity = server.entity_of(armitage)
        seen_before = len(carter.received)

        armitage.ws.transport.abort()  # the connection drops: no close handshake
        await wait_until(lambda: entity in server.hub.linkdead, "Armitage is link-dead")
        assert server.engine.world.has(entity, Location)  # still in the world
        assert entity not in server.hub.playing

        back = await server.connect()
        assert armitage.token is not None
        ok = await back.resume(armitage.token)
        assert ok.data["resumed"] is True
        assert ok.data["entity"] == armitage.entity
        assert ok.data["name"] == "Armitage"
        assert ok.data["token"] != armitage.token
        assert ok.text == "Welcome back, Armitage."
        assert (await back.expect("status")).data["posture"] == "sitting"
        assert entity in server.hub.playing and entity not in server.hub.linkdead
        await back.cmd("look")
        assert (await back.expect("room")).data["id"] == WARD

        # Carter saw nothing of it: no leave, no arrival.
        await carter.sync()
        assert seen_about(carter.received[seen_before:], "Armitage") == []
        # The old token was replaced.
        stranger = await server.connect()
        refused = await stranger.auth({"type": "resume", "token": armitage.token})
        assert refused.data["code"] == "bad_token"


@async_test
async def test_after_the_grace_period_resume_fails_and_login_brings_the_character_back(
    tmp_path: Path,
) -> None:
    async with live_server(tmp_path, "net.linkdead_grace_s=0.5") as server:
        armitage = await server.player("Armitage")
        carter = await server.player("Carter")
        for client in (armitage, carter):
            await client.cmd("east")
            await client.expect("room", lambda m: m.data["id"] == CORRIDOR)
        entity = server.entity_of(armitage)

        await armitage.close()
        faded = await carter.expect_msg("leave", lambda m: m.data["who"] == "Armitage")
        assert faded.text == "Armitage grows still and fades, like a dream half-remembered."
        world = server.engine.world
        assert world.has(entity, Offline) and not world.has(entity, Location)
        assert entity not in server.hub.linkdead

        back = await server.connect()
        assert armitage.token is not None
        refused = await back.auth({"type": "resume", "token": armitage.token})
        assert refused.type == "auth_error"
        assert refused.data["code"] == "bad_token"
        ok = await back.login("Armitage", PASSWORD)
        assert ok.data["resumed"] is False
        assert ok.data["entity"] == armitage.entity
        assert (await back.expect("room")).data["id"] == CORRIDOR
        woke = await carter.expect_msg("arrive", lambda m: m.data["who"] == "Armitage")
        assert woke.text == "Armitage wakes and looks around."


@async_test
async def test_resuming_another_character_while_logged_in_leaves_no_ghost(
    tmp_path: Path,
) -> None:
    async with live_server(tmp_path) as server:
        armitage = await server.player("Armitage")
        carter = await server.player("Carter")
        carters = server.entity_of(carter)
        carter.ws.transport.abort()
        await wait_until(lambda: carters in server.hub.linkdead, "Carter is link-dead")
        assert carter.token is not None
        # Refused (already logged in) or a clean switch: either way, no session plays two bodies.
        await armitage.auth({"type": "resume", "token": carter.token})
        await armitage.close()
        await wait_until(lambda: not server.hub.sessions, "every connection is gone")
        assert server.hub.playing == {}


@async_test
async def test_a_second_login_takes_the_character_over(tmp_path: Path) -> None:
    async with live_server(tmp_path) as server:
        old = await server.player("Armitage")
        await old.cmd("east")
        await old.expect("room", lambda m: m.data["id"] == CORRIDOR)
        entity = server.entity_of(old)

        new = await server.connect()
        ok = await new.login("Armitage", PASSWORD)
        assert ok.data["entity"] == old.entity
        assert ok.data["resumed"] is False
        bye = await old.expect("bye")
        assert bye.data["reason"] == "takeover"
        assert bye.text == BYE_REASONS["takeover"]
        assert await old.closed() == 1000

        assert server.hub.playing[entity] is server.session_of(new)
        await new.cmd("look")
        assert (await new.expect("room")).data["id"] == CORRIDOR  # the same body, where it was
        assert old.token is not None
        assert (await new.auth({"type": "resume", "token": old.token})).type == "auth_error"


# ------------------------------------------------------------------------------- staff


@async_test
async def test_the_first_account_is_an_admin_who_can_kick_a_player(tmp_path: Path) -> None:
    async with live_server(tmp_path) as server:
        admin = await server.player("Armitage")
        carter = await server.player("Carter")
        entity = server.entity_of(carter)
        await admin.cmd("kick Carter")
        gone = await admin.expect_msg("leave", lambda m: m.data["who"] == "Carter")
        assert gone.text == "Carter is pulled out of the world by an unseen hand."
        told = await admin.expect_msg("admin")
        assert told.text == "You kick Carter."
        removed = await carter.expect_msg("kick")
        assert removed.data["by"] == "Armitage"
        assert removed.text == "You have been removed from the game by staff."
        bye = await carter.expect("bye")
        assert bye.data["reason"] == "kicked"
        assert bye.text == BYE_REASONS["kicked"]
        assert await carter.closed() == 1000
        world = server.engine.world
        assert world.has(entity, Offline)
        assert entity not in server.hub.playing and entity not in server.hub.linkdead


@async_test
async def test_staff_messages_arrive_with_their_own_event_kind(tmp_path: Path) -> None:
    async with live_server(tmp_path) as server:
        admin = await server.player("Armitage")
        await admin.cmd("stats")
        stats = await admin.expect_msg("stats")
        assert stats.data["players"] == 1
        assert "players online: 1" in stats.text
        await admin.cmd("shutdown 600")
        warning = await admin.expect_msg("shutdown_warning")
        assert warning.data["seconds"] == 600


@async_test
async def test_a_player_may_not_use_admin_commands(tmp_path: Path) -> None:
    async with live_server(tmp_path) as server:
        admin = await server.player("Armitage")
        carter = await server.player("Carter")
        for line in ("kick Armitage", "shutdown 1", "stats"):
            await carter.cmd(line)
            refused = await carter.expect_error("forbidden")
            assert line.split()[0] in refused.text
        await admin.cmd("look")
        await admin.expect("room")
        assert not server.stopped


@async_test
async def test_shutdown_warns_everyone_says_goodbye_saves_and_stops_the_server(
    tmp_path: Path,
) -> None:
    async with live_server(tmp_path) as server:
        admin = await server.player("Armitage")
        carter = await server.player("Carter")
        await carter.cmd("east")
        await carter.expect("room")
        await admin.cmd("shutdown 1")
        for client in (admin, carter):
            warning = await client.expect_msg("shutdown_warning")
            assert warning.data["seconds"] == 1
            assert warning.text == "The world will end in 1 second (Armitage)."
            end = await client.expect_msg("shutdown")
            assert end.text == "The world dissolves into grey. Saved."
            bye = await client.expect("bye")
            assert bye.data["reason"] == "shutdown"
            assert bye.text == BYE_REASONS["shutdown"]
            assert await client.closed() == 1000
        await server.wait_stopped()
        assert server.stop_reason == "shutdown ordered by Armitage"
        # Both characters were taken out of the world and saved where they stood.
        for client, room in ((admin, WARD), (carter, CORRIDOR)):
            assert client.entity is not None
            rows = await saved_rows(server, "offline", client.entity)
            assert rows == [(client.entity, room_sid(server, room))]


# ------------------------------------------------------------------------ refused frames

REFUSED_FRAMES: list[tuple[str | bytes, str]] = [
    ('{"type": "cmd", "text": "look",}', "bad_json"),
    ("{look}", "bad_json"),
    ('  {"type": "ping"', "bad_json"),
    ('{"type": "shout", "text": "HELLO"}', "unknown_type"),
    ('{"type": "login", "name": "Armitage"}', "bad_message"),
    ('{"type": "cmd", "text": "look", "id": 7}', "bad_message"),
    ('{"type": "cmd", "text": ["look"]}', "bad_message"),
    ('{"text": "look"}', "bad_message"),
    ('{"type": 1}', "bad_message"),
    ('{"type": "cmd", "text": "look\\nsay hi"}', "bad_message"),
    ("say hi\x07", "bad_message"),  # a control character
    ("say \u202egnirts", "bad_message"),  # a bidirectional override
    (b"\xff\xfe look", "bad_message"),  # binary, not UTF-8
    ('{"type": "cmd", "text": "   "}', "empty_command"),
    ("   ", "empty_command"),
    ("say " + "x" * MAX_COMMAND_CHARS, "too_large"),
    (
        '{"type": "login", "name": "' + "A" * (MAX_NAME_CHARS + 1) + '", "password": "x"}',
        "too_large",
    ),
    ('{"type": "resume", "token": "' + "t" * (MAX_TOKEN_CHARS + 1) + '"}', "too_large"),
]


@async_test
async def test_every_refused_frame_gets_its_error_code_and_changes_nothing(
    tmp_path: Path,
) -> None:
    async with live_server(tmp_path) as server:
        client = await server.player("Armitage")
        for frame, code in REFUSED_FRAMES:
            if isinstance(frame, bytes):
                await client.send_bytes(frame)
            else:
                await client.send_text(frame)
            assert await protocol_errors(client) == [code], frame
        assert server.entity_of(client) in server.hub.playing
        await client.cmd("look")
        assert (await client.expect("room")).data["id"] == WARD


@async_test
async def test_the_same_frames_are_refused_before_login(tmp_path: Path) -> None:
    async with live_server(tmp_path) as server:
        client = await server.connect()
        for frame, code in REFUSED_FRAMES:
            if isinstance(frame, bytes):
                await client.send_bytes(frame)
            else:
                await client.send_text(frame)
            assert await protocol_errors(client) == [code], frame
        await client.register("Armitage", PASSWORD)


@async_test
async def test_a_plain_login_line_with_missing_words_is_a_bad_message(tmp_path: Path) -> None:
    async with live_server(tmp_path) as server:
        client = await server.connect()
        for line in ("login", "login Armitage", "register Armitage", "resume", "resume a b"):
            await client.send_text(line)
            assert await protocol_errors(client) == ["bad_message"], line


@async_test
async def test_commands_over_the_rate_limit_are_refused(tmp_path: Path) -> None:
    async with live_server(tmp_path, "net.command_burst=3", "net.commands_per_s=0.01") as server:
        client = await server.player("Armitage")
        for _ in range(5):
            await client.cmd("look")
        errors = [m for m in await client.round_trip() if m.type == "error"]
        assert [e.data["code"] for e in errors] == ["rate_limited"] * 2
        assert "at most 0.01 a second (bursts of 3)" in errors[0].text


class FullInbox(CommandInbox):
    """An engine inbox always full of commands, as if every client together flooded it."""

    def put(self, item: Input) -> None:
        if isinstance(item, Command):
            self.rejected += 1
            raise InboxFull(self.capacity)
        super().put(item)


@async_test
async def test_a_full_engine_inbox_is_answered_with_throttled(tmp_path: Path) -> None:
    async with live_server(tmp_path) as server:
        client = await server.player("Armitage")
        server.engine.inbox = FullInbox()
        await client.cmd("look")
        assert await protocol_errors(client) == ["throttled"]


def _explode(world: World, cmd: Command, args: Args) -> None:
    raise RuntimeError("a plugin's bug")


def _setup_exploding(kit: PluginKit) -> None:
    kit.command(CommandSpec(verb="explode", handler=_explode, help="Raise, to test isolation."))


EXPLODING = Plugin(name="exploding", setup=_setup_exploding, requires=("core",))


@async_test
async def test_a_crashing_command_is_an_internal_error_and_play_goes_on(tmp_path: Path) -> None:
    async with live_server(tmp_path, plugins=[EXPLODING]) as server:
        client = await server.player("Armitage")
        await client.cmd("explode")
        error = await client.expect_error("internal_error")
        assert "logged" in error.text
        await client.cmd("look")
        await client.expect("room")
