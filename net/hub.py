"""The session hub: who is connected, which character each plays, and delivery of tick events.

The hub is the shell's memory between sockets and the world. It knows nothing of websockets: a
connection is a :class:`Link` that can queue a frame and close. It never changes the world itself:
a login, a dropped connection and a shutdown are inputs it submits to the engine
(:mod:`engine.inputs`), applied inside the next tick, and it learns what became of them from the
tick's events. It hands out resume tokens, and after every tick sends each event to the players
in its scope, as the plugin's presence rules say who that is. All of it runs on the event-loop
thread, between or right after ticks; nothing here blocks.
"""

from __future__ import annotations

import dataclasses
import logging
import secrets
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, cast

from engine.accounts import Account
from engine.commands import InboxFull
from engine.config import NetConfig
from engine.core import Engine, TickResult
from engine.events import Event, Scope, ScopeKind
from engine.inputs import (
    ARRIVED_EVENT,
    ASK_ELSEWHERE_EVENT,
    ENTERED_EVENT,
    HANDED_OFF_EVENT,
    LEFT_EVENT,
    Departure,
    DropConnection,
    EnterWorld,
    LeaveWorld,
    Relocate,
)
from engine.plugins import PresenceRules
from engine.stats import Metric, counter, gauge
from net.delivery import OutputBudget, Pending, Priority, lowest_kept, plan
from net.protocol import (
    BYE_REASONS,
    Prepared,
    ServerChannel,
    auth_error_message,
    auth_ok_message,
    batch_frame,
    bye_message,
    error_message,
    pong_message,
    prepare,
    protocol_message,
    welcome_message,
)
from net.ratelimit import TokenBucket
from net.render import RenderError, render_event

__all__ = ["CLOSE_NORMAL", "CLOSE_POLICY", "HUB_METRICS", "Hub", "HubStats", "Link", "Session"]

log = logging.getLogger("kadath.net")

#: WebSocket close codes the hub uses.
CLOSE_NORMAL = 1000
CLOSE_POLICY = 1008  # also used by the link itself for a client that stops reading

#: Event types that end a player's connection after they are delivered, with the bye reason.
_ENDING_EVENTS: Mapping[str, str] = {"quit": "quit", "kick": "kicked"}
#: The engine's presence events: the hub acts on them and never delivers them to a client.
_PRESENCE_EVENTS = frozenset(
    {ENTERED_EVENT, LEFT_EVENT, HANDED_OFF_EVENT, ARRIVED_EVENT, ASK_ELSEWHERE_EVENT}
)

#: Bytes of randomness in a resume token (URL-safe base64: 43 characters).
RESUME_TOKEN_BYTES = 32


class Link(Protocol):
    """One client connection as the hub sees it. ``send`` never blocks: it queues (``count`` is
    how many messages the frame holds: several in a batch), and a link whose client stops reading
    cuts itself off (and tells the hub through ``disconnect``). ``backlog`` is how many bytes wait
    to be written: 0 for a client that has read everything it was sent."""

    def send(self, frame: bytes, count: int = 1) -> None: ...

    def close(self, code: int, reason: str) -> None: ...

    def backlog(self) -> int: ...


@dataclass(eq=False, slots=True)
class Session:
    """One connection's state. ``character`` is set once logged in (a live entity id)."""

    link: Link
    address: str
    bucket: TokenBucket
    channel: ServerChannel = field(default_factory=ServerChannel)
    account: Account | None = None
    character: int | None = None
    last_active_s: float = 0.0
    last_status: Mapping[str, object] | None = None
    closing: bool = False
    held_lines: list[str] = field(default_factory=list)
    """Lines typed after login but before the character entered (at most ``command_burst``)."""
    sid: int | None = None
    """The stable id of the character played, while playing."""
    owed: list[Pending] = field(default_factory=list)
    """Messages owed this tick, sent together when the tick's delivery ends."""
    remote: bool = False
    """The connection is held by a gateway of a sharded world (``link`` is a
    :class:`RemoteLink`): its messages go out unstamped, and the gateway numbers them."""
    last_input: int = 0
    """The number of the last line a gateway forwarded for it (0 on a single server)."""


