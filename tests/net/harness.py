"""A real Kadath server on a loopback port, inside a test's event loop, and a client to talk to it.

:func:`live_server` assembles the server the way ``kadath serve`` does (``engine.cli.main`` and
``engine.cli.serve``): an ``Engine`` with the core plugin, ``build_world()``, the persistence
service then the network service started, their ``run`` coroutines as tasks, and a ``TickLoop``
whose tick function obeys a :class:`~engine.core.StopRequest` (the admin ``shutdown``) by
stopping the loop. When the loop ends, for whatever reason, the services are stopped in the order
``serve`` stops them: the network first (everyone gets ``bye`` and every character leaves the
world), its ``run`` awaited, then persistence (final snapshot and flush).

Differences from production, each for test speed or isolation only:

- passwords are hashed with cheap scrypt parameters (:data:`CHEAP_PARAMS`): the account service
  that ``NetworkService.start`` builds is replaced by one with ``params=CHEAP_PARAMS`` before the
  port is bound;
- the server listens on port 0 (a free port the OS picks). ``net.port`` refuses 0 (its range is
  1-65535), so the harness sets it on the validated, frozen ``NetConfig`` after loading;
- the tick rate is 50 Hz by default, the database a SQLite file in the test's ``tmp_path``, and
  environment variables (``KADATH_*``) are ignored;
- no ``gc.freeze()``, no signal handlers, no periodic statistics log.

:class:`ServerThread` runs the same server on an event loop in a background thread, for tests
(hypothesis) whose body is synchronous and runs many times against one server.

Every wait here is bounded by a generous timeout (:data:`TIMEOUT_S`) and is never an assertion on
speed: the tests must pass on a slow, busy machine.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import functools
import logging
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from engine.config import Config, load_config
from engine.core import Engine, StopRequest
from engine.loop import TickLoop
from engine.plugins import Plugin
from engine.reload import ReloadService
from engine.services import Service
from net.accounts import AccountService
from net.bots import http_get as raw_get
from net.hub import Hub, Session
from net.passwords import ScryptParams
from net.protocol import ServerMessage, parse_server_frame
from net.server import NetServer
from net.service import NetworkService
from persist.service import PersistenceService
from systems import plugin as core

__all__ = [
    "CHEAP_PARAMS",
    "DATA_DIR",
    "TIMEOUT_S",
    "Client",
    "HttpReply",
    "LiveServer",
    "ServerThread",
    "async_test",
    "http_get",
    "live_server",
    "make_config",
    "read_rows",
    "saved_rows",
    "wait_until",
]

log = logging.getLogger("tests.net.harness")

#: The bundled world.
DATA_DIR = Path(__file__).resolve().parents[2] / "data"
#: scrypt parameters for tests only: microseconds instead of tens of milliseconds per hash.
CHEAP_PARAMS = ScryptParams(n=2**4, r=1, p=1)
#: Generous bound for anything a test waits for (a reply, a tick, a close); never a speed check.
TIMEOUT_S = 20.0
#: The default tick rate of a test server: fast, so replies come quickly.
TICK_RATE_HZ = 50.0
#: How often polling helpers look again.
POLL_S = 0.01

_T = TypeVar("_T")
_P = ParamSpec("_P")


async def wait_until(predicate: Callable[[], bool], what: str, timeout: float = TIMEOUT_S) -> None:
    """Poll ``predicate`` on the event loop until it holds; fail naming ``what`` on timeout."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting until {what}")
        await asyncio.sleep(POLL_S)


# --------------------------------------------------------------------------------------- client


