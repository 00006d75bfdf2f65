"""The wire protocol, without a network: every frame a client may send, every message the server
encodes, every way input is refused, and the examples in docs/protocol.md.

Each test is named after the rule it checks; ``net.protocol`` is driven with plain strings, bytes
and explicit times.
"""

from __future__ import annotations

import ast
import collections
import dataclasses
import datetime
import enum
import math
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from net.names import RESERVED_NAMES
from net.protocol import (
    AUTH_ERROR_CODES,
    BYE_REASONS,
    CLIENT_TYPES,
    ERROR_CODES,
    MAX_COMMAND_CHARS,
    MAX_DATA_DEPTH,
    MAX_FRAME_BYTES,
    MAX_NAME_CHARS,
    MAX_PASSWORD_CHARS,
    MAX_TOKEN_CHARS,
    PROTOCOL_VERSION,
    PROTOCOL_VERSIONS,
    SERVER_TYPES,
    ClientMessage,
    Cmd,
    Login,
    Ping,
    Prepared,
    ProtocolError,
    Register,
    Resume,
    ServerChannel,
    ServerMessage,
    UseProtocol,
    auth_from_command,
    batch_frame,
    encode_client_message,
    parse_client_frame,
    parse_server_frame,
    parse_server_frames,
    prepare,
    protocol_message,
    to_json_safe,
)

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "protocol.md"


def refused(frame: str | bytes) -> ProtocolError:
    """The ProtocolError ``frame`` is refused with (fails the test if it parses)."""
    with pytest.raises(ProtocolError) as caught:
        parse_client_frame(frame)
    return caught.value


def decoded(encoded: bytes) -> dict[str, Any]:
    value = orjson.loads(encoded)
    assert isinstance(value, dict)
    return value


# --------------------------------------------------------------------------------------------------
# Client messages: what parses, and to what

EVERY_CLIENT_MESSAGE: list[ClientMessage] = [
    Register("Armitage", "correct-horse"),
    Login("Armitage", "correct horse battery"),
    Resume("n3CqB4d1TqT0mZ8lZ3ydOQhY2o4lZ7XKc2q1Q2mXxkE"),
    Cmd("get rusty knife from oak chest"),
    Cmd("'The stars are right."),
    Ping(),
    UseProtocol(2),
]


@pytest.mark.parametrize("message", EVERY_CLIENT_MESSAGE, ids=repr)
def test_every_client_message_survives_encoding_and_parsing(message: ClientMessage) -> None:
    assert parse_client_frame(encode_client_message(message)) == message


@pytest.mark.parametrize("message", EVERY_CLIENT_MESSAGE, ids=repr)
def test_a_client_message_parses_the_same_from_a_utf8_binary_frame(message: ClientMessage) -> None:
    frame = encode_client_message(message).encode("utf-8")
    assert parse_client_frame(frame) == message
    assert parse_client_frame(bytearray(frame)) == message  # type: ignore[arg-type]
    assert parse_client_frame(memoryview(frame)) == message  # type: ignore[arg-type]


def test_the_client_types_are_exactly_those_with_a_message_class() -> None:
    assert set(CLIENT_TYPES) == {"register", "login", "resume", "cmd", "ping", "protocol"}
    assert list(CLIENT_TYPES) == sorted(CLIENT_TYPES)
    encoded_types = {orjson.loads(encode_client_message(m))["type"] for m in EVERY_CLIENT_MESSAGE}
    assert encoded_types == set(CLIENT_TYPES)


def test_a_frame_not_starting_with_a_brace_is_a_command_line() -> None:
    assert parse_client_frame("look") == Cmd("look")
    assert parse_client_frame("say {curly} words") == Cmd("say {curly} words")
    assert parse_client_frame('"quoted"') == Cmd('"quoted"')
    assert parse_client_frame("[1, 2]") == Cmd("[1, 2]")


def test_json_whitespace_before_a_brace_still_makes_a_json_message() -> None:
    assert parse_client_frame(' \t\r\n {"type": "ping"}') == Ping()


def test_other_whitespace_before_a_brace_makes_a_command_line() -> None:
    # U+00A0 is not JSON whitespace: the frame is a command (which the game will not know)
    assert parse_client_frame('\u00a0{"type": "ping"}') == Cmd('{"type": "ping"}')


def test_a_pretty_printed_json_message_parses() -> None:
    frame = '{\n  "type": "login",\n  "name": "Armitage",\n  "password": "correct-horse"\n}\n'
    assert parse_client_frame(frame) == Login("Armitage", "correct-horse")


def test_a_repeated_key_counts_once_with_its_last_value() -> None:
    assert parse_client_frame('{"type": "cmd", "text": "a", "text": "look"}') == Cmd("look")


def test_a_command_is_trimmed_and_its_tabs_become_spaces() -> None:
    assert parse_client_frame("  north \r\n") == Cmd("north")
    assert parse_client_frame("say\thello\tthere") == Cmd("say hello there")
    assert parse_client_frame('{"type": "cmd", "text": " \\tlook\\n"}') == Cmd("look")


def test_a_command_keeps_its_inner_spacing_case_and_shortcuts() -> None:
    assert parse_client_frame("say  Two   Spaces") == Cmd("say  Two   Spaces")
    assert parse_client_frame("'Hello") == Cmd("'Hello")
    assert parse_client_frame(":waves") == Cmd(":waves")


def test_a_command_may_hold_any_printable_unicode() -> None:
    line = "say Ph'nglui mglw'nafh Cthulhu — ¡Iä! 🐙 ク"
    assert parse_client_frame(line) == Cmd(line)
    assert parse_client_frame(line.encode("utf-8")) == Cmd(line)


def test_a_command_of_exactly_the_limit_is_accepted() -> None:
    line = "say " + "a" * (MAX_COMMAND_CHARS - 4)
    assert parse_client_frame(line) == Cmd(line)


