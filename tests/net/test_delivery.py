"""A loud room's rules, without a network: which lines a listener keeps, which are merged into
crowd lines and which are dropped as the output budget fills; a player's own answers never are.

``net.delivery`` is driven with prepared messages and plain numbers.
"""

from __future__ import annotations

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from net.delivery import (
    AMBIENT_FROM,
    SPEECH_FROM,
    OutputBudget,
    Pending,
    Priority,
    crowd_line,
    lowest_kept,
    plan,
)
from net.protocol import Prepared, ServerChannel, parse_server_frame, prepare

LISTENER = 42


def line(kind: str, priority: Priority, n: int = 0, about: tuple[int, ...] = ()) -> Pending:
    return Pending(
        prepare("msg", {"event": kind, "n": n}, f"{kind} {n}", tick=1), priority, kind, about
    )


def texts(sent: list[Prepared]) -> list[str]:
    return [parse_server_frame(ServerChannel().stamp(p)).text for p in sent]


def planned(pending: list[Pending], keep: Priority = Priority.AMBIENT, crowd: int = 5) -> list[str]:
    return texts(plan(pending, listener=LISTENER, keep=keep, crowd_lines=crowd, tick=1).send)


def test_a_quiet_tick_is_sent_as_it_came() -> None:
    pending = [
        line("look", Priority.OWN),
        line("arrive", Priority.AMBIENT, 1),
        line("say", Priority.SPEECH),
        line("leave", Priority.AMBIENT, 2),
    ]
    assert planned(pending) == ["look 0", "arrive 1", "say 0", "leave 2"]


def test_many_ambient_lines_of_one_kind_become_one_line_in_place_of_the_first() -> None:
    pending = [
        line("say", Priority.SPEECH, 0),
        *(line("arrive", Priority.AMBIENT, n) for n in range(12)),
        line("leave", Priority.AMBIENT, 1),
        line("look", Priority.OWN),
    ]
    result = plan(pending, listener=LISTENER, keep=Priority.AMBIENT, crowd_lines=5, tick=7)
    assert texts(result.send) == ["say 0", "12 people arrive.", "leave 1", "look 0"]
    assert (result.merged, result.dropped) == (12, 0)
    crowd = parse_server_frame(ServerChannel().stamp(result.send[1]))
    assert (crowd.type, crowd.tick) == ("msg", 7)
    assert crowd.data == {"event": "arrive", "count": 12, "crowd": True}


def test_exactly_the_crowd_limit_is_not_merged() -> None:
    pending = [line("arrive", Priority.AMBIENT, n) for n in range(5)]
    assert planned(pending, crowd=5) == [f"arrive {n}" for n in range(5)]


def test_speech_and_own_lines_are_never_merged() -> None:
    pending = [line("say", Priority.SPEECH, n) for n in range(20)]
    pending += [line("look", Priority.OWN, n) for n in range(20)]
    assert len(planned(pending, crowd=1)) == 40


def test_a_rooms_line_about_the_listener_counts_as_their_own() -> None:
    """Their own emote, seen through the room: never merged, never dropped."""
    pending = [line("emote", Priority.AMBIENT, n) for n in range(9)]
    pending.append(line("emote", Priority.AMBIENT, 99, about=(LISTENER,)))
    assert planned(pending, crowd=3) == ["9 people gesture and mutter at once.", "emote 99"]
    assert planned(pending, keep=Priority.OWN) == ["emote 99"]


@pytest.mark.parametrize(
    ("keep", "kept"),
    [
        (Priority.AMBIENT, ["look 0", "arrive 1", "say 2", "error 3"]),
        (Priority.SPEECH, ["look 0", "say 2", "error 3"]),
        (Priority.OWN, ["look 0", "error 3"]),
    ],
)
def test_lines_below_what_is_kept_are_dropped_but_never_own_answers(
    keep: Priority, kept: list[str]
) -> None:
    pending = [
        line("look", Priority.OWN, 0),
        line("arrive", Priority.AMBIENT, 1),
        line("say", Priority.SPEECH, 2),
        line("error", Priority.OWN, 3),
    ]
    result = plan(pending, listener=LISTENER, keep=keep, crowd_lines=5, tick=1)
    assert texts(result.send) == kept
    assert result.dropped == 4 - len(kept)


@given(
    st.lists(
        st.tuples(st.sampled_from(list(Priority)), st.sampled_from(["arrive", "say", "look"])),
        max_size=60,
    ),
    st.sampled_from(list(Priority)),
    st.integers(1, 8),
)
def test_every_own_answer_is_sent_in_order_whatever_the_pressure(
    items: list[tuple[Priority, str]], keep: Priority, crowd: int
) -> None:
    pending = [line(kind, priority, n) for n, (priority, kind) in enumerate(items)]
    result = plan(pending, listener=LISTENER, keep=keep, crowd_lines=crowd, tick=1)
    sent = texts(result.send)
    own = [f"{p.kind} {n}" for n, p in enumerate(pending) if p.priority is Priority.OWN]
    assert [t for t in sent if t in own] == own
    assert len(sent) + result.dropped + result.merged - _crowd_lines(sent) == len(pending)


def _crowd_lines(sent: list[str]) -> int:
    return sum(1 for t in sent if "people" in t or "at once" in t)


def test_listeners_of_one_room_share_each_crowd_line() -> None:
    cache: dict[tuple[str, int], Prepared] = {}
    pending = [line("arrive", Priority.AMBIENT, n) for n in range(8)]
    first = plan(
        pending, listener=1, keep=Priority.AMBIENT, crowd_lines=2, tick=3, crowd_cache=cache
    )
    second = plan(
        pending, listener=2, keep=Priority.AMBIENT, crowd_lines=2, tick=3, crowd_cache=cache
    )
    assert first.send[0] is second.send[0]
    assert first.send[0] == crowd_line("arrive", 8, 3)


def test_a_listener_who_read_everything_gets_every_line_whatever_the_budget() -> None:
    assert lowest_kept(5.0, backlog=False) is Priority.AMBIENT


def test_a_listener_with_a_backlog_loses_ambient_lines_then_speech_as_the_budget_fills() -> None:
    assert lowest_kept(AMBIENT_FROM - 0.01, backlog=True) is Priority.AMBIENT
    assert lowest_kept(AMBIENT_FROM, backlog=True) is Priority.SPEECH
    assert lowest_kept(SPEECH_FROM, backlog=True) is Priority.OWN


def test_the_budget_counts_what_is_queued_and_its_peak() -> None:
    budget = OutputBudget(1000)
    budget.add(600)
    budget.add(500)
    assert (budget.queued_bytes, budget.fill, budget.spent) == (1100, 1.1, True)
    budget.remove(1100)
    assert (budget.queued_bytes, budget.peak_bytes, budget.spent) == (0, 1100, False)


def test_crowd_lines_are_valid_server_messages() -> None:
    for kind in ("arrive", "leave", "emote", "posture", "shriek"):
        message = parse_server_frame(ServerChannel().stamp(crowd_line(kind, 3, 9)))
        assert message.data["count"] == 3
        assert "3" in message.text
        assert orjson.loads(ServerChannel().stamp(crowd_line(kind, 3, 9)))["data"]["crowd"] is True
