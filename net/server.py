"""The websockets server: one port for players (websocket), the web client, /healthz, /metrics
and the /stats page.

A thin shell. Each connection parses frames with :mod:`net.protocol`, logs in through the account
service (hashing and database calls run in worker threads), rate-limits commands and queues them
in the engine's inbox. Outbound frames go through a bounded queue per connection drained by its
own task: a client that stops reading is cut off (1008) and its character goes link-dead; the tick
and the other players never wait for it. Nothing a client sends can raise out of its handler.
"""

from __future__ import annotations

import asyncio
import contextlib
import http
import logging
import mimetypes
import time
from collections import deque
from collections.abc import Awaitable, Callable
from importlib import resources

import orjson
from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.datastructures import Headers
from websockets.exceptions import ConnectionClosed
from websockets.http11 import Request, Response
from websockets.protocol import State

from engine.accounts import Account
from engine.commands import InboxFull, Refused
from engine.config import NetConfig
from engine.core import Engine
from engine.loop import TickLoop
from net.accounts import AccountService, AuthError
from net.delivery import OutputBudget
from net.hub import CLOSE_POLICY, Hub, Session
from net.metrics import CONTENT_TYPE, exposition, metrics_registry
from net.protocol import (
    Cmd,
    Login,
    Ping,
    ProtocolError,
    Register,
    Resume,
    UseProtocol,
    auth_from_command,
    parse_client_frame,
)
from net.stats_page import (
    LOOP_SOURCE,
    NET_SOURCE,
    REFUSAL_STATUS,
    STATS_JSON_PATH,
    STATS_PAGE,
    STATS_PATH,
    WRITER_SOURCE,
    GaugeHistory,
    check_access,
    listening_beyond_loopback,
    presented_token,
    stats_document,
)

__all__ = [
    "Flusher",
    "NetServer",
    "WsLink",
    "http_response",
    "is_websocket_handshake",
    "json_response",
    "peer_address",
    "quiet_websockets_log",
    "serve_players",
    "web_client_response",
]

log = logging.getLogger("kadath.net")

#: Files of the web client, served at ``/`` (index.html) and ``/static/NAME``.
WEB_PACKAGE = "net.web"
#: A client whose outbound queue is over its bound (``net.outbound_max_*``) this long after going
#: over counts as not reading and is cut off; past this many times the bound, at once.
SLOW_READER_GRACE_S = 1.0
HARD_CAP_FACTOR = 4
#: Only the client's own kinds of file are served (never the package's Python modules).
WEB_SUFFIXES = (".html", ".js", ".css", ".svg")
#: The levels the /stats page charts, as the writer reports them (``WriterStats.as_dict``).
WRITER_GAUGES = (("writer_lag_ticks", "lag_ticks"), ("writer_queued_batches", "queued_batches"))


class _QuietWebsocketsLog(logging.LoggerAdapter[logging.Logger]):
    """websockets' own logger without its DEBUG lines, which print every request's path and
    headers and every frame: the /stats token, resume tokens and passwords would be in the log
    of a server run at ``log.level = "DEBUG"``. Its INFO and higher lines stay."""

    def isEnabledFor(self, level: int) -> bool:
        return level > logging.DEBUG and self.logger.isEnabledFor(level)


class Flusher:
    """Writes queued frames to their sockets once the event loop gets back control: one callback
    for every connection a tick sent to, instead of a task switch for each. ``send`` may be
    called inside the tick (the hub's delivery); the sockets are written after it returns, never
    on the tick path."""

    def __init__(self) -> None:
        self._links: dict[WsLink, None] = {}
        self._scheduled = False

    def schedule(self, link: WsLink) -> None:
        self._links[link] = None
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_soon(self._flush)

    def _flush(self) -> None:
        self._scheduled = False
        links, self._links = self._links, {}
        for link in links:
            link.flush()


