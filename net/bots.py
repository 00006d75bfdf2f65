"""``kadath bots``: a load generator for a Kadath server, for the people who run one.

N bots register (or log in to) their own accounts over websockets, optionally walk to distinct
rooms by the map the server shows them, then each types commands at a steady rate for a bounded
time; the report gives what was sent and answered, the latency from each command to its answer,
and the server's own figures from ``/metrics`` (tick duration, memory, what its output cost). It
runs in its own process, as any client would, never inside a server, and stops by itself:
the number of bots and the duration are bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import html
import math
import os
import random
import socket
import sys
import time
from collections import deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import IO, Any, Final
from urllib.parse import urlsplit

import orjson
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidHandshake

from engine.config import Config

__all__ = [
    "MAX_BOTS",
    "MAX_DURATION_S",
    "PROFILES",
    "BotOptions",
    "Report",
    "WorldMap",
    "bot_name",
    "main_async",
    "register",
    "render_html",
    "render_text",
    "run_bots",
]

PROFILES: Final = ("explorer", "talker", "crowd", "mixed")
"""What the bots do: ``explorer`` walks and looks; ``talker`` says; ``crowd`` stays together in
the room it wakes in and says; ``mixed`` looks, says, walks and emotes."""
MAX_BOTS: Final = 5000
MAX_DURATION_S: Final = 3600.0
MAX_RATE: Final = 50.0
"""Commands a second per bot at most (the server's own limit is 10 by default)."""
ANSWER_TIMEOUT_S: Final = 10.0
"""A command not answered this long after it was sent counts as lost."""
LOGIN_TIMEOUT_S: Final = 120.0
"""A bot not in the world this long after the start gives up."""
CONNECTS_AT_ONCE: Final = 100
"""Websocket handshakes in flight at once (the server's listen backlog is about as deep)."""
THROTTLE_BACKOFF_S: Final = (0.2, 5.0)
"""First and longest wait before a login the server throttled is tried again (doubling)."""
SPREAD_STEPS: Final = 40
"""Most steps a bot takes to reach its room when spreading."""
SPREAD_SCOUTS: Final = 60
"""Bots that explore the map before the others are sent to their rooms."""
SPREAD_PAUSE_S: Final = 0.15
"""Pause between two steps of one bot (the server's command rate limit is 10 a second)."""
METRICS_EVERY_S: Final = 1.0

_REFUSALS: Final = frozenset({"rate_limited", "throttled"})
_ANSWER_KEYS: Final = (b'"type":"room"', b'"type":"error"', b'"type":"auth_', b'"type":"bye"')
_WORDS: Final = (
    "The stars are right.",
    "Did you hear that?",
    "Something moves beneath the floor.",
    "I have seen the yellow sign.",
    "Who left the lamp burning?",
    "Ph'nglui mglw'nafh.",
)
_NAME_LETTERS: Final = "abcdefghijklmnopqrstuvwxyz"


def answer_kind(line: str) -> str:
    """What answers a typed line: ``say`` (the speaker's own words back), ``emote``, or ``room``
    (a look or a step: the room, or a refusal); any ``error`` answers every kind."""
    verb = line.split(maxsplit=1)[0].casefold() if line.strip() else ""
    if verb == "say" or verb.startswith("'"):
        return "say"
    if verb == "emote" or verb.startswith(":"):
        return "emote"
    return "room"


def bot_name(prefix: str, index: int) -> str:
    """The account name of bot ``index``: ``prefix`` and four letters (names are letters only)."""
    letters = []
    for _ in range(4):
        index, digit = divmod(index, 26)
        letters.append(_NAME_LETTERS[digit])
    return prefix + "".join(reversed(letters))


@dataclass(frozen=True, slots=True)
class BotOptions:
    """One run of bots. ``active`` of the ``n`` bots send commands (all when None)."""

    url: str = "ws://127.0.0.1:4000/"
    n: int = 10
    rate: float = 1.0
    duration_s: float = 30.0
    profile: str = "explorer"
    spread: bool = False
    active: int | None = None
    prefix: str = "Bot"
    password: str = "bots-are-people-too"
    seed: int = 0
    batch: bool = True
    progress: bool = True
    stall: int = 0
    """Bots, besides the ``n``, that stop reading once in the world but keep typing ``look``
    (ten a second, not counted): the server must cut them off, and nobody else may notice."""
    stall_reading: bool = False
    """The stalled bots read after all: the control run of ``stall``, with the same work."""
    settle_s: float = 0.0
    """Seconds to wait, once everyone is in (and spread), before the commands start: the
    figures are then of the steady state, not of the logins' aftermath."""
    command: str | None = None
    """Type this line every time instead of the profile's commands (``look``, ``say hello``)."""
    server_pid: int | None = None
    """Read the server's memory and CPU time from /proc (a server on this machine) rather than
    from its /metrics (a server too old to report them)."""

    def check(self) -> None:
        """Refuse a run that is not bounded, with a message saying what to change."""
        if not 1 <= self.n <= MAX_BOTS:
            raise ValueError(f"--n must be between 1 and {MAX_BOTS}, not {self.n}")
        if not 0 < self.duration_s <= MAX_DURATION_S:
            raise ValueError(f"--duration must be above 0 and at most {MAX_DURATION_S:g} s")
        if not 0 < self.rate <= MAX_RATE:
            raise ValueError(f"--rate must be above 0 and at most {MAX_RATE:g} a second per bot")
        if self.profile not in PROFILES:
            raise ValueError(f"--profile must be one of {', '.join(PROFILES)}")
        if not 0 <= self.settle_s <= 600:
            raise ValueError("--settle must be between 0 and 600 s")
        if not 0 <= self.stall <= MAX_BOTS - self.n:
            raise ValueError(f"--stall must be between 0 and {MAX_BOTS} less --n")
        if self.active is not None and not 0 <= self.active <= self.n:
            raise ValueError("--active must be between 0 and --n")
        if not (self.prefix.isascii() and self.prefix.isalpha() and 1 <= len(self.prefix) <= 16):
            raise ValueError("--prefix must be 1 to 16 letters A-Z (account names are letters)")
        if urlsplit(self.url).scheme not in ("ws", "wss"):
            raise ValueError(f"--url must be a ws:// or wss:// URL, not {self.url!r}")


# --------------------------------------------------------------------------------------- the map


class WorldMap:
    """Rooms as the bots have seen them: each room's exits (direction -> room, None where the
    room beyond is not shown), and how many bots chose each room. Learnt from ``room``
    messages only, as any client would: the bots import nothing of the world's rules."""

    def __init__(self) -> None:
        self.exits: dict[str, dict[str, str | None]] = {}
        self.claims: dict[str, int] = {}
        self.blocked: set[tuple[str, str]] = set()
        self.seen: set[str] = set()
        """Rooms whose own exits are known (a bot stood there); the others are only names."""

    def learn(self, room: dict[str, Any]) -> None:
        room_id = str(room.get("id", ""))
        if not room_id:
            return
        self.seen.add(room_id)
        known = self.exits.setdefault(room_id, {})
        for exit_ in room.get("exits") or ():
            if isinstance(exit_, dict) and isinstance(exit_.get("direction"), str):
                to = exit_.get("to")
                known[exit_["direction"]] = to if isinstance(to, str) else None
                if isinstance(to, str):
                    self.exits.setdefault(to, {})

    def path(self, start: str, goal: str) -> list[str] | None:
        """Directions from ``start`` to ``goal`` through known exits (breadth first)."""
        if start == goal:
            return []
        seen = {start: (start, "")}
        queue = deque([start])
        while queue:
            room = queue.popleft()
            for direction, to in sorted(self.exits.get(room, {}).items()):
                if to is None or to in seen or (room, direction) in self.blocked:
                    continue
                seen[to] = (room, direction)
                if to == goal:
                    steps = []
                    while to != start:
                        to, step = seen[to]
                        steps.append(step)
                    return steps[::-1]
                queue.append(to)
        return None

    def unseen(self, start: str) -> str | None:
        """The room nobody has seen yet that is least chosen, then nearest, from ``start``
        (chosen for the asker until released); None when every reachable room is seen."""
        distances = self._distances(start)
        unseen = [room for room in distances if room not in self.seen]
        if not unseen:
            return None
        goal = min(unseen, key=lambda room: (self.claims.get(room, 0), distances[room], room))
        self.claims[goal] = self.claims.get(goal, 0) + 1
        return goal

    def release(self, room: str) -> None:
        self.claims[room] = max(0, self.claims.get(room, 0) - 1)

    def _distances(self, start: str) -> dict[str, int]:
        distances = {start: 0}
        queue = deque([start])
        while queue:
            room = queue.popleft()
            for direction, to in self.exits.get(room, {}).items():
                if to is not None and to not in distances and (room, direction) not in self.blocked:
                    distances[to] = distances[room] + 1
                    queue.append(to)
        return distances


# ------------------------------------------------------------------------------------ the figures


@dataclass(slots=True)
class Tally:
    """What all bots sent and got."""

    sent: int = 0
    answered: int = 0
    errors: int = 0
    refused: int = 0
    lost: int = 0
    error_codes: dict[str, int] = field(default_factory=dict)
    latencies: list[tuple[float, float]] = field(default_factory=list)
    """(seconds since the run's commands started, latency in seconds) of every answer."""
    logins: list[float] = field(default_factory=list)
    """Seconds from the start to each bot's character being in the world."""
    login_retries: int = 0
    login_failures: dict[str, int] = field(default_factory=dict)
    cut_off: int = 0
    messages: int = 0
    frames: int = 0
    spread_steps: int = 0


@dataclass(slots=True)
class Sample:
    """The server's own figures at one moment, from /metrics."""

    t: float
    values: dict[str, float]


@dataclass(slots=True)
class Report:
    """A run's outcome, as ``--json`` prints it."""

    options: dict[str, Any]
    login: dict[str, Any]
    commands: dict[str, Any]
    latency_ms: dict[str, float]
    server: dict[str, Any]
    client: dict[str, Any]
    series: dict[str, list[list[float]]]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0-1) of ``values`` by the nearest-rank method; NaN if empty."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q * len(ordered)))
    return ordered[rank - 1]


