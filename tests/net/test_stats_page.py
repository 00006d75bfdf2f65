"""Rules for the /stats page, without a socket: who may read it, and what /stats.json says.

The door (``check_access``) is open on loopback and takes ``net.stats_token`` beyond it; the
document (``stats_document``) shows the engine's own figures, so the page never disagrees with
the admin ``stats`` command or /metrics; the levels' history (``GaugeHistory``) is fed samples
with their times, no clock.
"""

from __future__ import annotations

import pytest

from engine.commands import Refused
from engine.config import Config
from engine.core import Engine
from engine.loop import LoopHistory
from engine.plugins import Plugin, PluginKit
from engine.scheduler import System, SystemContext
from engine.stats import SeriesPoint
from engine.world import World
from net.stats_page import (
    REFUSAL_STATUS,
    GaugeHistory,
    check_access,
    listening_beyond_loopback,
    presented_token,
    stats_document,
    tick_points,
)

TOKEN = "tindalos-hounds-at-the-angles"
MS = 1_000_000


# --- the door -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("addresses", "beyond"),
    [
        (["127.0.0.1"], False),
        (["127.0.0.1", "::1"], False),  # "localhost" binds both
        (["127.0.0.2"], False),  # all of 127.0.0.0/8 is loopback
        (["::ffff:127.0.0.1"], False),
        (["0.0.0.0"], True),
        (["::"], True),
        (["192.168.1.20"], True),
        (["127.0.0.1", "10.0.0.5"], True),  # one reachable address is enough
        (["fe80::1%eth0"], True),
        (["/run/kadath.sock"], True),  # not an IP address: ask for the token
    ],
)
def test_the_page_is_open_only_when_every_bound_address_is_loopback(
    addresses: list[str], beyond: bool
) -> None:
    assert listening_beyond_loopback(addresses) is beyond


def test_on_loopback_the_page_is_open_whatever_the_request_carries() -> None:
    check_access(beyond_loopback=False, configured="", presented=None)
    check_access(beyond_loopback=False, configured=TOKEN, presented="wrong")


def test_beyond_loopback_the_right_token_opens_the_page() -> None:
    check_access(beyond_loopback=True, configured=TOKEN, presented=TOKEN)


@pytest.mark.parametrize(
    ("configured", "presented", "code", "status", "says"),
    [
        ("", None, "stats_token_unset", 403, "KADATH_NET__STATS_TOKEN"),
        ("", TOKEN, "stats_token_unset", 403, "net.stats_token"),
        (TOKEN, None, "stats_token_missing", 401, "/stats?token="),
        (TOKEN, "", "stats_token_missing", 401, "Authorization: Bearer"),
        (TOKEN, "wrong", "stats_token_wrong", 403, "does not open"),
        (TOKEN, TOKEN[:-1], "stats_token_wrong", 403, "does not open"),  # a prefix is not it
        (TOKEN, TOKEN + "x", "stats_token_wrong", 403, "does not open"),
        (TOKEN, "Tindalos-hounds-at-the-angles", "stats_token_wrong", 403, "does not open"),
        (TOKEN, "h\udcffound", "stats_token_wrong", 403, "does not open"),  # undecodable bytes
    ],
)
def test_beyond_loopback_the_page_is_refused_without_the_token_saying_what_to_do(
    configured: str, presented: str | None, code: str, status: int, says: str
) -> None:
    with pytest.raises(Refused) as refused:
        check_access(beyond_loopback=True, configured=configured, presented=presented)
    assert refused.value.code == code
    assert REFUSAL_STATUS[code] == status
    assert says in refused.value.text
    assert TOKEN not in refused.value.text


@pytest.mark.parametrize(
    ("query", "authorization", "token"),
    [
        ("token=abc", None, "abc"),
        ("a=1&token=abc%2Fdef", None, "abc/def"),  # as the browser encodes it
        ("", "Bearer abc", "abc"),
        ("", "bearer  abc ", "abc"),
        ("token=from-the-query", "Bearer from-the-header", "from-the-header"),
        ("token=", None, ""),
        ("", None, None),
        ("", "Basic YWRtaW46YWRtaW4=", None),  # not a bearer token
    ],
)
def test_the_token_comes_from_the_bearer_header_else_from_the_query(
    query: str, authorization: str | None, token: str | None
) -> None:
    assert presented_token(query, authorization) == token