def test_names_passwords_and_tokens_are_returned_as_sent() -> None:
    frame = '{"type": "register", "name": " no good ", "password": "  spaced  "}'
    assert parse_client_frame(frame) == Register(" no good ", "  spaced  ")
    assert parse_client_frame('{"type": "login", "name": "", "password": ""}') == Login("", "")
    assert parse_client_frame('{"type": "resume", "token": ""}') == Resume("")


def test_passwords_and_tokens_never_appear_in_a_messages_repr() -> None:
    assert "hunter22" not in repr(Register("Armitage", "hunter22"))
    assert "hunter22" not in repr(Login("Armitage", "hunter22"))
    assert "s3cret" not in repr(Resume("s3cret"))
    assert "Armitage" in repr(Login("Armitage", "hunter22"))


def test_the_longest_typed_messages_fit_in_a_frame() -> None:
    """A maximal name with a maximal ASCII password, and a maximal ASCII command line."""
    password = "p" * MAX_PASSWORD_CHARS
    frame = orjson.dumps(
        {"type": "register", "name": "N" * MAX_NAME_CHARS, "password": password}
    ).decode()
    assert len(frame.encode()) <= MAX_FRAME_BYTES
    assert parse_client_frame(frame) == Register("N" * MAX_NAME_CHARS, password)
    command = orjson.dumps({"type": "cmd", "text": "say " + "x" * (MAX_COMMAND_CHARS - 4)})
    assert len(command) <= MAX_FRAME_BYTES
    assert parse_client_frame(command) == Cmd("say " + "x" * (MAX_COMMAND_CHARS - 4))


# --------------------------------------------------------------------------------------------------
# Refused frames: each has its code and a message that says what to fix


def test_invalid_json_is_bad_json_with_the_line_and_column() -> None:
    error = refused('{"type": "cmd",\n "text": "look",}')
    assert error.code == "bad_json"
    assert "line 2, column" in error.message
    assert "command line" in error.message  # tells the client how to send a plain line


def test_json_nested_past_the_parsers_depth_limit_is_bad_json() -> None:
    frame = '{"type": "cmd", "text": "look", "x": ' + "[" * 1500 + "]" * 1500 + "}"
    error = refused(frame)
    assert error.code == "bad_json"
    assert "depth" in error.message


def test_a_brace_that_starts_a_typed_line_is_bad_json_never_a_command() -> None:
    assert refused("{look}").code == "bad_json"


def test_a_message_without_a_type_is_refused_naming_the_field() -> None:
    error = refused('{"text": "look"}')
    assert (error.code, '"type"' in error.message) == ("bad_message", True)
    for known in CLIENT_TYPES:
        assert known in error.message


@pytest.mark.parametrize(
    ("value", "kind"), [("5", "a number"), ("null", "null"), ("[]", "an array")]
)
def test_a_type_that_is_not_a_string_is_refused_saying_what_it_is(value: str, kind: str) -> None:
    error = refused(f'{{"type": {value}}}')
    assert error.code == "bad_message"
    assert kind in error.message


def test_an_unknown_type_is_refused_listing_the_known_types() -> None:
    error = refused('{"type": "shout", "text": "HELLO"}')
    assert error.code == "unknown_type"
    assert "'shout'" in error.message
    assert "cmd, login, ping, protocol, register, resume" in error.message


def test_an_unknown_type_is_quoted_back_shortened() -> None:
    error = refused(orjson.dumps({"type": "x" * 3000}))
    assert error.code == "unknown_type"
    assert len(error.message) < 200


@pytest.mark.parametrize(
    ("frame", "field"),
    [
        ('{"type": "register", "password": "correct-horse"}', "name"),
        ('{"type": "login", "name": "Armitage"}', "password"),
        ('{"type": "resume"}', "token"),
        ('{"type": "cmd"}', "text"),
    ],
)
def test_a_missing_field_is_refused_naming_it_and_showing_the_shape(frame: str, field: str) -> None:
    error = refused(frame)
    assert error.code == "bad_message"
    assert f'needs the field "{field}"' in error.message
    assert '{"type": ' in error.message  # shows a well-formed example


@pytest.mark.parametrize(
    ("frame", "extra"),
    [
        ('{"type": "ping", "id": 1}', "id"),
        ('{"type": "cmd", "text": "look", "id": 7}', "id"),
        ('{"type": "login", "name": "A", "password": "b", "remember": true}', "remember"),
    ],
)
def test_an_unknown_field_is_refused_naming_it(frame: str, extra: str) -> None:
    error = refused(frame)
    assert error.code == "bad_message"
    assert f"no field '{extra}'" in error.message
    assert "write it as {" in error.message


@pytest.mark.parametrize(
    ("frame", "field", "kind"),
    [
        ('{"type": "cmd", "text": ["look"]}', "text", "an array"),
        ('{"type": "cmd", "text": 5}', "text", "a number"),
        ('{"type": "login", "name": "A", "password": null}', "password", "null"),
        ('{"type": "register", "name": {}, "password": "x"}', "name", "an object"),
        ('{"type": "resume", "token": true}', "token", "a boolean"),
    ],
)
def test_a_field_of_the_wrong_json_type_is_refused_naming_it(
    frame: str, field: str, kind: str
) -> None:
    error = refused(frame)
    assert error.code == "bad_message"
    assert f'field "{field}"' in error.message
    assert f"must be a string, not {kind}" in error.message


@pytest.mark.parametrize(
    ("message", "field", "limit"),
    [
        ({"type": "register", "name": "n" * (MAX_NAME_CHARS + 1), "password": "x"}, "name", 64),
        (
            {"type": "login", "name": "n", "password": "p" * (MAX_PASSWORD_CHARS + 1)},
            "password",
            1024,
        ),
        ({"type": "resume", "token": "t" * (MAX_TOKEN_CHARS + 1)}, "token", 256),
    ],
)
def test_an_over_long_field_is_too_large_naming_it_and_its_limit(
    message: dict[str, str], field: str, limit: int
) -> None:
    error = refused(orjson.dumps(message).decode())
    assert error.code == "too_large"
    assert f'"{field}"' in error.message
    assert f"limit is {limit}" in error.message