# -------------------------------------------------------------------------------------- one bot


@dataclass(slots=True)
class Outstanding:
    sent_at: float
    kind: str  # "room" (look, a step), "say", "emote"
    counted: bool = True  # False for the steps of spreading, which are not the workload


class Bot:
    """One connection playing one character."""

    def __init__(self, index: int, run: BotRun) -> None:
        self.index = index
        self.run = run
        self.name = bot_name(run.options.prefix, index)
        self.rng = random.Random(run.options.seed * 100_003 + index)
        self.ws: ClientConnection | None = None
        self.entity: int | None = None
        self.room: str | None = None
        self.exits: list[str] = []
        self.room_seen = asyncio.Event()
        self.logged_in = asyncio.Event()
        self.outstanding: deque[Outstanding] = deque()
        self.answered = asyncio.Event()
        self.last_error: str | None = None
        self.closed_code: int | None = None
        self.said = 0
        self.reader: asyncio.Task[None] | None = None
        self.mine: tuple[bytes, ...] | None = None
        """What a frame holding something for this bot contains (its answers, its room); a
        frame with none of it (others' speech in a crowd) is counted, not parsed."""

    # ---------------------------------------------------------------- connecting

    async def join(self) -> None:
        """Connect, register or log in (retrying when throttled), until in the world."""
        options, tally = self.run.options, self.run.tally
        backoff = THROTTLE_BACKOFF_S[0]
        verb = "register"
        while True:
            async with self.run.connecting:
                self.ws = await connect(
                    options.url,
                    max_size=None,
                    open_timeout=60,
                    close_timeout=2,
                    proxy=None,
                    ping_interval=None,
                )
            reader = asyncio.create_task(self.read())
            await self.ws.send(
                orjson.dumps({"type": verb, "name": self.name, "password": options.password})
            )
            outcome = await self.run.wait_auth(self)
            if outcome is None:
                tally.logins.append(time.monotonic() - self.run.started)
                self.reader = reader
                return
            reader.cancel()
            with contextlib.suppress(BaseException):
                await reader
            await self.ws.close()
            if outcome == "name_taken":
                verb = "login"
                continue
            if outcome in ("throttled", "unavailable"):
                tally.login_retries += 1
                await asyncio.sleep(backoff * (0.5 + self.rng.random()))
                backoff = min(backoff * 2, THROTTLE_BACKOFF_S[1])
                continue
            tally.login_failures[outcome] = tally.login_failures.get(outcome, 0) + 1
            raise RuntimeError(f"{self.name}: {outcome}")

    async def read(self) -> None:
        assert self.ws is not None
        tally = self.run.tally
        try:
            async for frame in self.ws:
                tally.frames += 1
                raw = frame.encode() if isinstance(frame, str) else frame
                if self.mine is not None and not any(key in raw for key in self.mine):
                    tally.messages += raw.count(b'{"type":"')  # nothing of ours: not parsed
                    continue
                value = orjson.loads(raw)
                for message in value if isinstance(value, list) else (value,):
                    tally.messages += 1
                    self.on_message(message)
        except ConnectionClosed as closed:
            self.closed_code = closed.rcvd.code if closed.rcvd is not None else None
            if self.closed_code == 1008:
                tally.cut_off += 1
        except orjson.JSONDecodeError:
            self.last_error = "bad_frame"

    def on_message(self, message: dict[str, Any]) -> None:
        type_ = message.get("type")
        data = message.get("data") or {}
        if type_ == "welcome":
            if self.run.options.batch and 2 in (data.get("protocols") or ()):
                assert self.ws is not None
                self.run.spawn(self.ws.send(b'{"type":"protocol","version":2}'))
            return
        if type_ == "auth_ok":
            self.entity = data.get("entity")
            if isinstance(self.entity, int):
                self.mine = (*_ANSWER_KEYS, b'"from_id":%d' % self.entity)
            self.run.auth_result(self, None)
            if data.get("resumed") and self.ws is not None:  # taken back: no room is shown
                self.run.spawn(self.ws.send(b'{"type":"cmd","text":"look"}'))
            return
        if type_ == "auth_error":
            self.run.auth_result(self, str(data.get("code", "auth_error")))
            return
        if type_ == "room":
            self.room = str(data.get("id", "")) or None
            self.exits = [e["direction"] for e in data.get("exits") or () if isinstance(e, dict)]
            self.run.map.learn(data)
            self.room_seen.set()
        if self.outstanding and self.answers(self.outstanding[0], type_, data):
            self.settle(self.outstanding.popleft(), type_, data)

    def answers(self, waiting: Outstanding, type_: object, data: dict[str, Any]) -> bool:
        if type_ == "error":
            return True
        if waiting.kind == "room":
            return type_ == "room"
        if waiting.kind == "say":
            return type_ == "say" and data.get("from_id") == self.entity
        return (
            type_ == "msg"
            and data.get("event") == "emote"
            and (data.get("from_id") in (None, self.entity))
        )

    def settle(self, waiting: Outstanding, type_: object, data: dict[str, Any]) -> None:
        run, tally = self.run, self.run.tally
        self.answered.set()
        if not waiting.counted:
            tally.spread_steps += 1
            return
        now = time.monotonic()
        tally.answered += 1
        tally.latencies.append((now - run.commands_started, now - waiting.sent_at))
        if type_ == "error":
            code = str(data.get("code", "error"))
            if code in _REFUSALS:
                tally.refused += 1
            else:
                tally.errors += 1
            tally.error_codes[code] = tally.error_codes.get(code, 0) + 1

    # ---------------------------------------------------------------- commands

    async def command(self, line: str, kind: str, *, counted: bool = True) -> None:
        assert self.ws is not None
        self.outstanding.append(Outstanding(time.monotonic(), kind, counted))
        self.run.tally.sent += counted
        await self.ws.send(orjson.dumps({"type": "cmd", "text": line}))

    def next_command(self) -> tuple[str, str]:
        fixed = self.run.options.command
        if fixed is not None:
            return fixed, answer_kind(fixed)
        profile = self.run.options.profile
        roll = self.rng.random()
        if profile == "mixed":
            profile = "explorer" if roll < 0.6 else "talker"
            if roll >= 0.9:
                return (
                    f"emote {self.rng.choice(('shivers.', 'mutters.', 'looks around.'))}",
                    "emote",
                )
        if profile == "explorer":
            if self.exits and self.rng.random() < 0.5:
                return self.rng.choice(self.exits), "room"
            return "look", "room"
        self.said += 1
        return f"say {self.rng.choice(_WORDS)} ({self.said})", "say"

    async def explore(self, enough: int) -> None:
        """Scout: walk to the rooms nobody has seen, the least chosen by other scouts first,
        until the bots have seen ``enough`` rooms or every room they can reach."""
        world = self.run.map
        goal: str | None = None
        try:
            for _ in range(SPREAD_STEPS):
                if goal is not None:
                    world.release(goal)
                    goal = None
                if self.room is None or len(world.seen) >= enough:
                    return
                goal = world.unseen(self.room)
                if goal is None:
                    return
                steps = world.path(self.room, goal)
                if steps:
                    await self.step(steps[0])
        finally:
            if goal is not None:
                world.release(goal)

    async def walk_to(self, goal: str) -> None:
        """Walk to ``goal`` by the shortest known way, finding another when a way is shut."""
        world = self.run.map
        for _ in range(SPREAD_STEPS):
            if self.room is None or self.room == goal:
                return
            steps = world.path(self.room, goal)
            if not steps:
                return
            await self.step(steps[0])

    async def step(self, direction: str) -> None:
        """One step, waiting for its answer; a way that does not lead on is not tried again."""
        before = self.room
        self.answered.clear()
        await self.command(direction, "room", counted=False)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.answered.wait(), ANSWER_TIMEOUT_S)
        if self.room == before and before is not None:  # a closed door, a refusal
            self.run.map.blocked.add((before, direction))
        await asyncio.sleep(SPREAD_PAUSE_S)

    async def close(self) -> None:
        if self.ws is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.ws.close(), 5)