class WsLink:
    """A connection's outbound side: a bounded queue, written to the socket by the server's
    ``Flusher`` right after the tick, or by the link's own task while the socket is full.

    Frames leave in order: the flusher writes them straight to the socket while websockets'
    flow control lets it (a reading client: the common case); past that, the link's task sends
    them one by one, waiting for the client to read.

    Bounds: ``max_messages`` messages or ``max_bytes`` bytes waiting. A queue still over a bound
    ``SLOW_READER_GRACE_S`` after it went over (or ever over ``HARD_CAP_FACTOR`` times a bound)
    means the client stopped reading: it is cut off with 1008. So a slow client costs at most a
    few times the bound in memory, never holds up the tick, and one busy tick's fan-out does not
    cut off a client that keeps up. Every queued byte also counts against the server's
    ``budget`` (``net.output_budget_bytes``); while it is spent there is no grace: a queue over
    its bound is cut off at once.
    """

    def __init__(
        self,
        ws: ServerConnection,
        max_messages: int,
        max_bytes: int,
        budget: OutputBudget | None = None,
        flusher: Flusher | None = None,
    ) -> None:
        self.ws = ws
        self.flusher = flusher if flusher is not None else Flusher()
        self.max_messages = max_messages
        self.max_bytes = max_bytes
        self.budget = budget if budget is not None else OutputBudget(2**62)
        self._queue: deque[tuple[bytes, int]] = deque()
        self._sending = False  # the drain task is writing a frame (and may be waiting)
        self._messages = 0
        self._bytes = 0
        self._ready = asyncio.Event()
        self._closed = False
        self.overflowed = False
        self._closer: asyncio.Task[None] | None = None
        self._check: asyncio.TimerHandle | None = None
        self._task = asyncio.create_task(self._drain())

    @property
    def closed(self) -> bool:
        return self._closed

    def backlog(self) -> int:
        """Bytes queued and not yet handed to the socket."""
        return self._bytes

    def send(self, frame: bytes, count: int = 1) -> None:
        if self._closed:
            return
        self._queue.append((frame, count))
        self._messages += count
        self._bytes += len(frame)
        self.budget.add(len(frame))
        self.flusher.schedule(self)
        if self._over(HARD_CAP_FACTOR) or (self.budget.spent and self._over(1)):
            self._cut_off()  # far past the bound, or no memory to spare: no grace
        elif self._over(1) and self._check is None:
            # One busy tick can queue more than the bound for a client that reads everything;
            # only a backlog still over the bound a grace period later means it stopped reading.
            loop = asyncio.get_running_loop()
            self._check = loop.call_later(SLOW_READER_GRACE_S, self._recheck)

    def flush(self) -> None:
        """Write what is queued straight to the socket while it takes writes; leave the rest to
        the link's task, which waits for the client to read."""
        ws, queue = self.ws, self._queue
        if self._sending:
            return  # the task is waiting on the socket: it goes on in order
        while queue and not ws.paused and ws.protocol.state is State.OPEN:
            frame, count = queue.popleft()
            self._messages -= count
            self._bytes -= len(frame)
            self.budget.remove(len(frame))
            try:
                ws.protocol.send_text(frame)
                ws.send_data()
            except Exception:  # the connection is failing: its handler finds out and ends
                return
        if queue:
            self._ready.set()

    def _over(self, factor: int) -> bool:
        return self._messages > factor * self.max_messages or self._bytes > factor * self.max_bytes

    def _recheck(self) -> None:
        self._check = None
        if not self._closed and self._over(1):
            self._cut_off()

    def _cut_off(self) -> None:
        self.overflowed = True
        self.budget.clients_cut_off += 1
        log.warning(
            "client %s stopped reading (%d messages, %d bytes queued): cut off",
            peer_address(self.ws),
            self._messages,
            self._bytes,
        )
        self._discard_queue()
        self.close(CLOSE_POLICY, "not reading")

    def _discard_queue(self) -> None:
        self._queue.clear()
        self.budget.remove(self._bytes)
        self._bytes = 0
        self._messages = 0

    def close(self, code: int, reason: str) -> None:
        if self._closed:
            return
        self._closed = True
        self._ready.set()
        # Let queued frames (a goodbye) go out first unless the client is the problem.
        self._closer = asyncio.create_task(self._close_after_drain(code, reason))

    async def _close_after_drain(self, code: int, reason: str) -> None:
        if not self.overflowed:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._task, timeout=5)
        self._task.cancel()
        with contextlib.suppress(Exception):
            await self.ws.close(code, reason)

    async def _drain(self) -> None:
        try:
            while True:
                while not self._queue:
                    if self._closed:
                        return
                    self._ready.clear()
                    await self._ready.wait()
                frame, count = self._queue.popleft()
                self._messages -= count
                self._bytes -= len(frame)
                self.budget.remove(len(frame))
                self._sending = True
                try:
                    await self.ws.send(frame, text=True)
                finally:
                    self._sending = False
        except ConnectionClosed:
            pass
        except asyncio.CancelledError:
            raise

    async def finished(self) -> None:
        if self._check is not None:
            self._check.cancel()
        self._closed = True
        self._ready.set()
        self._task.cancel()
        with contextlib.suppress(BaseException):
            await self._task
        self._discard_queue()


