"""What shards tell each other on ``kadath.<world>.shards`` reads back as it was sent, and a
message that is not one of them is a clear ``WireError`` (the shard logs it and goes on)."""

from __future__ import annotations

import pytest

from engine.inputs import Relocate
from net.cluster_wire import Ask, Relay, Roster, WireError, decode_news, encode_news
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
