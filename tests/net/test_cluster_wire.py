"""What shards tell each other on ``kadath.<world>.shards`` reads back as it was sent, and a
message that is not one of them is a clear ``WireError`` (the shard logs it and goes on). What a
shard sends a gateway fits the broker's limit on a message, however many players it is for."""

from __future__ import annotations

import pytest

from engine.inputs import Relocate
from net.cluster_wire import (
    Ask,
    Deliver,
    OutboundItem,
    Relay,
    Roster,
    RosterAssembly,
    RosterPlayer,
    Route,
    WireError,
    decode_news,
    decode_outbound,
    encode_news,
    encode_outbound,
    encode_outbound_parts,
    roster_parts,
)
from net.protocol import prepare


@pytest.mark.parametrize(
    "news",
    [
        Roster(
            "a",
            (
                (7, "Pickman", "innsmouth", "Innsmouth", "innsmouth.green"),
                (9, "Ward", None, "", None),
            ),
        ),
        Relay("b", 7, prepare("msg", {"event": "tell"}, "Carter tells you, 'ia'", tick=4)),
        Relay("b", None, prepare("msg", {"event": "gossip"}, "Carter gossips, 'ia'", tick=4)),
        Ask("a", Relocate(7, "sanitarium.ward", "is pulled away", "is pulled in from elsewhere")),
    ],
)
def test_news_between_shards_reads_back_as_sent(news: Roster | Relay | Ask) -> None:
    assert decode_news(encode_news(news)) == news


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b'{"kind": "relocate", "shard": "a", "character": "seven"}',
        b'{"kind": "summon", "shard": "a"}',
        b'{"shard": "a"}',
    ],
)
def test_a_message_between_shards_this_version_cannot_read_is_a_wire_error(payload: bytes) -> None:
    with pytest.raises(WireError, match="bad message between shards"):
        decode_news(payload)


def _looks(conn: int, count: int, size: int) -> Deliver:
    return Deliver(
        conn,
        tuple(prepare("msg", {"n": n}, "x" * size, tick=n) for n in range(count)),
    )


def _delivered(payloads: list[bytes]) -> dict[int, list[bytes]]:
    """Each connection's message tails, in the order the payloads deliver them."""
    found: dict[int, list[bytes]] = {}
    for payload in payloads:
        for item in decode_outbound(payload).items:
            assert isinstance(item, Deliver)
            found.setdefault(item.conn, []).extend(m.tail for m in item.messages)
    return found


def test_a_batch_under_the_brokers_limit_is_one_message() -> None:
    items: list[OutboundItem] = [_looks(1, 3, 100), Route(2, 7)]
    assert encode_outbound_parts("a", items, 1 << 20) == [encode_outbound("a", items)]


def test_a_batch_over_the_brokers_limit_is_split_and_every_message_arrives_in_order() -> None:
    items = [_looks(conn, 20, 900) for conn in range(1, 40)]  # about 700 KB
    payloads = encode_outbound_parts("a", items, 64 * 1024)
    assert len(payloads) > 10
    assert all(len(payload) <= 64 * 1024 for payload in payloads)
    assert _delivered(payloads) == _delivered([encode_outbound("a", items)])


def test_one_players_delivery_over_the_limit_is_cut_between_messages_in_order() -> None:
    payloads = encode_outbound_parts("a", [_looks(5, 100, 1000)], 16 * 1024)
    assert len(payloads) >= 7 and all(len(payload) <= 16 * 1024 for payload in payloads)
    tails = _delivered(payloads)[5]
    assert tails == [m.tail for m in _looks(5, 100, 1000).messages]


def _players(count: int) -> list[RosterPlayer]:
    return [
        (n, f"Bot{n:05d}", "arkham", "Arkham", "arkham.miskatonic_university_library")
        for n in range(count)
    ]


def _rosters(payloads: list[bytes]) -> list[Roster]:
    found = [decode_news(payload) for payload in payloads]
    assert all(isinstance(news, Roster) for news in found)
    return [news for news in found if isinstance(news, Roster)]


def test_a_roster_that_fits_one_message_is_one_part() -> None:
    (payload,) = roster_parts("a", _players(3), "run.1", 1 << 20)
    roster = decode_news(payload)
    assert isinstance(roster, Roster) and (roster.part, roster.parts) == (0, 1)
    assert RosterAssembly().add(roster) == tuple(_players(3))


def test_a_roster_too_large_for_the_broker_comes_in_parts_and_is_put_back_together() -> None:
    players = _players(20_000)  # some 1.8 MB as one message
    payloads = roster_parts("a", players, "run.7", 1 << 20)
    assert len(payloads) > 1 and all(len(payload) <= 1 << 20 for payload in payloads)
    parts = _rosters(payloads)
    assembly = RosterAssembly()
    results = [assembly.add(part) for part in reversed(parts)]  # in any order
    assert results[:-1] == [None] * (len(parts) - 1)
    assert results[-1] == tuple(players)


def test_the_parts_of_an_older_listing_are_let_go_when_a_newer_one_begins() -> None:
    old = _rosters(roster_parts("a", _players(20_000), "run.1", 1 << 20))
    new = _rosters(roster_parts("a", _players(19_000), "run.2", 1 << 20))
    assembly = RosterAssembly()
    assert assembly.add(old[0]) is None
    assert [assembly.add(part) for part in new][-1] == tuple(_players(19_000))
    assert [assembly.add(part) for part in old[1:]][-1] is None  # never completed


def test_a_roster_part_out_of_its_range_is_a_wire_error() -> None:
    bad = b'{"kind": "roster", "shard": "a", "players": [], "listing": "x", "part": 2, "parts": 2}'
    with pytest.raises(WireError, match="bad message between shards"):
        decode_news(bad)