def peer_address(ws: ServerConnection) -> str:
    remote = ws.remote_address
    if isinstance(remote, tuple) and remote:
        return str(remote[0])
    return str(remote)


async def serve_players(
    cfg: NetConfig,
    handler: Callable[[ServerConnection], Awaitable[None]],
    http: Callable[[ServerConnection, Request], Response | None],
) -> Server:
    """The players' port as ``[net]`` sets it (frame size, pings, compression), for a server or
    a gateway: ``handler`` takes each websocket, ``http`` every plain HTTP request."""
    return await serve(
        handler,
        cfg.host,
        cfg.port,
        process_request=http,
        max_size=cfg.max_frame_bytes,
        ping_interval=cfg.ping_interval_s,
        ping_timeout=cfg.ping_interval_s,
        compression="deflate" if cfg.compression else None,
        max_queue=16,
        logger=quiet_websockets_log(),
    )


async def serve_monitoring(host: str, port: int, answer: Callable[[str], Response]) -> Server:
    """A port of plain HTTP only, for monitoring a process that holds no players' connections (a
    shard): ``answer`` is given each request's path. A websocket handshake is answered the same
    way, so none ever opens."""

    async def never_opened(ws: ServerConnection) -> None:
        await ws.close()

    def http(connection: ServerConnection, request: Request) -> Response:
        return answer(request.path.partition("?")[0])

    return await serve(
        never_opened, host, port, process_request=http, logger=quiet_websockets_log()
    )


