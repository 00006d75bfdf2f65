"""The lucidity meter: its tiers, the passive flux of every environment by day and by night (and
the builders' own rates), company, adaptive resistance, resting in a sanctuary, whole points and
the fraction carried, tier changes told. Seeded, driven tick by tick, at two tick rates."""

from __future__ import annotations

import pytest

from components.mind import Lucidity, LucidityDrift
from components.place import Environment
from engine.events import Event, Scope
from systems.characters import create_character
from systems.info import score_view
from systems.lucidity import (
    BREAKDOWN_EVENT,
    TIER_EVENT,
    LuciditySettings,
    Tier,
    reckoned_lucidity,
    set_lucidity,
    tier_of,
)
from systems.presence import CorePresence
from tests.systems.arena import Arena, errors
from tests.systems.minds import CRYPTS_FLUX, ENVIRONMENT_ROOMS, mind_stage

#: Every mind is lucid whatever its lucidity, and no room wears a drain down: the bare flux,
#: with no tier's effects and no resistance in the way.
BARE = LuciditySettings(
    lucid_from=-100, uneasy_from=-100, fractured_from=-100, deranged_from=-100,
    resistance_per_step=0.0,
)  # fmt: skip
#: Every mind is lucid whatever its lucidity (resistance as by default).
FLAT = LuciditySettings(lucid_from=-100, uneasy_from=-100, fractured_from=-100, deranged_from=-100)

#: At this compression a game minute lasts a real second: game time in whole minutes is read off
#: the clock in whole seconds. The calendar starts at 08:00; day is 06:00 to 20:00.
MINUTE_A_SECOND = 60.0
START_MINUTE = 8 * 60
DAWN, DUSK = 6 * 60, 20 * 60


def is_day(minute: int) -> bool:
    return DAWN <= minute % (24 * 60) < DUSK


