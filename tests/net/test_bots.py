"""``kadath bots`` against a real server on loopback: the bots get in, spread out by the map the
server shows them, are answered, and the report adds up. Figures of speed are never asserted:
they belong in docs/PERFORMANCE.md, measured from a second process."""

from __future__ import annotations

import math
from dataclasses import asdict
from pathlib import Path

import orjson
import pytest

from components.body import Player
from components.place import Location
from engine.cli import build_parser
from net.bots import BotOptions, Report, WorldMap, bot_name, parse_metrics, render_html, run_bots
from net.passwords import ScryptParams
from tests.net.harness import async_test, live_server

THROTTLE = ("net.login_failures_per_address=100", "net.logins_in_flight_per_address=100")


def options(url: str, **changes: object) -> BotOptions:
    base: dict[str, object] = {"url": url, "n": 6, "duration_s": 1.5, "rate": 4, "progress": False}
    base.update(changes)
    return BotOptions(**base)  # type: ignore[arg-type]


@async_test
async def test_bots_spread_over_distinct_rooms_and_every_command_is_answered(
    tmp_path: Path,
) -> None:
    async with live_server(tmp_path, *THROTTLE) as server:
        report = await run_bots(options(server.url, spread=True, profile="talker"))
        assert report.login["in_world"] == 6
        assert report.options["password"] == "***"  # never in a report
        commands = report.commands
        assert commands["sent"] > 0
        assert commands["answered"] == commands["sent"]
        assert commands["lost"] == 0
        assert not math.isnan(report.latency_ms["p99"])
        assert report.server["players_online_peak"] == 6
        assert report.server["rss_idle_mb"] > 0
        world = server.engine.world
        rooms = {location.holder for _, (_, location) in world.query(Player, Location)}
        assert len(rooms) == 6  # talkers stay where they spread to


@async_test
async def test_bots_that_exist_log_in_again_and_talkers_hear_their_own_words(
    tmp_path: Path,
) -> None:
    async with live_server(tmp_path, *THROTTLE) as server:
        first = await run_bots(options(server.url, profile="talker"))
        again = await run_bots(options(server.url, profile="crowd", batch=False))
        for report in (first, again):
            assert report.login["in_world"] == 6
            assert report.commands["answered"] == report.commands["sent"] > 0
        assert again.client["frames"] == again.client["messages"]  # version 1: one a frame
        assert first.client["frames"] < first.client["messages"]  # version 2 batches


@async_test
async def test_throttled_logins_are_retried_until_every_bot_is_in(tmp_path: Path) -> None:
    """Registering is not throttled; logging in is: the second run's bots log in to the
    accounts the first made, one at a time, slowly enough that they overlap."""
    async with live_server(
        tmp_path,
        "net.login_failures_per_address=100",
        params=ScryptParams(n=2**12, r=8, p=1),
    ) as server:
        await run_bots(options(server.url, n=8, duration_s=0.2))
        server.net.accounts.max_in_flight_per_address = 1
        report = await run_bots(options(server.url, n=8, duration_s=0.2))
        assert report.login["in_world"] == 8
        assert report.login["throttled_retries"] > 0


@async_test
async def test_only_the_active_bots_send_commands(tmp_path: Path) -> None:
    async with live_server(tmp_path, *THROTTLE) as server:
        report = await run_bots(options(server.url, n=5, active=2, rate=2, duration_s=1.0))
        assert report.login["in_world"] == 5
        assert 0 < report.commands["sent"] <= 2 * 3