class Client:
    """One websocket connection to the test server, reading :class:`ServerMessage` objects.

    Every message received is checked on the way in: it must parse as a server message
    (``parse_server_frame``) and its ``seq`` must be exactly one more than the previous one, so
    every test that reads checks the protocol's numbering too. ``received`` keeps them all.
    """

    def __init__(self, ws: ClientConnection, label: str = "") -> None:
        self.ws = ws
        self.label = label
        self.seq = 0
        self.received: list[ServerMessage] = []
        self.name: str | None = None
        self.entity: int | None = None
        self.token: str | None = None

    def __repr__(self) -> str:
        return f"<Client {self.label or self.name or '?'} seq={self.seq}>"

    # ------------------------------------------------------------------- sending

    async def send_text(self, text: str) -> None:
        """One text frame, as typed: a command line, or JSON the test wrote itself."""
        await self.ws.send(text)

    async def send_bytes(self, data: bytes) -> None:
        """One binary frame."""
        await self.ws.send(data)

    async def send_json(self, message: dict[str, Any]) -> None:
        """One JSON message as a text frame."""
        await self.ws.send(orjson.dumps(message).decode("utf-8"))

    async def cmd(self, text: str) -> None:
        """A command as a JSON ``cmd`` message."""
        await self.send_json({"type": "cmd", "text": text})

    # ------------------------------------------------------------------- reading

    async def recv(self, timeout: float = TIMEOUT_S) -> ServerMessage:
        """The next message (``TimeoutError`` after ``timeout``; ``ConnectionClosed`` if closed)."""
        frame = await asyncio.wait_for(self.ws.recv(), timeout)  # cancelling recv() is safe
        message = parse_server_frame(frame)
        assert message.seq == self.seq + 1, (
            f"{self!r}: seq {message.seq} after {self.seq}: {message}"
        )
        self.seq = message.seq
        self.received.append(message)
        return message

    async def expect(
        self,
        type_: str,
        predicate: Callable[[ServerMessage], bool] | None = None,
        timeout: float = TIMEOUT_S,
    ) -> ServerMessage:
        """Read until a message of ``type_`` (and matching ``predicate``) comes; skip others."""
        deadline = time.monotonic() + timeout
        skipped: list[ServerMessage] = []
        while True:
            left = deadline - time.monotonic()
            try:
                if left <= 0:
                    raise TimeoutError
                message = await self.recv(timeout=left)
            except (TimeoutError, ConnectionClosed) as exc:
                shown = "\n  ".join(repr(m) for m in skipped[-15:])
                raise AssertionError(
                    f"{self!r}: no {type_!r} message matching {predicate!r} "
                    f"({type(exc).__name__}); skipped:\n  {shown}"
                ) from exc
            if message.type == type_ and (predicate is None or predicate(message)):
                return message
            skipped.append(message)

    async def expect_error(self, code: str, timeout: float = TIMEOUT_S) -> ServerMessage:
        """The next ``error`` with ``data.code == code`` (other messages skipped)."""
        return await self.expect("error", lambda m: m.data.get("code") == code, timeout)

    async def expect_auth_error(self, code: str, timeout: float = TIMEOUT_S) -> ServerMessage:
        return await self.expect("auth_error", lambda m: m.data.get("code") == code, timeout)

    async def expect_msg(
        self,
        event: str,
        predicate: Callable[[ServerMessage], bool] | None = None,
        timeout: float = TIMEOUT_S,
    ) -> ServerMessage:
        """The next ``msg`` of engine event kind ``event``."""

        def match(m: ServerMessage) -> bool:
            return m.data.get("event") == event and (predicate is None or predicate(m))

        return await self.expect("msg", match, timeout)

    async def round_trip(self, timeout: float = TIMEOUT_S) -> list[ServerMessage]:
        """Send a ``ping`` and read up to its ``pong``; return what came before it.

        Frames are handled in order, so everything the server sent because of earlier frames
        that it answers at once (auth, protocol errors) has arrived. Commands, by contrast, are
        answered after a tick: use :meth:`sync` for those.
        """
        await self.send_json({"type": "ping"})
        before: list[ServerMessage] = []
        deadline = time.monotonic() + timeout
        while True:
            message = await self.recv(timeout=max(0.0, deadline - time.monotonic()))
            if message.type == "pong":
                return before
            before.append(message)

    async def sync(self, timeout: float = TIMEOUT_S) -> list[ServerMessage]:
        """Send an unknown verb as a marker and read up to its ``unknown_command`` answer.

        Commands are applied in arrival order, one inbox for everyone, so when the answer to this
        one arrives every command this client sent before it has been applied and its events
        delivered. Returns the messages that came before the answer.
        """
        marker = f"zzsync{self.seq}x"
        await self.cmd(marker)
        before: list[ServerMessage] = []
        deadline = time.monotonic() + timeout
        while True:
            message = await self.recv(timeout=max(0.0, deadline - time.monotonic()))
            if message.type == "error" and marker in str(message.data.get("message", "")):
                return before
            before.append(message)

    async def closed(self, timeout: float = TIMEOUT_S) -> int | None:
        """Read until the server closes the connection; the close code it sent."""
        deadline = time.monotonic() + timeout
        with contextlib.suppress(ConnectionClosed):
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{self!r}: the server did not close within {timeout} s")
                with contextlib.suppress(TimeoutError):
                    await self.recv(timeout=left)
        return self.ws.close_code

    # --------------------------------------------------------------------- auth

    async def auth(self, message: dict[str, Any]) -> ServerMessage:
        """Send an auth message (JSON) and return the answer, ``auth_ok`` or ``auth_error``."""
        await self.send_json(message)
        return await self.auth_reply()

    async def auth_reply(self) -> ServerMessage:
        """The next ``auth_ok`` or ``auth_error``; a protocol ``error`` first fails the test."""
        while True:
            message = await self.recv()
            if message.type == "auth_ok":
                return self._logged_in(message)
            if message.type == "auth_error":
                return message
            if message.type == "error":
                raise AssertionError(f"{self!r}: auth refused by the protocol: {message}")

    async def register(self, name: str, password: str) -> ServerMessage:
        """Register (JSON message) and return the ``auth_ok``."""
        reply = await self.auth({"type": "register", "name": name, "password": password})
        assert reply.type == "auth_ok", f"{self!r}: register {name}: {reply}"
        return reply

    async def login(self, name: str, password: str) -> ServerMessage:
        """Log in (JSON message) and return the ``auth_ok``."""
        reply = await self.auth({"type": "login", "name": name, "password": password})
        assert reply.type == "auth_ok", f"{self!r}: login {name}: {reply}"
        return reply

    async def resume(self, token: str) -> ServerMessage:
        """Resume with a token and return the ``auth_ok``."""
        reply = await self.auth({"type": "resume", "token": token})
        assert reply.type == "auth_ok", f"{self!r}: resume: {reply}"
        return reply

    def _logged_in(self, message: ServerMessage) -> ServerMessage:
        self.name = message.data["name"]
        self.entity = message.data["entity"]
        self.token = message.data["token"]
        self.label = self.label or str(self.name)
        return message

    async def close(self) -> None:
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.ws.close(), TIMEOUT_S)


