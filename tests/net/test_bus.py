"""The cluster bus against a real NATS server with JetStream (``nats-server -js``).

The server comes from ``NATS_TEST_URL`` (default nats://127.0.0.1:4222). Without nats-py or a
server that answers, these tests skip with the reason, unless ``REQUIRE_NATS_TESTS=1`` (CI), where
either fails them. Each test has a world of its own (a uuid), so its subjects and its hand-off
stream are its own; the stream is deleted afterwards. Nothing waits by sleeping: each wait is for a
message, with a timeout that only bounds a failure.
"""

from __future__ import annotations

import dataclasses
import os
import socket
import uuid
from collections.abc import Iterator
from typing import NoReturn

import pytest

from engine.config import ClusterConfig, ConfigError
from tests.net.harness import async_test
from tests.services import unavailable

try:
    from net import bus

    HAVE_NATS_PY = True
except ImportError:  # pragma: no cover - depends on the installed extras
    HAVE_NATS_PY = False

NATS_URL_ENV = "NATS_TEST_URL"
REQUIRE_NATS_ENV = "REQUIRE_NATS_TESTS"
DEFAULT_NATS_URL = "nats://127.0.0.1:4222"
TIMEOUT_S = 10.0
"""Bound on any wait for a message: reached only when something is broken."""
ACK_WAIT_S = 1.0
"""The hand-off ack wait in the redelivery tests: short, so a redelivery comes soon."""


def _missing(reason: str) -> NoReturn:
    unavailable(reason, REQUIRE_NATS_ENV)


def require_nats_py() -> None:
    if not HAVE_NATS_PY:
        _missing("nats-py is not installed: pip install -e '.[cluster]'")


async def _probe(settings: ClusterConfig) -> None:
    async with await bus.connect(settings, name="probe"):
        pass


@pytest.fixture
def cluster() -> Iterator[ClusterConfig]:
    """Settings for a world of this test's own on the test server, its stream deleted after."""
    require_nats_py()
    settings = ClusterConfig(
        nats_url=os.environ.get(NATS_URL_ENV, DEFAULT_NATS_URL),
        world=f"t{uuid.uuid4().hex[:12]}",
        connect_timeout_s=2.0,
        handoff_ack_wait_s=ACK_WAIT_S,
    )
    try:
        async_test(_probe)(settings)
    except bus.BusUnavailable as exc:
        _missing(f"no NATS server for the bus tests ({NATS_URL_ENV}): {exc}")
    yield settings

    async def delete_stream() -> None:
        async with await bus.connect(settings, name="cleanup") as b:
            await b.delete_handoff_stream()

    async_test(delete_stream)()


# --------------------------------------------------------------------------- subjects


def test_subjects_follow_the_documented_scheme() -> None:
    require_nats_py()
    subjects = bus.Subjects("dreamlands")
    assert subjects.shard_inputs("north") == "kadath.dreamlands.shard.north.inputs"
    assert subjects.gateway_events("gw-1") == "kadath.dreamlands.gateway.gw-1.events"
    assert subjects.handoff("north") == "kadath.dreamlands.handoff.north"
    assert subjects.handoffs == "kadath.dreamlands.handoff.*"


@pytest.mark.parametrize("name", ["", "a.b", "*", ">", "north east", "nörth"])
def test_a_name_that_could_address_another_subject_is_refused(name: str) -> None:
    require_nats_py()
    with pytest.raises(bus.BusError, match="one NATS subject token"):
        bus.Subjects("kadath").shard_inputs(name)
    with pytest.raises(bus.BusError, match="bad world name"):
        bus.Subjects(name)
    with pytest.raises(ConfigError, match=r"cluster\.world"):
        ClusterConfig(world=name)


def test_the_applied_record_forgets_the_oldest_ids_past_its_capacity() -> None:
    require_nats_py()
    record = bus.MemoryAppliedRecord(capacity=2)
    for handoff_id in ("h1", "h2", "h1", "h3"):  # h1 again: it becomes the newest
        record.add(handoff_id)
    assert ("h1" in record, "h2" in record, "h3" in record) == (True, False, True)
    assert len(record) == 2
    with pytest.raises(ValueError, match="at least 1"):
        bus.MemoryAppliedRecord(capacity=0)