def test_the_html_report_is_one_self_contained_page() -> None:
    report = Report(
        options={**asdict(BotOptions()), "password": "***"},
        login={
            "bots": 1,
            "in_world": 1,
            "seconds_all_in": 0.1,
            "throttled_retries": 0,
            "failures": {},
        },
        commands={"sent": 2, "answered": 2, "errors": 0, "refused": 0, "lost": 0, "codes": {}},
        latency_ms={"p50": 5.0, "p95": 6.0, "p99": 7.0, "max": 8.0},
        server={
            "tick_mean_ms": 1.0,
            "tick_p50_ms": 1.0,
            "tick_p99_ms": 2.0,
            "rss_idle_mb": 60.0,
            "rss_run_mb": 61.0,
            "rss_peak_mb": 62.0,
            "rss_per_player_kib": 40.0,
            "cpu_percent": 5.0,
            "lines_dropped": 0.0,
            "lines_merged": 0.0,
            "clients_cut_off": 0.0,
            "output_queued_peak_mb": 0.0,
            "skipped_ticks": 0.0,
        },
        client={
            "messages": 4,
            "frames": 3,
            "cut_off": 0,
            "cpu_percent": 1.0,
            "rooms": 1,
            "most_in_one_room": 1,
        },
        series={
            "latency_p50_ms": [[0, 5.0], [1, 6.0]],
            "latency_p99_ms": [[0, 7.0], [1, 7.5]],
            "latency_max_ms": [[0, 8.0], [1, 8.0]],
            "tick_p99_ms": [[0.0, 2.0]],
            "tick_max_ms": [[0.0, 3.0]],
            "rss_mb": [[0.0, 60.0], [1.0, 61.0]],
        },
    )
    page = render_html(report)
    assert page.startswith("<!doctype html>")
    assert page.count("<svg") == 3
    assert (
        "http" not in page.replace("http://", "").lower() or "src=" not in page
    )  # nothing fetched
    assert "<script" not in page


def test_bot_names_are_letters_and_distinct() -> None:
    names = {bot_name("Bot", i) for i in range(5000)}
    assert len(names) == 5000
    assert all(name.isalpha() and 3 <= len(name) <= 20 for name in names)


def test_the_map_sends_scouts_to_the_least_chosen_room_nobody_has_seen() -> None:
    world = WorldMap()
    world.learn({"id": "a", "exits": [{"direction": "e", "to": "b"}]})
    world.learn(
        {"id": "b", "exits": [{"direction": "w", "to": "a"}, {"direction": "e", "to": "c"}]}
    )
    world.learn({"id": "d", "exits": []})  # seen, but out of reach
    assert world.seen == {"a", "b", "d"}
    assert [world.unseen("a"), world.unseen("a")] == ["c", "c"]
    world.learn({"id": "c", "exits": [{"direction": "w", "to": "b"}]})
    assert world.unseen("a") is None
    assert world.path("a", "c") == ["e", "e"]
    world.blocked.add(("b", "e"))
    assert world.path("a", "c") is None


@pytest.mark.parametrize(
    ("changes", "complaint"),
    [
        ({"n": 0}, "--n"),
        ({"n": 10_000}, "--n"),
        ({"duration_s": 7200}, "--duration"),
        ({"rate": 0}, "--rate"),
        ({"profile": "lurker"}, "--profile"),
        ({"url": "http://127.0.0.1:4000/"}, "--url"),
        ({"prefix": "Bot1"}, "--prefix"),
    ],
)
def test_a_run_that_is_not_bounded_is_refused(changes: dict[str, object], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        BotOptions(**{"url": "ws://127.0.0.1:9/", **changes}).check()  # type: ignore[arg-type]


def test_prometheus_text_is_read_by_name_and_labels() -> None:
    text = '# HELP x\nkadath_tick 12.0\nkadath_tick_duration_seconds{quantile="0.99"} 0.002\n'
    assert parse_metrics(text) == {
        "kadath_tick": 12.0,
        'kadath_tick_duration_seconds{quantile="0.99"}': 0.002,
    }


def test_kadath_bots_is_a_subcommand() -> None:
    ns = build_parser().parse_args(["bots", "--n", "3", "--profile", "crowd", "--json"])
    assert (ns.command, ns.n, ns.profile, ns.json) == ("bots", 3, "crowd", True)


def test_the_json_report_is_json() -> None:
    assert orjson.loads(orjson.dumps({"nan": math.nan})) == {"nan": None}