# --------------------------------------------------------------------------------------- server


class LiveServer:
    """A running test server: the engine, its services, the tick loop, and client factories."""

    def __init__(
        self,
        config: Config,
        database: Path,
        *,
        params: ScryptParams = CHEAP_PARAMS,
        plugins: Sequence[Plugin] = (),
    ) -> None:
        self.config = config
        self.database = database
        self.params = params
        self.engine = Engine(config, plugins=[core, *plugins])
        self.persistence = PersistenceService(config)
        self.network = NetworkService(config)
        self.reload = ReloadService(config)
        # Start order (priorities 10, 20 then 30); stopped in reverse.
        self.services: tuple[Service, ...] = (self.persistence, self.network, self.reload)
        self.ticks = TickLoop(
            self._tick,
            config.engine.tick_rate_hz,
            config.engine.max_catch_up_ticks,
            stats_window=config.engine.stats_window,
            history_s=config.engine.stats_history_s,
            history_step_s=config.engine.stats_history_step_s,
        )
        self.stop_reason: str | None = None
        self.clients: list[Client] = []
        self._runs: list[asyncio.Future[None]] = []
        self._serving: asyncio.Task[None] | None = None
        self._started: list[Service] = []

    # ------------------------------------------------------------------ parts

    @property
    def net(self) -> NetServer:
        assert self.network.server is not None
        return self.network.server

    @property
    def hub(self) -> Hub:
        return self.net.hub

    @property
    def port(self) -> int:
        return self.net.port

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/"

    @property
    def tick(self) -> int:
        return self.engine.world.clock.tick

    @property
    def stopped(self) -> bool:
        """The tick loop has ended and the services have been stopped."""
        return self._serving is not None and self._serving.done()

    def session_of(self, client: Client) -> Session:
        """The hub's session playing ``client``'s character."""
        entity = self.entity_of(client)
        return self.hub.playing[entity]

    def entity_of(self, client: Client) -> int:
        """The live entity id of ``client``'s character."""
        assert client.entity is not None, f"{client!r} is not logged in"
        entity = self.engine.world.entity_of(client.entity)
        assert entity is not None
        return entity

    # ------------------------------------------------------------ life cycle

    async def start(self) -> None:
        engine = self.engine
        engine.build_world()
        for service in self.services:
            service.start(engine)
            self._started.append(service)
        # Cheap password hashes: swap the account service before the port is bound.
        assert engine.accounts is not None  # set by the persistence service
        configured = self.net.accounts  # keeps the configured throttle
        self.net.accounts = AccountService(
            engine.accounts,
            configured.throttle,
            params=self.params,
            max_in_flight_per_address=configured.max_in_flight_per_address,
        )
        engine.stats_board.add("loop", self.ticks)  # as serve does, once the services started
        self._runs = [asyncio.ensure_future(s.run(engine)) for s in self.services]
        self._serving = asyncio.create_task(self._serve())
        network_run = self._runs[self.services.index(self.network)]
        await wait_until(
            lambda: self.net.server is not None or network_run.done(),
            "the network service listens",
        )
        if self.net.server is None:
            raise RuntimeError("the network service ended before listening") from (
                network_run.exception()
            )

    def _tick(self) -> None:
        """``engine.cli.serve``'s tick: tick, then obey a StopRequest by stopping the loop."""
        self.engine.tick()
        request = self.engine.world.try_resource(StopRequest)
        if request is not None and self.stop_reason is None:
            self.stop_reason = request.reason
            self.ticks.stop()

    async def _serve(self) -> None:
        """``engine.cli.serve`` without its process-wide parts: the loop, then stop services."""
        try:
            await self.ticks.run()
        finally:
            for service, run in reversed(list(zip(self.services, self._runs, strict=True))):
                try:
                    service.stop(self.engine)
                except Exception:
                    log.exception("service %r failed to stop cleanly", service.name)
                try:
                    await asyncio.wait_for(run, TIMEOUT_S)
                except Exception:
                    log.exception("service %r did not end cleanly", service.name)
                self.engine.tick_pending()

    async def stop(self) -> None:
        """Stop the loop and the services (as ``serve`` does after the last tick); idempotent."""
        if self._serving is None:
            for service in reversed(self._started):  # started but never served
                service.stop(self.engine)
            self._started.clear()
            return
        self.ticks.stop()
        await asyncio.wait_for(asyncio.shield(self._serving), TIMEOUT_S * 2)

    async def wait_stopped(self, timeout: float = TIMEOUT_S) -> None:
        """Wait until the server stops by itself (a shutdown ordered in the game)."""
        assert self._serving is not None
        await asyncio.wait_for(asyncio.shield(self._serving), timeout)

    async def wait_ticks(self, count: int, timeout: float = TIMEOUT_S) -> None:
        """Wait until ``count`` more ticks have run."""
        target = self.tick + count
        await wait_until(lambda: self.tick >= target, f"tick {target}", timeout)

    # ---------------------------------------------------------------- clients

    async def connect(self, label: str = "", *, welcome: bool = True, **kwargs: Any) -> Client:
        """A new websocket client (closed when the server stops); reads the ``welcome`` unless
        ``welcome`` is False. ``kwargs`` go to ``websockets.asyncio.client.connect``."""
        kwargs.setdefault("proxy", None)
        kwargs.setdefault("open_timeout", TIMEOUT_S)
        kwargs.setdefault("close_timeout", 5)
        ws = await connect(self.url, **kwargs)
        client = Client(ws, label)
        self.clients.append(client)
        if welcome:
            message = await client.recv()
            assert message.type == "welcome", message
        return client

    async def player(self, name: str, password: str = "correct-horse", **kwargs: Any) -> Client:
        """A connected client with a freshly registered character (the first one is the admin)."""
        client = await self.connect(name, **kwargs)
        await client.register(name, password)
        await client.expect("status")
        await client.expect("room")  # entering the world shows the room, after the next tick
        return client

    async def close_clients(self) -> None:
        await asyncio.gather(*(client.close() for client in self.clients))

    async def http_get(self, path: str, headers: Mapping[str, str] | None = None) -> HttpReply:
        """``GET path`` over a plain socket, exactly as written (no normalisation of ``..``),
        with any further ``headers``."""
        return await http_get(self.port, path, headers=headers)