# -------------------------------------------------------------------------------------- the run


class BotRun:
    """All bots of one run, their shared map and figures."""

    def __init__(self, options: BotOptions, out: IO[str]) -> None:
        self.options = options
        self.out = out
        self.tally = Tally()
        self.map = WorldMap()
        self.bots = [Bot(i, self) for i in range(options.n + options.stall)]
        self.connecting = asyncio.Semaphore(CONNECTS_AT_ONCE)
        self.started = time.monotonic()
        self.commands_started = self.started
        self.samples: list[Sample] = []
        self.phase = "connecting"
        self.rooms: dict[str, int] = {}
        """Bots in each room when the commands started."""
        self.logins_done = 0.0
        self.cpu_started = 0.0
        self.cpu_used = math.nan
        """The bots' own CPU time while they typed commands: near a whole core, the bots and
        not the server may be what the latency measures."""
        self._auth: dict[int, asyncio.Future[str | None]] = {}
        self._tasks: set[asyncio.Task[Any]] = set()

    def spawn(self, coroutine: Any) -> None:
        task = asyncio.ensure_future(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def wait_auth(self, bot: Bot) -> str | None:
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        self._auth[bot.index] = future
        try:
            return await asyncio.wait_for(future, LOGIN_TIMEOUT_S)
        finally:
            self._auth.pop(bot.index, None)

    def auth_result(self, bot: Bot, outcome: str | None) -> None:
        future = self._auth.get(bot.index)
        if future is not None and not future.done():
            future.set_result(outcome)

    # ------------------------------------------------------------------- metrics

    async def sample_metrics(self) -> None:
        try:
            values = await fetch_metrics(self.options.url)
        except (OSError, ValueError, TimeoutError):
            return
        if self.options.server_pid is not None:
            values.update(proc_figures(self.options.server_pid))
        self.samples.append(Sample(time.monotonic() - self.started, values))

    async def keep_sampling(self) -> None:
        while True:
            await self.sample_metrics()
            await asyncio.sleep(METRICS_EVERY_S)

    async def show_progress(self) -> None:
        while True:
            self._progress_line()
            await asyncio.sleep(0.5)

    def _progress_line(self) -> None:
        tally, options = self.tally, self.options
        elapsed = time.monotonic() - self.started
        if self.phase == "running":
            done = min(1.0, (time.monotonic() - self.commands_started) / options.duration_s)
        elif self.phase == "logging in":
            done = len(tally.logins) / options.n
        else:
            done = 0.0
        bar = "#" * int(done * 30)
        self.out.write(
            f"\r[{bar:<30}] {self.phase:<11} {elapsed:6.1f} s  in {len(tally.logins)}/{options.n}"
            f"  sent {tally.sent}  answered {tally.answered}  refused {tally.refused} "
        )
        self.out.flush()

    # ----------------------------------------------------------------------- run

    async def run(self) -> Report:
        options = self.options
        await self.sample_metrics()  # the server before the bots: its idle memory
        sampler = asyncio.create_task(self.keep_sampling())
        progress = asyncio.create_task(self.show_progress()) if options.progress else None
        try:
            self.phase = "logging in"
            joined = await asyncio.gather(
                *(bot.join() for bot in self.bots), return_exceptions=True
            )
            ready = [bot for bot, outcome in zip(self.bots, joined, strict=True) if outcome is None]
            for outcome in joined:
                if isinstance(outcome, BaseException) and not isinstance(outcome, RuntimeError):
                    key = type(outcome).__name__
                    self.tally.login_failures[key] = self.tally.login_failures.get(key, 0) + 1
            self.logins_done = time.monotonic() - self.started
            await asyncio.gather(*(_wait(bot.room_seen, ANSWER_TIMEOUT_S) for bot in ready))
            if options.spread and options.profile != "crowd":
                self.phase = "spreading"
                await self.spread(ready)
            await asyncio.sleep(options.settle_s)
            await self.sample_metrics()
            self.rooms = {}
            for bot in ready:
                if bot.room is not None:
                    self.rooms[bot.room] = self.rooms.get(bot.room, 0) + 1
            self.phase = "running"
            self.commands_started = time.monotonic()
            self.cpu_started = time.process_time()
            stalled = [bot for bot in ready if bot.index >= options.n]
            playing = [bot for bot in ready if bot.index < options.n]
            active = playing[: options.active if options.active is not None else len(playing)]
            await asyncio.gather(
                *(self.drive(bot) for bot in active), *(self.stall(bot) for bot in stalled)
            )
            self.cpu_used = time.process_time() - self.cpu_started
            self.phase = "draining"
            await asyncio.gather(*(self.drain(bot) for bot in active))
            await self.sample_metrics()
        finally:
            sampler.cancel()
            if progress is not None:
                progress.cancel()
                self._progress_line()
                self.out.write("\n")
            await asyncio.gather(*(bot.close() for bot in self.bots), return_exceptions=True)
            for task in list(self._tasks):
                task.cancel()
        return self.report(len(ready))

    async def spread(self, bots: list[Bot]) -> None:
        """Spread ``bots`` evenly over the rooms: scouts explore the map first, then every bot
        is sent, in turn, to the next of the rooms the scouts reached."""
        await asyncio.gather(*(bot.explore(len(bots)) for bot in bots[:SPREAD_SCOUTS]))
        rooms = sorted(self.map.seen)
        if rooms:
            await asyncio.gather(
                *(bot.walk_to(rooms[i % len(rooms)]) for i, bot in enumerate(bots))
            )

    async def drive(self, bot: Bot) -> None:
        """Send a command every 1/rate seconds (open loop: never waiting for answers), starting
        at a random moment of the first period, until the duration is over."""
        options = self.options
        period = 1.0 / options.rate
        start = self.commands_started + bot.rng.random() * period
        end = self.commands_started + options.duration_s
        k = 0
        while True:
            due = start + k * period
            if due >= end or bot.closed_code is not None:
                return
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            line, kind = bot.next_command()
            try:
                await bot.command(line, kind)
            except ConnectionClosed:
                return
            k += 1

    async def stall(self, bot: Bot) -> None:
        """Stop reading (a shrunk receive buffer, then nothing read at all) and keep looking,
        until the server cuts the connection or the run ends."""
        assert bot.ws is not None
        transport = bot.ws.transport
        with contextlib.suppress(OSError, AttributeError):
            transport.get_extra_info("socket").setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        transport.pause_reading()
        end = self.commands_started + self.options.duration_s
        with contextlib.suppress(ConnectionClosed, OSError):
            while time.monotonic() < end and not transport.is_closing():
                await bot.ws.send(b'{"type":"cmd","text":"look"}')
                await asyncio.sleep(0.1)
        transport.resume_reading()

    async def drain(self, bot: Bot) -> None:
        deadline = time.monotonic() + ANSWER_TIMEOUT_S
        while bot.outstanding and time.monotonic() < deadline and bot.closed_code is None:
            bot.answered.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(bot.answered.wait(), deadline - time.monotonic())
        self.tally.lost += sum(1 for waiting in bot.outstanding if waiting.counted)
        bot.outstanding.clear()

    def report(self, ready: int) -> Report:
        tally, options = self.tally, self.options
        latencies = [latency * 1000 for _, latency in tally.latencies]
        first = self.samples[0].values if self.samples else {}
        last = self.samples[-1].values if self.samples else {}
        rss = [s.values.get("process_resident_memory_bytes", math.nan) for s in self.samples]
        rss_idle = first.get("process_resident_memory_bytes", math.nan)
        rss_peak = max((r for r in rss if not math.isnan(r)), default=math.nan)
        during = [
            s.values["process_resident_memory_bytes"]
            for s in self.samples
            if s.t >= self.commands_started - self.started
            and "process_resident_memory_bytes" in s.values
        ]
        rss_run = percentile(during, 0.5)
        players = max(
            (s.values.get("kadath_players_online", 0.0) for s in self.samples), default=0.0
        )
        run_samples = [s for s in self.samples if s.t >= self.commands_started - self.started]
        cpu = _rate(run_samples, "process_cpu_seconds_total")
        server = {
            "tick_p50_ms": _ms(last.get('kadath_tick_duration_seconds{quantile="0.5"}')),
            "tick_p99_ms": _ms(last.get('kadath_tick_duration_seconds{quantile="0.99"}')),
            "tick_mean_ms": _ms(_mean_of(run_samples, "kadath_tick_duration_seconds")),
            "tick_max_ms": max(
                (
                    _ms(s.values.get('kadath_tick_duration_seconds{quantile="1"}'))
                    for s in run_samples
                ),
                default=math.nan,
            ),
            "rss_idle_mb": _mb(rss_idle),
            "rss_peak_mb": _mb(rss_peak),
            "rss_end_mb": _mb(last.get("process_resident_memory_bytes", math.nan)),
            "rss_run_mb": _mb(rss_run),
            "rss_per_player_kib": (rss_run - rss_idle) / 1024 / players if players else math.nan,
            "cpu_percent": cpu * 100,
            "players_online_peak": players,
            "lines_dropped": _delta(first, last, "kadath_lines_dropped_total"),
            "lines_merged": _delta(first, last, "kadath_lines_merged_total"),
            "clients_cut_off": _delta(first, last, "kadath_clients_cut_off_total"),
            "output_queued_peak_mb": _mb(
                max(
                    (s.values.get("kadath_output_queued_bytes", 0.0) for s in self.samples),
                    default=0.0,
                )
            ),
            "skipped_ticks": _delta(first, last, "kadath_loop_skipped_ticks_total"),
        }
        per_second: dict[int, list[float]] = {}
        for at, latency in tally.latencies:
            per_second.setdefault(int(at), []).append(latency * 1000)
        series = {
            "latency_p50_ms": [[s, percentile(v, 0.5)] for s, v in sorted(per_second.items())],
            "latency_p99_ms": [[s, percentile(v, 0.99)] for s, v in sorted(per_second.items())],
            "latency_max_ms": [[s, max(v)] for s, v in sorted(per_second.items())],
            "tick_p99_ms": _series(
                self.samples, 'kadath_tick_duration_seconds{quantile="0.99"}', 1000
            ),
            "tick_max_ms": _series(
                self.samples, 'kadath_tick_duration_seconds{quantile="1"}', 1000
            ),
            "rss_mb": _series(self.samples, "process_resident_memory_bytes", 1 / 1048576),
        }
        return Report(
            options={**asdict(options), "password": "***"},  # never in a report
            login={
                "bots": options.n + options.stall,
                "in_world": ready,
                "seconds_all_in": round(self.logins_done, 2),
                "p50_s": round(percentile(tally.logins, 0.5), 2) if tally.logins else math.nan,
                "max_s": round(max(tally.logins), 2) if tally.logins else math.nan,
                "throttled_retries": tally.login_retries,
                "failures": tally.login_failures,
            },
            commands={
                "sent": tally.sent,
                "answered": tally.answered,
                "errors": tally.errors,
                "refused": tally.refused,
                "lost": tally.lost,
                "codes": dict(sorted(tally.error_codes.items())),
            },
            latency_ms={
                "p50": round(percentile(latencies, 0.5), 1),
                "p95": round(percentile(latencies, 0.95), 1),
                "p99": round(percentile(latencies, 0.99), 1),
                "max": round(max(latencies), 1) if latencies else math.nan,
            },
            server={k: round(v, 2) if isinstance(v, float) else v for k, v in server.items()},
            client={
                "messages": tally.messages,
                "frames": tally.frames,
                "cut_off": tally.cut_off,
                "spread_steps": tally.spread_steps,
                "cpu_percent": round(self.cpu_used / options.duration_s * 100, 1),
                "rooms": len(self.rooms),
                "most_in_one_room": max(self.rooms.values(), default=0),
            },
            series=series,
        )


async def _wait(event: asyncio.Event, timeout: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(event.wait(), timeout)


def _ms(value: float | None) -> float:
    return value * 1000 if value is not None else math.nan


def _mb(value: float) -> float:
    return value / 1048576


def _delta(first: dict[str, float], last: dict[str, float], name: str) -> float:
    return last.get(name, math.nan) - first.get(name, 0.0)


def _mean_of(samples: Sequence[Sample], summary: str) -> float:
    """The mean of a summary over the samples: the change of its sum over that of its count."""
    points = [
        (s.values[f"{summary}_sum"], s.values[f"{summary}_count"])
        for s in samples
        if f"{summary}_sum" in s.values and f"{summary}_count" in s.values
    ]
    if len(points) < 2 or points[-1][1] <= points[0][1]:
        return math.nan
    return (points[-1][0] - points[0][0]) / (points[-1][1] - points[0][1])


def _rate(samples: Sequence[Sample], name: str) -> float:
    points = [(s.t, s.values[name]) for s in samples if name in s.values]
    if len(points) < 2 or points[-1][0] <= points[0][0]:
        return math.nan
    return (points[-1][1] - points[0][1]) / (points[-1][0] - points[0][0])


def _series(samples: Iterable[Sample], name: str, scale: float) -> list[list[float]]:
    return [[round(s.t, 2), s.values[name] * scale] for s in samples if name in s.values]


# ----------------------------------------------------------------------------------- /metrics


def metrics_url(url: str) -> tuple[str, int, str]:
    """Host, port and path of the /metrics page of the server at websocket ``url``."""
    parts = urlsplit(url)
    port = parts.port or (443 if parts.scheme == "wss" else 80)
    base = parts.path.rsplit("/", 1)[0] if parts.path else ""
    return parts.hostname or "127.0.0.1", port, f"{base}/metrics"


async def http_get(
    host: str,
    port: int,
    path: str,
    *,
    ssl: bool = False,
    timeout: float = 5.0,
    headers: Mapping[str, str] | None = None,
) -> bytes:
    """One plain HTTP/1.1 ``GET path`` (sent as written, with any further ``headers``) to the game
    port; the whole raw answer, head and body, which the server ends by closing the connection."""
    extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())

    async def exchange() -> bytes:
        reader, writer = await asyncio.open_connection(host, port, ssl=ssl or None)
        try:
            writer.write(
                f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: kadath-bots\r\n"
                f"{extra}Connection: close\r\n\r\n".encode("ascii")
            )
            await writer.drain()
            return await reader.read()
        finally:
            writer.close()
            with contextlib.suppress(OSError):
                await writer.wait_closed()

    return await asyncio.wait_for(exchange(), timeout)


async def fetch_metrics(url: str, timeout: float = 5.0) -> dict[str, float]:
    """The server's /metrics as ``{name{labels}: value}`` (``wss`` servers are read over TLS)."""
    host, port, path = metrics_url(url)
    raw = await http_get(host, port, path, ssl=urlsplit(url).scheme == "wss", timeout=timeout)
    _, _, body = raw.partition(b"\r\n\r\n")
    return parse_metrics(body.decode("utf-8", "replace"))


def proc_figures(pid: int) -> dict[str, float]:
    """A local process's resident memory and CPU seconds, named as prometheus_client names them
    (Linux /proc; nothing elsewhere)."""
    figures: dict[str, float] = {}
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open(f"/proc/{pid}/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    figures["process_resident_memory_bytes"] = float(line.split()[1]) * 1024
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            fields = stat.read().rsplit(")", 1)[1].split()
        ticks = os.sysconf("SC_CLK_TCK")
        figures["process_cpu_seconds_total"] = (int(fields[11]) + int(fields[12])) / ticks
    return figures


def parse_metrics(text: str) -> dict[str, float]:
    """Prometheus text format as ``{name{labels}: value}`` (labels as written)."""
    values: dict[str, float] = {}
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        with contextlib.suppress(ValueError):
            values[name] = float(value)
    return values


# ------------------------------------------------------------------------------------ reporting


def render_text(report: Report) -> str:
    """The report for a person: a few lines."""
    c, lat, s, login = report.commands, report.latency_ms, report.server, report.login
    o = report.options
    return "\n".join(
        [
            f"kadath bots: {o['n']} bots ({o['profile']}{', spread' if o['spread'] else ''}), "
            f"{o['rate']:g} commands/s each"
            + (f" typing {o['command']!r}" if o["command"] else "")
            + (f" ({o['active']} active)" if o["active"] is not None else "")
            + f", {o['duration_s']:g} s against {o['url']}",
            f"logins: {login['in_world']}/{login['bots']} in the world, all in after "
            f"{login['seconds_all_in']:g} s ({login['throttled_retries']} throttled retries"
            + (f", failures {login['failures']}" if login["failures"] else "")
            + ")",
            f"commands: sent {c['sent']}, answered {c['answered']} (errors {c['errors']}, "
            f"refused {c['refused']}), lost {c['lost']}"
            + (f"; codes {c['codes']}" if c["codes"] else ""),
            f"latency: p50 {lat['p50']:g} ms, p95 {lat['p95']:g} ms, p99 {lat['p99']:g} ms, "
            f"max {lat['max']:g} ms",
            f"server: tick mean {s['tick_mean_ms']:.2f} ms over the run, p50 "
            f"{s['tick_p50_ms']:.2f} ms, p99 {s['tick_p99_ms']:.2f} ms (its window); "
            f"RSS idle {s['rss_idle_mb']:.0f} MB, while running {s['rss_run_mb']:.0f} MB "
            f"({s['rss_per_player_kib']:.0f} KiB a player), peak {s['rss_peak_mb']:.0f} MB; "
            f"CPU {s['cpu_percent']:.0f} %",
            f"output: lines dropped {s['lines_dropped']:g}, merged {s['lines_merged']:g}, "
            f"clients cut off {s['clients_cut_off']:g}, queued peak "
            f"{s['output_queued_peak_mb']:.1f} MB; skipped ticks {s['skipped_ticks']:g}",
            f"client: {report.client['messages']} messages in {report.client['frames']} frames, "
            f"{report.client['cut_off']} bots cut off ({o['stall']} stopped reading); the bots"
            f" stood in {report.client['rooms']} room(s), at most "
            f"{report.client['most_in_one_room']} in one",
        ]
    )


def _svg_chart(title: str, lines: dict[str, list[list[float]]], unit: str) -> str:
    width, height, pad = 760, 240, 44
    points = [p for series in lines.values() for p in series if not math.isnan(p[1])]
    if not points:
        return f"<h2>{html.escape(title)}</h2><p>No figures.</p>"
    x_max = max(p[0] for p in points) or 1.0
    y_max = max(p[1] for p in points) or 1.0
    colours = ("#2a6fdb", "#d9822b", "#c23030", "#29a634")

    def xy(p: list[float]) -> str:
        x = pad + p[0] / x_max * (width - 2 * pad)
        y = height - pad - p[1] / y_max * (height - 2 * pad)
        return f"{x:.1f},{y:.1f}"

    parts = [
        f'<svg viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">',
        f'<line x1="{pad}" y1="{height - pad}" x2="{width - pad}" y2="{height - pad}"'
        ' stroke="#888"/>',
        f'<line x1="{pad}" y1="{pad}" x2="{pad}" y2="{height - pad}" stroke="#888"/>',
        f'<text x="4" y="{pad}" font-size="11">{y_max:.4g} {html.escape(unit)}</text>',
        f'<text x="4" y="{height - pad}" font-size="11">0</text>',
        f'<text x="{width - pad - 40}" y="{height - 8}" font-size="11">{x_max:.0f} s</text>',
    ]
    for i, (name, series) in enumerate(lines.items()):
        colour = colours[i % len(colours)]
        kept = [p for p in series if not math.isnan(p[1])]
        if kept:
            parts.append(
                f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" '
                f'points="{" ".join(xy(p) for p in kept)}"/>'
            )
        parts.append(
            f'<text x="{pad + 10 + i * 150}" y="{pad - 10}" font-size="12" fill="{colour}">'
            f"{html.escape(name)}</text>"
        )
    parts.append("</svg>")
    return f"<h2>{html.escape(title)}</h2>" + "".join(parts)


def render_html(report: Report) -> str:
    """A self-contained page: the summary, then charts of latency, tick duration and memory."""
    series = report.series
    summary = html.escape(render_text(report))
    return (
        "<!doctype html><html lang=en><meta charset=utf-8><title>kadath bots</title>"
        "<style>body{font:14px system-ui,sans-serif;margin:2em;max-width:820px}"
        "pre{background:#f4f4f4;padding:1em;white-space:pre-wrap}</style>"
        "<h1>kadath bots</h1>"
        f"<pre>{summary}</pre>"
        + _svg_chart(
            "Latency, command to its answer, each second",
            {
                "p50": series["latency_p50_ms"],
                "p99": series["latency_p99_ms"],
                "max": series["latency_max_ms"],
            },
            "ms",
        )
        + _svg_chart(
            "Server tick duration (rolling window)",
            {"p99": series["tick_p99_ms"], "max": series["tick_max_ms"]},
            "ms",
        )
        + _svg_chart("Server memory (RSS)", {"RSS": series["rss_mb"]}, "MB")
        + "<h2>Figures</h2><pre>"
        + html.escape(
            orjson.dumps(
                {k: v for k, v in report.as_dict().items() if k != "series"},
                option=orjson.OPT_INDENT_2,
            ).decode()
        )
        + "</pre></html>\n"
    )


# ------------------------------------------------------------------------------------- the CLI


async def run_bots(options: BotOptions, progress: IO[str] | None = None) -> Report:
    """Run the bots of ``options`` to the end and return the report."""
    options.check()
    run = BotRun(options, progress if progress is not None else sys.stderr)
    return await run.run()


async def main_async(
    options: BotOptions, *, as_json: bool, html_path: str | None, out: IO[str]
) -> int:
    report = await run_bots(options)
    if html_path:
        with open(html_path, "w", encoding="utf-8") as page:
            page.write(render_html(report))
    if as_json:
        out.write(orjson.dumps(report.as_dict(), option=orjson.OPT_INDENT_2).decode() + "\n")
    else:
        out.write(render_text(report) + "\n")
    everyone = options.n + options.stall
    return 0 if report.login["in_world"] == everyone and report.commands["lost"] == 0 else 1


def _default_url(config: Config) -> str:
    host = config.net.host
    if host in ("0.0.0.0", "::", ""):
        host = "127.0.0.1"
    return f"ws://{host}:{config.net.port}/"


def register(subparsers: Any) -> None:
    """The ``kadath.cli`` entry point: add ``kadath bots``."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "bots",
        help="load-test a server: N bots log in and type commands; report latency and the"
        " server's figures",
        description=(
            "Connect N bots to a Kadath server, register (or log in to) their accounts, and let"
            " each type commands at --rate for --duration seconds; then report what was sent and"
            " answered, the latency from each command to its answer (p50/p95/p99/max) and the"
            " server's tick and memory from /metrics. Exit status 0 when every bot got in and"
            " every command was answered, 1 otherwise, 2 for bad options. For many bots from one"
            " address, raise the server's login throttle (docs/configuration.md)."
        ),
    )
    parser.add_argument(
        "--url",
        default=None,
        help="the server's websocket (default: net.host and net.port of the configuration)",
    )
    parser.add_argument("--n", type=int, default=10, help=f"bots (1 to {MAX_BOTS}; default 10)")
    parser.add_argument(
        "--rate", type=float, default=1.0, help="commands a second per bot (default 1)"
    )
    parser.add_argument(
        "--duration",
        type=float,
        default=30.0,
        help=f"seconds of commands (at most {MAX_DURATION_S:g}; default 30)",
    )
    parser.add_argument(
        "--profile",
        choices=PROFILES,
        default="explorer",
        help="explorer: walks and looks; talker: says; crowd: all stay in the room they wake"
        " in and say; mixed: a bit of everything",
    )
    parser.add_argument(
        "--spread",
        action="store_true",
        help="first walk the bots to distinct rooms, by the map the server shows them",
    )
    parser.add_argument(
        "--active",
        type=int,
        default=None,
        help="only this many of the bots send commands; the rest stay connected",
    )
    parser.add_argument(
        "--prefix", default="Bot", help="account names are this and four letters (default Bot)"
    )
    parser.add_argument("--password", default="bots-are-people-too", help="the bots' password")
    parser.add_argument("--seed", type=int, default=0, help="seed of the bots' choices")
    parser.add_argument(
        "--no-batch",
        dest="batch",
        action="store_false",
        help="stay in protocol version 1 (one message a frame)",
    )
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.add_argument(
        "--html",
        metavar="FILE",
        default=None,
        help="also write the report as a self-contained page with charts",
    )
    parser.add_argument(
        "--command",
        dest="typed",
        metavar="LINE",
        default=None,
        help="type this line every time instead of the profile's commands (look, say hello): a"
        " look or a step is answered by a room, say and emote by the bot's own words",
    )
    parser.add_argument(
        "--stall",
        type=int,
        default=0,
        metavar="K",
        help="K more bots that stop reading once in the world but keep typing look: the"
        " server should cut them off (1008) without anyone else noticing",
    )
    parser.add_argument(
        "--stall-reading",
        action="store_true",
        help="the --stall bots keep reading after all: the control run, with the same work",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=0.0,
        metavar="S",
        help="seconds to wait once everyone is in before the commands start (default 0)",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument(
        "--server-pid",
        type=int,
        default=None,
        help="the server's process id, to read its memory and CPU from /proc (a server on this"
        " machine whose /metrics does not report them)",
    )
    parser.set_defaults(run=run)


def run(ns: argparse.Namespace, config: Config, out: IO[str] | None = None) -> int:
    options = BotOptions(
        url=ns.url or _default_url(config),
        n=ns.n,
        rate=ns.rate,
        duration_s=ns.duration,
        profile=ns.profile,
        spread=ns.spread,
        active=ns.active,
        prefix=ns.prefix,
        password=ns.password,
        seed=ns.seed,
        batch=ns.batch,
        progress=not ns.quiet and sys.stderr.isatty(),
        server_pid=ns.server_pid,
        command=ns.typed,
        stall=ns.stall,
        stall_reading=ns.stall_reading,
        settle_s=ns.settle,
    )
    try:
        options.check()
    except ValueError as bad:
        print(f"kadath bots: {bad}", file=sys.stderr)
        return 2
    try:
        return asyncio.run(
            main_async(options, as_json=ns.json, html_path=ns.html, out=out or sys.stdout)
        )
    except (OSError, InvalidHandshake) as failed:
        print(f"kadath bots: cannot reach {options.url}: {failed}", file=sys.stderr)
        return 2