def test_fields_of_exactly_their_limit_are_accepted() -> None:
    frame = orjson.dumps(
        {"type": "login", "name": "n" * MAX_NAME_CHARS, "password": "p" * MAX_PASSWORD_CHARS}
    )
    assert parse_client_frame(frame) == Login("n" * MAX_NAME_CHARS, "p" * MAX_PASSWORD_CHARS)


def test_an_over_long_command_is_too_large_as_a_line_or_a_message() -> None:
    line = "say " + "a" * MAX_COMMAND_CHARS
    for frame in (line, orjson.dumps({"type": "cmd", "text": line})):
        error = refused(frame)
        assert error.code == "too_large"
        assert f"limit of {MAX_COMMAND_CHARS}" in error.message


@pytest.mark.parametrize(
    "frame",
    [
        "x" * (MAX_FRAME_BYTES + 1),
        b"x" * (MAX_FRAME_BYTES + 1),
        "\u00e9" * (MAX_FRAME_BYTES // 2 + 1),  # fewer characters than the limit, more bytes
        " " * MAX_FRAME_BYTES + '{"type": "ping"}',
    ],
    ids=["text", "binary", "two-byte-text", "padded-json"],
)
def test_a_frame_over_the_size_limit_is_too_large_in_bytes(frame: str | bytes) -> None:
    error = refused(frame)
    assert error.code == "too_large"
    assert f"limit of {MAX_FRAME_BYTES} bytes" in error.message


@pytest.mark.parametrize("frame", ["", "   ", "\t\r\n", '{"type": "cmd", "text": "  "}'])
def test_a_blank_command_is_an_empty_command(frame: str) -> None:
    error = refused(frame)
    assert error.code == "empty_command"
    assert "look" in error.message  # suggests something to type


@pytest.mark.parametrize(
    ("line", "char"),
    [
        ("say \nlook", "a line break"),
        ("say \rlook", "a line break"),
        ("say \u2028look", "a line break"),
        ("say \u2029look", "a line break"),
        ("say \x00", "U+0000"),
        ("say \x07beep", "U+0007"),
        ("say \x1b[31mred", "U+001B"),
        ("say \x7f", "U+007F"),
        ("say \x85next", "U+0085"),
        ("say \u202eevil", "U+202E"),
        ("say \u2066isolate", "U+2066"),
    ],
)
def test_control_characters_and_line_breaks_in_a_command_are_refused(line: str, char: str) -> None:
    for frame in (line, orjson.dumps({"type": "cmd", "text": line}).decode()):
        error = refused(frame)
        assert error.code == "bad_message"
        assert char in error.message
        assert "position 5" in error.message


def test_a_line_break_tells_the_client_to_send_one_command_per_frame() -> None:
    assert "one command per frame" in refused("look\nnorth").message


def test_a_binary_frame_that_is_not_utf8_is_refused_with_the_offending_byte() -> None:
    error = refused(b"say caf\xe9")
    assert error.code == "bad_message"
    assert "0xe9" in error.message
    assert "offset 7" in error.message


def test_a_lone_surrogate_in_a_text_frame_is_refused() -> None:
    for frame in ("say \ud800", '{"type": "cmd", "text": "\ud83d"}'):
        error = refused(frame)
        assert error.code == "bad_message"
        assert "surrogate" in error.message


def test_an_escaped_lone_surrogate_in_json_is_bad_json() -> None:
    assert refused('{"type": "cmd", "text": "\\ud800"}').code == "bad_json"


@pytest.mark.parametrize("frame", [None, 42, ["look"], {"type": "ping"}])
def test_a_frame_that_is_neither_text_nor_bytes_is_refused(frame: Any) -> None:
    assert refused(frame).code == "bad_message"


def test_every_parse_error_code_is_a_documented_error_code() -> None:
    frames: list[str | bytes] = [
        "{",
        '{"type": 1}',
        '{"type": "nope"}',
        "",
        "x" * (MAX_FRAME_BYTES + 1),
        b"\xff",
    ]
    assert {refused(frame).code for frame in frames} <= ERROR_CODES


# --------------------------------------------------------------------------------------------------
# Logging in from a plain line


def test_a_plain_login_line_is_a_login_whose_password_is_the_rest_of_the_line() -> None:
    assert auth_from_command(Cmd("login Armitage correct horse")) == Login(
        "Armitage", "correct horse"
    )
    assert auth_from_command(Cmd("LOGIN Armitage pw")) == Login("Armitage", "pw")


def test_a_plain_register_line_is_a_register() -> None:
    assert auth_from_command(Cmd("register Carter yog-sothoth")) == Register(
        "Carter", "yog-sothoth"
    )


def test_a_plain_resume_line_is_a_resume() -> None:
    assert auth_from_command(Cmd("resume abc123")) == Resume("abc123")


@pytest.mark.parametrize(
    ("line", "usage"),
    [
        ("login", "login <name> <password>"),
        ("login Armitage", "login <name> <password>"),
        ("register Carter", "register <name> <password>"),
        ("resume", "resume <token>"),
        ("resume two tokens", "resume <token>"),
    ],
)
def test_a_plain_auth_line_with_the_wrong_words_shows_its_usage(line: str, usage: str) -> None:
    with pytest.raises(ProtocolError) as caught:
        auth_from_command(Cmd(line))
    assert caught.value.code == "bad_message"
    assert usage in caught.value.message


def test_a_plain_auth_line_with_an_over_long_name_or_token_is_too_large() -> None:
    for line in ("login " + "n" * (MAX_NAME_CHARS + 1) + " pw", "resume " + "t" * 300):
        with pytest.raises(ProtocolError) as caught:
            auth_from_command(Cmd(line))
        assert caught.value.code == "too_large"


@pytest.mark.parametrize("line", ["look", "say login Armitage pw", "logins", "'login"])
def test_any_other_line_is_not_an_auth_line(line: str) -> None:
    assert auth_from_command(Cmd(line)) is None


# --------------------------------------------------------------------------------------------------
# Server messages


def test_server_messages_are_numbered_from_one_rising_by_one_per_channel() -> None:
    channel, other = ServerChannel(), ServerChannel()
    assert channel.seq == 0
    seqs = [decoded(channel.pong(tick=5))["seq"] for _ in range(5)]
    assert seqs == [1, 2, 3, 4, 5]
    assert channel.seq == 5
    assert decoded(other.pong(tick=5))["seq"] == 1  # each connection counts on its own


def test_a_server_message_is_compact_json_with_five_keys_in_order() -> None:
    encoded = ServerChannel().message("msg", {"event": "emote"}, "Carter waves.", tick=7)
    assert encoded == (
        b'{"type":"msg","seq":1,"tick":7,"data":{"event":"emote"},"text":"Carter waves."}'
    )


def test_a_message_without_data_has_an_empty_data_object() -> None:
    assert decoded(ServerChannel().message("pong", tick=1))["data"] == {}


def test_an_unknown_server_type_is_a_bug_that_uses_up_no_sequence_number() -> None:
    channel = ServerChannel()
    with pytest.raises(ValueError, match="unknown server message type 'shout'"):
        channel.message("shout", tick=1)
    assert decoded(channel.pong(tick=1))["seq"] == 1


def test_data_with_no_json_form_is_a_type_error_that_uses_up_no_sequence_number() -> None:
    channel = ServerChannel()
    with pytest.raises(TypeError):
        channel.message("msg", {"event": "x", "blob": object()}, tick=1)
    assert decoded(channel.pong(tick=1))["seq"] == 1


def test_a_channel_encodes_tuples_sets_enums_and_read_only_mappings() -> None:
    class Lock(enum.StrEnum):
        LOCKED = "locked"

    data = MappingProxyType(
        {"exits": ("n", "e"), "keys": frozenset({"c", "a", "b"}), "lock": Lock.LOCKED}
    )
    message = decoded(ServerChannel().message("room", data, tick=1))
    assert message["data"] == {"exits": ["n", "e"], "keys": ["a", "b", "c"], "lock": "locked"}


def test_welcome_names_the_server_and_the_protocol_version() -> None:
    message = decoded(ServerChannel().welcome("Kadath", "0.1.0", tick=3))
    assert (message["type"], message["seq"], message["tick"]) == ("welcome", 1, 3)
    data = message["data"]
    assert (data["server"], data["version"], data["protocol"]) == ("Kadath", "0.1.0", 1)
    assert PROTOCOL_VERSION == 1
    assert data["hints"] and all(isinstance(hint, str) for hint in data["hints"])
    assert data["limits"]["command_chars"] == MAX_COMMAND_CHARS
    assert data["limits"]["frame_bytes"] == MAX_FRAME_BYTES
    assert "Welcome to Kadath." in message["text"]
    assert "login <name> <password>" in message["text"]  # a raw client learns how to log in


def test_welcome_lists_every_protocol_version_the_server_speaks() -> None:
    data = decoded(ServerChannel().welcome("Kadath", "0.1.0", tick=3))["data"]
    assert data["protocols"] == list(PROTOCOL_VERSIONS) == [1, 2]
    assert data["protocol"] == 1  # every connection starts in version 1


def test_welcome_takes_its_own_text_and_hints() -> None:
    message = decoded(ServerChannel().welcome("K", "1", tick=0, text="Hi.", hints=["one"]))
    assert (message["text"], message["data"]["hints"]) == ("Hi.", ["one"])


def test_auth_ok_carries_the_name_entity_and_resume_token() -> None:
    message = decoded(ServerChannel().auth_ok("Armitage", 2**62 + 5, "tok", tick=9))
    assert message["data"] == {
        "name": "Armitage",
        "entity": 2**62 + 5,
        "token": "tok",
        "resumed": False,
    }
    assert message["text"] == "Welcome, Armitage."
    resumed = decoded(ServerChannel().auth_ok("Armitage", 1, "tok", tick=9, resumed=True))
    assert (resumed["data"]["resumed"], resumed["text"]) == (True, "Welcome back, Armitage.")


def test_auth_error_and_error_carry_code_and_message_as_data_and_text() -> None:
    channel = ServerChannel()
    auth = decoded(channel.auth_error("name_taken", "That name is taken.", tick=2))
    assert auth["type"] == "auth_error"
    assert auth["data"] == {"code": "name_taken", "message": "That name is taken."}
    assert auth["text"] == "That name is taken."
    error = decoded(channel.error("unknown_command", "Unknown.", tick=2, suggestions=["look"]))
    assert error["type"] == "error"
    assert error["data"] == {
        "code": "unknown_command",
        "message": "Unknown.",
        "suggestions": ["look"],
    }
    assert error["text"] == "Unknown."


def test_a_protocol_error_becomes_an_error_message_directly() -> None:
    problem = refused("{")
    message = decoded(ServerChannel().error(problem.code, problem.message, tick=0))
    assert message["data"]["code"] == "bad_json"


def test_pong_is_empty() -> None:
    message = decoded(ServerChannel().pong(tick=4))
    assert (message["type"], message["data"], message["text"]) == ("pong", {}, "")


@pytest.mark.parametrize("reason", sorted(BYE_REASONS))
def test_bye_says_why_in_data_and_in_words(reason: str) -> None:
    message = decoded(ServerChannel().bye(reason, tick=4))
    assert message["data"] == {"reason": reason}
    assert message["text"] == BYE_REASONS[reason]


def test_bye_reasons_are_takeover_kicked_shutdown_idle_and_quit() -> None:
    assert set(BYE_REASONS) == {"takeover", "kicked", "shutdown", "idle", "quit"}
    with pytest.raises(ValueError, match="unknown bye reason"):
        ServerChannel().bye("bored", tick=0)


def test_bye_takes_its_own_text() -> None:
    assert decoded(ServerChannel().bye("kicked", tick=0, text="Out."))["text"] == "Out."


def test_every_server_type_survives_encoding_and_decoding() -> None:
    channel = ServerChannel()
    for seq, type_ in enumerate(sorted(SERVER_TYPES), start=1):
        encoded = channel.message(type_, {"k": [1, "two"]}, f"text of {type_}", tick=seq * 10)
        assert parse_server_frame(encoded) == ServerMessage(
            type_, seq, seq * 10, {"k": [1, "two"]}, f"text of {type_}"
        )
        assert parse_server_frame(encoded.decode()) == parse_server_frame(encoded)


# --------------------------------------------------------------------------------------------------
# One encode per broadcast, and batches (protocol version 2)

_JSON_DATA = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text() | st.floats(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=200, deadline=None)
@given(
    type_=st.sampled_from(sorted(SERVER_TYPES)),
    data=st.dictionaries(st.text(), _JSON_DATA, max_size=5),
    text=st.text(),
    tick=st.integers(0, 2**62),
    earlier=st.integers(0, 10_050),
)
def test_a_prepared_message_stamped_is_byte_identical_to_encoding_it_for_that_connection(
    type_: str, data: dict[str, Any], text: str, tick: int, earlier: int
) -> None:
    """One encode for N listeners: the frame each connection gets is exactly what encoding the
    whole message for it alone gives, whatever its sequence number (1 digit or 5)."""
    alone, spliced = ServerChannel(), ServerChannel()
    for _ in range(earlier):
        alone.pong(tick=0)
        spliced.pong(tick=0)
    expected = orjson.dumps(
        {"type": type_, "seq": earlier + 1, "tick": tick, "data": data, "text": text},
        option=orjson.OPT_NON_STR_KEYS,
    )
    prepared = prepare(type_, data, text, tick=tick)
    assert spliced.stamp(prepared) == expected
    assert alone.message(type_, data, text, tick=tick) == expected
    assert prepared.size + len(str(earlier + 1)) == len(expected)


def test_one_prepared_message_serves_many_connections_each_with_its_own_number() -> None:
    channels = [ServerChannel() for _ in range(3)]
    channels[1].pong(tick=0)
    channels[2].pong(tick=0)
    channels[2].pong(tick=0)
    prepared = prepare(
        "say", {"from": "Carter", "from_id": 7, "text": "hi"}, "Carter says, 'hi'", tick=4
    )
    frames = [channel.stamp(prepared) for channel in channels]
    assert [parse_server_frame(frame).seq for frame in frames] == [1, 2, 3]
    assert len({parse_server_frame(frame).data["text"] for frame in frames}) == 1


def test_the_channel_helpers_are_their_prepared_messages_stamped() -> None:
    """Every helper is the one-encode builder plus a stamp: the same bytes either way."""
    from net import protocol

    pairs: list[tuple[Callable[[ServerChannel], bytes], Prepared]] = [
        (lambda c: c.welcome("K", "1", tick=2), protocol.welcome_message("K", "1", tick=2)),
        (lambda c: c.auth_ok("A", 5, "t", tick=2), protocol.auth_ok_message("A", 5, "t", tick=2)),
        (
            lambda c: c.auth_error("bad_name", "no", tick=2),
            protocol.auth_error_message("bad_name", "no", tick=2),
        ),
        (
            lambda c: c.error("x", "y", tick=2, usage="u"),
            protocol.error_message("x", "y", tick=2, usage="u"),
        ),
        (lambda c: c.pong(tick=2), protocol.pong_message(tick=2)),
        (lambda c: c.bye("idle", tick=2), protocol.bye_message("idle", tick=2)),
    ]
    for helper, prepared in pairs:
        assert helper(ServerChannel()) == ServerChannel().stamp(prepared)


def test_preparing_an_unknown_type_or_data_with_no_json_form_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown server message type"):
        prepare("shout", tick=0)
    with pytest.raises(TypeError):
        prepare("msg", {"x": object()}, tick=0)


def test_a_batch_is_a_json_array_of_messages_each_numbered_as_if_alone() -> None:
    channel = ServerChannel()
    frames = [channel.message("say", {"n": n}, f"line {n}", tick=9) for n in range(3)]
    batch = batch_frame(frames)
    assert orjson.loads(batch) == [orjson.loads(frame) for frame in frames]
    assert [m.seq for m in parse_server_frames(batch)] == [1, 2, 3]
    assert parse_server_frames(frames[0]) == [parse_server_frame(frames[0])]
    assert parse_server_frames(batch.decode()) == parse_server_frames(batch)


@pytest.mark.parametrize("frame", [b"[]", b"[1]", b'[{"type":"pong"}]', b"[{]"])
def test_a_malformed_batch_is_refused(frame: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_server_frames(frame)


def test_a_connection_batches_only_once_it_speaks_version_2() -> None:
    channel = ServerChannel()
    assert (channel.version, channel.batching) == (1, False)
    channel.version = 2
    assert channel.batching


def test_a_protocol_message_asks_for_a_version_the_server_speaks() -> None:
    assert parse_client_frame('{"type": "protocol", "version": 2}') == UseProtocol(2)
    assert parse_client_frame('{"type": "protocol", "version": 1}') == UseProtocol(1)
    unknown = refused('{"type": "protocol", "version": 3}')
    assert unknown.code == "bad_message"
    assert "speaks 1, 2" in unknown.message
    for bad in ('"2"', "true", "null", "[2]"):
        error = refused('{"type": "protocol", "version": ' + bad + "}")
        assert error.code == "bad_message", bad
        assert "must be an integer" in error.message, bad
    assert refused('{"type": "protocol"}').message.endswith('{"type": "protocol", "version": 2}')


@pytest.mark.parametrize(
    "frame",
    [
        b"not json",
        b"[]",
        b'{"type":"pong","seq":1,"tick":0,"data":{}}',
        b'{"type":"pong","seq":1,"tick":0,"data":{},"text":"","extra":1}',
        b'{"type":"shout","seq":1,"tick":0,"data":{},"text":""}',
        b'{"type":"pong","seq":0,"tick":0,"data":{},"text":""}',
        b'{"type":"pong","seq":true,"tick":0,"data":{},"text":""}',
        b'{"type":"pong","seq":1,"tick":-1,"data":{},"text":""}',
        b'{"type":"pong","seq":1,"tick":0,"data":[],"text":""}',
        b'{"type":"pong","seq":1,"tick":0,"data":{},"text":null}',
    ],
)
def test_a_malformed_server_message_is_refused(frame: bytes) -> None:
    with pytest.raises(ProtocolError):
        parse_server_frame(frame)


# --------------------------------------------------------------------------------------------------
# JSON-safe data


class Colour(enum.Enum):
    RED = "red"


class Tier(enum.IntEnum):
    UNEASY = 2


@dataclass(frozen=True)
class Wound:
    where: str
    depth: int


def test_tuples_become_lists_and_sets_become_sorted_lists() -> None:
    value = {"t": (1, (2, 3)), "s": frozenset({3, 1, 2}), "m": {"b", "a"}}
    assert to_json_safe(value) == {"t": [1, [2, 3]], "s": [1, 2, 3], "m": ["a", "b"]}


def test_a_set_of_mixed_types_always_comes_out_in_the_same_order() -> None:
    first = to_json_safe(frozenset({1, "a", 2.5, None}))
    assert first == to_json_safe(frozenset({None, 2.5, "a", 1}))
    assert sorted(first, key=repr) == sorted([1, "a", 2.5, None], key=repr)


def test_enums_become_their_values_as_values_and_as_keys() -> None:
    assert to_json_safe({"c": Colour.RED, "t": Tier.UNEASY}) == {"c": "red", "t": 2}
    assert to_json_safe({Colour.RED: 1, 7: 2}) == {"red": 1, "7": 2}
    assert type(to_json_safe(Tier.UNEASY)) is int


def test_dataclasses_become_objects_and_dates_iso_strings() -> None:
    moment = datetime.datetime(1926, 3, 1, 23, 0, tzinfo=datetime.UTC)
    value = {"wound": Wound("arm", 2), "when": moment, "day": moment.date()}
    assert to_json_safe(value) == {
        "wound": {"where": "arm", "depth": 2},
        "when": "1926-03-01T23:00:00+00:00",
        "day": "1926-03-01",
    }


def test_non_finite_floats_become_null() -> None:
    assert to_json_safe([math.nan, math.inf, -math.inf, 1.5]) == [None, None, None, 1.5]


def test_plain_json_values_come_back_equal() -> None:
    value = {"a": [1, 2.5, "x", True, None, {"b": []}]}
    assert to_json_safe(value) == value


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"blob": b"x"}, "data['blob']: bytes"),
        ({"list": [1, object()]}, "data['list'][1]: object"),
        ({"big": 2**64}, "data['big']: integer"),
        ({(1, 2): "tuple key"}, "key (1, 2)"),
        ({"type": Wound}, "data['type']: type"),
    ],
)
def test_data_with_no_json_form_is_a_type_error_saying_where(value: Any, where: str) -> None:
    with pytest.raises(TypeError) as caught:
        to_json_safe(value)
    assert where in str(caught.value)


