"""A shard of a sharded world: this process's engine serves the zones the zone map gives it, its
players' connections are held by gateways, and what crosses a border goes to the shard on the
other side. The network shell of ``kadath shard NAME``, in place of the websockets server.

What it does, all on the event loop around the tick, never inside it:

- **Players.** Gateways forward each player's login, lines and hang-up (:mod:`net.cluster_wire`)
  on this shard's inputs subject; the session hub runs them as on a single server, and its
  messages go back unstamped, once per tick for each gateway.
- **Hand-offs out.** The border rule (``systems.borders``) takes what entered another shard's
  zone out of the world; here it is written and given to that shard in one database transaction
  (:mod:`persist.handoff`), then published to JetStream. The player's connection goes with it.
- **Hand-offs in.** JetStream delivers what other shards hand over; what is still current is
  applied in the next tick (an :class:`engine.inputs.Arrival`), then acknowledged, and the
  player's gateway is told to send its lines here.
- **Liveness.** A heartbeat every ``cluster.heartbeat_s`` tells gateways this shard serves
  (and which zones, so other shards learn the zone map); a gateway not heard from for
  ``cluster.dead_after_s`` has its players taken link-dead, as a dropped connection would.

The database work runs in worker threads; this module is the one place, with the gateway, where
the network shell wires the bus to the shared database.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import http
import itertools
import logging
import secrets
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.exc import SQLAlchemyError
from websockets.asyncio.server import Server
from websockets.http11 import Response

from engine.accounts import Account, AccountStore
from engine.commands import InboxFull
from engine.config import Config
from engine.core import Engine, TickResult
from engine.events import Scope, ScopeKind
from engine.inputs import Arrival, Departure, DropConnection, LeaveWorld, Relocate
from engine.plugins import SetupError
from engine.stats import RollingTimings
from engine.territory import Arrivals, RosterEntry, Rosters, Territory
from net.bus import Bus, BusError, BusTimeout, HandOff, Inbox, connect
from net.cluster_wire import (
    ELSEWHERE,
    Alive,
    Ask,
    Close,
    Deliver,
    Gone,
    Line,
    Open,
    OutboundItem,
    Refused,
    Relay,
    Roster,
    RosterAssembly,
    Route,
    ShardInput,
    WireError,
    account_from_wire,
    account_to_wire,
    decode_input,
    decode_news,
    encode_alive,
    encode_news,
    encode_outbound_parts,
    roster_parts,
)
from net.hub import Hub, Session
from net.metrics import CONTENT_TYPE, exposition, metrics_registry
from net.protocol import Prepared
from net.server import http_response, json_response, serve_monitoring
from net.shard_stats import SHARD_METRICS, ShardStats
from net.stats_page import NET_SOURCE
from net.tasks import STOP_TIMEOUT_S, cancel_all
from net.tokens import mint
from persist import handoff, ownership
from persist.database import open_database
from persist.restore import read_meta
from persist.rollforward import Unfinished, roll_forward
from persist.schema import Schema
from persist.writer import HANDOFF_CLOCK_KEY

__all__ = ["ShardLink", "ShardServer"]

log = logging.getLogger("kadath.shard")

#: Waits between retries of a hand-off's database transaction or publish that failed (the
#: database or the broker is down): doubling from the first to the last.
RETRY_FIRST_S = 0.05
RETRY_LAST_S = 2.0
#: How long a shard remembers a connection whose character crossed from it: lines for it that
#: arrive meanwhile were sent before the gateway heard of the crossing, and are sent on by it.
HANDED_ON_MEMORY_S = 60.0
#: What a shard's monitoring port answers for any path but /healthz and /metrics.
NOT_HERE = b"not found: a shard answers /healthz and /metrics; players connect to a gateway\n"


_T = TypeVar("_T")


async def _until_done(
    what: str,
    failure: type[Exception] | tuple[type[Exception], ...],
    call: Callable[..., Awaitable[_T]],
    *args: Any,
) -> _T:
    """``await call(*args)`` until it does not fail with ``failure`` (the database or the broker
    is down), waiting ``RETRY_FIRST_S`` at first and twice as long each time, up to
    ``RETRY_LAST_S``. A hand-off is never given up: its things are in no world meanwhile."""
    wait = RETRY_FIRST_S
    while True:
        try:
            return await call(*args)
        except failure as exc:
            log.warning("%s is unavailable (%s); retrying in %.2f s", what, exc, wait)
        await asyncio.sleep(wait)
        wait = min(wait * 2, RETRY_LAST_S)


async def _messages(
    inbox: Inbox, decode: Callable[[bytes], _T], wait_s: float, what: str
) -> AsyncIterator[_T]:
    """What arrives on ``inbox``, decoded; a message that does not decode is logged, dropped."""
    while True:
        try:
            message = await inbox.next(wait_s)
        except BusTimeout:
            continue
        try:
            yield decode(message.payload)
        except WireError as exc:
            log.warning("dropped a bad %s from the bus: %s", what, exc)


def _gateway_name(payload: bytes) -> str:
    """A gateway's heartbeat: its name."""
    return payload.decode(errors="replace")


