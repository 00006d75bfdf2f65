"""Rules of the world's clock: durations become whole ticks rounded up, simulated time follows the
tick, and the game calendar (compression, day and night) reads the same at any tick rate."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engine.clock import Calendar, Clock, Daypart, GameTime
from engine.config import CalendarConfig, ConfigError, EngineConfig

GAME_DAY_S = 21_600.0  # at compression 4, a game day lasts six real hours
GAME_MINUTE_S = 15.0  # ... and a game minute fifteen real seconds


def at_game_time(day: int, hour: int, minute: int = 0) -> float:
    """Simulated seconds at which the default calendar (08:00 day 1, compression 4) shows this."""
    game_minutes = (day - 1) * 24 * 60 + hour * 60 + minute - 8 * 60
    return game_minutes * GAME_MINUTE_S


# --------------------------------------------------------------------------------------------------
# Ticks and seconds


@pytest.mark.parametrize(
    ("rate_hz", "seconds", "ticks"),
    [
        (10, 1.0, 10),
        (10, 0.25, 3),  # 2.5 ticks: rounded up, never shorter than asked
        (10, 0.3, 3),  # 0.3 * 10 is 3.0000000000000004 in floating point: still 3
        (10, 0.7, 7),
        (10, 0.01, 1),
        (5, 3.0, 15),
        (20, 3.0, 60),
        (20, 0.26, 6),
        (3, 1.0, 3),
    ],
)
def test_ticks_for_covers_the_duration_rounding_up(
    rate_hz: float, seconds: float, ticks: int
) -> None:
    assert Clock(rate_hz).ticks_for(seconds) == ticks


@pytest.mark.parametrize("seconds", [0.0, -1.0, -0.001])
def test_ticks_for_a_zero_or_negative_duration_is_zero(seconds: float) -> None:
    assert Clock(10).ticks_for(seconds) == 0


@given(
    rate_hz=st.sampled_from([1.0, 5.0, 10.0, 20.0, 30.0, 60.0, 7.0]),
    seconds=st.floats(min_value=1e-12, max_value=1e7, allow_nan=False, allow_infinity=False),
)
def test_ticks_for_never_gives_zero_for_a_positive_duration_nor_less_than_asked(
    rate_hz: float, seconds: float
) -> None:
    ticks = Clock(rate_hz).ticks_for(seconds)
    assert ticks >= 1
    assert ticks >= seconds * rate_hz - 1e-6  # never shorter (beyond float noise)
    assert ticks < seconds * rate_hz + 1  # and never a whole tick longer than needed


def test_ticks_for_game_minutes_uses_the_calendar_compression() -> None:
    assert Clock(10).ticks_for_game_minutes(1) == 150  # 15 s at 10 Hz
    assert Clock(5).ticks_for_game_minutes(1) == 75
    assert Clock(10, Calendar(time_compression=60)).ticks_for_game_minutes(1) == 10


def test_simulated_seconds_follow_the_tick_at_any_rate() -> None:
    for rate_hz in (5, 10, 20):
        clock = Clock(rate_hz)
        assert clock.seconds == 0.0
        for _ in range(rate_hz * 60):
            clock.advance()
        assert clock.tick == rate_hz * 60
        assert clock.seconds == 60.0
        assert clock.dt == pytest.approx(1 / rate_hz)


def test_simulated_seconds_are_derived_from_the_tick_so_they_never_accumulate_error() -> None:
    clock = Clock(10)
    for _ in range(1_000_000):
        clock.advance()
    assert clock.seconds == 100_000.0


@pytest.mark.parametrize("rate_hz", [0, -10, math.nan])
def test_a_clock_refuses_a_tick_rate_that_is_not_positive(rate_hz: float) -> None:
    with pytest.raises(ValueError, match="tick rate must be > 0 Hz"):
        Clock(rate_hz)


# --------------------------------------------------------------------------------------------------
# The game calendar


def test_with_compression_4_a_game_day_lasts_six_real_hours() -> None:
    calendar = Calendar(time_compression=4)
    assert calendar.seconds_for_game_minutes(24 * 60) == GAME_DAY_S
    assert calendar.seconds_for_game_minutes(1) == GAME_MINUTE_S
    assert calendar.seconds_for_game_minutes(60) == 900.0
    assert calendar.at(GAME_DAY_S) == GameTime(2, 8, 0, Daypart.MORNING, True)


def test_a_new_world_starts_at_08_00_on_day_1_in_the_morning() -> None:
    now = Clock(10).now
    assert (now.day, now.hour, now.minute) == (1, 8, 0)
    assert now.daypart is Daypart.MORNING
    assert now.is_day
    assert str(now) == "day 1, 08:00 (morning)"


def test_game_time_is_the_same_at_the_same_simulated_second_at_any_tick_rate() -> None:
    seconds = at_game_time(day=3, hour=17, minute=45)
    times = set()
    for rate_hz in (5, 10, 20):
        clock = Clock(rate_hz, tick=int(seconds * rate_hz))
        times.add(clock.now)
    assert len(times) == 1
    (now,) = times
    assert (now.day, now.hour, now.minute) == (3, 17, 45)


@pytest.mark.parametrize(
    ("hour", "daypart", "is_day"),
    [
        (0, Daypart.NIGHT, False),
        (5, Daypart.NIGHT, False),
        (6, Daypart.DAWN, True),
        (7, Daypart.MORNING, True),
        (11, Daypart.MORNING, True),
        (12, Daypart.AFTERNOON, True),
        (19, Daypart.AFTERNOON, True),
        (20, Daypart.DUSK, False),
        (21, Daypart.EVENING, False),
        (23, Daypart.EVENING, False),
    ],
)
def test_dayparts_of_the_default_calendar(hour: int, daypart: Daypart, is_day: bool) -> None:
    now = Calendar().at(at_game_time(day=2, hour=hour, minute=30))
    assert (now.hour, now.daypart, now.is_day) == (hour, daypart, is_day)


def test_day_begins_at_the_first_tick_of_the_dawn_hour() -> None:
    dawn_tick = int(at_game_time(day=2, hour=6) * 10)
    before, at_dawn = Clock(10, tick=dawn_tick - 1).now, Clock(10, tick=dawn_tick).now
    assert (before.hour, before.minute, before.daypart, before.is_day) == (
        5,
        59,
        Daypart.NIGHT,
        False,
    )
    assert (at_dawn.day, at_dawn.hour, at_dawn.minute) == (2, 6, 0)
    assert at_dawn.daypart is Daypart.DAWN
    assert at_dawn.is_day


def test_night_begins_at_the_first_tick_of_the_dusk_hour() -> None:
    dusk_tick = int(at_game_time(day=1, hour=20) * 10)
    before, at_dusk = Clock(10, tick=dusk_tick - 1).now, Clock(10, tick=dusk_tick).now
    assert (before.hour, before.minute, before.daypart, before.is_day) == (
        19,
        59,
        Daypart.AFTERNOON,
        True,
    )
    assert (at_dusk.hour, at_dusk.minute, at_dusk.daypart, at_dusk.is_day) == (
        20,
        0,
        Daypart.DUSK,
        False,
    )


def test_midnight_turns_the_day() -> None:
    calendar = Calendar()
    before = calendar.at(at_game_time(day=1, hour=23, minute=59))
    after = calendar.at(at_game_time(day=2, hour=0))
    assert (before.day, before.hour, before.minute) == (1, 23, 59)
    assert (after.day, after.hour, after.minute, after.daypart) == (2, 0, 0, Daypart.NIGHT)


DAYLIT = {Daypart.DAWN, Daypart.MORNING, Daypart.AFTERNOON}


@pytest.mark.parametrize(
    ("dawn_hour", "dusk_hour"),
    [
        (6, 20),
        (9, 16),  # a short winter day
        (4, 22),  # a long summer day
        (11, 13),
        pytest.param(
            5,
            10,
        ),
        pytest.param(
            13,
            20,
        ),
    ],
)
def test_the_daypart_agrees_with_is_day_for_every_hour_of_any_valid_calendar(
    dawn_hour: int, dusk_hour: int
) -> None:
    calendar = Calendar(dawn_hour=dawn_hour, dusk_hour=dusk_hour, start_game_minute=0)
    for hour in range(24):
        now = calendar.at(calendar.seconds_for_game_minutes(hour * 60 + 30))
        assert now.hour == hour
        assert (now.daypart in DAYLIT) == now.is_day, f"{hour:02d}:30 is {now.daypart}"
        assert (now.daypart is Daypart.DAWN) == (hour == dawn_hour)
        assert (now.daypart is Daypart.DUSK) == (hour == dusk_hour)


@pytest.mark.parametrize(
    ("rate_hz", "compression"),
    [
        (10, 4.0),
        (5, 4.0),
        (20, 4.0),
        (30, 2.5),
        (10, 60.0),
        pytest.param(
            7,
            7.0,
        ),
    ],
)
def test_each_game_minute_begins_exactly_at_the_tick_ticks_for_game_minutes_names(
    rate_hz: float, compression: float
) -> None:
    clock = Clock(rate_hz, Calendar(time_compression=compression, start_game_minute=0))
    for minute in range(1, 24 * 60):
        clock.tick = clock.ticks_for_game_minutes(minute)
        now = clock.now
        assert (now.day - 1) * 1440 + now.hour * 60 + now.minute == minute, f"minute {minute}"


# --------------------------------------------------------------------------------------------------
# Bad configuration


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"time_compression": 0}, "time_compression must be > 0"),
        ({"time_compression": -4}, "time_compression must be > 0"),
        ({"dawn_hour": 20, "dusk_hour": 6}, "dawn_hour < dusk_hour"),
        ({"dawn_hour": 6, "dusk_hour": 6}, "dawn_hour < dusk_hour"),
        ({"dusk_hour": 24}, "dusk_hour <= 23"),
        ({"dawn_hour": -1}, "0 <= dawn_hour"),
        pytest.param(
            {"time_compression": math.nan},
            "time_compression",
        ),
        pytest.param(
            {"time_compression": math.inf},
            "time_compression",
        ),
    ],
)
def test_a_calendar_rejects_bad_settings_with_a_message_naming_them(
    kwargs: dict[str, float], message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        Calendar(**kwargs)  # type: ignore[arg-type]


def test_calendar_configuration_rejects_dawn_after_dusk_naming_both_settings() -> None:
    with pytest.raises(ConfigError) as raised:
        CalendarConfig(dawn_hour=21, dusk_hour=5)
    text = str(raised.value)
    assert "calendar.dawn_hour" in text
    assert "calendar.dusk_hour" in text


@pytest.mark.parametrize(
    "kwargs",
    [{"time_compression": 0.0}, {"dawn_hour": 24}, {"dusk_hour": -1}, {"start_game_minute": -1}],
)
def test_calendar_configuration_rejects_out_of_range_values(kwargs: dict[str, float]) -> None:
    (key,) = kwargs
    with pytest.raises(ConfigError, match=rf"calendar\.{key}"):
        CalendarConfig(**kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("rate_hz", [0.0, -1.0, 1001.0])
def test_engine_configuration_rejects_a_tick_rate_out_of_range(rate_hz: float) -> None:
    with pytest.raises(ConfigError, match=r"engine\.tick_rate_hz"):
        EngineConfig(tick_rate_hz=rate_hz)
