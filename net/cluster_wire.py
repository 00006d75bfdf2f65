"""What gateways and shards say to each other over the bus: the messages of a sharded world, and
their encoding. Sans-I/O: bytes in, values out, and the reverse; nothing here touches a socket.

A gateway holds a player's websocket and forwards what the player types to the shard that owns
the player's zone (:class:`Open`, :class:`Line`, :class:`Gone`, on the shard's inputs subject);
the shard sends back what the player is owed, once per tick for all the players of one gateway
(:class:`Outbound`, on the gateway's events subject). Server messages travel *unstamped*
(:class:`net.protocol.Prepared`): the gateway numbers them, so a player's ``seq`` runs on
without a gap when its character moves from shard to shard.

**Input numbers.** Each line a gateway forwards carries the connection's next number ``n``
(1, 2, ...). A shard that takes a character in from another (a hand-off) answers the gateway
with :class:`Route` naming the last number the character's old shard consumed; the gateway sends
the later lines again, to the new shard, in order. The old shard ignores lines for a character
it no longer holds. That is how a player's commands keep their order and none is lost while the
character crosses a border.
"""

from __future__ import annotations

import struct
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final

import orjson

from engine.accounts import Account
from engine.inputs import Relocate
from net.protocol import Prepared

__all__ = [
    "ELSEWHERE",
    "Alive",
    "Close",
    "Deliver",
    "Gone",
    "Line",
    "Open",
    "Outbound",
    "Refused",
    "Relay",
    "Roster",
    "Route",
    "ShardInput",
    "WireError",
    "account_from_wire",
    "account_to_wire",
    "decode_alive",
    "decode_input",
    "decode_news",
    "decode_outbound",
    "encode_alive",
    "encode_input",
    "encode_news",
    "encode_outbound",
    "encode_outbound_parts",
    "roster_parts",
]


class WireError(ValueError):
    """A bus message that is not one of ours (a bug, or another version of Kadath on the same
    world's subjects); the message says what was wrong with it."""


# ------------------------------------------------------------------------------------ inputs


def account_to_wire(account: Account) -> dict[str, Any]:
    return {
        "name": account.name,
        "password_hash": account.password_hash,
        "role": account.role,
        "created": account.created.isoformat(),
        "last_login": None if account.last_login is None else account.last_login.isoformat(),
        "character_sid": account.character_sid,
    }