# --------------------------------------------------------------------------- connecting


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@async_test
async def test_a_broker_that_is_down_gives_one_clear_error_naming_the_url() -> None:
    require_nats_py()
    port = _closed_port()
    settings = ClusterConfig(
        nats_url=f"nats://kadath:hunter2@127.0.0.1:{port}", connect_timeout_s=0.5
    )
    with pytest.raises(bus.BusUnavailable) as caught:
        await bus.connect(settings)
    message = str(caught.value)
    assert f"cannot reach NATS at nats://kadath:***@127.0.0.1:{port} within 0.5 s" in message
    assert "nats-server -js" in message
    assert "hunter2" not in message
    assert "\n" not in message


# --------------------------------------------------------------------------- plain messages


@async_test
async def test_an_input_published_by_a_gateway_reaches_the_shard_inbox(
    cluster: ClusterConfig,
) -> None:
    async with (
        await bus.connect(cluster, name="shard") as shard,
        await bus.connect(cluster, name="gateway") as gateway,
    ):
        inbox = await shard.subscribe(shard.subjects.shard_inputs("north"))
        elsewhere = await shard.subscribe(shard.subjects.shard_inputs("south"))
        await gateway.publish(gateway.subjects.shard_inputs("north"), b"look")
        received = await inbox.next(TIMEOUT_S)
        assert received == bus.Message(cluster_subject(cluster, "shard.north.inputs"), b"look")
        # Events go back the other way, on the gateway's own subject.
        events = await gateway.subscribe(gateway.subjects.gateway_events("gw-1"))
        await shard.publish(shard.subjects.gateway_events("gw-1"), b"You see a lamp.")
        assert (await events.next(TIMEOUT_S)).payload == b"You see a lamp."
        # Nothing was sent to the other shard: a message sent after the first would have come
        # after it, so once this marker arrives, nothing came before it.
        await gateway.publish(gateway.subjects.shard_inputs("south"), b"marker")
        assert (await elsewhere.next(TIMEOUT_S)).payload == b"marker"


def cluster_subject(cluster: ClusterConfig, rest: str) -> str:
    return f"kadath.{cluster.world}.{rest}"


@async_test
async def test_the_inputs_of_players_on_one_gateway_arrive_in_the_order_sent(
    cluster: ClusterConfig,
) -> None:
    count = 2000
    async with (
        await bus.connect(cluster, name="shard") as shard,
        await bus.connect(cluster, name="gateway") as gateway,
    ):
        inbox = await shard.subscribe(shard.subjects.shard_inputs("north"))
        subject = gateway.subjects.shard_inputs("north")
        sent = [f"{'ab'[i % 2]}:{i}".encode() for i in range(count)]  # two players, interleaved
        for payload in sent:
            await gateway.publish(subject, payload)
        await gateway.flush()
        received = [(await inbox.next(TIMEOUT_S)).payload for _ in range(count)]
    assert received == sent
    with pytest.raises(bus.BusTimeout, match=r"within 0\.1 s"):
        # Plain messages are not stored: a subscriber that comes later gets none of them (and
        # the error says how long it waited).
        async with await bus.connect(cluster, name="late") as late:
            await (await late.subscribe(subject)).next(0.1)


# --------------------------------------------------------------------------- hand-offs


class Applier:
    """A receiving shard's side effect, counted: what it applied, at which delivery, in order."""

    def __init__(self, fail_first: int = 0) -> None:
        self.applied: list[tuple[bytes, int]] = []
        self.fail_first = fail_first

    async def __call__(self, handoff: bus.HandOff) -> None:
        if self.fail_first:
            self.fail_first -= 1
            raise RuntimeError("the shard could not apply it")
        self.applied.append((handoff.payload, handoff.delivery))


@async_test
async def test_a_handoff_applied_and_acknowledged_is_delivered_once(
    cluster: ClusterConfig,
) -> None:
    async with (
        await bus.connect(cluster, name="west") as west,
        await bus.connect(cluster, name="north") as north,
    ):
        await west.ensure_handoff_stream()
        inbox = await north.handoff_inbox("north")
        assert await west.publish_handoff("north", "h-1", b"player 42 and his lamp")
        apply = Applier()
        assert await inbox.apply_next(apply, TIMEOUT_S)
        assert apply.applied == [(b"player 42 and his lamp", 1)]
        assert await north.handoffs_unacknowledged("north") == 0
        assert await north.handoffs_stored() == 1


