"""Random and malformed frames against a live server: it stays up, answers every frame it can
read, and an honest player connected throughout is never disturbed.

**How hypothesis meets asyncio here.** Starting a server per example would cost more than the
examples, and hypothesis runs a synchronous test body many times. So one server runs for the whole
module on an event loop of its own in a background thread (``harness.ServerThread``, a
module-scoped fixture), and each example hands a coroutine to that loop with
``asyncio.run_coroutine_threadsafe`` and waits for its result. Everything that touches the server
or a client (all of them belong to that loop) happens inside those coroutines, so nothing crosses
threads but the coroutine and its result. The honest player's connection lives on the same loop
from the first example to the last.

**The oracle.** Each example opens a fresh connection (logged in as ``Fuzzer`` or not), sends one
to four frames and a final ``ping``, and reads up to its ``pong``. The frames are judged on the
client side with the protocol's own rules (``net.protocol.parse_client_frame`` and
``auth_from_command``), in order: an oversized frame closes the connection (1009); a refused one
earns exactly one ``error`` with that code, before the next frame is answered; a ``ping`` a
``pong``; an auth message one ``auth_ok`` or ``auth_error``; a command before login
``not_authenticated``; a command after login goes to the world (its answers come with a tick,
and must never be ``internal_error``). Every message received must be a well-formed envelope with
``seq`` rising by one (the harness checks each one).

The server is configured for fuzzing: no command rate limit (so the examples' pace is never
throttled) and a login throttle that never trips (random logins fail, all from 127.0.0.1).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from websockets.exceptions import ConnectionClosed

from net.accounts import LoginThrottle
from net.protocol import (
    CLIENT_TYPES,
    MAX_FRAME_BYTES,
    Cmd,
    Login,
    Ping,
    ProtocolError,
    Register,
    Resume,
    ServerMessage,
    auth_from_command,
    parse_client_frame,
)
from tests.net.harness import Client, LiveServer, ServerThread, wait_until

PASSWORD = "correct-horse"
#: The honest player's password, which the fuzzer never sends (it would take the player over).
HONEST_PASSWORD = "an-honest-secret-42"
#: ``error`` codes that answer a frame at once (the others come from the world, with a tick).
IMMEDIATE_ERRORS = frozenset(
    {"bad_json", "bad_message", "unknown_type", "too_large", "empty_command"}
    | {"not_authenticated", "rate_limited", "throttled"}
)


class Fuzzing:
    """The module's server and its honest player (whose client lives on the server's loop)."""

    def __init__(self, thread: ServerThread) -> None:
        self.thread = thread
        assert thread.server is not None
        self.server: LiveServer = thread.server
        self.honest: Client | None = None
        self.examples = 0


async def _set_up(fuzzing: Fuzzing) -> None:
    server = fuzzing.server
    server.net.accounts.throttle = LoginThrottle(name_failures=10**9, address_failures=10**9)
    fuzzing.honest = await server.player(
        "Honest", HONEST_PASSWORD
    )  # the first account: an admin, as it happens
    fuzzer = await server.player("Fuzzer")
    await fuzzer.close()


@pytest.fixture(scope="module")
def fuzzing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fuzzing]:
    tmp_path: Path = tmp_path_factory.mktemp("fuzz")
    settings_ = ("net.commands_per_s=100000", "net.command_burst=100000")
    with ServerThread(tmp_path, *settings_) as thread:
        fuzzing = Fuzzing(thread)
        thread.call(_set_up(fuzzing))
        yield fuzzing


# ------------------------------------------------------------------------------ strategies

_EDGE_CHARACTERS = (
    "\x00",
    "\x07",
    "\x1b[31m",
    "\x7f",
    "\x85",
    "\t",
    "\r",
    "\n",
    "\u00a0",
    "\u200b",
    "\u2028",
    "\u2029",
    "\u202e",
    "\u2066",
    "\ufeff",
    "\ufffd",
    "\U0001f600",
    "e\u0301",
    "ﬃ",
    "{",
    "}",
    '"',
    "\\",
    "'",
    ":",
)

#: Hypothesis text has no lone surrogates (a websockets client could not encode them); binary
#: frames carry their UTF-8 form instead.
_text = st.text(max_size=60)
_edgy_text = st.lists(st.sampled_from(_EDGE_CHARACTERS) | _text, max_size=6).map("".join)

_json_values: st.SearchStrategy[Any] = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | _edgy_text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_text, children, max_size=4),
    max_leaves=8,
)

_field_values = _edgy_text | _json_values | st.text(max_size=1100)

_messages = st.fixed_dictionaries(
    {"type": st.sampled_from([*CLIENT_TYPES, "shout", "", "CMD"]) | _json_values},
    optional={
        "name": st.sampled_from(["Fuzzer", "Honest", "Ab", "Newcomer"]) | _field_values,
        "password": st.sampled_from([PASSWORD, "short"]) | _field_values,
        "token": _field_values,
        "text": st.sampled_from(["look", "say hi", "quit", "", "xyzzy"]) | _field_values,
        "id": _json_values,
    },
)


def _dump(value: Any) -> str:
    try:
        return orjson.dumps(value).decode("utf-8")
    except TypeError:  # an integer beyond 64 bits
        return str(value)


_json_frames = st.one_of(
    _messages.map(_dump),
    st.tuples(_messages.map(_dump), st.integers(min_value=1, max_value=40)).map(
        lambda pair: pair[0][: -pair[1]]  # truncated JSON
    ),
    st.tuples(st.sampled_from(["", " ", "\t", "\r\n", "\n\n"]), _messages.map(_dump)).map("".join),
    _json_values.map(_dump),  # arrays, numbers, strings: JSON, but not messages
    st.builds(lambda s: "{" + s, _edgy_text),
)

_command_lines = st.sampled_from(
    [
        "look",
        "say hello",
        "'hello",
        ":waves",
        "help",
        "who",
        "north",
        "east",
        "get",
        "get all",
        "drop all",
        "xyzzy",
        "quit",
        "kick Honest",
        "shutdown 0",
        "login Fuzzer " + PASSWORD,
        "login Honest wrong-password",
        "register Ab x",
        "register",
        "resume abc",
        "resume",
        "",
        "   ",
    ]
) | st.builds(lambda verb, rest: f"{verb} {rest}", st.sampled_from(["say", "get", "look"]), _text)

_huge = st.one_of(
    st.text(min_size=1000, max_size=2200),
    st.integers(min_value=MAX_FRAME_BYTES - 4, max_value=MAX_FRAME_BYTES + 4).map(
        lambda n: "x" * n
    ),
    st.integers(min_value=MAX_FRAME_BYTES - 2, max_value=MAX_FRAME_BYTES + 2).map(
        lambda n: b"y" * n
    ),
    st.builds(lambda n: "say " + "é" * n, st.integers(min_value=400, max_value=2100)),
)

_frames: st.SearchStrategy[str | bytes] = st.one_of(
    st.text(),
    st.binary(max_size=200),
    st.sampled_from([b"\xed\xa0\x80", b"\xff", b"\xc3", b'{"type": "ping"}', b"look"]),
    _edgy_text,
    _json_frames,
    _command_lines,
    _huge,
)


# ------------------------------------------------------------------------------ the oracle


def _size(frame: str | bytes) -> int:
    return len(frame) if isinstance(frame, bytes) else len(frame.encode("utf-8"))


def _expected(frame: str | bytes, logged_in: bool) -> str | None:
    """What answers ``frame`` at once: ``error:CODE``, ``pong``, ``auth``, or None (a command
    for the world)."""
    try:
        message = parse_client_frame(frame)
        if isinstance(message, Cmd) and not logged_in:
            message = auth_from_command(message) or message
    except ProtocolError as refused:
        return f"error:{refused.code}"
    if isinstance(message, Ping):
        return "pong"
    if isinstance(message, Register | Login | Resume):
        return "auth"
    return "error:not_authenticated" if not logged_in else None


def _immediate(message: ServerMessage) -> str | None:
    """The oracle's name for a message that answers a frame at once; None for world output."""
    if message.type == "pong":
        return "pong"
    if message.type in ("auth_ok", "auth_error"):
        return "auth"
    if message.type == "error" and message.data.get("code") in IMMEDIATE_ERRORS:
        return f"error:{message.data['code']}"
    return None