class NetServer:
    """Serves one engine. ``start`` binds the port; ``stop`` says goodbye and closes."""

    def __init__(
        self,
        engine: Engine,
        config: NetConfig,
        accounts: AccountService,
        *,
        server_name: str = "Kadath",
        version: str = "0",
    ) -> None:
        self.engine = engine
        self.config = config
        self.accounts = accounts
        self.hub = Hub(engine, config, server_name=server_name, version=version)
        #: Writes every connection's queued frames after the tick, in one callback.
        self.flusher = Flusher()
        self.server: Server | None = None
        self.started_at = time.monotonic()
        self._saving: set[asyncio.Task[None]] = set()
        self.hub.on_character_made = self._store_character
        engine.on_tick_end(self.hub.after_tick)
        engine.stats_board.add(NET_SOURCE, self.hub)
        self._metrics = metrics_registry(engine.stats_board)
        history = engine.config.engine
        #: Players online and the writer's lag, sampled for the /stats page's charts.
        self.gauges = GaugeHistory(history.stats_history_step_s, history.stats_history_s)
        self._sampler: asyncio.Task[None] | None = None

    async def start(self) -> None:
        cfg = self.config
        self.server = await serve_players(cfg, self._handle, self._http)
        self._sampler = asyncio.create_task(self._sample_gauges_forever())
        log.info(
            "listening on ws://%s:%d/ (web client at http://%s:%d/)",
            cfg.host,
            self.port,
            cfg.host,
            self.port,
        )

    @property
    def port(self) -> int:
        """The bound port (useful when configured as 0 in tests)."""
        if self.server is None:
            return self.config.port
        sockets = self.server.sockets
        return int(sockets[0].getsockname()[1]) if sockets else self.config.port

    async def stop(self) -> None:
        self.hub.shutdown()
        if self._sampler is not None:
            self._sampler.cancel()
            await asyncio.gather(self._sampler, return_exceptions=True)  # whatever ended it
        if self.server is not None:
            self.server.close(close_connections=False)
            await asyncio.sleep(0)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), timeout=10)

    # ------------------------------------------------------------ websocket

    async def _handle(self, ws: ServerConnection) -> None:
        link = WsLink(
            ws,
            self.config.outbound_max_messages,
            self.config.outbound_max_bytes,
            self.hub.budget,
            self.flusher,
        )
        session = self.hub.connect(link, peer_address(ws))
        try:
            async for frame in ws:
                if session.closing or link.closed:
                    break  # cut off (not reading) or told goodbye: nothing more it sends counts
                try:
                    await self._on_frame(session, frame)
                except Exception:
                    log.exception("unexpected error handling a frame from %s", session.address)
                    self.hub.error(
                        session, "internal_error", "Something went wrong; it has been logged."
                    )
        except ConnectionClosed:
            pass
        finally:
            self.hub.disconnect(session)
            await link.finished()

    async def _on_frame(self, session: Session, frame: str | bytes) -> None:
        session.last_active_s = self.hub.now_s
        try:
            message = parse_client_frame(frame)
            if isinstance(message, Cmd) and session.account is None:
                message = auth_from_command(message) or message
        except ProtocolError as bad:
            self.hub.error(session, bad.code, bad.message)
            return
        if isinstance(message, Ping):
            self.hub.pong(session)
        elif isinstance(message, UseProtocol):
            self.hub.use_protocol(session, message.version)
        elif isinstance(message, Register | Login):
            await self._authenticate(session, message)
        elif isinstance(message, Resume):
            if session.account is not None:
                self.hub.auth_error(session, "already_authenticated", "You are already logged in.")
            elif not self.hub.resume(session, message.token):
                self.hub.auth_error(
                    session, "bad_token", "That resume token is unknown or has expired; log in."
                )
        elif session.account is None:
            self.hub.error(
                session,
                "not_authenticated",
                "Log in first: login <name> <password>, or register <name> <password>.",
            )
        else:
            self._command(session, message.text)

    def _command(self, session: Session, text: str) -> None:
        if not session.bucket.allow(time.monotonic()):
            self.hub.error(
                session,
                "rate_limited",
                f"Too many commands: at most {self.config.commands_per_s:g} a second "
                f"(bursts of {self.config.command_burst}). That one was dropped.",
            )
            return
        if session.character is None:  # logged in, its character enters at the next tick
            self.hub.hold_line(session, text)
            return
        assert session.account is not None
        try:
            self.engine.submit_line(session.character, text, role=session.account.role)
        except InboxFull:
            self.hub.error(session, "throttled", "The server is very busy; try again in a moment.")

    async def _authenticate(self, session: Session, message: Register | Login) -> None:
        if session.account is not None:
            self.hub.auth_error(session, "already_authenticated", "You are already logged in.")
            return
        try:
            if isinstance(message, Register):
                account = await self.accounts.register(
                    message.name, message.password, session.address
                )
            else:
                account = await self.accounts.login(
                    message.name, message.password, session.address, time.monotonic()
                )
        except AuthError as refused:
            self.hub.auth_error(session, refused.code, refused.message)
            return
        if session.closing or session not in self.hub.sessions:
            return  # the client left while its password was being checked
        self.hub.login(session, account)

    def _store_character(self, account: Account) -> None:
        """The tick made ``account`` a character: record it on the account, off the loop."""
        task = asyncio.get_running_loop().create_task(self._save_account(account))
        self._saving.add(task)
        task.add_done_callback(self._saving.discard)

    async def _save_account(self, account: Account) -> None:
        try:
            sid = account.character_sid
            assert sid is not None  # the tick made it
            await asyncio.to_thread(self.accounts.store.set_character, account.name, sid)
        except Exception:
            # The hub remembers the character for this run; the next start would make another.
            log.exception("could not record %s's character on the account", account.name)

    # ---------------------------------------------------------------- stats

    def sample_gauges(self) -> None:
        """Record the levels the /stats page charts: players online, connections, and the
        writer's lag and queue when the server has a writer. On the event loop, between ticks."""
        hub = self.hub
        levels = {"players_online": len(hub.playing), "connections": len(hub.sessions)}
        writer = dict(self.engine.stats_board.sources()).get(WRITER_SOURCE)
        if writer is not None:
            try:
                figures = writer.stats().as_dict()
            except Exception:  # the board reports the error itself; the page shows it
                figures = {}
            for gauge, figure in WRITER_GAUGES:
                value = figures.get(figure)
                if isinstance(value, int):
                    levels[gauge] = value
        self.gauges.sample(time.monotonic(), levels)

    async def _sample_gauges_forever(self) -> None:
        while True:
            self.sample_gauges()
            await asyncio.sleep(self.config.stats_sample_s)

    def stats_document(self) -> dict[str, object]:
        """What /stats.json answers (see ``net.stats_page.stats_document``). Takes every stats
        snapshot, which sorts the timing windows: per request, never per tick."""
        board = self.engine.stats_board
        loop = dict(board.sources()).get(LOOP_SOURCE)
        history = loop.history() if isinstance(loop, TickLoop) else None
        now = time.monotonic()
        return stats_document(
            engine=self.engine.stats(),
            services=board.services(),
            history=history,
            gauges=self.gauges.points(now),
            uptime_s=now - self.started_at,
            server={"name": self.hub.server_name, "version": self.hub.version},
            sample_s=self.config.stats_sample_s,
        )

    def _beyond_loopback(self) -> bool:
        """Whether the port can be reached from another machine, from the bound sockets."""
        sockets = self.server.sockets if self.server is not None else ()
        return not sockets or listening_beyond_loopback(
            str(sock.getsockname()[0]) for sock in sockets
        )

    def _stats(self, request: Request, path: str, query: str) -> Response:
        try:
            check_access(
                beyond_loopback=self._beyond_loopback(),
                configured=self.config.stats_token,
                presented=presented_token(query, request.headers.get("Authorization")),
            )
        except Refused as refused:
            status = http.HTTPStatus(REFUSAL_STATUS[refused.code])
            extra = {}
            if status is http.HTTPStatus.UNAUTHORIZED:
                extra["WWW-Authenticate"] = 'Bearer realm="kadath-stats"'
            body = f"{status.value} {status.phrase}: {refused.text}\n".encode()
            return http_response(status, body, "text/plain; charset=utf-8", extra)
        if path == STATS_JSON_PATH:
            return json_response(self.stats_document(), option=orjson.OPT_NON_STR_KEYS)
        page = resources.files(WEB_PACKAGE).joinpath(STATS_PAGE).read_bytes()
        return http_response(http.HTTPStatus.OK, page, "text/html; charset=utf-8")

    # ----------------------------------------------------------------- http

    def _http(self, connection: ServerConnection, request: Request) -> Response | None:
        if is_websocket_handshake(request):
            return None  # a websocket handshake: let it through
        path, _, query = request.path.partition("?")
        if path in (STATS_PATH, STATS_JSON_PATH):
            return self._stats(request, path, query)
        if path == "/healthz":
            return json_response(
                {
                    "status": "ok",
                    "tick": self.engine.world.clock.tick,
                    "players_online": len(self.hub.playing),
                }
            )
        if path == "/metrics":
            return http_response(http.HTTPStatus.OK, exposition(self._metrics), CONTENT_TYPE)
        return web_client_response(path)