def test_a_cycle_in_data_is_a_type_error_not_a_crash() -> None:
    loop: list[Any] = []
    loop.append(loop)
    with pytest.raises(TypeError, match="nested deeper than"):
        to_json_safe({"loop": loop})


def test_json_safe_data_encodes_with_orjson_and_reads_back_equal() -> None:
    value = to_json_safe({"w": Wound("leg", 1), "s": frozenset({"x"}), "e": Colour.RED})
    assert orjson.loads(orjson.dumps(value)) == value


def nested(levels: int, make: Any = list) -> Any:
    """``levels`` containers, one inside the other, around the number 1."""
    value: Any = 1
    for _ in range(levels):
        value = make([value])
    return value


def test_data_nested_as_deep_as_the_limit_is_taken_and_one_level_more_is_refused() -> None:
    assert to_json_safe(nested(MAX_DATA_DEPTH)) == nested(MAX_DATA_DEPTH)
    for make in (list, tuple, lambda members: {"k": members[0]}):
        with pytest.raises(TypeError, match=f"nested deeper than {MAX_DATA_DEPTH} levels"):
            to_json_safe(nested(MAX_DATA_DEPTH + 1, make))


def test_deeply_nested_tuples_are_a_type_error_not_a_crash() -> None:
    """orjson has no depth limit for tuples: handed these, it would bring the server down."""
    with pytest.raises(TypeError, match="nested deeper than"):
        to_json_safe({"deep": nested(100_000, tuple)})
    with pytest.raises(TypeError) as caught:  # orjson names the type and chains the reason
        ServerChannel().message("msg", MappingProxyType({"deep": nested(100_000, tuple)}), tick=1)
    assert "nested deeper than" in str(caught.value.__cause__)


