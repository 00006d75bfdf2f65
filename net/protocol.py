"""The Kadath wire protocol, sans I/O: parse and check client frames, encode server messages.

Pure functions and plain objects over ``str`` and ``bytes``, in the manner of the websockets
protocol objects: the asyncio server is a thin layer that moves frames between a socket and this
module. Nothing here may do I/O, read a clock, start a task or import a network library; every rule
is tested without a network. The wire format is documented in ``docs/protocol.md``. What is not
the wire's lives beside it: how events become messages (:mod:`net.render`), the command rate limit
(:mod:`net.ratelimit`) and the account-name rules (:mod:`net.names`).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any, Final, TypeAlias

import orjson

__all__ = [
    "AUTH_ERROR_CODES",
    "BYE_REASONS",
    "CLIENT_TYPES",
    "DEFAULT_HINTS",
    "ERROR_CODES",
    "MAX_COMMAND_CHARS",
    "MAX_DATA_DEPTH",
    "MAX_FRAME_BYTES",
    "MAX_NAME_CHARS",
    "MAX_PASSWORD_CHARS",
    "MAX_TOKEN_CHARS",
    "MIN_PASSWORD_CHARS",
    "NAME_MAX_LETTERS",
    "NAME_MIN_LETTERS",
    "PROTOCOL_VERSION",
    "PROTOCOL_VERSIONS",
    "SERVER_TYPES",
    "ClientMessage",
    "Cmd",
    "Login",
    "Ping",
    "Prepared",
    "ProtocolError",
    "Register",
    "Resume",
    "ServerChannel",
    "ServerMessage",
    "UseProtocol",
    "auth_error_message",
    "auth_from_command",
    "auth_ok_message",
    "batch_frame",
    "bye_message",
    "encode_client_message",
    "error_message",
    "parse_client_frame",
    "parse_server_frame",
    "parse_server_frames",
    "pong_message",
    "prepare",
    "protocol_message",
    "quote_input",
    "to_json_safe",
    "welcome_message",
]

PROTOCOL_VERSION: Final = 1
"""The version every connection starts in, sent in ``welcome`` as ``protocol``. Bumped on any
change that an existing client could misread."""

PROTOCOL_VERSIONS: Final = (1, 2)
"""Every version this server speaks, sent in ``welcome`` as ``protocols``. Version 2 is version 1
plus **batched frames**: one frame may hold a JSON array of messages, each numbered as if it had
come alone. A client opts in with a ``protocol`` message; one that never asks never sees an
array."""

BATCHING_VERSION: Final = 2
"""The first version in which the server may batch messages into one frame."""

# --------------------------------------------------------------------------------------------------
# Limits. Each one bounds what a single client can make the server hold or do.

MAX_FRAME_BYTES: Final = 4 * 1024
"""Largest client frame, in UTF-8 bytes (the default of ``net.max_frame_bytes``). The server gives
it to websockets as ``max_size``, so a larger frame closes the connection (1009) before it is even
buffered; ``parse_client_frame`` checks it again so the rule holds without the transport. Every
message a person types fits: a 1,000-character command of ASCII, or a 1,024-character password,
is well under it; only text of mostly multi-byte characters (or JSON escapes) near the field limits
could exceed it. The bound caps the memory one frame holds and the work of parsing it."""

MAX_COMMAND_CHARS: Final = 1000
"""Longest command line, in characters, after trimming. Nobody types more; the bound caps the work
of matching one line (``engine.commands`` backtracks) and what one ``say`` broadcasts to a room
(one line times everyone present)."""

MAX_NAME_CHARS: Final = 64
"""Longest ``name`` field. Looser than the name rule (3-20 letters) on purpose: a name of 30
letters gets the helpful ``bad_name`` from ``validate_name``, not a bare ``too_large``."""

MAX_PASSWORD_CHARS: Final = 1024
"""Longest password. Memory-hard hashing costs about the same for any length, but its input must
still be bounded; every passphrase a person uses fits many times over."""

MAX_TOKEN_CHARS: Final = 256
"""Longest resume token. The server's tokens are far shorter (43 characters for 32 random bytes);
this bounds what a forged one can make the server compare."""

MAX_DATA_DEPTH: Final = 64
"""Deepest nesting ``to_json_safe`` accepts in event data. Real data is three or four levels deep;
the bound turns a cycle (a list that contains itself) into a clear ``TypeError``. It is checked
before orjson sees the data: orjson has no depth limit for tuples and crashes the process on deep
ones, instead of raising."""

NAME_MIN_LETTERS: Final = 3
NAME_MAX_LETTERS: Final = 20
MIN_PASSWORD_CHARS: Final = 8
"""The lengths the account rules (:mod:`net.names`) allow a name and a password. They are kept with
the wire's limits because ``welcome`` tells every client about them, so a client can check a name
before sending it."""

# --------------------------------------------------------------------------------------------------
# Message types and codes

CLIENT_TYPES: Final = ("cmd", "login", "ping", "protocol", "register", "resume")
"""Every ``type`` a client may send, sorted (error messages list them in this order)."""

SERVER_TYPES: Final = frozenset(
    {"welcome", "auth_ok", "auth_error", "error", "room", "say", "msg", "combat", "status"}
    | {"pong", "bye", "protocol"}
)
"""Every ``type`` the server sends. Engine events of any other type travel as ``msg``."""

AUTH_ERROR_CODES: Final = frozenset(
    {"bad_credentials", "name_taken", "bad_name", "bad_password", "throttled", "bad_token"}
    | {"unavailable", "already_authenticated", "elsewhere"}
)
"""Codes of ``auth_error``: why a ``register``, ``login`` or ``resume`` was refused."""

ERROR_CODES: Final = frozenset(
    {
        "bad_json",
        "bad_message",
        "unknown_type",
        "too_large",
        "empty_command",
        "not_authenticated",
        "rate_limited",
        "throttled",
        # from command dispatch (engine.commands)
        "unknown_command",
        "bad_args",
        "forbidden",
        "internal_error",
    }
)
"""Codes of ``error`` that the protocol and the engine's dispatch use. Game rules add their own
(``no_exit``, ``door_closed``, ...), so a client must accept any code and show ``message``."""

BYE_REASONS: Final = {
    "takeover": "You have logged in from somewhere else; this connection is closed.",
    "kicked": "You have been disconnected by an administrator.",
    "shutdown": "The server is shutting down. Your character is saved.",
    "idle": "You have been idle too long; this connection is closed.",
    "quit": "You have left the game. Your character is saved.",
}
"""Why the server closes a connection, with the text a plain client shows by default."""

DEFAULT_HINTS: Final = (
    "Type: login <name> <password>, or register <name> <password> to create a character.",
    "A name is 3 to 20 letters; a password at least 8 characters.",
    "Then try: look, north, say hello, help.",
)
"""What ``welcome`` tells a new connection, written for someone at a raw websocket prompt."""

_ECHO_LIMIT = 40  # characters of a client's own input quoted back in an error message

# --------------------------------------------------------------------------------------------------
# Errors


class ProtocolError(ValueError):
    """A client sent something the protocol refuses; ``message`` tells them how to fix it.

    ``code`` is the machine-readable reason (one of ``ERROR_CODES`` or ``AUTH_ERROR_CODES``), sent
    as ``data.code`` of an ``error`` or ``auth_error`` message; ``message`` is written for a person.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