async def _one_example(fuzzing: Fuzzing, frames: list[str | bytes], log_in: bool) -> None:
    server = fuzzing.server
    client = await server.connect("fuzz")
    if log_in:
        await client.login("Fuzzer", PASSWORD)
    logged_in = log_in
    for frame in frames:
        try:
            if isinstance(frame, bytes):
                await client.send_bytes(frame)
            else:
                await client.send_text(frame)
        except ConnectionClosed:
            break  # closed by an earlier frame (checked below)
    pings = 1 + sum(1 for f in frames if _expected_ping(f))
    received: list[ServerMessage] = []
    close_code: int | None = None
    try:
        await client.send_json({"type": "ping"})
        pongs = 0
        while pongs < pings:
            message = await client.recv()
            received.append(message)
            pongs += message.type == "pong"
    except ConnectionClosed:
        close_code = client.ws.close_code
    finally:
        await client.close()

    for message in received:
        assert not (message.type == "error" and message.data.get("code") == "internal_error"), (
            frames,
            message,
        )
        if message.type in ("error", "auth_error"):
            assert message.data["message"] and message.text == message.data["message"]
    replies = iter([(name, m) for m in received if (name := _immediate(m)) is not None])
    oversized = next((i for i, f in enumerate(frames) if _size(f) > MAX_FRAME_BYTES), None)
    if oversized is not None:
        # The transport refuses the frame before the server sees it and closes the connection;
        # answers to the frames before it may still be in flight, and are then lost.
        assert close_code == 1009, (frames[oversized][:40], close_code, received)
    for frame in frames[:oversized]:
        expected = _expected(frame, logged_in)
        if expected is None:
            continue
        try:
            answer, message = next(replies)
        except StopIteration:
            if oversized is not None:
                return
            # Only a rule may end the connection early, and quitting says goodbye first.
            byes = [m for m in received if m.type == "bye"]
            assert byes and close_code == 1000, (frames, received, close_code)
            return
        assert answer == expected, (frame, expected, message)
        if message.type == "auth_ok":
            logged_in = True
    if oversized is None:
        assert close_code is None or any(m.type == "bye" for m in received), (frames, received)