def test_named_tuples_become_lists_and_sets_of_tuples_sort_like_lists() -> None:
    Exit = collections.namedtuple("Exit", "direction to")
    value = {"exit": Exit("n", "hall"), "pairs": frozenset({(2, "b"), (1, "z"), (1, "a")})}
    assert to_json_safe(value) == {"exit": ["n", "hall"], "pairs": [[1, "a"], [1, "z"], [2, "b"]]}


def test_a_fault_inside_a_set_or_a_dataclass_is_named_by_where_it_is() -> None:
    with pytest.raises(TypeError, match=r"data\['s'\]\{…\}\[1\]: bytes"):
        to_json_safe({"s": frozenset({("ok", b"x")})})
    with pytest.raises(TypeError, match=r"data\['w'\]\.where: object"):
        to_json_safe({"w": Wound(object(), 1)})  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# Fuzz: nothing a client sends raises anything but ProtocolError


def check_parse(frame: str | bytes) -> None:
    """Parse ``frame``; a result must satisfy the protocol's promises, a refusal must be clear."""
    try:
        message = parse_client_frame(frame)
    except ProtocolError as error:
        assert error.code in ERROR_CODES
        assert error.message
        return
    if isinstance(message, Cmd):
        text = message.text
        assert text and text == text.strip() and len(text) <= MAX_COMMAND_CHARS
        assert "\t" not in text and "\n" not in text and "\r" not in text
        assert not any(ord(char) < 0x20 or 0x7F <= ord(char) <= 0x9F for char in text)
        # what the server accepted, it can always echo back
        orjson.dumps(text)
        assert parse_client_frame(encode_client_message(message)) == message
    else:
        assert parse_client_frame(encode_client_message(message)) == message


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
field_names = st.sampled_from(["type", "name", "password", "token", "text", "id"]) | st.text(
    max_size=6
)
message_like = st.dictionaries(
    field_names,
    st.sampled_from(CLIENT_TYPES) | st.text(max_size=30) | json_values,
    max_size=5,
)


