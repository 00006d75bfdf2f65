"""The gateway of a sharded world: it holds the players' websockets, and the shards hold the world.

A gateway speaks the same protocol to players as the single-process server (welcome, ping, the
protocol versions and batching, register, login and resume, the rate limit, the frame size bound,
the idle timeout, the bounded outbound queue), checks passwords and resume tokens itself, and
then forwards what each player types to the shard that simulates the player's character
(:mod:`net.cluster_wire` over :mod:`net.bus`). What the shards send back travels unstamped: the
gateway owns each connection's :class:`~net.protocol.ServerChannel` and numbers every message,
so a player's ``seq`` runs on without a gap when the character crosses from shard to shard.

**Routing.** After a login the character goes to the shard that owns it in the shared database
(``kadath_owners``), or, for a character no shard holds, to the shard whose heartbeat says new
characters start there. A shard that takes a character in from another answers with ``Route``;
the gateway then sends that shard the lines the old one had not consumed (it keeps the last
``cluster.replay_lines`` of each connection), in order, so none is lost or reordered.

**Liveness.** A shard not heard for ``cluster.dead_after_s`` is paused: its players are told
once, and every line they type meanwhile is answered ``paused`` (neither forwarded nor kept).
When it comes back as the same run it was only slow; when it comes back as a new run it was
restarted, restored its characters link-dead, and each of its players is opened again there.

This is a process entry point: unlike the rest of ``net``, it wires the bus to the shared
database (accounts, owners, the world's token secret), which is why it imports ``persist``, as
only a shard's shell (``net.shard``) does besides (tests/test_layers.py says so). It never
touches the world itself, never blocks the event loop (every database call runs in a worker
thread), and no message from the bus can crash it: a malformed one is logged and dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import secrets
import signal
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from typing import Any, Final

import sqlalchemy as sa
from websockets.asyncio.server import Server, ServerConnection
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response

from engine.accounts import Account, AccountStore
from engine.config import ClusterConfig, Config, NetConfig
from engine.config.settings import subject_token_problem
from net import tokens
from net.accounts import AccountService, AuthError, LoginThrottle
from net.bus import Bus, BusError, BusTimeout, Inbox, connect
from net.cluster_wire import (
    ELSEWHERE,
    Alive,
    Close,
    Deliver,
    Gone,
    Line,
    Open,
    OutboundItem,
    Refused,
    Route,
    ShardInput,
    WireError,
    decode_alive,
    decode_outbound,
    encode_input,
)
from net.delivery import OutputBudget
from net.hub import CLOSE_NORMAL
from net.passwords import DEFAULT_PARAMS, ScryptParams
from net.protocol import (
    SERVER_TYPES,
    Cmd,
    Login,
    Ping,
    Prepared,
    ProtocolError,
    Register,
    Resume,
    ServerChannel,
    UseProtocol,
    auth_error_message,
    auth_from_command,
    batch_frame,
    bye_message,
    error_message,
    parse_client_frame,
    pong_message,
    prepare,
    protocol_message,
    welcome_message,
)
from net.ratelimit import TokenBucket
from net.server import (
    Flusher,
    WsLink,
    is_websocket_handshake,
    json_response,
    peer_address,
    serve_players,
    web_client_response,
)
from net.tasks import STOP_TIMEOUT_S, cancel_all
from persist.accounts import SqlAccountStore
from persist.database import open_database
from persist.migrate import ensure_schema
from persist.ownership import cluster_secret, ensure_ownership_tables, owners_of
from persist.schema import Schema

__all__ = [
    "PAUSED_CODE",
    "PAUSED_TEXT",
    "RESUMED_TEXT",
    "Connection",
    "Gateway",
    "ShardState",
    "open_gateway",
    "serve_gateway",
]

log = logging.getLogger("kadath.gateway")

#: The ``error`` code of a line typed while the player's shard is down.
PAUSED_CODE: Final = "paused"
PAUSED_TEXT: Final = (
    "This part of the world is paused: its server is restarting."
    " Your commands will work again when it is back."
)
RESUMED_TEXT: Final = "The world resumes."
#: The ``msg`` event kind of :data:`RESUMED_TEXT`.
RESUMED_EVENT: Final = "world_resumed"
NO_SHARD_TEXT: Final = (
    "The world is not running right now (the server your character lives on does not answer):"
    " try again in a moment."
)
DATABASE_DOWN_TEXT: Final = "The world's database is unavailable right now: try again later."
BAD_TOKEN_TEXT: Final = "That resume token is unknown or has expired; log in."
GATEWAY_SHUTDOWN_TEXT: Final = (
    "This gateway is shutting down. Your character waits for you, link-dead: connect again."
)
#: Close codes a shard may ask for; any other is replaced by a normal close (websockets refuses
#: to send a reserved code, which would leave the connection open).
_SENDABLE_CLOSE_CODES: Final = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011})
_MAX_CLOSE_REASON_BYTES: Final = 123
_CLOSE_GOING_AWAY: Final = 1001
#: Connection ids start at a random point, so that a gateway restarted under the same name does
#: not take messages still on their way to its previous run's connections for its new ones.
_CONN_ID_START_BITS: Final = 32
#: The longest a wait on a bus subscription lasts before the loop looks again (stopping).
_BUS_POLL_S: Final = 1.0


def _version() -> str:
    try:
        return version("kadath")
    except PackageNotFoundError:
        return "0"


# --------------------------------------------------------------------------------- state


@dataclass(slots=True)
class ShardState:
    """What a gateway knows of one shard, from its heartbeats. ``up`` is the gateway's verdict as
    its players were last told it (heard within ``dead_after_s`` and ready); ``served_run`` is
    the run its players were opened against, to tell a restart from a pause."""

    name: str
    run: str
    ready: bool
    start: bool
    zones: tuple[str, ...]
    last_seen: float
    up: bool = False
    served_run: str | None = None

    def as_dict(self, now: float) -> dict[str, object]:
        return {
            "run": self.run,
            "up": self.up,
            "ready": self.ready,
            "start": self.start,
            "zones": list(self.zones),
            "last_heard_s_ago": round(max(0.0, now - self.last_seen), 3),
        }


#: How many times in a row a gateway looks again for a character a shard said is elsewhere
#: (``net.cluster_wire.ELSEWHERE``) before it gives up and asks the player to log in again.
ELSEWHERE_TRIES = 5
#: The wait before looking again: this, times the number of tries so far.
ELSEWHERE_WAIT_S = 0.1


@dataclass(eq=False, slots=True)
class Connection:
    """One player's websocket, as the gateway sees it.

    ``account`` is set once logged in (or resumed) and ``shard`` once the character was opened
    on a shard; ``last_n`` is the number of the last line forwarded and ``kept`` the last lines
    forwarded (``n``, text), for a hand-off to replay. ``opened_run`` is the run of ``shard``
    the character was opened on (None: not known yet)."""

    conn: int
    link: WsLink
    address: str
    bucket: TokenBucket
    last_active: float
    kept: deque[tuple[int, str]]
    channel: ServerChannel = field(default_factory=ServerChannel)
    account: Account | None = None
    shard: str | None = None
    opened_run: str | None = None
    last_n: int = 0
    paused: bool = False
    closing: bool = False
    elsewhere_tries: int = 0
    """Opens refused in a row because the character was on another shard (see ``ELSEWHERE``)."""


# --------------------------------------------------------------------------------- gateway


class Gateway:
    """One gateway: a websockets server for players and a client of the bus. ``start`` binds the
    port and subscribes; ``stop`` says goodbye to every player (their characters go link-dead on
    their shards) and closes what the gateway opened.

    ``owner_of`` answers, in a worker thread, which shard owns a character (by stable id);
    ``secret`` is the world's token secret. Times: monotonic seconds for liveness, idleness and
    rate limits, wall-clock seconds (``wall_clock``) for tokens, which other machines check.
    """

    def __init__(
        self,
        name: str,
        bus: Bus,
        cluster: ClusterConfig,
        net: NetConfig,
        accounts: AccountService,
        owner_of: Callable[[int], str | None],
        secret: bytes,
        *,
        server_name: str = "Kadath",
        server_version: str = "0",
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        problem = subject_token_problem(name)
        if problem is not None:
            raise ValueError(f"bad gateway name {name!r}: {problem}")
        self.name = name
        self.bus = bus
        self.cluster = cluster
        self.net = net
        self.accounts = accounts
        self.owner_of = owner_of
        self.secret = secret
        self.server_name = server_name
        self.server_version = server_version
        self.wall_clock = wall_clock
        self.subjects = bus.subjects
        self.connections: dict[int, Connection] = {}
        self.shards: dict[str, ShardState] = {}
        self.budget = OutputBudget(net.output_budget_bytes)
        self.flusher = Flusher()
        self.server: Server | None = None
        self.started_at = time.monotonic()
        #: Bus messages that could not be read (logged and dropped).
        self.bad_bus_messages = 0
        self.messages_sent = 0
        self._ids = itertools.count(secrets.randbits(_CONN_ID_START_BITS) + 1)
        self._tick = 0  # the latest world tick seen in a delivery, for the gateway's own messages
        self._outbox: deque[tuple[str, bytes]] = deque()
        self._outbox_ready = asyncio.Event()
        self._draining = False
        self._tasks: list[asyncio.Task[None]] = []
        self._reopening: set[asyncio.Task[None]] = set()
        self._inboxes: list[Inbox] = []
        self._on_stop: list[Callable[[], Any]] = []

    # ------------------------------------------------------------------- lifecycle

    async def start(self) -> None:
        """Subscribe to this gateway's events and to every shard's heartbeat, then bind the port
        (so no player connects before the gateway can hear the shards)."""
        events = await self.bus.subscribe(self.subjects.gateway_events(self.name))
        alive = await self.bus.subscribe(self.subjects.shards_alive)
        self._inboxes = [events, alive]
        self._tasks = [
            asyncio.create_task(self._publisher(), name="gateway-publisher"),
            asyncio.create_task(self._read(events, self.on_outbound), name="gateway-events"),
            asyncio.create_task(self._read(alive, self.on_alive), name="gateway-heartbeats"),
            asyncio.create_task(self._watch(), name="gateway-watch"),
        ]
        cfg = self.net
        self.server = await serve_players(cfg, self._handle, self._http)
        log.info("gateway %s listening on ws://%s:%d/", self.name, cfg.host, self.port)

    @property
    def port(self) -> int:
        """The bound port (useful when configured as 0 in tests)."""
        if self.server is None:
            return self.net.port
        sockets = self.server.sockets
        return int(sockets[0].getsockname()[1]) if sockets else self.net.port

    def on_stop(self, closer: Callable[[], Any]) -> None:
        """Call ``closer`` (a function, or one returning an awaitable) at the end of ``stop``:
        what :func:`open_gateway` opened for this gateway (the bus, the database)."""
        self._on_stop.append(closer)

    async def stop(self) -> None:
        """Say goodbye to every player, tell their shards they are gone (their characters go
        link-dead, to be resumed through any gateway), and close down."""
        for connection in list(self.connections.values()):
            self._say_goodbye(connection, "shutdown", _CLOSE_GOING_AWAY, GATEWAY_SHUTDOWN_TEXT)
        if self.server is not None:
            self.server.close(close_connections=False)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), timeout=STOP_TIMEOUT_S)
        # The publisher sends what is queued (the Gone of every player), in order, and ends.
        self._draining = True
        self._outbox_ready.set()
        # Every task but the publisher (the first), which sends what is queued and ends by itself.
        await cancel_all([*self._tasks[1:], *self._reopening], STOP_TIMEOUT_S)
        if self._tasks:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._tasks[0], timeout=STOP_TIMEOUT_S)
            await cancel_all(self._tasks[:1], STOP_TIMEOUT_S)
        # Unread messages would hold up the bus's drain until its timeout: let go of them first.
        for inbox in self._inboxes:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(inbox.close(), timeout=STOP_TIMEOUT_S)
        with contextlib.suppress(BusError):
            await self.bus.flush()
        for closer in reversed(self._on_stop):
            try:
                result = closer()
                if asyncio.iscoroutine(result):
                    await result
            except Exception:
                log.exception("gateway %s: could not close cleanly", self.name)

    # ------------------------------------------------------------------- the bus

    def _publish(self, message: ShardInput, shard: str) -> None:
        """Queue ``message`` for ``shard``. Every message goes through one queue and one task, so
        they reach the bus in the order they were queued, whichever task queued them (a
        hand-off's replay and a line typed meanwhile)."""
        self._queue(self.subjects.shard_inputs(shard), encode_input(message))

    def _queue(self, subject: str, payload: bytes) -> None:
        self._outbox.append((subject, payload))
        self._outbox_ready.set()

    async def _publisher(self) -> None:
        while True:
            await self._outbox_ready.wait()
            self._outbox_ready.clear()
            while self._outbox:
                subject, payload = self._outbox.popleft()
                try:
                    await self.bus.publish(subject, payload)
                except Exception:  # the bus is closed: nothing more can go out
                    log.exception("gateway %s: could not publish on %s", self.name, subject)
            if self._draining:
                return

    async def _read(self, inbox: Inbox, handle: Callable[[bytes], None]) -> None:
        while True:
            try:
                message = await inbox.next(_BUS_POLL_S)
            except BusTimeout:
                continue
            try:
                handle(message.payload)
            except Exception:  # a bug: the next message may be fine
                log.exception("gateway %s: a bus message failed on %s", self.name, message.subject)

    async def _watch(self) -> None:
        """Every ``heartbeat_s``: say this gateway is alive, judge every shard, close idle
        connections."""
        payload = self.name.encode()
        subject = self.subjects.gateway_alive(self.name)
        while True:
            self._queue(subject, payload)
            now = time.monotonic()
            for state in list(self.shards.values()):
                self._judge(state, now)
            self._close_idle(now)
            await asyncio.sleep(self.cluster.heartbeat_s)

    # ------------------------------------------------------------------- shards

    def on_alive(self, payload: bytes) -> None:
        """A shard's heartbeat."""
        try:
            alive = decode_alive(payload)
        except WireError as exc:
            self._bad_bus_message(exc)
            return
        problem = subject_token_problem(alive.shard)
        if problem is not None:
            self._bad_bus_message(WireError(f"bad shard name {alive.shard!r}: {problem}"))
            return
        now = time.monotonic()
        state = self.shards.get(alive.shard)
        if state is None:
            state = ShardState(alive.shard, alive.run, alive.ready, alive.start, (), now)
            self.shards[alive.shard] = state
            log.info("gateway %s: shard %s (run %s) heard", self.name, alive.shard, alive.run)
        self._heard(state, alive, now)

    def _heard(self, state: ShardState, alive: Alive, now: float) -> None:
        state.run, state.ready, state.start = alive.run, alive.ready, alive.start
        state.zones = alive.zones
        state.last_seen = now
        self._judge(state, now)

    def _judge(self, state: ShardState, now: float) -> None:
        """Tell the shard's players what changed: paused (down), resumed (back as the same run),
        or opened again (back as a new run: a restart restored their characters link-dead)."""
        alive = state.ready and now - state.last_seen < self.cluster.dead_after_s
        if not alive:
            if state.up:
                state.up = False
                log.warning("gateway %s: shard %s is down; its players wait", self.name, state.name)
                for connection in self._routed_to(state.name):
                    self._pause(connection)
            return
        restarted = state.served_run is not None and state.served_run != state.run
        state.served_run = state.run
        if restarted:
            log.warning(
                "gateway %s: shard %s restarted (run %s): opening its players again",
                self.name,
                state.name,
                state.run,
            )
        elif state.up:
            return
        state.up = True
        for connection in self._routed_to(state.name):
            if connection.opened_run is None:
                connection.opened_run = state.run
            elif connection.opened_run != state.run:
                self._reopen(connection, state.run)
            elif connection.paused:
                connection.paused = False
                self._resumed(connection)

    def _routed_to(self, shard: str) -> list[Connection]:
        return [
            c
            for c in self.connections.values()
            if c.shard == shard and c.account is not None and not c.closing
        ]

    def _is_up(self, shard: str) -> bool:
        state = self.shards.get(shard)
        return state is not None and state.up

    def _pause(self, connection: Connection) -> None:
        if not connection.paused:
            connection.paused = True
            self._error(connection, PAUSED_CODE, PAUSED_TEXT)

    def _resumed(self, connection: Connection) -> None:
        self._send(
            connection, prepare("msg", {"event": RESUMED_EVENT}, RESUMED_TEXT, tick=self._tick)
        )

    def _reopen(self, connection: Connection, run: str) -> None:
        """The shard restarted: the lines it had not consumed died with it, and the character
        waits link-dead; open it again, as a new login (the new run knows no resume)."""
        assert connection.account is not None and connection.shard is not None
        connection.opened_run = run
        connection.kept.clear()
        connection.paused = False
        task = asyncio.get_running_loop().create_task(self._reopen_fresh(connection))
        self._reopening.add(task)
        task.add_done_callback(self._reopening.discard)
        self._resumed(connection)

    async def _reopen_fresh(self, connection: Connection, after_s: float = 0.0) -> None:
        """Open the player again as a login would: with the account as the database has it now
        (the character the shard made at the first login is named there, not in the copy read
        then), on the shard that owns that character now."""
        account = connection.account
        assert account is not None
        if after_s:
            await asyncio.sleep(after_s)  # a crossing (or a claim) in flight: give it time
        try:
            fresh = await asyncio.to_thread(self.accounts.store.get, account.name)
        except Exception:
            log.exception("gateway %s: the account store failed; reopening as known", self.name)
            fresh = None
        await self._open(connection, fresh or account, resume=False)

    def start_shard(self) -> str | None:
        """The shard new characters start on (a live one whose heartbeat says so), if any."""
        starts = sorted(s.name for s in self.shards.values() if s.start and s.up)
        return starts[0] if starts else None

    # ------------------------------------------------------------------- outbound

    def on_outbound(self, payload: bytes) -> None:
        """What a shard sends this gateway's players after a tick."""
        try:
            outbound = decode_outbound(payload)
        except WireError as exc:
            self._bad_bus_message(exc)
            return
        for item in outbound.items:
            try:
                self._apply(outbound.shard, item)
            except Exception:
                log.exception(
                    "gateway %s: %r from shard %s failed", self.name, item, outbound.shard
                )

    def _bad_bus_message(self, exc: WireError) -> None:
        self.bad_bus_messages += 1
        log.warning("gateway %s: dropped a bus message: %s", self.name, exc)

    def _apply(self, shard: str, item: OutboundItem) -> None:
        connection = self.connections.get(item.conn)
        if connection is None or connection.closing:
            return  # the player left: what was on its way to it goes nowhere
        if isinstance(item, Deliver):
            self._deliver(connection, item.messages)
            if connection.link.overflowed:
                # Cut off for not reading: its shard hears now, not once the close handshake
                # the client does not read has timed out.
                self._disconnect(connection)
        elif isinstance(item, Route):
            self._route(connection, shard, item.after_n)
        elif connection.shard != shard:
            # Only the shard that holds the character may close it or refuse it (a late word from
            # the shard it left must not end the player's session).
            log.warning(
                "gateway %s: %s for connection %d from shard %s, which does not hold it; dropped",
                self.name,
                type(item).__name__,
                connection.conn,
                shard,
            )
        elif isinstance(item, Close):
            self._close(connection, item.code, item.reason)
        else:
            self._refused(connection, item)

    def _deliver(self, connection: Connection, messages: Iterable[Prepared]) -> None:
        kept = []
        for prepared in messages:
            if prepared.type in SERVER_TYPES:
                kept.append(prepared)
            else:
                self._bad_bus_message(WireError(f"unknown server message type {prepared.type!r}"))
        if kept:
            self._tick = max(self._tick, _tick_of(kept[-1]))
            self._transmit(connection, kept)

    def _route(self, connection: Connection, shard: str, after_n: int) -> None:
        problem = subject_token_problem(shard)
        if problem is not None:
            self._bad_bus_message(WireError(f"route from a bad shard name {shard!r}: {problem}"))
            return
        if connection.account is None:
            return  # refused or never logged in: nothing to route
        connection.shard = shard
        state = self.shards.get(shard)
        connection.opened_run = state.run if state is not None else None
        connection.paused = False
        if after_n < connection.last_n and (
            not connection.kept or connection.kept[0][0] > after_n + 1
        ):
            # More lines went unread than the gateway keeps (cluster.replay_lines): say so.
            log.warning(
                "gateway %s: connection %d routed to %s after line %d, but only lines from %s"
                " are kept; the ones between are lost",
                self.name,
                connection.conn,
                shard,
                after_n,
                connection.kept[0][0] if connection.kept else connection.last_n + 1,
            )
        for n, text in connection.kept:
            if n > after_n:
                self._publish(Line(self.name, connection.conn, n, text), shard)

    def _close(self, connection: Connection, code: int, reason: str) -> None:
        if code not in _SENDABLE_CLOSE_CODES and not 3000 <= code <= 4999:
            code = CLOSE_NORMAL
        reason = reason.encode()[:_MAX_CLOSE_REASON_BYTES].decode(errors="ignore")
        connection.closing = True
        connection.link.close(code, reason)  # after what was delivered before it

    def _refused(self, connection: Connection, refusal: Refused) -> None:
        if refusal.code == ELSEWHERE and connection.account is not None:
            connection.elsewhere_tries += 1
            if connection.elsewhere_tries <= ELSEWHERE_TRIES:
                # The character moved on (a hand-off, a zone moved) between the owner look-up
                # and the Open: look it up again and open it where it is now.
                task = asyncio.get_running_loop().create_task(
                    self._reopen_fresh(connection, ELSEWHERE_WAIT_S * connection.elsewhere_tries)
                )
                self._reopening.add(task)
                task.add_done_callback(self._reopening.discard)
                return
        connection.elsewhere_tries = 0
        connection.account = None
        connection.shard = None
        connection.opened_run = None
        connection.paused = False
        connection.kept.clear()
        self._send(connection, auth_error_message(refusal.code, refusal.text, tick=self._tick))

    # ------------------------------------------------------------------- sending

    def _send(self, connection: Connection, prepared: Prepared) -> None:
        if not connection.closing:
            self._transmit(connection, [prepared])

    def _transmit(self, connection: Connection, messages: list[Prepared]) -> None:
        """Number ``messages`` for the connection and queue them: one frame for a client that
        batches (protocol version 2), one frame each otherwise (as ``Hub._transmit``)."""
        channel, link = connection.channel, connection.link
        frames = [channel.stamp(prepared) for prepared in messages]
        self.messages_sent += len(frames)
        if len(frames) > 1 and channel.batching:
            link.send(batch_frame(frames), len(frames))
            return
        for frame in frames:
            link.send(frame)

    def _error(self, connection: Connection, code: str, message: str) -> None:
        self._send(connection, error_message(code, message, tick=self._tick))

    def _auth_error(self, connection: Connection, code: str, message: str) -> None:
        self._send(connection, auth_error_message(code, message, tick=self._tick))

    def _say_goodbye(self, connection: Connection, reason: str, code: int, text: str = "") -> None:
        if connection.closing:
            return
        self._send(connection, bye_message(reason, tick=self._tick, text=text))
        connection.closing = True
        connection.link.close(code, reason)

    def _close_idle(self, now: float) -> None:
        idle_before = now - self.net.idle_timeout_s
        for connection in list(self.connections.values()):
            if connection.last_active < idle_before:
                self._say_goodbye(connection, "idle", CLOSE_NORMAL)

    # ------------------------------------------------------------------- websockets

    async def _handle(self, ws: ServerConnection) -> None:
        cfg = self.net
        link = WsLink(
            ws, cfg.outbound_max_messages, cfg.outbound_max_bytes, self.budget, self.flusher
        )
        connection = Connection(
            next(self._ids),
            link,
            peer_address(ws),
            TokenBucket(cfg.commands_per_s, cfg.command_burst),
            time.monotonic(),
            deque(maxlen=self.cluster.replay_lines),
        )
        self.connections[connection.conn] = connection
        self._send(
            connection,
            welcome_message(
                self.server_name,
                self.server_version,
                tick=self._tick,
                frame_bytes=cfg.max_frame_bytes,
            ),
        )
        try:
            async for frame in ws:
                if connection.closing or link.closed:
                    break
                try:
                    await self._on_frame(connection, frame)
                except Exception:
                    log.exception("unexpected error handling a frame from %s", connection.address)
                    self._error(
                        connection, "internal_error", "Something went wrong; it has been logged."
                    )
        except ConnectionClosed:
            pass
        finally:
            self._disconnect(connection)
            await link.finished()

    def _disconnect(self, connection: Connection) -> None:
        """The connection is gone (or cut off): its shard is told once."""
        if self.connections.pop(connection.conn, None) is None:
            return
        connection.closing = True
        if connection.account is not None and connection.shard is not None:
            self._publish(Gone(self.name, connection.conn), connection.shard)

    async def _on_frame(self, connection: Connection, frame: str | bytes) -> None:
        connection.last_active = time.monotonic()
        try:
            message = parse_client_frame(frame)
            if isinstance(message, Cmd) and connection.account is None:
                message = auth_from_command(message) or message
        except ProtocolError as bad:
            self._error(connection, bad.code, bad.message)
            return
        if isinstance(message, Ping):
            self._send(connection, pong_message(tick=self._tick))
        elif isinstance(message, UseProtocol):
            self._send(connection, protocol_message(message.version, tick=self._tick))
            connection.channel.version = message.version
        elif isinstance(message, Register | Login | Resume):
            if connection.account is not None:
                self._auth_error(connection, "already_authenticated", "You are already logged in.")
            elif isinstance(message, Resume):
                await self._resume(connection, message.token)
            else:
                await self._authenticate(connection, message)
        elif connection.account is None:
            self._error(
                connection,
                "not_authenticated",
                "Log in first: login <name> <password>, or register <name> <password>.",
            )
        else:
            self._line(connection, message.text)

    def _line(self, connection: Connection, text: str) -> None:
        if not connection.bucket.allow(time.monotonic()):
            self._error(
                connection,
                "rate_limited",
                f"Too many commands: at most {self.net.commands_per_s:g} a second "
                f"(bursts of {self.net.command_burst}). That one was dropped.",
            )
            return
        shard = connection.shard
        assert shard is not None  # logged in means opened on a shard
        if connection.paused or not self._is_up(shard):
            self._error(connection, PAUSED_CODE, PAUSED_TEXT)
            return
        connection.last_n += 1
        connection.kept.append((connection.last_n, text))
        self._publish(Line(self.name, connection.conn, connection.last_n, text), shard)

    async def _authenticate(self, connection: Connection, message: Register | Login) -> None:
        try:
            if isinstance(message, Register):
                account = await self.accounts.register(
                    message.name, message.password, connection.address
                )
            else:
                account = await self.accounts.login(
                    message.name, message.password, connection.address, time.monotonic()
                )
        except AuthError as refused:
            self._auth_error(connection, refused.code, refused.message)
            return
        await self._open(connection, account, resume=False)

    async def _resume(self, connection: Connection, token: str) -> None:
        name = tokens.check(self.secret, token, self.wall_clock())
        if name is None:
            self._auth_error(connection, "bad_token", BAD_TOKEN_TEXT)
            return
        try:
            account = await asyncio.to_thread(self.accounts.store.get, name)
        except Exception:
            log.exception("gateway %s: the account store failed", self.name)
            self._auth_error(connection, "unavailable", DATABASE_DOWN_TEXT)
            return
        if account is None:  # deleted since the token was minted
            self._auth_error(connection, "bad_token", BAD_TOKEN_TEXT)
            return
        await self._open(connection, account, resume=True)

    async def _open(self, connection: Connection, account: Account, *, resume: bool) -> None:
        """Send the character to its shard: the one that owns it, else the start shard."""
        shard: str | None
        if account.character_sid is None:
            shard = self.start_shard()
        else:
            try:
                owner = await asyncio.to_thread(self.owner_of, account.character_sid)
            except Exception:
                log.exception("gateway %s: could not read who owns %s", self.name, account.name)
                self._auth_error(connection, "unavailable", DATABASE_DOWN_TEXT)
                return
            shard = owner if owner is not None else self.start_shard()
        if connection.closing or connection.conn not in self.connections:
            return  # the player left while the database answered
        if shard is None or not self._is_up(shard):
            self._auth_error(connection, "unavailable", NO_SHARD_TEXT)
            return
        connection.account = account
        connection.shard = shard
        connection.opened_run = self.shards[shard].run
        connection.paused = False
        self._publish(Open(self.name, connection.conn, account, connection.address, resume), shard)
        log.info(
            "%s %s from %s on shard %s",
            account.name,
            "resumes" if resume else "logs in",
            connection.address,
            shard,
        )

    # ------------------------------------------------------------------- http

    def health(self) -> dict[str, object]:
        """What /healthz answers: this gateway's players and what it knows of every shard."""
        now = time.monotonic()
        return {
            "status": "ok",
            "gateway": self.name,
            "connections": len(self.connections),
            "players": sum(1 for c in self.connections.values() if c.account is not None),
            "paused": sum(1 for c in self.connections.values() if c.paused),
            "messages_sent": self.messages_sent,
            "bad_bus_messages": self.bad_bus_messages,
            "output_queued_bytes": self.budget.queued_bytes,
            "uptime_s": round(now - self.started_at, 3),
            "shards": {name: state.as_dict(now) for name, state in sorted(self.shards.items())},
        }

    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        if is_websocket_handshake(request):
            return None
        path = request.path.partition("?")[0]
        if path == "/healthz":
            return json_response(self.health())
        return web_client_response(path)


def _tick_of(prepared: Prepared) -> int:
    """The tick a prepared message belongs to, read from its encoded tail
    (``,"tick":N,...``) without decoding the rest; 0 if it cannot be read."""
    tail = prepared.tail
    start = len(b',"tick":')
    end = tail.find(b",", start)
    try:
        return int(tail[start:end]) if tail.startswith(b',"tick":') and end > 0 else 0
    except ValueError:
        return 0


# --------------------------------------------------------------------------------- process


class GatewaySetupError(Exception):
    """The gateway cannot start: the bus or the database does not answer; one line says which."""


async def open_gateway(
    config: Config, name: str, *, params: ScryptParams = DEFAULT_PARAMS
) -> Gateway:
    """A started gateway for ``config``'s world: the shared database (accounts, owners, the token
    secret) opened and its tables made if missing, the bus connected, the port bound. Raises
    :class:`GatewaySetupError` if the database or NATS does not answer."""
    db = open_database(config.persist.database_url)
    try:
        store, secret = await asyncio.to_thread(_prepare_database, db)
    except sa.exc.SQLAlchemyError as exc:
        db.dispose()
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise GatewaySetupError(
            f"cannot use the database ({config.persist.describe()}): {first}"
        ) from exc
    try:
        bus = await connect(config.cluster, name=f"gateway-{name}")
    except BusError as exc:
        db.dispose()
        raise GatewaySetupError(str(exc)) from exc
    net = config.net
    throttle = LoginThrottle(
        name_failures=net.login_failures_per_name,
        address_failures=net.login_failures_per_address,
        window_s=net.login_failure_window_s,
    )
    accounts = AccountService(
        store, throttle, params=params, max_in_flight_per_address=net.logins_in_flight_per_address
    )

    def owner_of(sid: int) -> str | None:
        found = owners_of(db, [sid]).get(sid)
        return None if found is None else found[0]

    gateway = Gateway(
        name, bus, config.cluster, net, accounts, owner_of, secret, server_version=_version()
    )
    gateway.on_stop(db.dispose)
    gateway.on_stop(bus.close)
    try:
        await gateway.start()
    except BaseException:
        await gateway.stop()
        raise
    return gateway


def _prepare_database(db: sa.Engine) -> tuple[AccountStore, bytes]:
    """The engine's own tables (accounts) and the ownership tables, made if missing, and the
    world's secret: what a gateway reads. Never the world's component tables."""
    ensure_schema(db, Schema(()))
    ensure_ownership_tables(db)
    return SqlAccountStore(db), cluster_secret(db)


async def _serve(config: Config, name: str) -> int:
    try:
        gateway = await open_gateway(config, name)
    except GatewaySetupError as exc:
        print(f"kadath gateway: cannot start: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:  # the port is taken
        print(f"kadath gateway: cannot start: {exc}", file=sys.stderr)
        return 2
    stopping = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stopping.set)
    log.info("gateway %s of world %s is running", name, config.cluster.world)
    try:
        await stopping.wait()
    finally:
        log.info("gateway %s stopping", name)
        await gateway.stop()
    return 0


def serve_gateway(config: Config, name: str) -> int:
    """Run a gateway named ``name`` until SIGINT or SIGTERM (``kadath gateway``)."""
    return asyncio.run(_serve(config, name))