def _expected_ping(frame: str | bytes) -> bool:
    if _size(frame) > MAX_FRAME_BYTES:
        return False
    try:
        return isinstance(parse_client_frame(frame), Ping)
    except ProtocolError:
        return False


async def _honest_check(fuzzing: Fuzzing) -> None:
    """The honest player is still connected, still playing, and still answered."""
    honest = fuzzing.honest
    assert honest is not None
    await honest.cmd("look")
    room = await honest.expect("room")
    assert room.data["name"]
    assert fuzzing.server.entity_of(honest) in fuzzing.server.hub.playing


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(frames=st.lists(_frames, min_size=1, max_size=4), log_in=st.booleans())
def test_random_frames_never_upset_the_server_or_an_honest_player(
    fuzzing: Fuzzing, frames: list[str | bytes], log_in: bool
) -> None:
    fuzzing.examples += 1
    fuzzing.thread.call(_one_example(fuzzing, frames, log_in))
    fuzzing.thread.call(_honest_check(fuzzing))


async def _final_check(fuzzing: Fuzzing) -> None:
    server = fuzzing.server
    tick = server.tick
    await server.wait_ticks(5)
    assert server.tick > tick
    assert server.engine.listener_failures == 0
    assert server.ticks.stats().tick_errors == 0
    await _honest_check(fuzzing)
    honest = fuzzing.honest
    assert honest is not None
    await wait_until(
        lambda: [s.character for s in server.hub.sessions] == [server.entity_of(honest)],
        "only the honest player is connected",
    )


def test_after_the_fuzzing_the_server_is_healthy(fuzzing: Fuzzing) -> None:
    """Runs after the fuzz test (same module, same server): nothing failed inside the tick."""
    fuzzing.thread.call(_final_check(fuzzing))