@dataclass(frozen=True, slots=True)
class HttpReply:
    status: int
    headers: dict[str, str]  # lower-cased names
    body: bytes


async def http_get(
    port: int, path: str, timeout: float = TIMEOUT_S, headers: Mapping[str, str] | None = None
) -> HttpReply:
    """A minimal HTTP/1.1 ``GET`` to 127.0.0.1 that sends ``path`` verbatim (a library client
    would normalise ``/static/../server.py`` before sending it), with any further ``headers``."""

    raw = await raw_get("127.0.0.1", port, path, timeout=timeout, headers=headers)
    head, _, body = raw.partition(b"\r\n\r\n")
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in header_lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = headers.get("content-length")
    if length is not None:
        assert len(body) == int(length), f"body of {len(body)} bytes, Content-Length {length}"
    return HttpReply(int(status_line.split()[1]), headers, body)


def make_config(
    tmp_path: Path,
    overrides: Sequence[str] = (),
    *,
    tick_rate_hz: float = TICK_RATE_HZ,
    database: Path | None = None,
    data_dir: Path = DATA_DIR,
    rules: Mapping[str, Any] | None = None,
) -> Config:
    """The test server's configuration (``net.port`` is then set to 0 on the loaded config).

    ``rules`` are the plugins' rule settings by section (``{"combat": CombatSettings(...)}``),
    which ``--set`` cannot reach: they go into ``Config.rules`` as given."""
    db = database if database is not None else tmp_path / "world.db"
    config = load_config(
        env={},
        overrides=[
            f"engine.tick_rate_hz={tick_rate_hz}",
            f"world.data_dir={data_dir}",
            f"persist.database_url=sqlite:///{db}",
            "persist.flush_interval_s=0.2",
            *overrides,
        ],
    )
    if rules:
        config = dataclasses.replace(config, rules=dict(rules))
    # A free port chosen by the OS: the setting's range (1-65535) refuses 0, so set it past the
    # check on the frozen section. NetServer reads ``config.port`` when it binds.
    object.__setattr__(config.net, "port", 0)
    return config


