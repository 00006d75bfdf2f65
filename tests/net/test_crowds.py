"""Crowds against a real server: batched frames for clients of protocol version 2, crowd lines for
a loud room, and the output budget, which never costs a player their own answers.

No timing is asserted: every wait is bounded by the harness's generous timeouts.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from engine.accounts import Account
from net.protocol import ServerMessage, parse_server_frame, parse_server_frames
from tests.net.harness import Client, LiveServer, async_test, live_server, wait_until


async def batching_player(server: LiveServer, name: str) -> tuple[Client, list[bytes]]:
    """A registered player whose connection speaks version 2; returns it and the raw frames it
    reads after the switch (the harness's client reads plain messages only)."""
    client = await server.connect(name)
    assert client.received[0].data["protocols"] == [1, 2]
    await client.send_json({"type": "protocol", "version": 2})
    answer = await client.recv()
    assert (answer.type, answer.data) == ("protocol", {"version": 2})
    await client.send_json({"type": "register", "name": name, "password": "correct-horse"})
    return client, []


async def read_frames(client: Client, frames: list[bytes], until: str) -> list[ServerMessage]:
    """Read raw frames (objects or arrays) until a message of type ``until``; check numbering."""
    messages: list[ServerMessage] = []
    while True:
        frame = await client.ws.recv()
        raw = frame.encode() if isinstance(frame, str) else frame
        frames.append(raw)
        for message in parse_server_frames(raw):
            assert message.seq == client.seq + 1, (message, client.seq)
            client.seq = message.seq
            messages.append(message)
            if message.type == until:
                return messages


@async_test
async def test_a_client_of_version_2_gets_a_ticks_messages_in_one_frame(tmp_path: Path) -> None:
    async with live_server(tmp_path) as server:
        client, frames = await batching_player(server, "Armitage")
        messages = await read_frames(client, frames, "room")
        # auth_ok, status and the room it wakes in: one tick's worth, one frame
        assert [m.type for m in messages] == ["auth_ok", "status", "room"]
        assert frames[-1].startswith(b"[")
        assert orjson.loads(frames[-1])[0]["type"] == "auth_ok"
        # A single answer may still come as a plain object, numbered on.
        await client.cmd("look")
        (look,) = await read_frames(client, frames, "room")
        assert frames[-1].startswith(b"{")
        assert look.seq == messages[-1].seq + 1


@async_test
async def test_a_client_of_version_1_never_sees_a_batch(tmp_path: Path) -> None:
    """The harness's own client parses one object per frame and checks the numbering; a tick
    that owes it three messages sends it three frames."""
    async with live_server(tmp_path) as server:
        client = await server.player("Armitage")
        assert [m.type for m in client.received] == ["welcome", "auth_ok", "status", "room"]


@async_test
async def test_a_version_the_server_does_not_speak_is_refused_and_changes_nothing(
    tmp_path: Path,
) -> None:
    async with live_server(tmp_path) as server:
        client = await server.connect()
        await client.send_json({"type": "protocol", "version": 9})
        error = await client.expect_error("bad_message")
        assert "1, 2" in error.text
        await client.register("Armitage", "correct-horse")
        await client.expect("room")  # still one object per frame: the harness would fail else


@async_test
async def test_many_arrivals_in_one_tick_reach_a_listener_as_one_crowd_line(
    tmp_path: Path,
) -> None:
    async with live_server(tmp_path, "net.crowd_lines_per_tick=3") as server:
        listener = await server.player("Armitage")
        await listener.cmd("east")
        await listener.expect("room")
        walkers = [await server.player(name) for name in ("Carter", "Pickman", "Olmstead", "Upton")]
        for walker in walkers:  # one inbox: all four step in the same tick
            server.engine.submit_line(server.entity_of(walker), "east")
        crowd = await listener.expect_msg("arrive", lambda m: m.data.get("crowd") is True)
        assert crowd.data["count"] == 4
        assert crowd.text == "4 people arrive."
        for walker in walkers:  # each walker still sees the room it walked into
            await walker.expect("room", lambda m: m.data["id"] == "sanitarium.corridor")
        assert server.hub.stats().lines_merged >= 4


class RecordingLink:
    """A connection with nobody behind it that keeps what it is sent and claims a backlog."""

    def __init__(self) -> None:
        self.frames: list[bytes] = []
        self.waiting = 10_000

    def send(self, frame: bytes, count: int = 1) -> None:
        self.frames.append(frame)

    def close(self, code: int, reason: str) -> None:
        pass

    def backlog(self) -> int:
        return self.waiting

    def messages(self) -> list[ServerMessage]:
        return [parse_server_frame(frame) for frame in self.frames]


@async_test
async def test_a_spent_budget_costs_a_backlogged_listener_speech_but_never_its_own_answers(
    tmp_path: Path,
) -> None:
    async with live_server(tmp_path) as server:
        hub = server.hub
        link = RecordingLink()
        session = hub.connect(link, "10.0.0.1")
        account = Account("Armitage", "x", "player", created=datetime(2026, 1, 1, tzinfo=UTC))
        hub.login(session, account)
        await wait_until(lambda: session.character is not None, "Armitage is in")
        speaker = await server.player("Carter")
        await wait_until(lambda: any(m.type == "msg" for m in link.messages()), "Carter arrives")

        hub.budget.queued_bytes += hub.budget.limit_bytes  # as if every client were behind
        try:
            heard = len(link.frames)
            await speaker.cmd("say Can you hear me?")
            await speaker.expect("say")
            assert session.character is not None
            server.engine.submit_line(session.character, "look")
            await wait_until(lambda: len(link.frames) > heard, "Armitage's look is answered")
            await server.wait_ticks(3)
            types = [m.type for m in link.messages()[heard:]]
            assert types == ["room"]
            assert hub.stats().lines_dropped >= 1
        finally:
            hub.budget.queued_bytes -= hub.budget.limit_bytes

        link.waiting = 0  # it caught up: it hears the room again
        await speaker.cmd("say And now?")
        await wait_until(
            lambda: any(m.type == "say" for m in link.messages()[heard:]), "Armitage hears"
        )
        assert [m.seq for m in link.messages()] == list(range(1, len(link.frames) + 1))


@async_test
async def test_no_socket_is_written_inside_the_tick(tmp_path: Path) -> None:
    """The hub delivers inside the tick's hand-off, but only queues: the frames are written
    by the flusher once the tick has returned (the one rule: no I/O on the tick path)."""
    async with live_server(tmp_path) as server:
        listener = await server.player("Armitage")
        speaker = await server.player("Carter")
        await listener.expect_msg("arrive")
        inside = {"now": False, "writes": 0, "inside": 0}
        tick = server.engine.tick

        def watched_tick(*args: Any, **kwargs: Any) -> Any:
            inside["now"] = True
            try:
                return tick(*args, **kwargs)
            finally:
                inside["now"] = False

        server.engine.tick = watched_tick  # type: ignore[method-assign]
        for client in (listener, speaker):
            ws = server.session_of(client).link.ws  # type: ignore[attr-defined]
            write = ws.transport.write

            def watched_write(data: bytes, write: Any = write) -> None:
                inside["writes"] += 1
                inside["inside"] += inside["now"]
                write(data)

            ws.transport.write = watched_write
        for n in range(5):
            await speaker.cmd(f"say line {n}")
        for n in range(5):
            heard = await listener.expect("say")
            assert heard.data["text"] == f"line {n}"
        assert inside["writes"] >= 10
        assert inside["inside"] == 0