def account_from_wire(data: Mapping[str, Any]) -> Account:
    try:
        last = data.get("last_login")
        sid = data.get("character_sid")
        return Account(
            name=str(data["name"]),
            password_hash=str(data["password_hash"]),
            role=str(data["role"]),
            created=datetime.fromisoformat(str(data["created"])),
            last_login=None if last is None else datetime.fromisoformat(str(last)),
            character_sid=None if sid is None else int(sid),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise WireError(f"bad account on the wire: {exc}") from exc


@dataclass(frozen=True, slots=True)
class Open:
    """Gateway ``gateway``'s connection ``conn`` has logged in as ``account`` (or resumes it, with
    a token the gateway has checked): play its character on this shard."""

    gateway: str
    conn: int
    account: Account
    address: str
    resume: bool = False


@dataclass(frozen=True, slots=True)
class Line:
    """A command line the player typed; ``n`` is the connection's input number (1, 2, ...)."""

    gateway: str
    conn: int
    n: int
    text: str


@dataclass(frozen=True, slots=True)
class Gone:
    """The player's connection closed: its character goes link-dead, as on one server."""

    gateway: str
    conn: int


ShardInput = Open | Line | Gone


def encode_input(message: ShardInput) -> bytes:
    if isinstance(message, Line):
        body: dict[str, Any] = {"op": "line", "n": message.n, "text": message.text}
    elif isinstance(message, Open):
        body = {
            "op": "open",
            "account": account_to_wire(message.account),
            "address": message.address,
            "resume": message.resume,
        }
    else:
        body = {"op": "gone"}
    body["gw"] = message.gateway
    body["conn"] = message.conn
    return orjson.dumps(body)


def decode_input(payload: bytes) -> ShardInput:
    try:
        body = orjson.loads(payload)
        op, gateway, conn = body["op"], str(body["gw"]), int(body["conn"])
        if op == "line":
            return Line(gateway, conn, int(body["n"]), str(body["text"]))
        if op == "open":
            account = account_from_wire(body["account"])
            return Open(gateway, conn, account, str(body["address"]), bool(body["resume"]))
        if op == "gone":
            return Gone(gateway, conn)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise WireError(f"bad shard input: {exc}") from exc
    raise WireError(f"bad shard input: unknown op {op!r}")


# ---------------------------------------------------------------------------------- outbound


@dataclass(frozen=True, slots=True)
class Deliver:
    """Server messages for connection ``conn``, to be numbered and sent in this order."""

    conn: int
    messages: tuple[Prepared, ...]


@dataclass(frozen=True, slots=True)
class Close:
    """Close connection ``conn`` with this websocket close code and reason (after what was
    delivered before it)."""

    conn: int
    code: int
    reason: str


@dataclass(frozen=True, slots=True)
class Route:
    """Connection ``conn``'s character is now on the sending shard: send it the lines numbered
    after ``after_n`` again, and every later line."""

    conn: int
    after_n: int


@dataclass(frozen=True, slots=True)
class Refused:
    """The shard would not take connection ``conn``'s :class:`Open` (an unknown resume: the
    character is no longer in the world, so the token is void); ``code`` and ``text`` say why."""

    conn: int
    code: str
    text: str


ELSEWHERE: Final = "elsewhere"
"""The code of a :class:`Refused` Open whose character another shard holds now (it crossed, or
its zone moved, after the gateway looked up its owner): the gateway looks again and opens it
there."""

OutboundItem = Deliver | Close | Route | Refused


@dataclass(frozen=True, slots=True)
class Outbound:
    """All that one shard owes one gateway's connections after a tick, in order."""

    shard: str
    items: tuple[OutboundItem, ...]


_MAGIC: Final = b"K1"
_HEAD = struct.Struct(">BQ")  # kind, conn
_U16 = struct.Struct(">H")
_U32 = struct.Struct(">I")
_U64 = struct.Struct(">Q")
_DELIVER, _CLOSE, _ROUTE, _REFUSED = 1, 2, 3, 4
#: The bytes a delivery takes before its messages: kind, connection, count.
_DELIVER_HEAD: Final = _HEAD.size + _U32.size


def _text(value: str) -> bytes:
    raw = value.encode()
    return _U32.pack(len(raw)) + raw


def encode_outbound(shard: str, items: Sequence[OutboundItem]) -> bytes:
    """One bus message for a batch of items: a small binary framing, so that the encoded server
    messages inside travel as they are, never escaped or decoded on the way."""
    return b"".join([_MAGIC, _text(shard), *map(_encode_item, items)])


def encode_outbound_parts(shard: str, items: Sequence[OutboundItem], max_bytes: int) -> list[bytes]:
    """The batch as bus messages of at most ``max_bytes`` each (the broker's limit: NATS's
    ``max_payload``, 1 MiB by default), in order: a tick's output for thousands of players is
    larger than one message may be. A player's long delivery is split between messages, its
    messages kept in order; only a single message over the limit goes as it is (and the broker
    refuses it)."""
    head = _MAGIC + _text(shard)
    room = max_bytes - len(head)
    payloads: list[bytes] = []
    parts: list[bytes] = []
    size = 0
    for chunk in _chunks(items, room):
        if parts and size + len(chunk) > room:
            payloads.append(b"".join([head, *parts]))
            parts, size = [], 0
        parts.append(chunk)
        size += len(chunk)
    if parts or not payloads:
        payloads.append(b"".join([head, *parts]))
    return payloads


def _chunks(items: Sequence[OutboundItem], room: int) -> Iterator[bytes]:
    """Each item encoded, a delivery too large for ``room`` cut into several of the same
    connection's."""
    for item in items:
        encoded = _encode_item(item)
        if len(encoded) <= room or not isinstance(item, Deliver) or len(item.messages) < 2:
            yield encoded
            continue
        start, size = 0, 0
        for at, prepared in enumerate(item.messages):
            cost = len(_encode_message(prepared))
            if at > start and _DELIVER_HEAD + size + cost > room:
                yield _encode_item(Deliver(item.conn, item.messages[start:at]))
                start, size = at, 0
            size += cost
        yield _encode_item(Deliver(item.conn, item.messages[start:]))


def _encode_item(item: OutboundItem) -> bytes:
    if isinstance(item, Deliver):
        return b"".join(
            [
                _HEAD.pack(_DELIVER, item.conn),
                _U32.pack(len(item.messages)),
                *map(_encode_message, item.messages),
            ]
        )
    if isinstance(item, Close):
        return b"".join([_HEAD.pack(_CLOSE, item.conn), _U16.pack(item.code), _text(item.reason)])
    if isinstance(item, Route):
        return _HEAD.pack(_ROUTE, item.conn) + _U64.pack(item.after_n)
    return b"".join([_HEAD.pack(_REFUSED, item.conn), _text(item.code), _text(item.text)])


def _encode_message(prepared: Prepared) -> bytes:
    return b"".join([_text(prepared.type), _U32.pack(len(prepared.tail)), prepared.tail])


class _Reader:
    __slots__ = ("at", "data")

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, size: int) -> bytes:
        end = self.at + size
        if end > len(self.data):
            raise WireError("outbound message cut short")
        chunk = self.data[self.at : end]
        self.at = end
        return chunk

    def unpack(self, fmt: struct.Struct) -> tuple[Any, ...]:
        return fmt.unpack(self.take(fmt.size))

    def text(self) -> str:
        (size,) = self.unpack(_U32)
        try:
            return self.take(size).decode()
        except UnicodeDecodeError as exc:
            raise WireError(f"outbound text is not UTF-8: {exc}") from exc

    def items(self) -> Iterator[OutboundItem]:
        while self.at < len(self.data):
            kind, conn = self.unpack(_HEAD)
            if kind == _DELIVER:
                (count,) = self.unpack(_U32)
                messages = []
                for _ in range(count):
                    type_ = self.text()
                    (size,) = self.unpack(_U32)
                    tail = self.take(size)
                    messages.append(Prepared(type_, _head(type_), tail))
                yield Deliver(conn, tuple(messages))
            elif kind == _CLOSE:
                (code,) = self.unpack(_U16)
                yield Close(conn, code, self.text())
            elif kind == _ROUTE:
                (after_n,) = self.unpack(_U64)
                yield Route(conn, after_n)
            elif kind == _REFUSED:
                yield Refused(conn, self.text(), self.text())
            else:
                raise WireError(f"unknown outbound item kind {kind}")