def expected_flux(
    day: float, night: float, start: int, minutes: int, *, in_room_since: int | None = None
) -> float:
    """The flux over ``minutes`` game minutes from game minute ``start``, minute by minute (the
    rule's own arithmetic is cut at dawn, dusk and each step of resistance; this one is not):
    with ``in_room_since``, a drain is cut by 25 % for each whole 10 minutes spent in the room
    since that minute, down to 50 %."""
    total = 0.0
    for minute in range(start, start + minutes):
        rate = day if is_day(minute) else night
        if rate < 0 and in_room_since is not None:
            rate *= 1 - min(0.5, 0.25 * ((minute - in_room_since) // 10))
        total += rate
    return total


def run_until(stage: Arena, seconds: float) -> None:
    """Run until the tick at ``seconds`` of game time has run (the same moment at any rate)."""
    stage.ready_at(seconds)
    stage.tick()
    assert stage.now_s == pytest.approx(seconds)


def measured(
    stage: Arena, bodies: dict[str, int], until_s: float, reset_every_s: float
) -> dict[str, float]:
    """What each body's mind gained (or lost) from now until ``until_s``, reckoned exactly, its
    meter set back to 0 every ``reset_every_s`` so that it never meets the end of its range."""
    totals = dict.fromkeys(bodies, 0.0)
    while stage.now_s < until_s - 1e-9:
        starts = {}
        for name, body in bodies.items():
            set_lucidity(stage.world, body, 0)
            starts[name] = reckoned_lucidity(stage.world, body)
        run_until(stage, min(until_s, stage.now_s + reset_every_s))
        for name, body in bodies.items():
            totals[name] += reckoned_lucidity(stage.world, body) - starts[name]
    return totals


# --------------------------------------------------------------------------------------------------
# Tiers


@pytest.mark.parametrize(
    ("value", "tier"),
    [
        (100, Tier.LUCID),
        (70, Tier.LUCID),
        (69, Tier.UNEASY),
        (40, Tier.UNEASY),
        (39, Tier.FRACTURED),
        (20, Tier.FRACTURED),
        (19, Tier.DERANGED),
        (1, Tier.DERANGED),
        (0, Tier.CATATONIC),
        (-100, Tier.CATATONIC),
    ],
)
def test_the_tiers_are_lucid_uneasy_fractured_deranged_and_catatonic(
    value: int, tier: Tier
) -> None:
    assert tier_of(value, LuciditySettings()) is tier


def test_a_new_character_has_a_whole_lucid_mind_that_status_and_score_show() -> None:
    stage = mind_stage()
    armitage = create_character(stage.world, "Armitage")
    assert stage.world.get(armitage, Lucidity).value == 100
    status = CorePresence().status(stage.world, armitage)
    assert (status["lucidity"], status["tier"]) == (100, "lucid")
    set_lucidity(stage.world, armitage, 33)
    assert CorePresence().status(stage.world, armitage)["tier"] == "fractured"
    view = score_view(stage.world, armitage)
    assert (view["lucidity"], view["tier"]) == (33, "fractured")
    assert Lucidity in CorePresence().status_components()


# --------------------------------------------------------------------------------------------------
# The flux of each environment


def a_day_of_each_environment(rate_hz: float) -> dict[str, float]:
    stage = mind_stage(rate_hz=rate_hz, compression=MINUTE_A_SECOND, rules={"lucidity": BARE})
    bodies = {
        str(environment): stage.player(str(environment).capitalize(), room)
        for environment, room in ENVIRONMENT_ROOMS.items()
    }
    run_until(stage, 10.0)  # 08:10
    return measured(stage, bodies, 10.0 + 24 * 60, reset_every_s=30.0)


def test_a_game_day_in_each_environment_is_its_day_rate_by_day_and_night_rate_by_night() -> None:
    settings = LuciditySettings()
    slow, fast = a_day_of_each_environment(5.0), a_day_of_each_environment(20.0)
    for environment in ENVIRONMENT_ROOMS:
        name = str(environment)
        day, night = getattr(settings, f"{name}_day"), getattr(settings, f"{name}_night")
        expected = expected_flux(day, night, START_MINUTE + 10, 24 * 60)
        assert expected == pytest.approx(day * 840 + night * 600)
        assert slow[name] == pytest.approx(expected, abs=1e-6), name
        assert fast[name] == pytest.approx(slow[name], abs=1e-9), name


def test_the_issues_rates_per_game_minute() -> None:
    rates = {
        str(e): (getattr(LuciditySettings(), f"{e}_day"), getattr(LuciditySettings(), f"{e}_night"))
        for e in Environment
    }
    assert rates == {
        "sanctuary": (0.6, 0.3),
        "street": (0.2, 0.0),
        "indoors": (0.0, 0.0),
        "wilderness": (0.0, -0.2),
        "graveyard": (-0.4, -0.8),
        "haunted": (-0.4, -0.8),
        "eldritch": (-1.2, -1.5),
        "void": (-1.5, -1.5),
    }


@pytest.mark.parametrize("rate_hz", [5.0, 20.0])
def test_a_zone_and_a_room_may_set_their_own_flux_by_day_and_by_night(rate_hz: float) -> None:
    stage = mind_stage(rate_hz=rate_hz, compression=MINUTE_A_SECOND, rules={"lucidity": BARE})
    bodies = {
        "ossuary": stage.player("Ossuary", "ossuary"),
        "shrine": stage.player("Shrine", "shrine"),
    }
    run_until(stage, 10.0)
    got = measured(stage, bodies, 10.0 + 24 * 60, reset_every_s=20.0)
    assert CRYPTS_FLUX.day is not None and CRYPTS_FLUX.night is not None
    # Both are streets, but the ossuary takes its zone's rates, the shrine its own by night.
    ossuary = expected_flux(CRYPTS_FLUX.day, CRYPTS_FLUX.night, START_MINUTE + 10, 24 * 60)
    shrine = expected_flux(CRYPTS_FLUX.day, 0.5, START_MINUTE + 10, 24 * 60)
    assert got["ossuary"] == pytest.approx(ossuary, abs=1e-6)
    assert got["shrine"] == pytest.approx(shrine, abs=1e-6)


def test_only_whole_points_apply_and_the_fraction_carries_over() -> None:
    stage = mind_stage(rules={"lucidity": BARE})  # 15 s a game minute
    armitage = stage.player("Armitage", "graveyard")  # -0.4 a game minute by day
    run_until(stage, 1.0)
    start = reckoned_lucidity(stage.world, armitage)
    assert start == pytest.approx(100 - 0.4 * 0.9 / 15)  # followed from the first tick
    seen = []
    for _ in range(6):
        stage.run_s(15.0)
        seen.append(stage.world.get(armitage, Lucidity).value)
    assert seen == [100, 100, 99, 99, 98, 98]  # 0.42, 0.82, 1.22, 1.62, 2.02, 2.42 lost
    assert reckoned_lucidity(stage.world, armitage) == pytest.approx(start - 2.4)


def test_the_fraction_and_the_time_in_a_room_are_saved_when_a_mind_leaves_and_go_on_after() -> None:
    stage = mind_stage(compression=MINUTE_A_SECOND)
    armitage = stage.player("Armitage", "haunted")
    run_until(stage, 15.0)
    before = reckoned_lucidity(stage.world, armitage)
    stage.type(armitage, "quit")
    drift = stage.world.get(armitage, LucidityDrift)
    saved = stage.world.get(armitage, Lucidity).value + drift.fraction
    # One more tick (0.1 game minute) at -0.4 a minute, cut by a quarter after 10 minutes there.
    assert saved == pytest.approx(before - 0.1 * 0.4 * 0.75, abs=1e-9)
    assert drift.here_s == pytest.approx(15.0)  # from the first tick to the quit
    stage.run_s(600.0)  # ten game hours out of the world: the mind does not drift
    assert stage.world.get(armitage, LucidityDrift).here_s == pytest.approx(drift.here_s)
    presence = CorePresence()
    presence.enter_world(stage.world, armitage)
    stage.tick()
    assert reckoned_lucidity(stage.world, armitage) == pytest.approx(saved, abs=0.01)


# --------------------------------------------------------------------------------------------------
# Company


@pytest.mark.parametrize("rate_hz", [5.0, 20.0])
def test_lucid_or_uneasy_company_helps_up_to_a_point_and_a_deranged_one_hurts(
    rate_hz: float,
) -> None:
    stage = mind_stage(rate_hz=rate_hz, compression=MINUTE_A_SECOND)
    world = stage.world
    a, b = stage.player("Armitage", "indoors"), stage.player("Barnabas", "indoors")
    for body in (a, b):
        set_lucidity(world, body, 50)  # room to gain: at 100 a mind gains no more
    run_until(stage, 5.0)

    def over_ten_minutes(*bodies: int) -> list[float]:
        starts = [reckoned_lucidity(world, body) for body in bodies]
        stage.run_s(10.0)
        return [reckoned_lucidity(world, body) - s for body, s in zip(bodies, starts, strict=True)]

    assert over_ten_minutes(a, b) == pytest.approx([1.0, 1.0])  # 0.1 each a minute
    c, d = stage.player("Carter", "indoors"), stage.player("Dyer", "indoors")
    set_lucidity(world, c, 45)  # uneasy is good company too
    set_lucidity(world, d, 50)
    stage.tick()
    assert over_ten_minutes(a, c) == pytest.approx([3.0, 3.0])  # three companions: the most
    set_lucidity(world, d, 10)  # deranged
    stage.tick()
    # Two sound companions (+0.2) less 0.2 for the deranged one; Dyer has three sound ones.
    assert over_ten_minutes(a, d) == pytest.approx([0.0, 3.0])
    stage.type(d, "west")  # not far enough to be lost: company goes with the room
    assert over_ten_minutes(a) == pytest.approx([2.0])


# --------------------------------------------------------------------------------------------------
# Adaptive resistance


@pytest.mark.parametrize("rate_hz", [5.0, 20.0])
def test_each_ten_minutes_in_a_room_cut_its_drain_by_a_quarter_down_to_half_and_moving_resets(
    rate_hz: float,
) -> None:
    stage = mind_stage(rate_hz=rate_hz, compression=MINUTE_A_SECOND, rules={"lucidity": FLAT})
    armitage = stage.player("Armitage", "graveyard")
    stage.ready_at(20.0)
    stage.type(armitage, "east")  # into the haunted room at 08:20, by day: -0.4 a minute
    start = reckoned_lucidity(stage.world, armitage)
    run_until(stage, 20.0 + 35)
    lost = start - reckoned_lucidity(stage.world, armitage)
    assert lost == pytest.approx(10 * 0.4 + 10 * 0.3 + 15 * 0.2)
    assert lost == pytest.approx(-expected_flux(-0.4, -0.8, 500, 35, in_room_since=500))
    stage.ready_at(60.0)
    stage.type(armitage, "west")
    stage.type(armitage, "east")  # back at once, but its resistance is gone
    start = reckoned_lucidity(stage.world, armitage)
    run_until(stage, stage.now_s + 10)
    assert start - reckoned_lucidity(stage.world, armitage) == pytest.approx(4.0, abs=0.01)


def test_resistance_never_cuts_a_gain() -> None:
    stage = mind_stage(compression=MINUTE_A_SECOND, rules={"lucidity": FLAT})
    armitage = stage.player("Armitage", "sanctuary")
    run_until(stage, 1.0)
    set_lucidity(stage.world, armitage, 0)
    start = reckoned_lucidity(stage.world, armitage)
    run_until(stage, 61.0)
    assert reckoned_lucidity(stage.world, armitage) - start == pytest.approx(60 * 0.6)


# --------------------------------------------------------------------------------------------------
# Resting in a sanctuary


@pytest.mark.parametrize(("room", "rate"), [("sanctuary", 0.6), ("refuge", 0.2)])
def test_resting_in_a_sanctuary_or_a_safe_room_doubles_its_gain(room: str, rate: float) -> None:
    stage = mind_stage(compression=MINUTE_A_SECOND)
    armitage = stage.player("Armitage", room)
    run_until(stage, 1.0)
    set_lucidity(stage.world, armitage, 0)

    def over_ten_minutes() -> float:
        start = reckoned_lucidity(stage.world, armitage)
        stage.run_s(10.0)
        return reckoned_lucidity(stage.world, armitage) - start

    assert over_ten_minutes() == pytest.approx(10 * rate, abs=0.1)
    assert errors(stage.type(armitage, "rest")) == []
    assert over_ten_minutes() == pytest.approx(20 * rate, abs=0.1)
    stage.type(armitage, "stand")
    assert over_ten_minutes() == pytest.approx(10 * rate, abs=0.1)


# --------------------------------------------------------------------------------------------------
# Tier changes


def told(events: list[Event], event_type: str, to: int | None = None) -> list[Event]:
    return [
        e for e in events if e.type == event_type and (to is None or e.scope == Scope.entity(to))
    ]


def test_a_tier_change_is_told_and_sinking_to_deranged_or_catatonic_is_seen_by_the_room() -> None:
    stage = mind_stage()
    world = stage.world
    armitage, carter = stage.player("Armitage", "indoors"), stage.player("Carter", "indoors")
    stage.tick()
    world.drain_events()
    set_lucidity(world, armitage, 75)
    assert world.drain_events() == []  # still lucid
    steps = [(60, "uneasy", True), (30, "fractured", True), (5, "deranged", True)]
    steps += [(-3, "catatonic", True), (50, "uneasy", False), (90, "lucid", False)]
    for value, tier, sinking in steps:
        set_lucidity(world, armitage, value)
        events = world.drain_events()
        (mine,) = told(events, TIER_EVENT, armitage)
        assert mine.data == {
            "tier": tier,
            "previous": mine.data["previous"],
            "lucidity": value,
            "sinking": sinking,
        }
        assert mine.text.endswith(f"(You are {tier}.)")
        seen = told(events, BREAKDOWN_EVENT)
        if tier in ("deranged", "catatonic") and sinking:
            (line,) = seen
            assert line.scope == Scope.room(stage.room("indoors"))
            assert line.exclude == frozenset({armitage})
            assert line.text.startswith("Armitage ")
            assert line.data == {"who": "Armitage", "id": world.stable_id(armitage), "tier": tier}
        else:
            assert seen == []
    assert told(world.drain_events(), TIER_EVENT, carter) == []
    assert set_lucidity(world, armitage, 250) == 100
    assert set_lucidity(world, armitage, -250) == -100


def test_a_sinking_mind_in_the_dark_is_someone_to_the_room() -> None:
    stage = mind_stage()
    armitage = stage.player("Armitage", "crypt")
    stage.player("Carter", "crypt")
    stage.tick()
    stage.world.drain_events()
    set_lucidity(stage.world, armitage, 5)
    (line,) = told(stage.world.drain_events(), BREAKDOWN_EVENT)
    assert line.text.startswith("Someone ")
    assert line.data["id"] is None
