"""The message bus between the processes of one sharded world: NATS subjects for shard inboxes and
gateway events, and a JetStream stream for hand-offs (stored, acknowledged, redelivered, stored
once per id). The network edge of a sharded world (net.shard, net.gateway); a single-process
server never imports it.

It never runs on the tick path (every call awaits the network), never interprets a payload (bytes
in, bytes out: the shard and the gateway own the encoding), and names no game component.

**Subjects** (all under ``kadath.<world>.``, so worlds can share one NATS server):

- ``kadath.<world>.shard.<name>.inputs``: a shard's inbox, everything the gateways forward to it;
- ``kadath.<world>.gateway.<id>.events``: what the shards send back to one gateway's players;
- ``kadath.<world>.handoff.<shard>``: hand-offs to one shard, in the JetStream stream;
- ``kadath.<world>.shards``: what every shard tells all the others (rosters, world-wide messages);
- ``kadath.<world>.alive.shard.<name>`` and ``kadath.<world>.alive.gateway.<id>``: heartbeats.

**Order.** NATS delivers the messages one connection publishes on one subject in the order they
were published, to each subscriber of that subject. A player's inputs therefore keep their order
because every player has exactly one publisher (the gateway holding the connection, which
publishes them from its one bus connection) and every shard has exactly one inbox subject. Order
between two publishers (two gateways) is not defined, and does not need to be: they hold other
players.

**Hand-offs** are at-least-once from the broker (JetStream stores each hand-off before
``publish_handoff`` returns, redelivers it until it is acknowledged, up to
``cluster.handoff_max_deliveries`` times, and stores a second publish of the same id once within
``cluster.handoff_duplicate_window_s``), and exactly-once in effect for the receiver
(``HandOffInbox.apply_next`` skips an id it has already applied). What the bus cannot give is
said in docs/scaling.md.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Protocol

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.aio.subscription import Subscription
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy, StreamConfig

from engine.config import ClusterConfig
from engine.config.settings import subject_token_problem
from engine.config.values import redact_url

log = logging.getLogger(__name__)

SUBJECT_ROOT: Final = "kadath"
MSG_ID_HEADER: Final = "Nats-Msg-Id"
"""JetStream's de-duplication header: a hand-off's id travels in it, so the broker stores a
retried publish once, and the receiver reads the id from the same place."""
START_HINT: Final = "start it with: nats-server -js"


class BusError(Exception):
    """The bus could not do what was asked; the message says what and how to fix it."""


class BusUnavailable(BusError):
    """No NATS server answered at the configured URL."""


class BusTimeout(BusError):
    """Nothing arrived, or NATS did not answer, within the time given."""


def _token(kind: str, value: str) -> str:
    problem = subject_token_problem(value)
    if problem is not None:
        raise BusError(f"bad {kind} name for a bus subject: {problem}")
    return value


@dataclass(frozen=True, slots=True)
class Subjects:
    """The subject scheme of one world (see the module's docstring); names are checked, so a
    name with a dot or a wildcard can never address another shard's subject."""

    world: str

    def __post_init__(self) -> None:
        _token("world", self.world)

    @property
    def prefix(self) -> str:
        return f"{SUBJECT_ROOT}.{self.world}"

    def shard_inputs(self, shard: str) -> str:
        """The inbox of shard ``shard``: the one subject its inputs arrive on, in order."""
        return f"{self.prefix}.shard.{_token('shard', shard)}.inputs"

    def gateway_events(self, gateway: str) -> str:
        """What the shards send to the players held by gateway ``gateway``."""
        return f"{self.prefix}.gateway.{_token('gateway', gateway)}.events"

    def handoff(self, shard: str) -> str:
        """Hand-offs to shard ``shard`` (stored in the world's hand-off stream)."""
        return f"{self.prefix}.handoff.{_token('shard', shard)}"

    @property
    def shards(self) -> str:
        """What one shard tells all the others: its players (for ``who`` and ``tell``),
        everyone's messages and messages for a player on another shard."""
        return f"{self.prefix}.shards"

    def shard_alive(self, shard: str) -> str:
        """Shard ``shard``'s heartbeat (:class:`net.cluster_wire.Alive`), every
        ``cluster.heartbeat_s``."""
        return f"{self.prefix}.alive.shard.{_token('shard', shard)}"

    @property
    def shards_alive(self) -> str:
        """Every shard's heartbeat: what a gateway listens to."""
        return f"{self.prefix}.alive.shard.*"

    def gateway_alive(self, gateway: str) -> str:
        """Gateway ``gateway``'s heartbeat, every ``cluster.heartbeat_s``."""
        return f"{self.prefix}.alive.gateway.{_token('gateway', gateway)}"

    @property
    def gateways_alive(self) -> str:
        """Every gateway's heartbeat: what a shard listens to."""
        return f"{self.prefix}.alive.gateway.*"

    @property
    def handoffs(self) -> str:
        """Every hand-off subject of the world: what the hand-off stream stores."""
        return f"{self.prefix}.handoff.*"


@dataclass(frozen=True, slots=True)
class Message:
    """One message as a subscriber gets it."""

    subject: str
    payload: bytes


class Inbox:
    """The messages of one subscription, taken one at a time, in the order NATS delivered them."""

    def __init__(self, subscription: Subscription) -> None:
        self._subscription = subscription

    async def next(self, timeout_s: float) -> Message:
        """The next message; ``BusTimeout`` if none comes within ``timeout_s``."""
        try:
            msg = await self._subscription.next_msg(timeout=timeout_s)
        except nats.errors.TimeoutError:
            raise BusTimeout(
                f"no message on {self._subscription.subject} within {timeout_s:g} s"
            ) from None
        return Message(msg.subject, msg.data)

    async def close(self) -> None:
        await self._subscription.unsubscribe()


class AppliedRecord(Protocol):
    """The receiver's record of hand-offs already applied. The one a shard uses must be written
    in the same transaction as the hand-off's effect (PostgreSQL), or a crash between the two
    applies it twice or never; ``MemoryAppliedRecord`` lasts as long as its process."""

    def __contains__(self, handoff_id: object) -> bool: ...

    def add(self, handoff_id: str) -> None: ...


class MemoryAppliedRecord:
    """The ids of the last ``capacity`` hand-offs applied by this process (the oldest forgotten
    first), so that memory stays bounded however long the process runs."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity must be at least 1, got {capacity}")
        self._capacity = capacity
        self._ids: OrderedDict[str, None] = OrderedDict()

    def __contains__(self, handoff_id: object) -> bool:
        return handoff_id in self._ids

    def __len__(self) -> int:
        return len(self._ids)

    def add(self, handoff_id: str) -> None:
        self._ids[handoff_id] = None
        self._ids.move_to_end(handoff_id)
        while len(self._ids) > self._capacity:
            self._ids.popitem(last=False)


@dataclass(frozen=True, slots=True)
class HandOff:
    """One delivery of a hand-off: its id, its payload, and how many times JetStream has
    delivered it (1 the first time)."""

    handoff_id: str
    payload: bytes
    delivery: int
    _msg: Msg

    async def ack(self) -> None:
        """Tell JetStream the hand-off is done with, and wait until it has taken note, so that
        it is never delivered again."""
        await self._msg.ack_sync()


class HandOffInbox:
    """The hand-offs to one shard: a durable JetStream consumer with explicit acknowledgement.

    Durable, so that a shard that restarts under the same name finds the hand-offs it had not
    acknowledged; explicit, so that a hand-off is done with only when the shard says so.
    """

    def __init__(self, subscription: JetStreamContext.PullSubscription, record: AppliedRecord):
        self._subscription = subscription
        self._record = record

    async def next(self, timeout_s: float) -> HandOff:
        """The next hand-off not yet acknowledged (a new one, or one whose acknowledgement
        did not come within ``cluster.handoff_ack_wait_s``); ``BusTimeout`` if none comes within
        ``timeout_s``."""
        try:
            (msg,) = await self._subscription.fetch(1, timeout=timeout_s)
        except nats.errors.TimeoutError:
            raise BusTimeout(f"no hand-off within {timeout_s:g} s") from None
        handoff_id = (msg.headers or {}).get(MSG_ID_HEADER)
        if not handoff_id:
            # Not a hand-off (published without an id): terminated, so it is never redelivered.
            await msg.term()
            raise BusError(f"a message on {msg.subject} carries no {MSG_ID_HEADER}; dropped")
        return HandOff(handoff_id, msg.data, msg.metadata.num_delivered, msg)

    async def apply_next(
        self, apply: Callable[[HandOff], Awaitable[None]], timeout_s: float
    ) -> bool:
        """Take the next hand-off and apply it once: True if ``apply`` ran, False if the record
        says it already had (a redelivery), in which case it is only acknowledged.

        The order is apply, record, acknowledge. If ``apply`` raises, nothing is recorded or
        acknowledged and the hand-off comes back after the ack wait; if the process dies after
        recording, the redelivery is acknowledged without being applied again.
        """
        handoff = await self.next(timeout_s)
        applied = handoff.handoff_id not in self._record
        if applied:
            await apply(handoff)
            self._record.add(handoff.handoff_id)
        await handoff.ack()
        return applied

    async def close(self) -> None:
        """Stop fetching; the durable consumer, and what it has not delivered, stay on the
        broker for the next process of this shard."""
        await self._subscription.unsubscribe()


async def connect(settings: ClusterConfig, *, name: str = "kadath") -> Bus:
    """A connection to the bus that ``settings`` describe; ``BusUnavailable`` naming the URL if
    no server answers within ``cluster.connect_timeout_s``. ``name`` shows in NATS's
    monitoring (``shard-north``, ``gateway-1``)."""
    shown = redact_url(settings.nats_url)
    failures: list[Exception] = []

    async def remember(error: Exception) -> None:
        failures.append(error)
        log.debug("bus %s: %s", shown, error)

    try:
        client = await asyncio.wait_for(
            nats.connect(
                settings.nats_url,
                name=name,
                error_cb=remember,
                connect_timeout=settings.connect_timeout_s,
                # After a first connection, a broker restart must not end the process: reconnect
                # for ever; outbound messages wait in the client's buffer meanwhile.
                max_reconnect_attempts=-1,
            ),
            timeout=settings.connect_timeout_s,
        )
    except (TimeoutError, OSError, nats.errors.Error) as exc:
        cause = failures[-1] if failures else exc
        raise BusUnavailable(
            f"cannot reach NATS at {shown} within {settings.connect_timeout_s:g} s"
            f" ({str(cause) or type(cause).__name__}); {START_HINT}"
        ) from exc
    return Bus(client, settings)


class Bus:
    """One process's connection to the bus: plain publish and subscribe on the world's subjects,
    and the JetStream hand-off stream. Make it with :func:`connect`; ``close`` when done."""

    def __init__(self, client: Client, settings: ClusterConfig) -> None:
        self._client = client
        self._settings = settings
        self._jetstream = client.jetstream(timeout=settings.request_timeout_s)
        self.subjects = Subjects(settings.world)

    async def close(self) -> None:
        """Send what is buffered (waiting at most ``cluster.request_timeout_s`` for the server to
        confirm it), then disconnect. Not a drain: draining a JetStream pull subscription waits
        out its whole drain timeout (30 s) for fetches that will never come."""
        if self._client.is_closed:
            return
        with contextlib.suppress(nats.errors.Error, TimeoutError, BusTimeout):
            await self.flush()
        with contextlib.suppress(nats.errors.Error, OSError, TimeoutError):  # the broker is gone
            await asyncio.wait_for(self._client.close(), self._settings.request_timeout_s)

    async def __aenter__(self) -> Bus:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- plain messages -----------------------------------------------------------------------

    @property
    def max_payload(self) -> int:
        """The largest message the broker takes, in bytes (its ``max_payload``: 1 MiB unless
        configured otherwise); a larger one is refused."""
        return int(self._client.max_payload)

    async def publish(self, subject: str, payload: bytes) -> None:
        """Send ``payload`` on ``subject``, at most once, to whoever is subscribed now. Messages
        this connection publishes on one subject arrive in the order they were published."""
        await self._client.publish(subject, payload)

    async def subscribe(self, subject: str) -> Inbox:
        """Subscribe to ``subject``; once this returns, the server knows of the subscription, so
        every message published after it is delivered."""
        subscription = await self._client.subscribe(subject)
        await self.flush()
        return Inbox(subscription)

    async def flush(self) -> None:
        """Wait until the server has every message published (and every subscription made) so
        far; ``BusTimeout`` if it does not answer within ``cluster.request_timeout_s``."""
        timeout_s = self._settings.request_timeout_s
        try:
            await asyncio.wait_for(self._client.flush(), timeout_s)
        except (TimeoutError, nats.errors.TimeoutError):
            raise BusTimeout(f"NATS did not answer a flush within {timeout_s:g} s") from None

    # --- hand-offs ----------------------------------------------------------------------------

    def _stream_config(self) -> StreamConfig:
        return StreamConfig(
            name=self._settings.handoff_stream_name,
            subjects=[self.subjects.handoffs],
            duplicate_window=self._settings.handoff_duplicate_window_s,
        )

    async def ensure_handoff_stream(self) -> None:
        """Create the world's hand-off stream, or bring an existing one to the configured
        settings: every process may call this at start-up, in any order."""
        config = self._stream_config()
        try:
            await self._jetstream.add_stream(config)
        except nats.js.errors.BadRequestError:
            # It exists with other settings (another duplicate window): make it match.
            try:
                await self._jetstream.update_stream(config)
            except nats.js.errors.APIError as exc:
                raise BusError(
                    f"cannot create or update the hand-off stream {config.name}: {exc}"
                ) from exc
        except nats.js.errors.ServiceUnavailableError as exc:
            raise BusError(
                f"NATS at {redact_url(self._settings.nats_url)} has no JetStream; {START_HINT}"
            ) from exc

    async def delete_handoff_stream(self) -> bool:
        """Delete the world's hand-off stream and everything in it (tests, and tearing a world
        down); False if there was none."""
        try:
            return await self._jetstream.delete_stream(self._settings.handoff_stream_name)
        except nats.js.errors.NotFoundError:
            return False

    async def publish_handoff(self, shard: str, handoff_id: str, payload: bytes) -> bool:
        """Store a hand-off for shard ``shard``; returns once JetStream has stored it. True if it
        was stored now, False if a hand-off with the same id already was (a retried publish,
        within ``cluster.handoff_duplicate_window_s``)."""
        if not handoff_id:
            raise BusError("a hand-off needs an id (it is how a retry is recognised)")
        try:
            ack = await self._jetstream.publish(
                self.subjects.handoff(shard), payload, headers={MSG_ID_HEADER: handoff_id}
            )
        except nats.errors.TimeoutError:
            raise BusTimeout(
                f"JetStream did not confirm hand-off {handoff_id} within"
                f" {self._settings.request_timeout_s:g} s; publish it again with the same id"
            ) from None
        except nats.js.errors.NoStreamResponseError:
            raise BusError(
                f"no stream stores {self.subjects.handoff(shard)}: call ensure_handoff_stream"
            ) from None
        return not ack.duplicate

    async def handoff_inbox(self, shard: str, record: AppliedRecord | None = None) -> HandOffInbox:
        """The hand-offs to shard ``shard``, through its durable consumer (made if new).
        ``record`` defaults to a ``MemoryAppliedRecord`` of ``cluster.handoff_applied_memory``."""
        subject = self.subjects.handoff(shard)
        subscription = await self._jetstream.pull_subscribe(
            subject,
            durable=f"handoff-{shard}",
            stream=self._settings.handoff_stream_name,
            config=ConsumerConfig(
                ack_policy=AckPolicy.EXPLICIT,
                ack_wait=self._settings.handoff_ack_wait_s,
                max_deliver=self._settings.handoff_max_deliveries,
                deliver_policy=DeliverPolicy.ALL,
            ),
        )
        if record is None:
            record = MemoryAppliedRecord(self._settings.handoff_applied_memory)
        return HandOffInbox(subscription, record)

    async def handoffs_stored(self) -> int:
        """How many hand-offs the stream holds (acknowledged or not; the stream keeps them until
        its limits say otherwise)."""
        info = await self._jetstream.stream_info(self._settings.handoff_stream_name)
        return info.state.messages

    async def handoffs_unacknowledged(self, shard: str) -> int:
        """Hand-offs to ``shard`` delivered or waiting, not yet acknowledged."""
        info = await self._jetstream.consumer_info(
            self._settings.handoff_stream_name, f"handoff-{shard}"
        )
        return int(info.num_ack_pending or 0) + int(info.num_pending or 0)