@settings(max_examples=500, deadline=None)
@given(st.text())
def test_fuzz_any_text_frame_parses_or_raises_only_protocol_error(frame: str) -> None:
    check_parse(frame)


@settings(max_examples=500, deadline=None)
@given(st.binary())
def test_fuzz_any_binary_frame_parses_or_raises_only_protocol_error(frame: bytes) -> None:
    check_parse(frame)


@settings(max_examples=500, deadline=None)
@given(message_like)
def test_fuzz_any_json_object_parses_or_raises_only_protocol_error(value: dict[str, Any]) -> None:
    try:
        frame = orjson.dumps(value)
    except TypeError:  # integers beyond 64 bits: not something orjson writes
        return
    check_parse(frame)
    check_parse(frame.decode())


@settings(max_examples=300, deadline=None)
@given(json_values, st.text(max_size=10), st.text(max_size=10))
def test_fuzz_broken_json_parses_or_raises_only_protocol_error(
    value: Any, prefix: str, suffix: str
) -> None:
    try:
        body = orjson.dumps(value).decode()
    except TypeError:
        return
    for frame in ("{" + body, prefix + "{" + body + suffix, '{"type": ' + body + "}"):
        check_parse(frame)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(CLIENT_TYPES),
    st.dictionaries(st.sampled_from(["name", "password", "token", "text"]), st.text(), max_size=3),
)
def test_fuzz_well_typed_messages_round_trip_or_are_refused_clearly(
    type_: str, fields: dict[str, str]
) -> None:
    check_parse(orjson.dumps({"type": type_, **fields}))