class RemoteLink(Link, Protocol):
    """A connection held by a gateway: it takes messages unstamped, so that their ``seq`` runs on
    across shards."""

    def deliver(self, messages: list[Prepared]) -> None: ...


@dataclass(frozen=True, slots=True)
class HubStats:
    """The hub at one moment: open connections (logged in or not), players in the world with a
    live connection, and players whose connection dropped, waiting out their grace period; then
    what it sent since start-up (messages, frames, bytes), what a loud room cost (lines dropped
    and merged into crowd lines), the output queued now against its budget, and the clients cut
    off for not reading."""

    connections: int
    players_online: int
    players_linkdead: int
    messages_sent: int = 0
    frames_sent: int = 0
    bytes_sent: int = 0
    lines_dropped: int = 0
    lines_merged: int = 0
    output_queued_bytes: int = 0
    output_peak_bytes: int = 0
    output_budget_bytes: int = 0
    clients_cut_off: int = 0

    def as_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


HUB_METRICS: tuple[Metric[HubStats], ...] = (
    gauge(
        "kadath_connections",
        "Open websocket connections, logged in or not.",
        lambda stats: stats.connections,
    ),
    gauge(
        "kadath_players_online",
        "Players in the world with a live connection.",
        lambda stats: stats.players_online,
    ),
    gauge(
        "kadath_players_linkdead",
        "Players whose connection dropped, kept in the world for their grace period.",
        lambda stats: stats.players_linkdead,
    ),
    counter(
        "kadath_messages_sent_total",
        "Server messages queued for clients (a batch of several counts each).",
        lambda stats: stats.messages_sent,
    ),
    counter(
        "kadath_frames_sent_total",
        "Websocket frames queued for clients (a batch is one).",
        lambda stats: stats.frames_sent,
    ),
    counter(
        "kadath_bytes_sent_total",
        "Bytes of frames queued for clients.",
        lambda stats: stats.bytes_sent,
    ),
    counter(
        "kadath_lines_dropped_total",
        "Ambient, speech or combat lines not sent to a listener with a backlog while the output"
        " budget was filling (never a player's own answers).",
        lambda stats: stats.lines_dropped,
    ),
    counter(
        "kadath_lines_merged_total",
        "Ambient lines merged into crowd lines ('12 people arrive.').",
        lambda stats: stats.lines_merged,
    ),
    gauge(
        "kadath_output_queued_bytes",
        "Bytes queued for all clients, not yet written to their sockets.",
        lambda stats: stats.output_queued_bytes,
    ),
    gauge(
        "kadath_output_budget_bytes",
        "The budget for queued output (net.output_budget_bytes).",
        lambda stats: stats.output_budget_bytes,
    ),
    counter(
        "kadath_clients_cut_off_total",
        "Clients cut off (1008) for not reading what they were sent.",
        lambda stats: stats.clients_cut_off,
    ),
)
"""What /metrics shows of the sessions."""