# --- the history of levels -----------------------------------------------------------------------


def test_levels_are_summarised_per_step_by_median_and_maximum() -> None:
    gauges = GaugeHistory(step_s=5.0, span_s=60.0)
    for at, online, lag in [(100.0, 3, 2), (101.0, 4, 9), (102.0, 4, 1), (105.5, 7, 0)]:
        gauges.sample(at, {"players_online": online, "writer_lag_ticks": lag})

    assert gauges.points(now_s=107.0) == [
        {
            "age_s": 7.0,
            "samples": 3,
            "players_online": 4,
            "players_online_max": 4,
            "writer_lag_ticks": 2,
            "writer_lag_ticks_max": 9,
        },
        {
            "age_s": 2.0,
            "samples": 1,
            "players_online": 7,
            "players_online_max": 7,
            "writer_lag_ticks": 0,
            "writer_lag_ticks_max": 0,
        },
    ]


def test_a_level_that_could_not_be_read_is_absent_not_zero() -> None:
    gauges = GaugeHistory(step_s=1.0, span_s=10.0)
    gauges.sample(0.0, {"players_online": 2})  # a server without a writer

    (point,) = gauges.points(now_s=0.5)
    assert "writer_lag_ticks" not in point
    assert point["players_online"] == 2


def test_a_level_the_history_does_not_keep_is_refused() -> None:
    gauges = GaugeHistory(step_s=1.0, span_s=10.0)
    with pytest.raises(KeyError, match="sanity"):
        gauges.sample(0.0, {"sanity": 3})
    assert gauges.points(now_s=0.0) == []