@settings(max_examples=200, deadline=None)
@given(st.text(min_size=1))
def test_fuzz_any_accepted_command_line_survives_a_json_round_trip(line: str) -> None:
    try:
        message = parse_client_frame(line)
    except ProtocolError:
        return
    assert parse_client_frame(encode_client_message(message)) == message
    if isinstance(message, Cmd):
        try:
            auth_from_command(message)
        except ProtocolError as error:
            assert error.code in ERROR_CODES


# --------------------------------------------------------------------------------------------------
# docs/protocol.md: the examples are what the code does

_BLOCK_RE = re.compile(
    r"^<!-- (?P<marker>[\w-]+)(?:: (?P<arg>[\w-]+))? -->\n```(?P<lang>\w*)\n(?P<body>.*?)^```$",
    re.MULTILINE | re.DOTALL,
)


@dataclass(frozen=True)
class DocBlock:
    line: int
    marker: str
    arg: str | None
    body: str

    def __str__(self) -> str:
        return f"protocol.md:{self.line}:{self.marker}"


def doc_blocks(marker: str) -> list[DocBlock]:
    text = DOC.read_text(encoding="utf-8")
    found = [
        DocBlock(text.count("\n", 0, m.start()) + 1, m["marker"], m["arg"], m["body"])
        for m in _BLOCK_RE.finditer(text)
    ]
    assert {block.marker for block in found} <= {
        "client",
        "client-lines",
        "server",
        "rejected",
        "session",
        "session-batched",
    }
    return [block for block in found if block.marker == marker]


# The keys each server type always has in data (room, status, combat and msg vary by content;
# each kind of combat message is checked against a real fight in tests/systems/test_combat.py).
DATA_KEYS: dict[str, set[str]] = {
    "welcome": {"server", "version", "protocol", "protocols", "hints", "limits"},
    "protocol": {"version"},
    "auth_ok": {"name", "entity", "token", "resumed"},
    "auth_error": {"code", "message"},
    "error": {"code", "message"},
    "say": {"from", "from_id", "text"},
    "msg": {"event"},
    "pong": set(),
    "bye": {"reason"},
    "room": {"id", "name", "description", "dark", "exits", "occupants", "items", "containers"},
    "status": {"dp", "max_dp", "lucidity", "tier", "posture", "state"},
    "combat": {"kind"},
}


def rebuilt_by_helper(message: ServerMessage) -> bytes | None:
    """What the channel helper for ``message``'s type makes of the same arguments."""
    channel, data, tick = ServerChannel(), message.data, message.tick
    if message.type == "welcome":
        return channel.welcome(data["server"], data["version"], tick=tick)
    if message.type == "auth_ok":
        return channel.auth_ok(
            data["name"], data["entity"], data["token"], tick=tick, resumed=data["resumed"]
        )
    if message.type == "auth_error":
        return channel.auth_error(data["code"], data["message"], tick=tick)
    if message.type == "error":
        extra = {k: v for k, v in data.items() if k not in {"code", "message"}}
        return channel.error(data["code"], data["message"], tick=tick, **extra)
    if message.type == "pong":
        return channel.pong(tick=tick)
    if message.type == "bye":
        return channel.bye(data["reason"], tick=tick)
    if message.type == "protocol":
        return channel.stamp(protocol_message(data["version"], tick=tick))
    return None


def check_documented_server_message(frame: str, where: object) -> ServerMessage:
    message = parse_server_frame(frame)
    assert DATA_KEYS.get(message.type, set()) <= set(message.data), where
    helper = rebuilt_by_helper(message)
    if helper is not None:
        made = parse_server_frame(helper)
        assert (made.data, made.text) == (message.data, message.text), where
    return message


def test_the_doc_has_examples_of_every_kind() -> None:
    assert len(doc_blocks("client")) == len(CLIENT_TYPES)
    assert doc_blocks("client-lines")
    assert doc_blocks("rejected")
    assert len(doc_blocks("session")) == 1
    documented = {parse_server_frame(b.body).type for b in doc_blocks("server")}
    assert documented == SERVER_TYPES