def quote_input(value: object) -> str:
    """Client input quoted back in an error message: short, with control characters escaped, so
    that whatever a client sends, the message it earns stays one readable line."""
    text = repr(value)
    return text if len(text) <= _ECHO_LIMIT else text[: _ECHO_LIMIT - 1] + "…"


def _json_kind(value: object) -> str:
    """The JSON name of a parsed value's type, for error messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


# --------------------------------------------------------------------------------------------------
# Client messages


@dataclass(frozen=True, slots=True)
class Register:
    """Create an account and log in. The password never appears in ``repr`` (logs)."""

    name: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Login:
    """Log in to an existing account. The password never appears in ``repr`` (logs)."""

    name: str
    password: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Resume:
    """Take back a link-dead character within the grace period, with the token from ``auth_ok``."""

    token: str = field(repr=False)


@dataclass(frozen=True, slots=True)
class Cmd:
    """One command line, trimmed, one line of printable text, at most ``MAX_COMMAND_CHARS``."""

    text: str


@dataclass(frozen=True, slots=True)
class Ping:
    """Is the server there? Answered with ``pong``. (Transport-level pings are the server's.)"""


@dataclass(frozen=True, slots=True)
class UseProtocol:
    """Speak protocol ``version`` (one of ``PROTOCOL_VERSIONS``) on this connection from now on.
    Answered with a ``protocol`` message; version 2 lets the server batch messages."""

    version: int


ClientMessage: TypeAlias = Register | Login | Resume | Cmd | Ping | UseProtocol

_INTEGER: Final = -1
"""In ``_CLIENT_SHAPES``, the "largest length" of a field that is a JSON integer, not a string."""

# type -> (its fields in wire order, the largest length of each, the class)
_CLIENT_SHAPES: Mapping[str, tuple[tuple[tuple[str, int], ...], type[Any]]] = {
    "register": ((("name", MAX_NAME_CHARS), ("password", MAX_PASSWORD_CHARS)), Register),
    "login": ((("name", MAX_NAME_CHARS), ("password", MAX_PASSWORD_CHARS)), Login),
    "resume": ((("token", MAX_TOKEN_CHARS),), Resume),
    "cmd": ((("text", MAX_FRAME_BYTES),), Cmd),  # the command's own limit is checked after trim
    "ping": ((), Ping),
    "protocol": ((("version", _INTEGER),), UseProtocol),
}
_TYPE_OF: Mapping[type[Any], str] = {cls: name for name, (_, cls) in _CLIENT_SHAPES.items()}

_JSON_SPACE = " \t\r\n"  # the whitespace JSON allows before a value
_SURROGATE_RE = re.compile("[\ud800-\udfff]")
# Control characters (C0 but tab, DEL, C1), line and paragraph separators, bidirectional
# embeddings, overrides and isolates (they can make one player's line read as another's), and
# surrogates. Tabs are whitespace and become spaces.
_FORBIDDEN_IN_COMMAND_RE = re.compile(
    "[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)


def _example(type_: str) -> str:
    fields, _ = _CLIENT_SHAPES[type_]
    shown = {name: 2 if limit == _INTEGER else "..." for name, limit in fields}
    parts = [
        f'"type": "{type_}"',
        *(f'"{name}": {orjson.dumps(v).decode()}' for name, v in shown.items()),
    ]
    return "{" + ", ".join(parts) + "}"


def parse_client_frame(frame: str | bytes) -> ClientMessage:
    """Read one websocket frame from a client; raise ``ProtocolError`` for anything else.

    A frame whose first character other than JSON whitespace is ``{`` must be one JSON object
    naming its ``type``; any other frame is a command line (``look``, ``say hello``), so a raw
    websocket client is playable. Binary frames are accepted when they hold UTF-8 text (some client
    libraries send nothing else). Checks, in order, each with its code:

    - ``too_large``: the frame exceeds ``MAX_FRAME_BYTES``, or a field its own limit;
    - ``bad_message``: not valid UTF-8 or Unicode, a field missing, unknown or not a string;
    - ``bad_json``: the frame starts with ``{`` but is not valid JSON (the message gives the line
      and column);
    - ``unknown_type``: ``type`` is not one of ``CLIENT_TYPES`` (the message lists them);
    - ``empty_command``: a blank command line (the server may simply ignore it);
    - ``bad_message``: a command holds control characters or line breaks (a frame is one line).

    Command text is trimmed and its tabs become spaces; nothing else is changed. Names, passwords
    and tokens are returned as sent: judging them is ``validate_name``'s and the account layer's.
    Whatever ``frame`` holds, nothing but ``ProtocolError`` is raised. Cost: linear in the frame's
    length, which ``MAX_FRAME_BYTES`` bounds.
    """
    if isinstance(frame, bytes | bytearray | memoryview):
        raw = bytes(frame)
        if len(raw) > MAX_FRAME_BYTES:
            raise _frame_too_large(len(raw))
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as bad:
            raise ProtocolError(
                "bad_message",
                f"binary frame is not valid UTF-8 (byte 0x{raw[bad.start]:02x} at offset "
                f"{bad.start}); send text frames, or UTF-8 text in binary frames",
            ) from None
    elif isinstance(frame, str):
        text = frame
        if len(text) * 4 > MAX_FRAME_BYTES:  # only then can it be too large; measure exactly
            size = len(text.encode("utf-8", "surrogatepass"))
            if size > MAX_FRAME_BYTES:
                raise _frame_too_large(size)
        surrogate = _SURROGATE_RE.search(text)
        if surrogate is not None:
            raise ProtocolError(
                "bad_message",
                f"frame is not valid Unicode text: lone surrogate U+{ord(surrogate.group()):04X} "
                f"at position {surrogate.start() + 1}",
            )
    else:
        raise ProtocolError("bad_message", f"a frame is text or bytes, not {type(frame).__name__}")
    if text.lstrip(_JSON_SPACE).startswith("{"):
        return _parse_json_message(text)
    return Cmd(_clean_command(text))


def _frame_too_large(size: int) -> ProtocolError:
    return ProtocolError(
        "too_large", f"frame of {size} bytes is larger than the limit of {MAX_FRAME_BYTES} bytes"
    )


def _parse_json_message(text: str) -> ClientMessage:
    try:
        value = orjson.loads(text)
    except (orjson.JSONDecodeError, ValueError, TypeError) as bad:
        where = ""
        if isinstance(bad, orjson.JSONDecodeError):
            where = f" at line {bad.lineno}, column {bad.colno}: {bad.msg}"
        raise ProtocolError(
            "bad_json",
            f"bad JSON{where}. A frame starting with '{{' must be one JSON object such as "
            '{"type": "cmd", "text": "look"}; any other frame is read as a command line',
        ) from None
    if not isinstance(value, dict):  # cannot happen for text starting with '{'; kept for safety
        raise ProtocolError("bad_message", f"a message is a JSON object, not {_json_kind(value)}")
    if "type" not in value:
        raise ProtocolError(
            "bad_message",
            'a message needs the field "type", one of: '
            + ", ".join(CLIENT_TYPES)
            + ', such as {"type": "cmd", "text": "look"}',
        )
    type_ = value["type"]
    if not isinstance(type_, str):
        raise ProtocolError(
            "bad_message", f'field "type" must be a string, not {_json_kind(type_)}'
        )
    shape = _CLIENT_SHAPES.get(type_)
    if shape is None:
        raise ProtocolError(
            "unknown_type",
            f"unknown message type {quote_input(type_)}; known types: {', '.join(CLIENT_TYPES)}",
        )
    fields, cls = shape
    allowed = {"type", *(name for name, _ in fields)}
    extra = sorted(key for key in value if key not in allowed)
    if extra:
        raise ProtocolError(
            "bad_message",
            f'a "{type_}" message has no field {quote_input(extra[0])}; '
            f"write it as {_example(type_)}",
        )
    values: list[str | int] = []
    for name, limit in fields:
        if name not in value:
            raise ProtocolError(
                "bad_message",
                f'a "{type_}" message needs the field "{name}": {_example(type_)}',
            )
        item = value[name]
        if limit == _INTEGER:
            values.append(_version_field(item, type_, name))
            continue
        if not isinstance(item, str):
            raise ProtocolError(
                "bad_message",
                f'field "{name}" of a "{type_}" message must be a string, not {_json_kind(item)}',
            )
        if len(item) > limit:
            raise ProtocolError(
                "too_large",
                f'field "{name}" of a "{type_}" message has {len(item)} characters; '
                f"the limit is {limit}",
            )
        values.append(item)
    if cls is Cmd:
        return Cmd(_clean_command(str(values[0])))
    message: ClientMessage = cls(*values)
    return message


def _version_field(item: object, type_: str, name: str) -> int:
    """A protocol version field: an integer, one of ``PROTOCOL_VERSIONS``."""
    if not isinstance(item, int) or isinstance(item, bool):
        raise ProtocolError(
            "bad_message",
            f'field "{name}" of a "{type_}" message must be an integer, not {_json_kind(item)}',
        )
    if item not in PROTOCOL_VERSIONS:
        raise ProtocolError(
            "bad_message",
            f"protocol version {quote_input(item)} is not spoken here; this server speaks "
            + ", ".join(str(v) for v in PROTOCOL_VERSIONS),
        )
    return item


def _clean_command(text: str) -> str:
    """Trim a command line and check it is one line of printable text within the limit."""
    line = text.strip()
    if not line:
        raise ProtocolError(
            "empty_command", "empty command: type something, such as 'look' or 'help'"
        )
    if len(line) > MAX_COMMAND_CHARS:
        raise ProtocolError(
            "too_large",
            f"command of {len(line)} characters is longer than the limit of {MAX_COMMAND_CHARS}",
        )
    bad = _FORBIDDEN_IN_COMMAND_RE.search(line)
    if bad is not None:
        char = bad.group()
        if char in "\r\n\u2028\u2029":
            why = "a line break; send one command per frame"
        else:
            why = f"the control character U+{ord(char):04X}; commands are printable text"
        raise ProtocolError("bad_message", f"command has {why} (at position {bad.start() + 1})")
    return line.replace("\t", " ")


def encode_client_message(message: ClientMessage) -> str:
    """The JSON text frame of ``message``: what a client sends (tests, bots, load generators)."""
    type_ = _TYPE_OF[type(message)]
    fields, _ = _CLIENT_SHAPES[type_]
    payload: dict[str, str | int] = {"type": type_}
    for name, _limit in fields:
        payload[name] = getattr(message, name)
    return orjson.dumps(payload).decode("utf-8")


def auth_from_command(cmd: Cmd) -> Register | Login | Resume | None:
    """Read a plain-text ``login``, ``register`` or ``resume`` line, so a raw client can log in.

    ``login <name> <password>`` and ``register <name> <password>`` (the password is the rest of
    the line, so it may hold spaces) and ``resume <token>``; the verb is case-insensitive. Returns
    None for any other line. A known verb with the wrong words raises ``ProtocolError``
    (``bad_message``) showing its usage. The server calls this only before authentication, so these
    words stay free for game commands. The password is typed in the clear and shown on the
    player's own screen: rich clients should send the JSON ``login`` message instead.
    """
    parts = cmd.text.split(maxsplit=2)
    verb = parts[0].casefold() if parts else ""
    if verb in ("login", "register"):
        if len(parts) < 3:
            raise ProtocolError("bad_message", f"usage: {verb} <name> <password>")
        name, password = parts[1], parts[2].strip()
        if len(name) > MAX_NAME_CHARS:
            raise ProtocolError("too_large", f"a name has at most {MAX_NAME_CHARS} characters")
        return Login(name, password) if verb == "login" else Register(name, password)
    if verb == "resume":
        if len(parts) != 2:
            raise ProtocolError("bad_message", "usage: resume <token>")
        if len(parts[1]) > MAX_TOKEN_CHARS:
            raise ProtocolError("too_large", f"a token has at most {MAX_TOKEN_CHARS} characters")
        return Resume(parts[1])
    return None


# --------------------------------------------------------------------------------------------------
# Server messages


@dataclass(frozen=True, slots=True)
class ServerMessage:
    """One decoded server message, as a client (or a test) sees it."""

    type: str
    seq: int
    tick: int
    data: dict[str, Any]
    text: str


@dataclass(frozen=True, slots=True)
class Prepared:
    """A server message encoded once, for any number of connections: everything but its ``seq``.

    ``head`` is ``{"type":"...","seq":`` and ``tail`` is ``,"tick":...,"data":...,"text":...}``;
    a connection's frame is ``head + seq + tail`` (``ServerChannel.stamp``), byte for byte what
    encoding the whole message for that connection would give, without encoding ``data`` and
    ``text`` again. ``size`` is the frame's length without the digits of ``seq``.
    """

    type: str
    head: bytes
    tail: bytes

    @property
    def size(self) -> int:
        return len(self.head) + len(self.tail)


_HEADS: Final = {type_: b'{"type":"' + type_.encode() + b'","seq":' for type_ in SERVER_TYPES}


def prepare(
    type: str,
    data: Mapping[str, Any] | None = None,
    text: str = "",
    *,
    tick: int,
) -> Prepared:
    """Encode a message of ``type`` (one of ``SERVER_TYPES``) once, for any number of connections.

    ``data`` may hold tuples, frozensets (sent as sorted arrays), enums (sent as their values)
    and dataclasses: what orjson does not encode itself goes through ``to_json_safe``. Raises
    ``ValueError`` for an unknown type and ``TypeError`` for data with no JSON form; both are
    bugs on the server. Cost: one ``orjson.dumps`` of ``data`` and ``text``, whatever the number
    of connections the result is stamped for.
    """
    head = _HEADS.get(type)
    if head is None:
        raise ValueError(f"unknown server message type {type!r}; known: {sorted(SERVER_TYPES)}")
    body = {"tick": tick, "data": {} if data is None else data, "text": text}
    encoded = orjson.dumps(body, default=to_json_safe, option=_JSON_OPTIONS)
    return Prepared(type, head, b"," + encoded[1:])


def batch_frame(frames: Sequence[bytes]) -> bytes:
    """Several stamped messages as one frame of protocol version 2: a JSON array of them, in
    order. Each keeps its own ``seq``; nothing in any of them is encoded again."""
    return b"[" + b",".join(frames) + b"]"


def welcome_message(
    server: str,
    version: str,
    *,
    tick: int,
    text: str = "",
    hints: Sequence[str] = DEFAULT_HINTS,
    frame_bytes: int = MAX_FRAME_BYTES,
) -> Prepared:
    """The first message on every connection: who is answering, how to log in, which protocol
    versions it speaks (the connection starts in ``PROTOCOL_VERSION``)."""
    data = {
        "server": server,
        "version": version,
        "protocol": PROTOCOL_VERSION,
        "protocols": list(PROTOCOL_VERSIONS),
        "hints": list(hints),
        "limits": {
            "frame_bytes": frame_bytes,
            "command_chars": MAX_COMMAND_CHARS,
            "name_letters": [NAME_MIN_LETTERS, NAME_MAX_LETTERS],
            "password_chars": [MIN_PASSWORD_CHARS, MAX_PASSWORD_CHARS],
        },
    }
    shown = text or "\n".join([f"Welcome to {server}.", *hints])
    return prepare("welcome", data, shown, tick=tick)


def auth_ok_message(
    name: str, entity: int, token: str, *, tick: int, resumed: bool = False, text: str = ""
) -> Prepared:
    """Logged in as ``name``, playing the entity with stable id ``entity``; ``token`` lets the
    client ``resume`` after a dropped connection. ``resumed``: this took back a link-dead body."""
    data = {"name": name, "entity": entity, "token": token, "resumed": resumed}
    shown = text or (f"Welcome back, {name}." if resumed else f"Welcome, {name}.")
    return prepare("auth_ok", data, shown, tick=tick)


def auth_error_message(code: str, message: str, *, tick: int) -> Prepared:
    """A ``register``, ``login`` or ``resume`` was refused (a code of ``AUTH_ERROR_CODES``)."""
    return prepare("auth_error", {"code": code, "message": message}, message, tick=tick)


def error_message(code: str, message: str, *, tick: int, **extra: Any) -> Prepared:
    """A frame or command was refused; ``extra`` adds data (``suggestions``, ``usage``)."""
    return prepare("error", {"code": code, "message": message, **extra}, message, tick=tick)


def pong_message(*, tick: int) -> Prepared:
    """The answer to ``ping``."""
    return prepare("pong", tick=tick)


def bye_message(reason: str, *, tick: int, text: str = "") -> Prepared:
    """The server is closing the connection for ``reason`` (one of ``BYE_REASONS``)."""
    if reason not in BYE_REASONS:
        raise ValueError(f"unknown bye reason {reason!r}; known: {sorted(BYE_REASONS)}")
    return prepare("bye", {"reason": reason}, text or BYE_REASONS[reason], tick=tick)


def protocol_message(version: int, *, tick: int) -> Prepared:
    """The answer to a client's ``protocol``: the version the connection speaks from now on."""
    return prepare("protocol", {"version": version}, tick=tick)


class ServerChannel:
    """The server's side of one connection: numbers its messages and encodes them.

    Every message is one compact JSON object, in this key order: ``type``, ``seq`` (1 for the first
    message on the connection, rising by one), ``tick`` (the engine tick it belongs to), ``data``
    (structured, for rich clients) and ``text`` (what a plain client shows). Make one channel per
    connection and send what it returns in the order it returned it, or clients will see gaps.
    Holds two integers: a channel costs nothing. A message for many connections is encoded once
    (``prepare``) and stamped with each one's number (``stamp``); the helpers below do both.
    """

    __slots__ = ("_seq", "version")

    def __init__(self) -> None:
        self._seq = 0
        self.version: int = PROTOCOL_VERSION
        """The protocol version this connection speaks (the client may ask for another)."""

    @property
    def seq(self) -> int:
        """The sequence number of the last message encoded; 0 before the first."""
        return self._seq

    @property
    def batching(self) -> bool:
        """Whether frames to this connection may hold several messages (version 2 and later)."""
        return self.version >= BATCHING_VERSION

    def stamp(self, prepared: Prepared) -> bytes:
        """``prepared`` as this connection's next message: its frame, with the next ``seq``."""
        self._seq = seq = self._seq + 1
        return b"%b%d%b" % (prepared.head, seq, prepared.tail)

    def message(
        self,
        type: str,
        data: Mapping[str, Any] | None = None,
        text: str = "",
        *,
        tick: int,
    ) -> bytes:
        """Encode a message of ``type`` (one of ``SERVER_TYPES``) with the next sequence number.

        Raises as ``prepare`` does (``ValueError`` for an unknown type, ``TypeError`` for data
        with no JSON form); neither uses up a sequence number.
        """
        return self.stamp(prepare(type, data, text, tick=tick))

    def welcome(
        self,
        server: str,
        version: str,
        *,
        tick: int,
        text: str = "",
        hints: Sequence[str] = DEFAULT_HINTS,
        frame_bytes: int = MAX_FRAME_BYTES,
    ) -> bytes:
        """The first message on every connection (``welcome_message``)."""
        return self.stamp(
            welcome_message(
                server, version, tick=tick, text=text, hints=hints, frame_bytes=frame_bytes
            )
        )

    def auth_ok(
        self,
        name: str,
        entity: int,
        token: str,
        *,
        tick: int,
        resumed: bool = False,
        text: str = "",
    ) -> bytes:
        """Logged in (``auth_ok_message``)."""
        return self.stamp(
            auth_ok_message(name, entity, token, tick=tick, resumed=resumed, text=text)
        )

    def auth_error(self, code: str, message: str, *, tick: int) -> bytes:
        """A ``register``, ``login`` or ``resume`` was refused (``auth_error_message``)."""
        return self.stamp(auth_error_message(code, message, tick=tick))

    def error(self, code: str, message: str, *, tick: int, **extra: Any) -> bytes:
        """A frame or command was refused (``error_message``)."""
        return self.stamp(error_message(code, message, tick=tick, **extra))

    def pong(self, *, tick: int) -> bytes:
        """The answer to ``ping``."""
        return self.stamp(pong_message(tick=tick))

    def bye(self, reason: str, *, tick: int, text: str = "") -> bytes:
        """The server is closing the connection for ``reason`` (``bye_message``)."""
        return self.stamp(bye_message(reason, tick=tick, text=text))


def parse_server_frame(frame: str | bytes) -> ServerMessage:
    """Decode one server message (for clients, bots and tests); ``ProtocolError`` if malformed.

    Checks the envelope only: the five keys, a known ``type``, ``seq`` of at least 1, ``tick`` of at
    least 0, an object ``data`` and a string ``text``.
    """
    try:
        value = orjson.loads(frame)
    except (orjson.JSONDecodeError, ValueError, TypeError) as bad:
        raise ProtocolError("bad_json", f"server message is not JSON: {bad}") from None
    if not isinstance(value, dict):
        raise ProtocolError(
            "bad_message", f"a server message is an object, not {_json_kind(value)}"
        )
    keys = ["type", "seq", "tick", "data", "text"]
    if sorted(value) != sorted(keys):
        raise ProtocolError(
            "bad_message", f"a server message has exactly the keys {keys}, not {sorted(value)}"
        )
    type_, seq, tick, data, text = (value[key] for key in keys)
    if type_ not in SERVER_TYPES:
        raise ProtocolError("unknown_type", f"unknown server message type {quote_input(type_)}")
    for name, number, least in (("seq", seq, 1), ("tick", tick, 0)):
        if not isinstance(number, int) or isinstance(number, bool) or number < least:
            raise ProtocolError("bad_message", f'"{name}" must be an integer >= {least}')
    if not isinstance(data, dict):
        raise ProtocolError("bad_message", f'"data" must be an object, not {_json_kind(data)}')
    if not isinstance(text, str):
        raise ProtocolError("bad_message", f'"text" must be a string, not {_json_kind(text)}')
    return ServerMessage(type_, seq, tick, data, text)


def parse_server_frames(frame: str | bytes) -> list[ServerMessage]:
    """Decode one server frame into its messages: one for a JSON object, each member of a JSON
    array (a batch, protocol version 2) in order. ``ProtocolError`` if anything is malformed."""
    raw = frame.encode() if isinstance(frame, str) else frame
    if not raw.lstrip(b" \t\r\n").startswith(b"["):
        return [parse_server_frame(frame)]
    try:
        members = orjson.loads(frame)
    except (orjson.JSONDecodeError, ValueError, TypeError) as bad:
        raise ProtocolError("bad_json", f"server frame is not JSON: {bad}") from None
    if not members:
        raise ProtocolError("bad_message", "a batch holds at least one message")
    return [parse_server_frame(orjson.dumps(member)) for member in members]


_JSON_OPTIONS: Final = orjson.OPT_NON_STR_KEYS
"""Mapping keys orjson writes as strings besides strings: numbers, enums (their values), dates."""


def to_json_safe(value: Any) -> Any:
    """``value`` as plain JSON values: dicts with string keys, lists, str, int, float, bool, None.

    orjson does the converting, by its own rules: tuples become lists, enums their values,
    dataclass instances dicts of their fields (fields starting with ``_`` left out), dates and
    times RFC 3339 strings, UUIDs strings, NaN and infinities null, and keys that are numbers,
    enums or dates become strings. What it hands back is done here: sets and frozensets become
    sorted lists (mixed types sort by type name, then value, so the output is the same on every
    run), read-only mappings dicts and named tuples lists. Anything else (bytes, an arbitrary
    object, an integer beyond 64 bits, a cycle or nesting deeper than ``MAX_DATA_DEPTH``) raises
    ``TypeError`` naming where it was found. Cost: a walk of the containers for their depth, then
    one orjson encoding and decoding; finding where a fault is costs more, but only on failure.
    """
    if not _deeper_than(value, MAX_DATA_DEPTH):
        try:
            return orjson.loads(orjson.dumps(value, default=_plain, option=_JSON_OPTIONS))
        except TypeError:
            pass
    raise TypeError(_fault(value, "data", 0) or f"data: {type(value).__name__} has no JSON form")


def _plain(value: object) -> Any:
    """orjson's ``default``: the containers it does not encode itself, in a form it does."""
    if isinstance(value, set | frozenset):
        members = orjson.loads(orjson.dumps(list(value), default=_plain, option=_JSON_OPTIONS))
        try:
            return sorted(members)
        except TypeError:
            return sorted(members, key=lambda item: (type(item).__name__, orjson.dumps(item)))
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, tuple):  # a named tuple: orjson encodes only tuples themselves
        return list(value)
    raise TypeError(f"{type(value).__name__} has no JSON form")


def _contents(value: Any) -> tuple[str, Iterable[tuple[Any, Any]]] | None:
    """A container's kind and its ``(key, member)`` pairs, as orjson walks it; None for a leaf."""
    if isinstance(value, Mapping):
        return "mapping", value.items()
    if isinstance(value, list | tuple):
        return "sequence", enumerate(value)
    if isinstance(value, set | frozenset):
        return "set", ((None, member) for member in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        names = [f.name for f in dataclasses.fields(value) if not f.name.startswith("_")]
        return "dataclass", ((name, getattr(value, name)) for name in names)
    return None


def _deeper_than(value: Any, levels: int) -> bool:
    """Whether ``value`` nests more than ``levels`` containers; stops as soon as it does.

    Every rendered event pays for this walk, so the common shapes (dicts, lists, tuples, plain
    values) are told by their exact type before the general, slower checks.
    """
    kind = type(value)
    if kind is dict:
        members: Iterable[Any] = value.values()
    elif kind is list or kind is tuple:
        members = value
    elif kind in _LEAF_TYPES:
        return False
    elif isinstance(value, Enum):
        return _deeper_than(value.value, levels)
    else:
        contents = _contents(value)
        if contents is None:
            return False
        members = [member for _, member in contents[1]]
    if levels == 0:
        return True
    # A loop, not any() over a generator: half the cost in the rendering of every event.
    for member in members:
        if type(member) not in _LEAF_TYPES and _deeper_than(member, levels - 1):
            return True
    return False


_LEAF_TYPES: Final = frozenset({str, int, float, bool, type(None)})


def _fault(value: Any, path: str, depth: int) -> str | None:
    """Where and why ``value`` has no JSON form, for the author of the plugin that made it: the
    first container nested too deep, key orjson refuses or leaf it cannot encode; None if none."""
    if isinstance(value, Enum):
        return _fault(value.value, path, depth)
    contents = _contents(value)
    if contents is None:
        if _encodes(value):
            return None
        if isinstance(value, int) and not isinstance(value, bool):
            return f"{path}: integer {value} does not fit in 64 bits"
        return (
            f"{path}: {type(value).__name__} has no JSON form; event data holds str, int, float, "
            "bool, None, lists, tuples, dicts, sets, enums and dataclasses"
        )
    if depth >= MAX_DATA_DEPTH:
        return f"{path}: nested deeper than {MAX_DATA_DEPTH} levels (a cycle?)"
    kind, members = contents
    for key, member in members:
        if kind == "mapping" and not _encodes({key: None}):
            return (
                f"{path}: key {key!r} is a {type(key).__name__}; keys are strings, numbers or enums"
            )
        found = _fault(member, _member_path(kind, path, key), depth + 1)
        if found is not None:
            return found
    return None


def _member_path(kind: str, path: str, key: Any) -> str:
    if kind == "mapping":
        return f"{path}[{key!r}]"
    if kind == "sequence":
        return f"{path}[{key}]"
    return f"{path}.{key}" if kind == "dataclass" else f"{path}{{…}}"


def _encodes(value: Any) -> bool:
    try:
        orjson.dumps(value, default=_plain, option=_JSON_OPTIONS)
    except TypeError:
        return False
    return True