@contextlib.asynccontextmanager
async def live_server(
    tmp_path: Path,
    *overrides: str,
    tick_rate_hz: float = TICK_RATE_HZ,
    database: Path | None = None,
    data_dir: Path = DATA_DIR,
    params: ScryptParams = CHEAP_PARAMS,
    plugins: Sequence[Plugin] = (),
    rules: Mapping[str, Any] | None = None,
) -> AsyncIterator[LiveServer]:
    """A started test server; stopped (and its clients closed) on exit.

    ``overrides`` are ``section.setting=value`` strings, as for ``kadath serve --set``;
    ``plugins`` are loaded after ``core``; ``rules`` are rule settings by section (see
    :func:`make_config`).
    """
    database = database if database is not None else tmp_path / "world.db"
    config = make_config(
        tmp_path,
        overrides,
        tick_rate_hz=tick_rate_hz,
        database=database,
        data_dir=data_dir,
        rules=rules,
    )
    server = LiveServer(config, database, params=params, plugins=plugins)
    try:
        await server.start()
        yield server
    finally:
        try:
            await server.stop()
        finally:
            await server.close_clients()


def async_test(body: Callable[_P, Coroutine[Any, Any, None]]) -> Callable[_P, None]:
    """Make an ``async def`` test a plain one that runs on a fresh event loop (``asyncio.run``;
    no pytest-asyncio here). Fixtures are passed through: pytest reads the wrapped signature."""

    @functools.wraps(body)
    def test(*args: _P.args, **kwargs: _P.kwargs) -> None:
        asyncio.run(body(*args, **kwargs))

    return test