@pytest.mark.parametrize("block", doc_blocks("client"), ids=str)
def test_each_documented_client_message_parses_to_its_type(block: DocBlock) -> None:
    message = parse_client_frame(block.body)
    assert encode_client_message(message) == orjson.dumps(orjson.loads(block.body)).decode()


def test_every_client_type_is_documented_with_an_example() -> None:
    documented = {orjson.loads(block.body)["type"] for block in doc_blocks("client")}
    assert documented == set(CLIENT_TYPES)


@pytest.mark.parametrize("block", doc_blocks("client-lines"), ids=str)
def test_each_documented_command_line_is_a_command(block: DocBlock) -> None:
    for line in block.body.splitlines():
        message = parse_client_frame(line)
        assert message == Cmd(line.strip()), f"{block}: {line!r}"


def test_the_documented_auth_lines_log_in() -> None:
    (_, auth_lines) = doc_blocks("client-lines")
    made = []
    for line in auth_lines.body.splitlines():
        message = parse_client_frame(line)
        assert isinstance(message, Cmd)
        made.append(auth_from_command(message))
    assert [type(m) for m in made] == [Register, Login, Resume]


@pytest.mark.parametrize("block", doc_blocks("server"), ids=str)
def test_each_documented_server_message_has_the_documented_shape(block: DocBlock) -> None:
    check_documented_server_message(block.body, block)


@pytest.mark.parametrize("block", doc_blocks("rejected"), ids=str)
def test_each_documented_refused_frame_earns_its_code(block: DocBlock) -> None:
    assert refused(block.body.rstrip("\n")).code == block.arg, block


def test_the_documented_session_parses_and_numbers_server_messages_from_one() -> None:
    (session,) = doc_blocks("session")
    seqs, logged_in = [], False
    for line in session.body.splitlines():
        side, frame = line.split(": ", 1)
        if side == "C":
            message = parse_client_frame(frame)
            if isinstance(message, Cmd) and auth_from_command(message) is not None:
                logged_in = True
        else:
            assert side == "S", line
            seqs.append(check_documented_server_message(frame, line).seq)
    assert logged_in
    assert seqs == list(range(1, len(seqs) + 1))


def test_the_documented_batched_session_numbers_every_message_across_and_within_frames() -> None:
    """Version 2 on the wire: arrays only after the server's ``protocol`` answer, every message in
    them of the documented shape, the numbering unbroken."""
    (session,) = doc_blocks("session-batched")
    seqs, batched, arrays = [], False, 0
    for line in session.body.splitlines():
        side, frame = line.split(": ", 1)
        if side == "C":
            parse_client_frame(frame)
            continue
        assert side == "S", line
        messages = parse_server_frames(frame)
        if frame.startswith("["):
            assert batched, f"an array before version 2 was agreed: {line}"
            assert orjson.loads(frame) == [orjson.loads(m) for m in _members(frame)]
            arrays += 1
        for message in messages:
            check_documented_server_message(orjson.dumps(_as_dict(message)).decode(), line)
            seqs.append(message.seq)
            if message.type == "protocol":
                batched = message.data["version"] >= 2
    assert arrays >= 2
    assert seqs == list(range(1, len(seqs) + 1))


def _as_dict(message: ServerMessage) -> dict[str, Any]:
    return dataclasses.asdict(message)


def _members(frame: str) -> list[bytes]:
    return [orjson.dumps(member) for member in orjson.loads(frame)]


def test_the_documented_codes_are_the_modules_codes() -> None:
    text = DOC.read_text(encoding="utf-8")
    table_codes = set(re.findall(r"^\| `([a-z_]+)` \|", text, re.MULTILINE))
    assert table_codes >= AUTH_ERROR_CODES | ERROR_CODES | set(BYE_REASONS)


def test_the_documented_limits_are_the_modules_limits() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert f"{MAX_FRAME_BYTES // 1024} KiB" in text
    assert f"{MAX_COMMAND_CHARS:,} characters" in text
    assert f"{MAX_NAME_CHARS} characters" in text
    assert f"{MAX_PASSWORD_CHARS:,} characters" in text
    assert f"{MAX_TOKEN_CHARS} characters" in text
    assert f"version {PROTOCOL_VERSION}" in text
    for name in RESERVED_NAMES:
        assert name in text


def test_client_message_classes_are_frozen_and_slotted() -> None:
    for cls in (Register, Login, Resume, Cmd, Ping):
        params = getattr(cls, "__dataclass_params__")  # noqa: B009
        assert params.frozen, cls
        assert "__slots__" in vars(cls), cls
    with pytest.raises(dataclasses.FrozenInstanceError):
        Cmd("look").text = "north"  # type: ignore[misc]


def test_the_protocol_module_imports_only_the_stdlib_orjson_and_the_engine() -> None:
    """Sans I/O: no sockets, no asyncio, no websockets, nothing that could block."""
    tree = ast.parse((ROOT / "net" / "protocol.py").read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module.split(".")[0])
    outside = {name for name in imported if name not in sys.stdlib_module_names}
    assert outside <= {"orjson", "engine"}, outside
    assert not imported & {"asyncio", "socket", "selectors", "ssl", "threading", "time"}, imported


@pytest.mark.parametrize("module", ["render.py", "ratelimit.py", "names.py"])
def test_the_modules_beside_the_protocol_are_sans_io_too(module: str) -> None:
    """Rendering, the rate limit and the name rules were split out of the protocol, not out of
    its rule: no sockets, no clock, nothing that could block."""
    tree = ast.parse((ROOT / "net" / module).read_text(encoding="utf-8"))
    imported: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    outside = {name for name in imported if name.split(".")[0] not in sys.stdlib_module_names}
    assert outside <= {"orjson", "engine.events", "engine.plugins", "net.protocol"}, outside
    roots = {name.split(".")[0] for name in imported}
    assert not roots & {"asyncio", "socket", "selectors", "ssl", "threading", "time"}, imported