class Hub:
    """All sessions of one server. ``clock`` is the world's simulated seconds by default, so grace
    periods and idle timeouts are deterministic under test; a running server's simulated time
    follows real time."""

    metrics = HUB_METRICS

    def __init__(
        self,
        engine: Engine,
        config: NetConfig,
        *,
        server_name: str = "Kadath",
        version: str = "0",
        token_factory: Callable[[Account], str] = lambda account: secrets.token_urlsafe(
            RESUME_TOKEN_BYTES
        ),
    ) -> None:
        presence = engine.registry.presence
        if presence is None:
            raise RuntimeError("no plugin provides presence rules: the network shell needs them")
        self.engine = engine
        self.world = engine.world
        self.config = config
        self.presence: PresenceRules = presence
        self.renderers = engine.registry.renderers
        self.server_name = server_name
        self.version = version
        self._new_token = token_factory
        self.sessions: set[Session] = set()
        self.playing: dict[int, Session] = {}
        self.linkdead: dict[int, float] = {}  # character -> simulated second its grace ends
        self.accounts: dict[int, Account] = {}  # character -> account, while playing or link-dead
        #: Sessions whose character enters the world at the next tick, by account name (folded).
        self.entering: dict[str, Session] = {}
        #: Characters made this run, by account name (folded), until the account store has them.
        self._made: dict[str, int] = {}
        #: Called with an account that was given a character, for the shell to store (off the loop).
        self.on_character_made: Callable[[Account], None] = lambda account: None
        #: Called when the border rule took a character or thing out of this world for another
        #: shard, with the session and account of the character's player (None when it has no
        #: connection here): a shard's shell sends them on. Never called on a single server.
        self.on_handed_off: Callable[[Departure, Session | None, Account | None], None] = (
            lambda departure, session, account: None
        )
        #: Called with the entity and data of an arrival from another shard.
        self.on_arrived: Callable[[int, Mapping[str, Any]], None] = lambda entity, data: None
        #: Called with an input a rule wants applied by the shard that holds its character
        #: (:data:`engine.inputs.ASK_ELSEWHERE_EVENT`); nothing does it on a single server.
        self.on_ask_elsewhere: Callable[[Relocate], None] = lambda request: None
        #: A shard's hub also hands everyone's messages, and messages for players not here, to
        #: ``on_elsewhere`` (rendered once), for the shell to send to the other shards.
        self.shares_events = False
        self.on_elsewhere: Callable[[Scope, Prepared], None] = lambda scope, prepared: None
        self._token_of: dict[int, str] = {}
        self._character_of_token: dict[str, int] = {}
        self._status_types = frozenset(presence.status_components())
        #: All output queued for clients; the links keep it up to date.
        self.budget = OutputBudget(config.output_budget_bytes)
        self._ambient = frozenset(config.ambient_events)
        self._collecting = False  # inside after_tick: messages wait in Session.owed
        self._owing: list[Session] = []
        self._messages_sent = 0
        self._frames_sent = 0
        self._bytes_sent = 0
        self._lines_dropped = 0
        self._lines_merged = 0

    # ------------------------------------------------------------------ time

    @property
    def now_s(self) -> float:
        return self.world.clock.seconds

    # ----------------------------------------------------------- connections

    def connect(self, link: Link, address: str) -> Session:
        """A new connection: greet it. It must log in before it can play."""
        session = Session(
            link,
            address,
            TokenBucket(self.config.commands_per_s, self.config.command_burst),
            last_active_s=self.now_s,
        )
        self.sessions.add(session)
        self._send(
            session,
            welcome_message(
                self.server_name,
                self.version,
                tick=self.world.clock.tick,
                frame_bytes=self.config.max_frame_bytes,
            ),
        )
        return session

    def disconnect(self, session: Session) -> None:
        """The connection is gone. A playing character stays in the world, link-dead, for the
        grace period (a rule of the tick, told by a ``DropConnection``); a ``resume`` with its
        token within it takes the body back."""
        self.sessions.discard(session)
        if session.account is not None and self.entering.get(_key(session.account)) is session:
            del self.entering[_key(session.account)]  # its character, entering, will be dropped
        character = session.character
        session.character = None
        session.sid = None
        if character is None or self.playing.get(character) is not session:
            return
        del self.playing[character]
        grace = self.config.linkdead_grace_s
        if grace > 0:
            self.linkdead[character] = self.now_s + grace
            log.info("%s is link-dead (grace %.0f s)", self._name(character), grace)
        self._submit_drop(character)

    def _submit_drop(self, character: int) -> None:
        sid = self.world.stable_id(character)
        if sid is not None:
            self.engine.submit(DropConnection(sid, self.config.linkdead_grace_s))

    # ------------------------------------------------------------------ sends

    def _send(self, session: Session, prepared: Prepared) -> None:
        """Send ``session`` a message of its own: at once, or with the tick's delivery if one is
        under way (so that everything a tick owes a player goes out in order, in one batch)."""
        if session.closing:
            return
        if self._collecting:
            self._owe(session, Pending(prepared, Priority.OWN))
        else:
            self._transmit(session, [prepared])

    def _owe(self, session: Session, pending: Pending) -> None:
        if not session.owed:
            self._owing.append(session)
        session.owed.append(pending)

    def _transmit(self, session: Session, messages: list[Prepared]) -> None:
        """Number ``messages`` for ``session`` and queue them: one frame for a client that
        batches (protocol version 2), one frame each otherwise."""
        if not messages:
            return
        channel, link = session.channel, session.link
        if session.remote:
            self._messages_sent += len(messages)
            cast(RemoteLink, link).deliver(messages)
            return
        frames = [channel.stamp(prepared) for prepared in messages]
        self._messages_sent += len(frames)
        if len(frames) > 1 and channel.batching:
            frame = batch_frame(frames)
            self._frames_sent += 1
            self._bytes_sent += len(frame)
            link.send(frame, len(frames))
            return
        self._frames_sent += len(frames)
        for frame in frames:
            self._bytes_sent += len(frame)
            link.send(frame)

    def _settle(self) -> None:
        """The tick's delivery is over: send each player what it owes them, as the budget and
        their backlog allow (``net.delivery.plan``)."""
        owing, self._owing = self._owing, []
        fill = self.budget.fill
        crowd_lines = self.config.crowd_lines_per_tick
        tick = self.world.clock.tick
        crowd_cache: dict[tuple[str, int], Prepared] = {}
        for session in owing:
            owed, session.owed = session.owed, []
            if session.closing:
                continue
            keep = lowest_kept(fill, session.link.backlog() > 0)
            result = plan(
                owed,
                listener=session.sid,
                keep=keep,
                crowd_lines=crowd_lines,
                tick=tick,
                crowd_cache=crowd_cache,
            )
            self._lines_dropped += result.dropped
            self._lines_merged += result.merged
            self._transmit(session, result.send)

    def _settle_one(self, session: Session) -> None:
        """Send what the tick owes ``session`` now (before it is closed)."""
        if session.owed:
            self._owing.remove(session)
            owed, session.owed = session.owed, []
            self._transmit(session, [item.prepared for item in owed])

    def send(
        self, session: Session, type_: str, data: Mapping[str, Any] | None = None, text: str = ""
    ) -> None:
        self._send(session, prepare(type_, data, text, tick=self.world.clock.tick))

    def error(self, session: Session, code: str, message: str, **extra: Any) -> None:
        self._send(session, error_message(code, message, tick=self.world.clock.tick, **extra))

    def auth_error(self, session: Session, code: str, message: str) -> None:
        self._send(session, auth_error_message(code, message, tick=self.world.clock.tick))

    def pong(self, session: Session) -> None:
        self._send(session, pong_message(tick=self.world.clock.tick))

    def use_protocol(self, session: Session, version: int) -> None:
        """The client asked for protocol ``version`` (one the server speaks): answer in the old
        version, then speak the new one."""
        self._send(session, protocol_message(version, tick=self.world.clock.tick))
        session.channel.version = version

    def say_goodbye(
        self, session: Session, reason: str, code: int = CLOSE_NORMAL, text: str = ""
    ) -> None:
        """Send ``bye`` and close; the hub forgets the session when the link reports it gone."""
        if session.closing:
            return
        self._send(session, bye_message(reason, tick=self.world.clock.tick, text=text))
        self._settle_one(session)
        session.closing = True
        session.link.close(code, reason)

    # ---------------------------------------------------------------- logins

    def login(self, session: Session, account: Account) -> None:
        """An authenticated session asks to play its account's character.

        A character already in the world with the hub (played from another connection, or
        link-dead) is taken over or taken back at once. Any other enters the world in the next
        tick (made first if the account has none): the session waits, and is attached when the
        tick says the character entered (``ENTERED_EVENT``). Either way the world's part is an
        ``EnterWorld`` input, so that a journal replays it.
        """
        session.account = account
        key = _key(account)
        sid = account.character_sid if account.character_sid is not None else self._made.get(key)
        character = self.world.entity_of(sid) if sid is not None else None
        if character is not None and (character in self.playing or character in self.linkdead):
            self._attach(session, account, character)
        else:
            waiting = self.entering.get(key)
            if waiting is not None and waiting is not session:
                self.say_goodbye(waiting, "takeover")
            self.entering[key] = session
        self.engine.submit(EnterWorld(account.name, sid))

    def _attach(self, session: Session, account: Account, character: int) -> None:
        """Make ``session`` the one playing ``character`` (already in the world), with a new
        resume token; a connection that played it before is told goodbye (takeover)."""
        previous = self.playing.get(character)
        if previous is not None and previous is not session:
            previous.character = None
            self.say_goodbye(previous, "takeover")
        resumed = self.linkdead.pop(character, None) is not None
        session.account = account
        session.character = character
        session.sid = self.world.stable_id(character)
        self.playing[character] = session
        self.accounts[character] = account
        old_token = self._token_of.pop(character, None)
        if old_token is not None:
            self._character_of_token.pop(old_token, None)
        token = self._new_token(account)
        self._token_of[character] = token
        self._character_of_token[token] = character
        sid = session.sid
        assert sid is not None  # player characters are persistent
        self._send(
            session,
            auth_ok_message(account.name, sid, token, tick=self.world.clock.tick, resumed=resumed),
        )
        self._send_status(session, force=True)
        held, session.held_lines = session.held_lines, []
        for line in held:
            try:
                self.engine.submit_line(character, line, role=account.role)
            except InboxFull:
                self.error(session, "throttled", "The server is very busy; try again in a moment.")
                break
        log.info(
            "%s logged in from %s%s",
            account.name,
            session.address,
            " (resumed)" if resumed else (" (took over)" if previous else ""),
        )

    def hold_line(self, session: Session, line: str) -> None:
        """Keep a line typed while the session's character is entering; sent once it is in."""
        if len(session.held_lines) >= self.config.command_burst:
            self.error(session, "rate_limited", "Wait until you are in the world.")
            return
        session.held_lines.append(line)

    def resume(self, session: Session, token: str) -> bool:
        """Take back a link-dead (or still-connected) character by its token."""
        character = self._character_of_token.get(token)
        if character is None or (character not in self.linkdead and character not in self.playing):
            return False
        self.login(session, self.accounts[character])
        return True

    def _entered(self, event: Event) -> None:
        """The tick brought a waiting session's character into the world: attach the session.
        If the session is gone meanwhile, the character drops at once, as any connection would."""
        character, data = event.scope.target, event.data
        if not isinstance(character, int):
            return
        name, sid = str(data.get("account", "")), data.get("character")
        key = name.casefold()
        session = self.entering.pop(key, None)
        if session is None or session.closing or session not in self.sessions:
            if character not in self.playing and character not in self.linkdead:
                self._submit_drop(character)
            return
        account = session.account
        assert account is not None
        if isinstance(sid, int) and account.character_sid != sid:
            account = dataclasses.replace(account, character_sid=sid)
            self._made[key] = sid
            self.on_character_made(account)
        self._attach(session, account, character)

    # -------------------------------------------------------------- the tick

    def after_tick(self, result: TickResult) -> None:
        """Deliver the tick's events, send changed statuses, close idle connections.

        Every message the tick owes a player waits in its session until the end, then goes out
        at once (one frame for a client that batches), as the output budget allows."""
        self._collecting = True
        try:
            self._after_tick(result)
        finally:
            self._collecting = False
            self._settle()

    def _after_tick(self, result: TickResult) -> None:
        for event in result.events:
            if event.type in _PRESENCE_EVENTS:
                self._presence_event(event)
            else:
                self._deliver(event)
        changes = result.changes
        changed = {
            sid
            for sid, ctype in (*changes.changed, *changes.added, *changes.deleted)
            if ctype in self._status_types
        }
        for sid in changed:
            entity = self.world.entity_of(sid)
            session = self.playing.get(entity) if entity is not None else None
            if session is not None:
                self._send_status(session)
        idle_before = self.now_s - self.config.idle_timeout_s
        for session in list(self.sessions):
            if session.last_active_s < idle_before and not session.closing:
                self.say_goodbye(session, "idle")

    def _presence_event(self, event: Event) -> None:
        if event.type == ENTERED_EVENT:
            self._entered(event)
        elif event.type == HANDED_OFF_EVENT:
            self._handed_off(event)
        elif event.type == ARRIVED_EVENT:
            if isinstance(event.scope.target, int):
                self.on_arrived(event.scope.target, event.data)
        elif event.type == ASK_ELSEWHERE_EVENT:
            request = event.data.get("input")
            if isinstance(request, Relocate):
                self.on_ask_elsewhere(request)
        elif isinstance(event.scope.target, int):  # LEFT_EVENT: out of the world, session or not
            character = event.scope.target
            name = self._name(character)
            session = self.playing.pop(character, None)
            self._forget(character)
            reason = str(event.data.get("reason", ""))
            if session is not None:
                session.character = None
                self.say_goodbye(session, reason if reason in BYE_REASONS else "shutdown")
            log.info("%s left the world (%s)", name, reason)

    def _handed_off(self, event: Event) -> None:
        """A character (or a thing) went to another shard: its session, if any, goes with it,
        without a goodbye; what this tick owed it is still sent."""
        departure = event.data.get("departure")
        character = event.scope.target
        if not isinstance(departure, Departure) or not isinstance(character, int):
            return
        session = self.playing.pop(character, None)
        account = self.accounts.get(character)
        self._forget(character)
        if session is not None:
            session.character = None
            session.sid = None
            self.sessions.discard(session)
        self.on_handed_off(departure, session, account)

    def adopt(self, link: Link, address: str) -> Session:
        """A connection a gateway holds: no welcome (the gateway said it), and its messages go
        unstamped (see :class:`Session`)."""
        session = Session(
            link,
            address,
            TokenBucket(self.config.commands_per_s, self.config.command_burst),
            last_active_s=self.now_s,
            remote=True,
        )
        self.sessions.add(session)
        return session

    def take_in(self, session: Session, account: Account, character: int) -> None:
        """A player whose character arrived from another shard: play on, with no new greeting
        (its client never noticed the border), its status sent afresh."""
        session.account = account
        session.character = character
        session.sid = self.world.stable_id(character)
        self.playing[character] = session
        self.accounts[character] = account
        token = self._new_token(account)
        self._token_of[character] = token
        self._character_of_token[token] = character
        self._send_status(session, force=True)

    def _deliver(self, event: Event) -> None:
        audience = self._audience(event)
        forward = self._forwarded(event, audience)
        if audience or forward:
            try:
                type_, data, text = render_event(event, self.renderers)
                prepared = prepare(type_, data, text, tick=event.tick)
            except (RenderError, TypeError, ValueError):
                log.exception("event %r could not be rendered; dropped", event.type)
                return
            if forward:
                self.on_elsewhere(event.scope, prepared)
            if event.scope.kind in (ScopeKind.ENTITY, ScopeKind.PLAYER):
                pending = Pending(prepared, Priority.OWN)
            else:
                ambient = event.type in self._ambient
                about = tuple(
                    value
                    for key in ("id", "from_id")
                    if isinstance(value := data.get(key), int) and not isinstance(value, bool)
                )
                pending = Pending(
                    prepared, Priority.AMBIENT if ambient else Priority.SPEECH, event.type, about
                )
            owe = self._owe
            for session in audience:
                owe(session, pending)
        reason = _ENDING_EVENTS.get(event.type)
        if reason is not None and event.scope.kind is ScopeKind.ENTITY:
            self._end(event.scope.target, reason)

    def _forwarded(self, event: Event, audience: list[Session]) -> bool:
        """Whether the event is also for players of other shards: everyone's, or a player's who
        is not here. Never on a single server (nobody listens to ``on_elsewhere``)."""
        if not self.shares_events:
            return False
        kind = event.scope.kind
        return kind is ScopeKind.ALL or (kind is ScopeKind.PLAYER and not audience)

    def _audience(self, event: Event) -> list[Session]:
        scope = event.scope
        playing = self.playing
        if scope.kind is ScopeKind.ENTITY:
            session = playing.get(scope.target) if isinstance(scope.target, int) else None
            found: Iterable[Session | None] = (session,)
        elif scope.kind is ScopeKind.PLAYER:
            entity = self.world.entity_of(scope.target) if isinstance(scope.target, int) else None
            found = (playing.get(entity) if entity is not None else None,)
        elif scope.kind is ScopeKind.ALL:
            found = playing.values()
        else:  # a room, a zone: who is there is a rule of the game
            found = [playing.get(entity) for entity in self.presence.audience(self.world, scope)]
        excluded = event.exclude
        return [
            s for s in found if s is not None and not s.closing and (s.character not in excluded)
        ]

    def deliver_from_elsewhere(self, scope: Scope, prepared: Prepared) -> None:
        """A message another shard rendered for this shard's players: everyone's, or one
        player's (if that player is here)."""
        if scope.kind is ScopeKind.ALL:
            sessions: Iterable[Session] = list(self.playing.values())
        else:
            entity = self.world.entity_of(scope.target) if isinstance(scope.target, int) else None
            session = self.playing.get(entity) if entity is not None else None
            sessions = (session,) if session is not None else ()
        for session in sessions:
            self._send(session, prepared)

    def _send_status(self, session: Session, *, force: bool = False) -> None:
        if session.character is None:
            return
        status = dict(self.presence.status(self.world, session.character))
        if force or status != session.last_status:
            session.last_status = status
            self.send(session, "status", status, _status_text(status))

    def _end(self, character: object, reason: str) -> None:
        """A rule ended this character's play (quit, kick): say goodbye, forget the token."""
        if not isinstance(character, int):
            return
        session = self.playing.pop(character, None)
        self._forget(character)
        if session is not None:
            session.character = None
            self.say_goodbye(session, reason)

    def _forget(self, character: int) -> None:
        token = self._token_of.pop(character, None)
        if token is not None:
            self._character_of_token.pop(token, None)
        self.accounts.pop(character, None)
        self.linkdead.pop(character, None)

    def _name(self, character: int) -> str:
        account = self.accounts.get(character)
        return account.name if account is not None else f"entity {character}"

    # -------------------------------------------------------------- shutdown

    def shutdown(self) -> None:
        """Say goodbye to everyone, and ask the next tick (the server's last) to take every
        character out of the world, saved."""
        for session in list(self.sessions):
            self.say_goodbye(session, "shutdown")
        for character in [*self.playing, *self.linkdead]:
            sid = self.world.stable_id(character)
            if sid is not None:
                self.engine.submit(LeaveWorld(sid, "shutdown"))
            self._forget(character)
        self.playing.clear()
        self.entering.clear()

    def stats(self) -> HubStats:
        """Who is connected now, for the statistics table, admins and /metrics."""
        budget = self.budget
        return HubStats(
            len(self.sessions),
            len(self.playing),
            len(self.linkdead),
            messages_sent=self._messages_sent,
            frames_sent=self._frames_sent,
            bytes_sent=self._bytes_sent,
            lines_dropped=self._lines_dropped,
            lines_merged=self._lines_merged,
            output_queued_bytes=budget.queued_bytes,
            output_peak_bytes=budget.peak_bytes,
            output_budget_bytes=budget.limit_bytes,
            clients_cut_off=budget.clients_cut_off,
        )


def _key(account: Account) -> str:
    return account.name.casefold()


def _status_text(status: Mapping[str, object]) -> str:
    parts = []
    if status.get("dp") is not None:
        parts.append(f"DP {status['dp']}/{status['max_dp']}")
    if status.get("lucidity") is not None:
        tier = f" ({status['tier']})" if status.get("tier") else ""
        parts.append(f"Lucidity {status['lucidity']}{tier}")
    if status.get("posture"):
        parts.append(str(status["posture"]))
    if status.get("state"):
        parts.append(str(status["state"]).replace("_", " "))
    return " | ".join(parts)