async def saved_rows(server: LiveServer, table: str, sid: int) -> list[tuple[Any, ...]]:
    """Rows of ``table`` for the entity ``sid`` in the server's SQLite file, once everything up to
    the current tick has been flushed (read in a worker thread, as the server would)."""
    if not server.stopped:
        target = server.tick
        writer = server.persistence.writer
        assert writer is not None
        await wait_until(
            lambda: writer.stats().last_saved_tick >= target, f"tick {target} is saved"
        )
    return await asyncio.to_thread(read_rows, server.database, table, sid)


def read_rows(database: Path, table: str, sid: int) -> list[tuple[Any, ...]]:
    """Rows of ``table`` whose ``sid`` is ``sid``, read straight from the SQLite file."""
    with contextlib.closing(sqlite3.connect(database)) as db:
        return list(db.execute(f'SELECT * FROM "{table}" WHERE sid = ?', (sid,)))


# --------------------------------------------------------------------------------- thread mode


class ServerThread:
    """A :func:`live_server` on an event loop of its own in a background thread.

    For synchronous test bodies that run many times against one server (hypothesis examples):
    ``call(coroutine)`` runs a coroutine on the server's loop and returns its result. Clients must
    be made and used through ``call`` too, since they belong to that loop.
    """

    def __init__(self, tmp_path: Path, *overrides: str, **options: Any) -> None:
        self._tmp_path = tmp_path
        self._overrides = overrides
        self._options = options
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._finish: asyncio.Event | None = None
        self._error: BaseException | None = None
        self.server: LiveServer | None = None

    def __enter__(self) -> ServerThread:
        self._thread = threading.Thread(target=self._main, name="kadath-test-server", daemon=True)
        self._thread.start()
        if not self._ready.wait(TIMEOUT_S * 2):
            raise RuntimeError("the test server thread did not start")
        if self._error is not None:
            raise RuntimeError("the test server failed to start") from self._error
        return self

    def __exit__(self, *exc: object) -> None:
        if self._loop is not None and self._finish is not None:
            self._loop.call_soon_threadsafe(self._finish.set)
        if self._thread is not None:
            self._thread.join(TIMEOUT_S * 3)
            assert not self._thread.is_alive(), "the test server thread did not stop"

    def _main(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:  # reported to the test through __enter__
            self._error = exc
            self._ready.set()

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._finish = asyncio.Event()
        async with live_server(self._tmp_path, *self._overrides, **self._options) as server:
            self.server = server
            self._ready.set()
            await self._finish.wait()

    def call(self, coro: Coroutine[Any, Any, _T], timeout: float = TIMEOUT_S * 2) -> _T:
        """Run ``coro`` on the server's loop and wait for its result."""
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except concurrent.futures.TimeoutError:
            future.cancel()
            raise
