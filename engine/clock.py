"""The world's one clock: tick number, simulated seconds, and the game calendar rules may read.

Rules speak in seconds or game minutes, never in ticks; the tick rate is configuration. The clock
turns durations into tick counts when something must be scheduled, so a rule written at 10 Hz stays
right at 5 Hz or 20 Hz. The clock only counts ticks: it never reads the wall clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

MINUTES_PER_GAME_DAY = 24 * 60


class Daypart(StrEnum):
    """Coarse time of day, for descriptions and rules that care about light."""

    NIGHT = "night"
    DAWN = "dawn"
    MORNING = "morning"
    AFTERNOON = "afternoon"
    DUSK = "dusk"
    EVENING = "evening"


@dataclass(frozen=True, slots=True)
class GameTime:
    """A moment of the game calendar. ``day`` starts at 1."""

    day: int
    hour: int
    minute: int
    daypart: Daypart
    is_day: bool

    def __str__(self) -> str:
        return f"day {self.day}, {self.hour:02d}:{self.minute:02d} ({self.daypart})"


@dataclass(frozen=True, slots=True)
class Calendar:
    """Maps simulated seconds to game time.

    ``time_compression`` is game hours per real hour (4.0: a game day lasts six real hours).
    Day lasts from ``dawn_hour`` to ``dusk_hour``; the hour on each side is dawn or dusk.
    """

    time_compression: float = 4.0
    start_game_minute: int = 8 * 60
    dawn_hour: int = 6
    dusk_hour: int = 20

    def __post_init__(self) -> None:
        if not (math.isfinite(self.time_compression) and self.time_compression > 0):
            raise ValueError(f"time_compression must be > 0, got {self.time_compression}")
        if not 0 <= self.dawn_hour < self.dusk_hour <= 23:
            raise ValueError(
                f"need 0 <= dawn_hour < dusk_hour <= 23, got {self.dawn_hour}, {self.dusk_hour}"
            )

    def game_minutes(self, seconds: float) -> float:
        """Game minutes elapsed since the calendar's start after ``seconds`` of simulation."""
        return self.start_game_minute + seconds * self.time_compression / 60.0

    def seconds_for_game_minutes(self, minutes: float) -> float:
        """Simulated seconds that ``minutes`` game minutes take: for rules written in game time."""
        return minutes * 60.0 / self.time_compression

    def at(self, seconds: float) -> GameTime:
        # The tolerance keeps a minute that begins exactly on a tick from reading as the one before
        # because of floating-point rounding (7 Hz at compression 7: 32.99999999999999).
        total = int(self.game_minutes(seconds) + 1e-9)
        day, minute_of_day = divmod(total, MINUTES_PER_GAME_DAY)
        hour, minute = divmod(minute_of_day, 60)
        return GameTime(
            day + 1, hour, minute, self.daypart(hour), self.dawn_hour <= hour < self.dusk_hour
        )

    def daypart(self, hour: int) -> Daypart:
        noon = 12
        if hour == self.dawn_hour:
            return Daypart.DAWN
        if hour == self.dusk_hour:
            return Daypart.DUSK
        if self.dawn_hour < hour < self.dusk_hour:
            return Daypart.MORNING if hour < noon else Daypart.AFTERNOON
        if hour > self.dusk_hour:
            return Daypart.EVENING
        return Daypart.NIGHT


class Clock:
    """Tick counter at a fixed rate. ``seconds`` is simulated time: ``tick / rate_hz``."""

    __slots__ = ("calendar", "dt", "rate_hz", "tick")

    def __init__(self, rate_hz: float = 10.0, calendar: Calendar | None = None, tick: int = 0):
        if not rate_hz > 0:
            raise ValueError(f"tick rate must be > 0 Hz, got {rate_hz}")
        self.rate_hz = float(rate_hz)
        self.dt = 1.0 / self.rate_hz
        self.calendar = calendar or Calendar()
        self.tick = tick

    @property
    def seconds(self) -> float:
        """Simulated seconds since tick 0, derived from the tick so it never accumulates error."""
        return self.tick / self.rate_hz

    @property
    def now(self) -> GameTime:
        return self.calendar.at(self.seconds)

    def ticks_for(self, seconds: float) -> int:
        """Whole ticks that cover ``seconds`` (rounded up, at least 1 for any positive duration).

        Rounding up means a cooldown of 0.25 s at 10 Hz lasts 3 ticks, never less than asked.
        """
        if seconds <= 0:
            return 0
        return max(1, math.ceil(seconds * self.rate_hz - 1e-9))

    def ticks_for_game_minutes(self, minutes: float) -> int:
        return self.ticks_for(self.calendar.seconds_for_game_minutes(minutes))

    def advance(self) -> int:
        self.tick += 1
        return self.tick