def test_the_loops_history_pairs_duration_and_lateness_in_milliseconds() -> None:
    history = LoopHistory(
        now_s=12.5,
        step_s=5.0,
        span_s=60.0,
        tick_duration=(SeriesPoint(5.0, 50, 2 * MS, 30 * MS, 150 * MS),),
        lateness=(SeriesPoint(5.0, 50, MS // 2, 4 * MS, 40 * MS),),
    )
    assert tick_points(history) == [
        {
            "age_s": 7.5,
            "ticks": 50,
            "p50_ms": 2.0,
            "max_ms": 30.0,
            "lateness_p50_ms": 0.5,
            "lateness_max_ms": 4.0,
        }
    ]


# --- the document ---------------------------------------------------------------------------------


def _ward(world: World, ctx: SystemContext) -> None:
    """A system that does a little work every tick."""
    sum(range(200))


def _census(world: World, ctx: SystemContext) -> None:
    """A system that runs once a second."""


def _engine(ticks: int) -> Engine:
    def setup(kit: PluginKit) -> None:
        kit.system(System("keep_the_ward", _ward))
        kit.system(System("take_a_census", _census, phase="late", every_s=1.0))

    engine = Engine(Config(), plugins=[Plugin(name="asylum", setup=setup)])
    engine.run_ticks(ticks)
    return engine


WRITER = {"state": "idle", "queued_batches": 2, "pending_rows": 0, "lag_ticks": 25}
HUB = {"connections": 3, "players_online": 2, "players_linkdead": 1}
LOOP = {"rate_hz": 10.0, "ticks": 30, "overruns": 0, "skipped_ticks": 0, "tick_errors": 0}
JOURNAL = {"records": 12, "failed": False}


def _document(engine: Engine, history: LoopHistory | None = None) -> dict[str, object]:
    return stats_document(
        engine=engine.stats(),
        services={"writer": WRITER, "journal": JOURNAL, "net": HUB, "loop": LOOP},
        history=history,
        gauges=[{"age_s": 1.0, "players_online": 2, "players_online_max": 2}],
        uptime_s=3723.25,
        server={"name": "Kadath", "version": "1.0"},
        sample_s=1.0,
    )


def test_every_system_and_phase_is_listed_with_the_engines_own_figures() -> None:
    engine = _engine(30)
    document = _document(engine)

    rows = {row["name"]: row for row in document["systems"]}  # type: ignore[attr-defined]
    assert set(rows) == {"keep_the_ward", "take_a_census", "commands", "systems", "hand-off"}
    ward = rows["keep_the_ward"]
    assert (ward["kind"], ward["phase"], ward["calls"], ward["enabled"]) == (
        "system",
        "rules",
        30,
        True,
    )
    census = rows["take_a_census"]
    assert (census["every_s"], census["calls"]) == (1.0, 3)  # 30 ticks at 10 Hz: 3 s
    for row in engine.stats().rows:  # the same figures the admin `stats` command shows
        shown = rows[row.name]
        assert shown["calls"] == row.runs
        assert shown["p50_ms"] == round(row.cost.p50_ns / MS, 3)
        assert shown["p99_ms"] == round(row.cost.p99_ns / MS, 3)
        assert shown["max_ms"] == round(row.cost.max_ns / MS, 3)
        assert shown["total_ms"] == round(row.cost.total_ns / MS, 3)


def test_a_systems_share_is_its_part_of_all_tick_time_so_the_phases_make_the_whole() -> None:
    engine = _engine(30)
    stats = engine.stats()
    document = _document(engine)

    rows = {row["name"]: row for row in document["systems"]}  # type: ignore[attr-defined]
    ward = next(row for row in stats.rows if row.name == "keep_the_ward")
    assert rows["keep_the_ward"]["share"] == round(ward.cost.total_ns / stats.tick_cost.total_ns, 6)
    phases = sum(row["share"] for row in rows.values() if row["kind"] == "phase")
    assert phases == pytest.approx(1.0, abs=1e-5)


def test_the_document_tells_the_server_at_a_glance() -> None:
    document = _document(_engine(30))

    assert document["server"] == {"name": "Kadath", "version": "1.0"}
    assert document["uptime_s"] == 3723.25
    assert (document["tick"], document["tick_rate_hz"]) == (30, 10.0)
    assert (document["players_online"], document["connections"]) == (2, 3)
    assert document["players_linkdead"] == 1
    assert document["loop"] == LOOP
    assert document["writer"] == {**WRITER, "lag_s": 2.5}  # 25 ticks at 10 Hz
    assert document["services"] == {"journal": JOURNAL}  # what the page shows nowhere else
    history = document["history"]
    assert history == {
        "step_s": None,
        "span_s": None,
        "sample_s": 1.0,
        "ticks": [],
        "gauges": [{"age_s": 1.0, "players_online": 2, "players_online_max": 2}],
    }
    assert document["achieved_rate_hz"] is None


def test_a_server_without_writer_or_loop_shows_them_as_null() -> None:
    document = stats_document(
        engine=_engine(1).stats(),
        services={},
        history=None,
        gauges=[],
        uptime_s=0.0,
        server={"name": "Kadath", "version": "0"},
        sample_s=1.0,
    )
    assert (document["writer"], document["loop"], document["players_online"]) == (None, None, None)


def _ticks(now_s: float, *counts: tuple[float, int]) -> LoopHistory:
    points = tuple(SeriesPoint(start, count, MS, MS, count * MS) for start, count in counts)
    return LoopHistory(now_s, 5.0, 60.0, points, points)


@pytest.mark.parametrize(
    ("history", "rate"),
    [
        (_ticks(12.5, (0.0, 50), (5.0, 48), (10.0, 20)), 9.6),  # the last whole step: 48 in 5 s
        (_ticks(12.5, (0.0, 50), (10.0, 20)), 0.0),  # a whole step without a tick: stalled
        (_ticks(12.5, (10.0, 20)), None),  # started during this step: nothing whole yet
        (_ticks(12.5, (5.0, 8), (10.0, 20)), None),  # started during the last: it is not whole
        (_ticks(12.5), None),
    ],
)
def test_the_achieved_rate_counts_the_ticks_of_the_last_whole_step(
    history: LoopHistory, rate: float | None
) -> None:
    assert _document(_engine(1), history)["achieved_rate_hz"] == rate