def _head(type_: str) -> bytes:
    return b'{"type":' + orjson.dumps(type_) + b',"seq":'


def decode_outbound(payload: bytes) -> Outbound:
    if not payload.startswith(_MAGIC):
        raise WireError("not an outbound message of this Kadath version")
    reader = _Reader(payload)
    reader.at = len(_MAGIC)
    shard = reader.text()
    return Outbound(shard, tuple(reader.items()))


# ------------------------------------------------------------------------ between shards


RosterPlayer = tuple[int, str, str | None, str, str | None]


@dataclass(frozen=True, slots=True)
class Roster:
    """Shard ``shard``'s players now: (stable id, name, zone, zone name, room) each. A listing
    too large for one bus message comes in ``parts`` messages of one ``listing`` (unique to the
    shard's run), ``part`` numbering them from 0: see :func:`roster_parts`,
    :class:`RosterAssembly`."""

    shard: str
    players: tuple[RosterPlayer, ...]
    listing: str = ""
    part: int = 0
    parts: int = 1


def roster_parts(
    shard: str, players: Sequence[RosterPlayer], listing: str, max_bytes: int
) -> list[bytes]:
    """Shard ``shard``'s listing as encoded messages of at most ``max_bytes`` each (the broker's
    ``max_payload``): one message while it fits, else cut into twice as many parts until each
    does. A listing of about 80 bytes a player fits one MiB up to some 12,000 players."""
    count = 1
    while True:
        size = max(1, -(-len(players) // count))
        chunks = [tuple(players[at : at + size]) for at in range(0, len(players), size)] or [()]
        encoded = [
            encode_news(Roster(shard, chunk, listing, n, len(chunks)))
            for n, chunk in enumerate(chunks)
        ]
        if size == 1 or all(len(message) <= max_bytes for message in encoded):
            return encoded
        count *= 2


@dataclass(slots=True)
class RosterAssembly:
    """The other shards' listings as they come, part by part: a shard's players are replaced
    whole once every part of one listing is in (parts of an older listing are let go)."""

    _parts: dict[str, tuple[str, dict[int, tuple[RosterPlayer, ...]]]] = field(default_factory=dict)

    def add(self, roster: Roster) -> tuple[RosterPlayer, ...] | None:
        """Take one message; the shard's whole listing once it is complete, else None."""
        if roster.parts <= 1:
            self._parts.pop(roster.shard, None)
            return roster.players
        listing, parts = self._parts.get(roster.shard, ("", {}))
        if listing != roster.listing:
            listing, parts = roster.listing, {}
            self._parts[roster.shard] = (listing, parts)
        parts[roster.part] = roster.players
        if len(parts) < roster.parts:
            return None
        del self._parts[roster.shard]
        return tuple(player for n in range(roster.parts) for player in parts.get(n, ()))


@dataclass(frozen=True, slots=True)
class Relay:
    """A message shard ``shard`` rendered for players elsewhere: everyone (``player`` None), or
    the player with that stable id."""

    shard: str
    player: int | None
    message: Prepared


@dataclass(frozen=True, slots=True)
class Ask:
    """Shard ``shard`` asks whichever shard holds the character to apply ``request`` (an admin's
    teleport or summon of a player who is not there)."""

    shard: str
    request: Relocate


ShardNews = Roster | Relay | Ask


def encode_news(news: ShardNews) -> bytes:
    if isinstance(news, Roster):
        return orjson.dumps(
            {
                "kind": "roster",
                "shard": news.shard,
                "players": news.players,
                "listing": news.listing,
                "part": news.part,
                "parts": news.parts,
            }
        )
    if isinstance(news, Ask):
        request = news.request
        return orjson.dumps(
            {
                "kind": "relocate",
                "shard": news.shard,
                "character": request.character,
                "room": request.room,
                "vanish": request.vanish,
                "appear": request.appear,
            }
        )
    return orjson.dumps(
        {
            "kind": "relay",
            "shard": news.shard,
            "player": news.player,
            "type": news.message.type,
            "tail": news.message.tail.decode(),
        }
    )


def decode_news(payload: bytes) -> ShardNews:
    try:
        body = orjson.loads(payload)
        kind, shard = body["kind"], str(body["shard"])
        if kind == "roster":
            players = tuple(
                (int(sid), str(name), zone, str(zone_name), room)
                for sid, name, zone, zone_name, room in body["players"]
            )
            part, parts = int(body.get("part", 0)), int(body.get("parts", 1))
            if not 0 <= part < parts:
                raise ValueError(f"part {part} of {parts}")
            return Roster(shard, players, str(body.get("listing", "")), part, parts)
        if kind == "relay":
            type_ = str(body["type"])
            player = body["player"]
            message = Prepared(type_, _head(type_), str(body["tail"]).encode())
            return Relay(shard, None if player is None else int(player), message)
        if kind == "relocate":
            request = Relocate(
                int(body["character"]), str(body["room"]), str(body["vanish"]), str(body["appear"])
            )
            return Ask(shard, request)
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise WireError(f"bad message between shards: {exc}") from exc
    raise WireError(f"bad message between shards: unknown kind {kind!r}")


# ------------------------------------------------------------------------------- liveness


@dataclass(frozen=True, slots=True)
class Alive:
    """A shard's heartbeat: its name, the id of this run of it (new at every start, so a gateway
    can tell a restart from a pause), the zones it simulates, whether it serves them yet, and
    whether new characters start there (it owns the start room's zone)."""

    shard: str
    run: str
    zones: tuple[str, ...]
    ready: bool
    start: bool = False


def encode_alive(alive: Alive) -> bytes:
    return orjson.dumps(
        {
            "shard": alive.shard,
            "run": alive.run,
            "zones": alive.zones,
            "ready": alive.ready,
            "start": alive.start,
        }
    )


def decode_alive(payload: bytes) -> Alive:
    try:
        body = orjson.loads(payload)
        return Alive(
            str(body["shard"]),
            str(body["run"]),
            tuple(str(zone) for zone in body["zones"]),
            bool(body["ready"]),
            bool(body.get("start", False)),
        )
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise WireError(f"bad heartbeat: {exc}") from exc