@async_test
async def test_a_handoff_not_acknowledged_is_redelivered_and_applied_once(
    cluster: ClusterConfig,
) -> None:
    apply = Applier()
    record = bus.MemoryAppliedRecord(capacity=10)  # stands for the shard's durable record
    async with await bus.connect(cluster, name="west") as west:
        await west.ensure_handoff_stream()
        assert await west.publish_handoff("north", "h-7", b"an NPC")
        # The receiving shard applies it and records it, then dies before acknowledging.
        async with await bus.connect(cluster, name="north") as dying:
            first = await (await dying.handoff_inbox("north", record)).next(TIMEOUT_S)
            await apply(first)
            record.add(first.handoff_id)
        assert await west.handoffs_unacknowledged("north") == 1
        # Its next process gets it again once the ack wait is over, and does not apply it twice.
        async with await bus.connect(cluster, name="north") as restarted:
            inbox = await restarted.handoff_inbox("north", record)
            assert not await inbox.apply_next(apply, ACK_WAIT_S + TIMEOUT_S)
            assert await restarted.handoffs_unacknowledged("north") == 0
    assert apply.applied == [(b"an NPC", 1)]


@async_test
async def test_a_handoff_that_fails_to_apply_comes_back_and_is_applied_then(
    cluster: ClusterConfig,
) -> None:
    async with await bus.connect(cluster, name="north") as north:
        await north.ensure_handoff_stream()
        inbox = await north.handoff_inbox("north")
        await north.publish_handoff("north", "h-9", b"a thrown dagger")
        apply = Applier(fail_first=1)
        with pytest.raises(RuntimeError, match="could not apply"):
            await inbox.apply_next(apply, TIMEOUT_S)
        assert await north.handoffs_unacknowledged("north") == 1  # not lost
        assert await inbox.apply_next(apply, ACK_WAIT_S + TIMEOUT_S)
        assert apply.applied == [(b"a thrown dagger", 2)]
        assert await north.handoffs_unacknowledged("north") == 0


@async_test
async def test_a_handoff_published_twice_with_one_id_is_stored_and_delivered_once(
    cluster: ClusterConfig,
) -> None:
    async with await bus.connect(cluster, name="west") as west:
        await west.ensure_handoff_stream()
        inbox = await west.handoff_inbox("north")
        assert await west.publish_handoff("north", "h-3", b"player 5")
        assert not await west.publish_handoff("north", "h-3", b"player 5")  # a retry
        assert await west.publish_handoff("north", "h-4", b"player 6")
        assert await west.handoffs_stored() == 2
        apply = Applier()
        for _ in range(2):
            assert await inbox.apply_next(apply, TIMEOUT_S)
        assert apply.applied == [(b"player 5", 1), (b"player 6", 1)]
        assert await west.handoffs_unacknowledged("north") == 0


@async_test
async def test_the_handoff_stream_is_made_once_and_any_process_may_ask_again(
    cluster: ClusterConfig,
) -> None:
    async with await bus.connect(cluster, name="west") as west:
        await west.ensure_handoff_stream()
        await west.publish_handoff("north", "h-1", b"kept")
        await west.ensure_handoff_stream()
        assert await west.handoffs_stored() == 1
    wider = dataclasses.replace(cluster, handoff_duplicate_window_s=300.0)
    async with await bus.connect(wider, name="east") as east:
        await east.ensure_handoff_stream()  # other settings: the stream is updated, not emptied
        assert await east.handoffs_stored() == 1


@async_test
async def test_a_handoff_needs_an_id_and_a_stream(cluster: ClusterConfig) -> None:
    async with await bus.connect(cluster, name="west") as west:
        with pytest.raises(bus.BusError, match="needs an id"):
            await west.publish_handoff("north", "", b"x")
        with pytest.raises(bus.BusError, match="call ensure_handoff_stream"):
            await west.publish_handoff("north", "h-1", b"x")