class ShardLink:
    """A player's connection, held by gateway ``gateway`` as its connection ``conn``: what the
    hub sends it is queued for that gateway's next batch."""

    def __init__(self, server: ShardServer, gateway: str, conn: int) -> None:
        self.server = server
        self.gateway = gateway
        self.conn = conn

    def deliver(self, messages: list[Prepared]) -> None:
        self.server.queue(self.gateway, Deliver(self.conn, tuple(messages)))

    def send(self, frame: bytes, count: int = 1) -> None:
        raise RuntimeError("a gateway's connection takes messages unstamped (deliver)")

    def close(self, code: int, reason: str) -> None:
        self.server.queue(self.gateway, Close(self.conn, code, reason))

    def backlog(self) -> int:
        """Unknown here: the gateway cuts off a client that stops reading."""
        return 0


@dataclass(slots=True)
class _Incoming:
    """A hand-off submitted to the engine, waiting for its arrival to be acknowledged."""

    message: handoff.HandOffMessage
    delivery: HandOff


class ShardServer:
    """Serves one engine as shard ``config.cluster.shard``. ``prepare`` (blocking, before the
    first tick) reads the zone map; ``run`` talks to the bus until ``stop``."""

    def __init__(self, engine: Engine, config: Config, accounts: AccountStore) -> None:
        self.engine = engine
        self.config = config
        self.cluster = config.cluster
        self.name = config.cluster.shard
        self.run_id = secrets.token_hex(8)
        self.accounts = accounts
        self.hub = Hub(engine, config.net, token_factory=self._token)
        self.hub.on_handed_off = self._handed_off
        self.hub.on_arrived = self._arrived
        self.hub.on_ask_elsewhere = self._ask_elsewhere
        self.hub.on_character_made = self._store_character
        self.sessions: dict[tuple[str, int], Session] = {}
        self.zone_owners: dict[str, str] = {}
        self.gateways_seen: dict[str, float] = {}
        self.db: sa.Engine | None = None
        self.schema = Schema(engine.registry.component_types)
        self.bus: Bus | None = None
        self._secret = b""
        self._outbound: dict[str, list[OutboundItem]] = {}
        self._flush_scheduled = False
        self._send_queue: asyncio.Queue[tuple[str, bytes]] | None = None
        self._incoming: dict[str, _Incoming] = {}
        self._rosters_heard: dict[str, float] = {}
        self._roster_parts = RosterAssembly()
        self._listings = itertools.count(1)
        #: Connections whose character crossed to another shard lately, and when: their lines
        #: that still come here are dropped quietly (the gateway sends them on after the Route).
        self._handed_on: dict[tuple[str, int], float] = {}
        self._claimed = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._handoff_ids = itertools.count(1)
        #: Hand-offs of a roll-forward (before the bus is connected), sent when it is.
        self._held_handoffs: list[tuple[str, str, list[Any], dict[str, Any] | None]] = []
        self._stopped = asyncio.Event()
        self.ready = False
        #: From a thing leaving this world to its hand-off stored on the broker.
        self.handoff_timings = RollingTimings(config.engine.stats_window)
        self.handoffs_sent = 0
        self.handoffs_received = 0
        self._http: Server | None = None
        self._metrics = metrics_registry(engine.stats_board)
        engine.on_tick_end(self._after_tick)
        engine.stats_board.add("shard", self)
        engine.stats_board.add(NET_SOURCE, self.hub)

    metrics = SHARD_METRICS

    def stats(self) -> ShardStats:
        timings = self.handoff_timings.stats()
        return ShardStats(
            self.handoffs_sent,
            self.handoffs_received,
            round(timings.p50_ns / 1e6, 3),
            round(timings.p99_ns / 1e6, 3),
            round(timings.max_ns / 1e6, 3),
            len(self.hub.playing),
            len({gateway for gateway, _ in self.sessions}),
        )

    # ------------------------------------------------------------------ start-up

    def prepare(self) -> None:
        """Read this shard's zones and the zone map, and the world's token secret (blocking:
        called before the first tick). Characters a crash left in the world wait link-dead for
        their gateways to bring their players back."""
        self.db = db = open_database(self.config.persist.database_url)
        ownership.ensure_ownership_tables(db)
        zone_map = ownership.zone_map(db)
        mine = frozenset(zone for zone, shard in zone_map.items() if shard == self.name)
        if not mine:
            raise SetupError(
                f"shard {self.name!r} has no zones in the zone map: give it some with"
                f" 'kadath cluster assign ZONE {self.name}' (or start the world with"
                " 'kadath cluster up')"
            )
        self.zone_owners = dict(zone_map)
        self._secret = ownership.cluster_secret(db)
        self.engine.world.insert_resource(self._territory())
        self.engine.world.insert_resource(Rosters())
        self.engine.world.insert_resource(Arrivals())
        self.hub.shares_events = True
        self.hub.on_elsewhere = self._relay
        unfinished = self.engine.world.pop_resource(Unfinished)
        if unfinished is not None:  # the journal past the last flush, now the zones are known
            roll_forward(self.engine, unfinished, self._not_rolled_forward, settle=True)
        presence = self.engine.registry.presence
        if presence is not None:
            world = self.engine.world
            grace = self.config.net.linkdead_grace_s
            for character in presence.in_world(world):
                sid = world.stable_id(character)
                if sid is not None:
                    self.engine.submit(DropConnection(sid, grace))
        log.info("shard %s simulates %s", self.name, ", ".join(sorted(mine)))

    def _not_rolled_forward(self, sids: set[int]) -> set[int]:
        """Which of these characters (named in the journal past the last flush) a roll-forward
        must leave alone: those another shard owns now, and those that changed hands after
        the flush, even if back here now, since the state restored for them is newer than the
        journal's tail (a step over the border, played again, would hand them on twice)."""
        assert self.db is not None
        owners = ownership.owners_of(self.db, sids)
        with self.db.connect() as conn:
            saved_clock = int(read_meta(conn, self.name).get(HANDOFF_CLOCK_KEY, 0))
        moved = ownership.moved_since(self.db, sids, saved_clock)
        elsewhere = {sid for sid, owner in owners.items() if owner and owner[0] != self.name}
        return elsewhere | moved

    def _territory(self) -> Territory:
        mine = frozenset(z for z, shard in self.zone_owners.items() if shard == self.name)
        others = frozenset(z for z, shard in self.zone_owners.items() if shard != self.name)
        current = self.engine.world.try_resource(Territory)
        start_zone = current.start_zone if current is not None else None
        return Territory(self.name, mine, others, start_zone)

    def health(self) -> dict[str, object]:
        """What /healthz answers: this shard, whether it serves its zones yet, and its players."""
        return {
            "status": "ok" if self.ready else "starting",
            "shard": self.name,
            "run": self.run_id,
            "tick": self.engine.world.clock.tick,
            "zones": sorted(z for z, shard in self.zone_owners.items() if shard == self.name),
            **self.stats().as_dict(),
        }

    def _answer(self, path: str) -> Response:
        if path == "/healthz":
            return json_response(self.health())
        if path == "/metrics":
            return http_response(http.HTTPStatus.OK, exposition(self._metrics), CONTENT_TYPE)
        return http_response(http.HTTPStatus.NOT_FOUND, NOT_HERE, "text/plain; charset=utf-8")

    def _token(self, account: Account) -> str:
        return mint(self._secret, account.name, time.time(), self.cluster.resume_token_ttl_s)

    # ----------------------------------------------------------------------- run

    async def run(self) -> None:
        if self.cluster.http_port:
            self._http = await serve_monitoring(
                self.config.net.host, self.cluster.http_port, self._answer
            )
        self.bus = bus = await connect(self.cluster, name=f"shard-{self.name}")
        try:
            await bus.ensure_handoff_stream()
            self._send_queue = asyncio.Queue()
            inputs = await bus.subscribe(bus.subjects.shard_inputs(self.name))
            gateways = await bus.subscribe(bus.subjects.gateways_alive)
            news = await bus.subscribe(bus.subjects.shards)
            handoffs = await bus.handoff_inbox(self.name)
            for coroutine in (
                self._send_forever(),
                self._read_inputs(inputs),
                self._watch_zone_map(),
                self._read_gateways(gateways),
                self._read_news(news),
                self._read_handoffs(handoffs),
                self._heartbeat(),
                self._publish_outbox(),
                *(self._send_handoff(*held) for held in self._held_handoffs),
            ):
                self._spawn(coroutine)
            self._held_handoffs.clear()
            await self._stopped.wait()
            await self._drain_sends()
        finally:
            await cancel_all(list(self._tasks), STOP_TIMEOUT_S)
            if self._http is not None:
                self._http.close()
            await bus.close()
            if self.db is not None:
                self.db.dispose()

    def stop(self) -> None:
        """Take every character out of the world, saved (the last tick does it), without saying
        goodbye: the players' gateways hold them paused until this shard is back."""
        world = self.engine.world
        for character in [*self.hub.playing, *self.hub.linkdead]:
            sid = world.stable_id(character)
            if sid is not None:
                self.engine.submit(LeaveWorld(sid, "shutdown"))
        for session in self.hub.sessions:
            session.closing = True
        self._stopped.set()

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("shard task failed", exc_info=task.exception())

    # ------------------------------------------------------------------ outbound

    def queue(self, gateway: str, item: OutboundItem) -> None:
        """Owe gateway ``gateway`` ``item``; sent with everything else it is owed, soon after."""
        self._outbound.setdefault(gateway, []).append(item)
        if not self._flush_scheduled:
            self._flush_scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._flush_scheduled = False
        outbound, self._outbound = self._outbound, {}
        if self.bus is None or self._send_queue is None:
            return
        limit = self.bus.max_payload
        for gateway, items in outbound.items():
            subject = self.bus.subjects.gateway_events(gateway)
            for payload in encode_outbound_parts(self.name, items, limit):
                self._send_queue.put_nowait((subject, payload))

    async def _send_forever(self) -> None:
        """Publish in the order queued: one sender, so a player's messages keep their order."""
        assert self.bus is not None and self._send_queue is not None
        while True:
            subject, payload = await self._send_queue.get()
            try:
                await self.bus.publish(subject, payload)
            except Exception:
                log.exception("could not publish to %s; dropped", subject)
            finally:
                self._send_queue.task_done()

    async def _drain_sends(self) -> None:
        if self._send_queue is not None:
            self._flush()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._send_queue.join(), self.cluster.request_timeout_s)

    def _after_tick(self, result: TickResult) -> None:
        self.hub.after_tick(result)
        if self._outbound and not self._flush_scheduled:
            self._flush()
        if not self._claimed and self.bus is not None:
            self._claimed = True  # the first tick let go of other shards' things: claim the rest
            sids = [sid for sid in map(self.engine.world.stable_id, self.engine.world) if sid]
            self._spawn(self._claim(sids))

    async def _claim(self, sids: list[int]) -> None:
        """Own in the database what this shard holds after its first tick and nobody owns yet,
        then say it is ready: a gateway finds every character's shard by its owner."""
        assert self.db is not None
        await _until_done(
            "claiming what this shard holds: the database",
            SQLAlchemyError,
            asyncio.to_thread,
            ownership.claim_unowned,
            self.db,
            [sid for sid in sids if sid > 0],
            self.name,
        )
        self.ready = True

    # -------------------------------------------------------------------- inputs

    async def _read_inputs(self, inbox: Inbox) -> None:
        async for item in _messages(inbox, decode_input, self.cluster.heartbeat_s, "input"):
            try:
                if isinstance(item, Open):  # one at a time: a line after it waits for it
                    item = await self._fresh(item)
                self.take(item)
            except Exception:
                log.exception("input %r failed", item)

    async def _fresh(self, item: Open) -> Open:
        """The Open with the account as the shared table has it now: a gateway's copy may be
        older than the character this world made for it (and a login without the character's
        id would make another)."""
        try:
            fresh = await asyncio.to_thread(self.accounts.get, item.account.name)
        except Exception:
            log.exception("could not read %s's account; using the gateway's", item.account.name)
            return item
        if fresh is None or fresh.character_sid is None:
            return item
        return dataclasses.replace(item, account=fresh)

    def take(self, item: ShardInput) -> None:
        """One message from a gateway, on the event loop, between ticks."""
        key = (item.gateway, item.conn)
        self.gateways_seen.setdefault(item.gateway, time.monotonic())
        if isinstance(item, Open):
            self._open(item, key)
        elif isinstance(item, Line):
            self._line(item, key)
        elif isinstance(item, Gone):
            session = self.sessions.pop(key, None)
            if session is not None:
                self.hub.disconnect(session)

    def _open(self, item: Open, key: tuple[str, int]) -> None:
        previous = self.sessions.pop(key, None)
        if previous is not None:  # the gateway logs this connection in again: the old one ends
            self.hub.disconnect(previous)
        account = item.account
        sid = account.character_sid
        if sid is not None and self.engine.world.entity_of(sid) is None:
            # Its character is on another shard (it crossed, or its zone moved, since the
            # gateway looked): the gateway looks again. Making a new one here would be a copy.
            self.queue(
                item.gateway,
                Refused(item.conn, ELSEWHERE, "Your character is elsewhere; following it."),
            )
            return
        if item.resume:
            sid = account.character_sid
            character = self.engine.world.entity_of(sid) if sid is not None else None
            if character is None or (
                character not in self.hub.playing and character not in self.hub.linkdead
            ):
                self.queue(
                    item.gateway,
                    Refused(
                        item.conn,
                        "bad_token",
                        "That resume token is unknown or has expired; log in.",
                    ),
                )
                return
        session = self.hub.adopt(ShardLink(self, item.gateway, item.conn), item.address)
        self._handed_on.pop(key, None)
        self.sessions[key] = session
        self.hub.login(session, account)

    def _line(self, item: Line, key: tuple[str, int]) -> None:
        session = self.sessions.get(key)
        if session is None and key not in self._handed_on:
            # No session here, and none that crossed from here lately (whose gateway sends its
            # lines on once the new shard routes it): dropped while its gateway seemed dead, or
            # lost by a restart. The gateway looks the character up again and opens it.
            self.queue(
                item.gateway,
                Refused(item.conn, ELSEWHERE, "Your connection was lost here; following it."),
            )
            return
        if session is None or session.closing or item.n <= session.last_input:
            return  # crossed to another shard (the gateway sends it there), or seen already
        session.last_input = item.n
        session.last_active_s = self.hub.now_s
        if session.character is None:
            self.hub.hold_line(session, item.text)
            return
        assert session.account is not None
        try:
            self.engine.submit_line(session.character, item.text, role=session.account.role)
        except InboxFull:
            self.hub.error(session, "throttled", "The server is very busy; try again in a moment.")

    def _store_character(self, account: Account) -> None:
        self._spawn(self._save_account(account))

    async def _save_account(self, account: Account) -> None:
        try:
            sid = account.character_sid
            assert sid is not None  # the tick made it
            await asyncio.to_thread(self.accounts.set_character, account.name, sid)
        except Exception:
            log.exception("could not record %s's character on the account", account.name)

    # ------------------------------------------------------------------ liveness

    async def _heartbeat(self) -> None:
        assert self.bus is not None
        subject = self.bus.subjects.shard_alive(self.name)
        while True:
            territory = self.engine.world.try_resource(Territory)
            zones = tuple(sorted(territory.zones)) if territory is not None else ()
            start = territory is not None and territory.start_zone in territory.zones
            settled = territory is not None and territory.start_zone is not None
            alive = Alive(self.name, self.run_id, zones, self.ready and settled, start)
            with contextlib.suppress(BusError):
                await self.bus.publish(subject, encode_alive(alive))
            self._tell_roster()
            self._check_gateways()
            forgotten_before = time.monotonic() - HANDED_ON_MEMORY_S
            for key, when in list(self._handed_on.items()):
                if when < forgotten_before:
                    del self._handed_on[key]
            await asyncio.sleep(self.cluster.heartbeat_s)

    async def _watch_zone_map(self) -> None:
        """The zone map, read again every ``cluster.zone_map_check_s``: a zone moved to this
        shard is simulated from the next tick (what is in it arrives by hand-off); a zone moved
        away is let go by the border rule, everything in it handed to its new shard."""
        assert self.db is not None
        while True:
            await asyncio.sleep(self.cluster.zone_map_check_s)
            try:
                zone_map = await asyncio.to_thread(ownership.zone_map, self.db)
            except SQLAlchemyError as exc:
                log.warning("cannot read the zone map (%s); keeping the one known", exc)
                continue
            if zone_map != self.zone_owners:
                gained = {z for z, s in zone_map.items() if s == self.name} - {
                    z for z, s in self.zone_owners.items() if s == self.name
                }
                lost = {z for z, s in self.zone_owners.items() if s == self.name} - {
                    z for z, s in zone_map.items() if s == self.name
                }
                self.zone_owners = zone_map
                self.engine.world.insert_resource(self._territory())
                for zone in sorted(gained):
                    log.info("zone %s is now simulated here", zone)
                for zone in sorted(lost):
                    log.info("zone %s moved to shard %s", zone, zone_map.get(zone))

    # ------------------------------------------------------------ between shards

    def _tell_roster(self) -> None:
        """This shard's players, for the others' ``who`` and ``tell``; and the others' rosters
        of shards that fell silent are forgotten."""
        rosters = self.engine.world.try_resource(Rosters)
        if rosters is None or self.bus is None:
            return
        players = [
            (entry.sid, entry.name, entry.zone, entry.zone_name, entry.room)
            for entry in rosters.here
        ]
        listing = f"{self.run_id}.{next(self._listings)}"
        for payload in roster_parts(self.name, players, listing, self.bus.max_payload):
            self._publish_soon(self.bus.subjects.shards, payload)
        silent_before = time.monotonic() - self.cluster.dead_after_s
        for shard, heard in list(self._rosters_heard.items()):
            if heard < silent_before:
                rosters.elsewhere.pop(shard, None)
                del self._rosters_heard[shard]

    def _relay(self, scope: Scope, prepared: Prepared) -> None:
        """The hub rendered a message for players elsewhere (everyone's, or a player's who is not
        here): the other shards deliver it to theirs."""
        if self.bus is None:
            return
        player = scope.target if scope.kind is ScopeKind.PLAYER else None
        news = Relay(self.name, player if isinstance(player, int) else None, prepared)
        self._publish_soon(self.bus.subjects.shards, encode_news(news))

    def _ask_elsewhere(self, request: Relocate) -> None:
        """A rule here wants a character another shard holds moved: every shard hears it, the
        one holding the character applies it in its tick (who holds it may have changed since
        the roster said)."""
        if self.bus is not None:
            self._publish_soon(self.bus.subjects.shards, encode_news(Ask(self.name, request)))

    def _publish_soon(self, subject: str, payload: bytes) -> None:
        if self._send_queue is not None:
            self._send_queue.put_nowait((subject, payload))

    async def _read_news(self, inbox: Inbox) -> None:
        wait_s = self.cluster.dead_after_s
        async for news in _messages(inbox, decode_news, wait_s, "message between shards"):
            if news.shard == self.name:
                continue
            if isinstance(news, Roster):
                rosters = self.engine.world.try_resource(Rosters)
                listed = self._roster_parts.add(news)
                if rosters is not None and listed is not None:
                    rosters.elsewhere[news.shard] = tuple(RosterEntry(*p) for p in listed)
                    self._rosters_heard[news.shard] = time.monotonic()
            elif isinstance(news, Ask):
                if self.engine.world.entity_of(news.request.character) is not None:
                    self.engine.submit(news.request)
            else:
                scope = Scope.everyone() if news.player is None else Scope.player(news.player)
                self.hub.deliver_from_elsewhere(scope, news.message)

    async def _read_gateways(self, inbox: Inbox) -> None:
        wait_s = self.cluster.dead_after_s
        async for gateway in _messages(inbox, _gateway_name, wait_s, "gateway heartbeat"):
            self.gateways_seen[gateway] = time.monotonic()

    def _check_gateways(self) -> None:
        """Players of a gateway that stopped saying it is alive go link-dead, as if each of their
        connections had dropped; a player who resumes on another gateway takes its body back."""
        dead_before = time.monotonic() - self.cluster.dead_after_s
        dead = {gw for gw, seen in self.gateways_seen.items() if seen < dead_before}
        if not dead:
            return
        for key in [key for key in self.sessions if key[0] in dead]:
            self.hub.disconnect(self.sessions.pop(key))
        for gateway in dead:
            del self.gateways_seen[gateway]
            log.warning("gateway %s is silent: its players here are link-dead", gateway)

    # ----------------------------------------------------------------- hand-offs

    def _handed_off(
        self, departure: Departure, session: Session | None, account: Account | None
    ) -> None:
        """The border rule let go of something: send it to its zone's shard."""
        to_shard = self.zone_owners.get(departure.zone)
        if to_shard is None:  # the rule crosses only into zones with a known owner
            log.error(
                "no shard for zone %s; entity %d stays saved here", departure.zone, departure.root
            )
            return
        follows: dict[str, Any] | None = None
        if session is not None and isinstance(session.link, ShardLink):
            link = session.link
            self.sessions.pop((link.gateway, link.conn), None)
            self._handed_on[(link.gateway, link.conn)] = time.monotonic()
            follows = {"gw": link.gateway, "conn": link.conn, "n": session.last_input}
        if account is not None:
            follows = {**(follows or {}), "account": account_to_wire(account)}
        handoff_id = f"{self.name}.{self.run_id}.{next(self._handoff_ids)}"
        entities = handoff.encode_entities(departure.entities)
        if self.bus is None:  # rolling forward, before run(): sent once the broker is there
            self._held_handoffs.append((handoff_id, to_shard, entities, follows))
            return
        self._spawn(self._send_handoff(handoff_id, to_shard, entities, follows))

    async def _send_handoff(
        self,
        handoff_id: str,
        to_shard: str,
        entities: list[Any],
        follows: dict[str, Any] | None,
    ) -> None:
        """Commit, then publish, then clear the outbox: each retried until it succeeds. A crash
        anywhere leaves either nothing moved (the things are restored here) or the hand-off in
        the outbox (published again at the next start)."""
        assert self.db is not None
        started = time.perf_counter_ns()
        try:
            message = await _until_done(
                f"hand-off {handoff_id}: the database",
                SQLAlchemyError,
                asyncio.to_thread,
                handoff.hand_over,
                self.db,
                self.schema,
                handoff_id,
                self.name,
                to_shard,
                entities,
                follows,
            )
        except ownership.OwnershipConflict as exc:
            log.error("hand-off %s refused, the things are not ours: %s", handoff_id, exc)
            return
        await self._publish(message)
        self.handoff_timings.record(time.perf_counter_ns() - started)
        self.handoffs_sent += 1

    async def _publish(self, message: handoff.HandOffMessage) -> None:
        """Store the hand-off on the broker, then clear it from the outbox; each retried."""
        assert self.bus is not None and self.db is not None
        what = f"hand-off {message.handoff_id}"
        payload = handoff.encode_message(message)
        await _until_done(
            f"{what}: the broker",
            BusError,
            self.bus.publish_handoff,
            message.to_shard,
            message.handoff_id,
            payload,
        )
        await _until_done(
            f"{what}: the outbox",
            SQLAlchemyError,
            asyncio.to_thread,
            handoff.published,
            self.db,
            message.handoff_id,
        )

    async def _publish_outbox(self) -> None:
        """Hand-offs a previous run of this shard committed but may not have published."""
        assert self.db is not None
        for message in await asyncio.to_thread(handoff.pending, self.db, self.name):
            log.info("publishing hand-off %s left in the outbox", message.handoff_id)
            await self._publish(message)

    async def _read_handoffs(self, inbox: Any) -> None:
        while True:
            try:
                delivery = await inbox.next(self.cluster.heartbeat_s)
            except BusTimeout:
                continue
            except BusError as exc:
                log.warning("%s", exc)
                continue
            await self._receive(delivery)

    async def _receive(self, delivery: HandOff) -> None:
        """Apply a hand-off in the next tick if it is still the latest word on what it carries;
        a stale or repeated one is acknowledged and dropped."""
        assert self.db is not None
        try:
            message = handoff.decode_message(delivery.payload)
            entities = handoff.decode_entities(message.entities)
        except handoff.HandOffError as exc:
            # Unreadable here; its things are this shard's in the database all the same, and the
            # next start restores them: nothing is lost by dropping the message.
            log.error("hand-off %s cannot be read (%s); dropped", delivery.handoff_id, exc)
            await delivery.ack()
            return
        current = await asyncio.to_thread(handoff.still_current, self.db, message)
        if not current or self.engine.world.entity_of(entities[0][0]) is not None:
            if current:
                self._follow_restored(message, entities[0][0])
            await delivery.ack()
            return
        self._incoming[message.handoff_id] = _Incoming(message, delivery)
        self.engine.submit(Arrival(message.handoff_id, entities))

    def _follow_restored(self, message: handoff.HandOffMessage, sid: int) -> None:
        """A current hand-off whose character is here already, though no session plays it: this
        shard restarted after the hand-off committed and restored the character from the
        database, before the arrival was applied or its Route sent. The player's gateway still
        sends its lines to the shard it left, which drops them: route it here, and play on."""
        character = self.engine.world.entity_of(sid)
        if character is None or character in self.hub.playing or character in self.hub.linkdead:
            return  # applied in this run already: its session followed it then
        follows = message.session or {}
        if "gw" not in follows or "account" not in follows:
            return
        try:
            account = account_from_wire(follows["account"])
            gateway, conn, last = str(follows["gw"]), int(follows["conn"]), int(follows["n"])
        except (WireError, KeyError, TypeError, ValueError) as exc:
            log.error("hand-off %s names no usable connection: %s", message.handoff_id, exc)
            return
        if (gateway, conn) in self.sessions:
            return  # the gateway opened it here meanwhile
        log.info(
            "hand-off %s: %s was restored here; its connection follows",
            message.handoff_id,
            account.name,
        )
        session = self.hub.adopt(ShardLink(self, gateway, conn), f"{gateway}#{conn}")
        session.last_input = last
        self._handed_on.pop((gateway, conn), None)
        self.sessions[(gateway, conn)] = session
        self.gateways_seen.setdefault(gateway, time.monotonic())
        self.queue(gateway, Route(conn, last))
        self.hub.login(session, account)

    def _arrived(self, entity: int, data: Mapping[str, Any]) -> None:
        """An arrival is in the world: its player plays on here, its gateway sends lines here."""
        incoming = self._incoming.pop(str(data.get("handoff", "")), None)
        if incoming is None:
            return
        self.handoffs_received += 1
        self._spawn(incoming.delivery.ack())
        follows = incoming.message.session or {}
        if "gw" not in follows or "account" not in follows:
            return
        try:
            account = account_from_wire(follows["account"])
            gateway, conn, last = str(follows["gw"]), int(follows["conn"]), int(follows["n"])
        except (WireError, KeyError, TypeError, ValueError) as exc:
            log.error(
                "hand-off %s names no usable connection: %s", incoming.message.handoff_id, exc
            )
            return
        session = self.hub.adopt(ShardLink(self, gateway, conn), f"{gateway}#{conn}")
        session.last_input = last
        self._handed_on.pop((gateway, conn), None)
        self.sessions[(gateway, conn)] = session
        self.gateways_seen.setdefault(gateway, time.monotonic())
        self.queue(gateway, Route(conn, last))
        self.hub.take_in(session, account, entity)