def web_client_response(path: str) -> Response:
    """The bundled web client's file for a plain HTTP ``GET path``: ``/`` is its page,
    ``/static/NAME`` its scripts and styles; anything else is 404. Shared by every process that
    holds players' connections (the single server and the cluster's gateways), so that they
    serve the same client."""
    name = "index.html" if path == "/" else path.removeprefix("/static/")
    if path != "/" and not path.startswith("/static/"):
        return http_response(http.HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")
    try:
        if (
            "/" in name
            or name.startswith(".")
            or not name.endswith(WEB_SUFFIXES)
            or name == STATS_PAGE  # only at /stats, behind its door
        ):
            raise FileNotFoundError(name)
        body = resources.files(WEB_PACKAGE).joinpath(name).read_bytes()
    except (FileNotFoundError, IsADirectoryError):
        return http_response(http.HTTPStatus.NOT_FOUND, b"not found\n", "text/plain")
    kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if kind.startswith("text/") or kind == "application/javascript":
        kind += "; charset=utf-8"
    return http_response(http.HTTPStatus.OK, body, kind)


def is_websocket_handshake(request: Request) -> bool:
    """Whether a request asks to become a websocket (to be let through ``process_request``)."""
    return "upgrade" in request.headers.get("Connection", "").lower()


def quiet_websockets_log() -> logging.LoggerAdapter[logging.Logger]:
    """The logger to give ``websockets.serve`` (see ``_QuietWebsocketsLog``)."""
    return _QuietWebsocketsLog(logging.getLogger("websockets.server"))


#: The content type of the JSON answers.
JSON_TYPE = "application/json"


def json_response(document: object, *, option: int = 0) -> Response:
    """``200 OK`` with ``document`` as JSON (a /healthz or /stats.json answer)."""
    return http_response(http.HTTPStatus.OK, orjson.dumps(document, option=option), JSON_TYPE)


def http_response(
    status: http.HTTPStatus,
    body: bytes,
    content_type: str,
    extra: dict[str, str] | None = None,
) -> Response:
    headers = Headers(
        [
            ("Content-Type", content_type),
            ("Content-Length", str(len(body))),
            ("Cache-Control", "no-store"),
            ("Connection", "close"),
            *(extra or {}).items(),
        ]
    )
    return Response(status.value, status.phrase, headers, body)
