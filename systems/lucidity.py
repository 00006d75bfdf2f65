"""Lucidity: a mind's meter (-100 to 100) and its tiers, the passive flux every mind in the world
feels (its room's environment by day and by night, or the builder's rates; its company; its
getting used to a place), and :func:`change_lucidity`, the one way the meter moves (a tier change
is told). A share of the minds is reckoned each tick, exactly, by game time; only whole points
apply and the fraction carries. No I/O, no randomness."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from enum import StrEnum

from components.body import Dead, Identity, Offline, Player, Posture
from components.mind import LUCIDITY_MAX, LUCIDITY_MIN, Lucidity, LucidityDrift
from components.place import Environment, Location, Room, RoomFlag
from engine.clock import MINUTES_PER_GAME_DAY, Calendar
from engine.config import setting_field
from engine.events import Scope
from engine.plugins import PluginKit
from engine.scheduler import SystemContext, system
from engine.world import Additions, World
from systems.common import capitalised
from systems.look import seen_as
from systems.whereabouts import room_of

__all__ = [
    "BREAKDOWN_EVENT",
    "RECKON_INTERVAL_S",
    "TIER_EVENT",
    "LuciditySettings",
    "Tier",
    "change_lucidity",
    "daylight_minutes",
    "ensure_mind",
    "lucidity",
    "lucidity_settings",
    "reckoned_lucidity",
    "register",
    "set_lucidity",
    "tier_now",
    "tier_of",
]

RECKON_INTERVAL_S = 2.0
"""Seconds of game time between two reckonings of one mind's flux. Every tick reckons its share
of the minds in the world (all of them once per interval, spread evenly over the ticks), each
over exactly the time since its last reckoning, so the rates are the same at any tick rate, and
at any interval: a longer one costs less, and only shows a whole point a little later (2 s is
a tenth of a game minute at the default compression)."""

#: The event type of a tier change, to the mind's owner (a ``msg`` with ``data.event`` "tier").
TIER_EVENT = "tier"
#: The event type of what the room sees of a mind sinking to deranged or catatonic.
BREAKDOWN_EVENT = "breakdown"

#: Below this, a float left over from exact arithmetic is no part of a point.
_EPSILON = 1e-9


class Tier(StrEnum):
    """How far gone a mind is, from the soundest."""

    LUCID = "lucid"
    UNEASY = "uneasy"
    FRACTURED = "fractured"
    DERANGED = "deranged"
    CATATONIC = "catatonic"


#: The tiers from the soundest to the worst: a higher rank is worse.
TIERS: tuple[Tier, ...] = tuple(Tier)
RANK: dict[Tier, int] = {tier: rank for rank, tier in enumerate(TIERS)}


def _flux(default: float, environment: str, when: str) -> float:
    return setting_field(
        default,
        f"Lucidity gained (negative: lost) per game minute by {when} in a room whose environment"
        f" is {environment}, unless the room or its zone sets its own.",
        unit="/game min",
        ge=-10,
        le=10,
    )


@dataclass(frozen=True, slots=True)
class LuciditySettings:
    """The tiers of a mind, and the passive flux it feels (the ``[lucidity]`` section)."""

    lucid_from: int = setting_field(
        70, "Lucidity from which a mind is lucid.", ge=LUCIDITY_MIN, le=LUCIDITY_MAX
    )
    uneasy_from: int = setting_field(
        40,
        "Lucidity from which a mind is uneasy (below lucid_from).",
        ge=LUCIDITY_MIN,
        le=LUCIDITY_MAX,
    )
    fractured_from: int = setting_field(
        20,
        "Lucidity from which a mind is fractured (below uneasy_from).",
        ge=LUCIDITY_MIN,
        le=LUCIDITY_MAX,
    )
    deranged_from: int = setting_field(
        1,
        "Lucidity from which a mind is deranged (below fractured_from); below it, catatonic.",
        ge=LUCIDITY_MIN,
        le=LUCIDITY_MAX,
    )
    sanctuary_day: float = _flux(0.6, "sanctuary", "day")
    sanctuary_night: float = _flux(0.3, "sanctuary", "night")
    street_day: float = _flux(0.2, "street", "day")
    street_night: float = _flux(0.0, "street", "night")
    indoors_day: float = _flux(0.0, "indoors", "day")
    indoors_night: float = _flux(0.0, "indoors", "night")
    wilderness_day: float = _flux(0.0, "wilderness", "day")
    wilderness_night: float = _flux(-0.2, "wilderness", "night")
    graveyard_day: float = _flux(-0.4, "graveyard", "day")
    graveyard_night: float = _flux(-0.8, "graveyard", "night")
    haunted_day: float = _flux(-0.4, "haunted", "day")
    haunted_night: float = _flux(-0.8, "haunted", "night")
    eldritch_day: float = _flux(-1.2, "eldritch", "day")
    eldritch_night: float = _flux(-1.5, "eldritch", "night")
    void_day: float = _flux(-1.5, "void", "day")
    void_night: float = _flux(-1.5, "void", "night")
    company_per_companion: float = setting_field(
        0.1,
        "Lucidity gained per game minute for each lucid or uneasy companion in the room.",
        unit="/game min",
        ge=0,
    )
    company_max: float = setting_field(
        0.3,
        "The most that lucid or uneasy company adds per game minute.",
        unit="/game min",
        ge=0,
    )
    company_deranged: float = setting_field(
        0.2,
        "Lucidity lost per game minute when any companion in the room is deranged or worse.",
        unit="/game min",
        ge=0,
    )
    resistance_step_minutes: float = setting_field(
        10.0,
        "Game minutes in the same room (in the world) that make one step of adaptive resistance;"
        " moving to another room starts again.",
        unit="game min",
        gt=0,
    )
    resistance_per_step: float = setting_field(
        0.25, "Share of the room's drain each step of resistance cuts.", ge=0, le=1
    )
    resistance_max: float = setting_field(
        0.5, "The most of the room's drain that resistance cuts.", ge=0, le=1
    )
    sanctuary_rest_factor: float = setting_field(
        2.0,
        "What resting multiplies a room's positive flux by, in a sanctuary or a room flagged safe.",
        ge=0,
    )


def lucidity_settings(world: World) -> LuciditySettings:
    return world.try_resource(LuciditySettings) or LuciditySettings()


def tier_of(value: int, settings: LuciditySettings) -> Tier:
    """The tier of a mind of lucidity ``value``."""
    if value >= settings.lucid_from:
        return Tier.LUCID
    if value >= settings.uneasy_from:
        return Tier.UNEASY
    if value >= settings.fractured_from:
        return Tier.FRACTURED
    if value >= settings.deranged_from:
        return Tier.DERANGED
    return Tier.CATATONIC


def tier_now(world: World, body: int) -> Tier | None:
    """The tier of ``body``'s mind; None for a body without one (an NPC)."""
    mind = world.try_get(body, Lucidity)
    return None if mind is None else tier_of(mind.value, lucidity_settings(world))


def ensure_mind(world: World, character: int) -> None:
    """Give a character that has none (one saved before minds existed) a whole mind."""
    if not world.has(character, Lucidity):
        world.add(character, Lucidity())
    if not world.has(character, LucidityDrift):
        world.add(character, LucidityDrift())


# --------------------------------------------------------------------------------------------------
# Where each mind is, and the company it keeps

#: A mind's standing for company: lucid or uneasy (good company), fractured, deranged or worse.
SOUND, SHAKEN, LOST = 0, 1, 2


def _standing(tier: Tier) -> int:
    if tier in (Tier.LUCID, Tier.UNEASY):
        return SOUND
    return SHAKEN if tier == Tier.FRACTURED else LOST


@dataclass(frozen=True, slots=True)
class _Rates:
    """A room's flux per game minute by day and by night, and whether resting there doubles it
    (a sanctuary, or a room flagged safe)."""

    day: float
    night: float
    sanctuary: bool


@dataclass(slots=True)
class _Track:
    """One mind in the world as the flux rule follows it: reckoned up to ``last_s``, with the
    part of a point and the time in its room it has accrued (saved to its ``LucidityDrift`` when
    a point applies and when it moves, leaves or dies: not at every reckoning, which would
    write every mind at every reckoning), and the room and standing it is counted in for company."""

    last_s: float
    fraction: float
    here_s: float
    room: int
    standing: int


@dataclass(slots=True)
class _Minds:
    """The flux rule's state (a resource, transient: rebuilt from the components after a start).

    The feeds it reads; each mind in the world (its track); each room's count of minds by
    standing (company, without looking at anyone); each room's rates, worked out once; where
    the next tick's share starts.
    """

    arrivals: Additions
    leavings: Additions
    deaths: Additions
    tracks: dict[int, _Track] = field(default_factory=dict)
    tallies: dict[int, list[int]] = field(default_factory=dict)
    rates: dict[int, _Rates] = field(default_factory=dict)
    cursor: int = 0

    def follow(
        self, entity: int, drift: LucidityDrift, room: int, standing: int, now: float
    ) -> None:
        """Start following a mind in ``room`` from ``now``, from what its drift saved (its
        resistance there; a new room starts it again)."""
        if drift.room != room:
            drift.room, drift.here_s = room, 0.0
        self.tracks[entity] = _Track(now, drift.fraction, drift.here_s, room, standing)
        self._count(room, standing, 1)

    def forget(self, entity: int) -> None:
        track = self.tracks.pop(entity, None)
        if track is not None:
            self._count(track.room, track.standing, -1)

    def restand(self, entity: int, standing: int) -> None:
        track = self.tracks.get(entity)
        if track is not None and track.standing != standing:
            self._count(track.room, track.standing, -1)
            track.standing = standing
            self._count(track.room, standing, 1)

    def _count(self, room: int, standing: int, by: int) -> None:
        tally = self.tallies.get(room)
        if tally is None:
            tally = self.tallies[room] = [0, 0, 0]
        tally[standing] += by
        if not any(tally):
            del self.tallies[room]


def _minds(world: World) -> _Minds:
    minds = world.try_resource(_Minds)
    if minds is None:
        minds = _Minds(world.additions(Location), world.additions(Offline), world.additions(Dead))
        world.insert_resource(minds)
        settings = lucidity_settings(world)
        now = world.clock.seconds
        for entity, (mind, drift, location) in _in_world(world):
            standing = _standing(tier_of(mind.value, settings))
            minds.follow(entity, drift, location.holder, standing, now)
    return minds


def _save(world: World, entity: int, track: _Track) -> None:
    """Write what ``track`` accrued to the mind's saved drift."""
    drift = world.get(entity, LucidityDrift)
    drift.fraction, drift.here_s, drift.room = track.fraction, track.here_s, track.room


def _in_world(world: World) -> list[tuple[int, tuple[Lucidity, LucidityDrift, Location]]]:
    """Every mind in the world, alive (the dead are out of it until they wake)."""
    return world.query(Lucidity, LucidityDrift, Location, without=(Offline, Dead))


def _rates_of(world: World, minds: _Minds, room_sid: int, settings: LuciditySettings) -> _Rates:
    rates = minds.rates.get(room_sid)
    if rates is not None:
        return rates
    room = world.entity_of(room_sid)
    definition = world.try_get(room, Room) if room is not None else None
    if definition is None:
        rates = _Rates(0.0, 0.0, False)
    else:
        environment = str(definition.environment)
        day = float(getattr(settings, f"{environment}_day"))
        night = float(getattr(settings, f"{environment}_night"))
        override = definition.lucidity_flux
        if override is not None:
            day = day if override.day is None else override.day
            night = night if override.night is None else override.night
        sanctuary = definition.environment == Environment.SANCTUARY or definition.has_flag(
            RoomFlag.SAFE
        )
        rates = _Rates(day, night, sanctuary)
    minds.rates[room_sid] = rates
    return rates


# --------------------------------------------------------------------------------------------------
# Game time: daylight and the reckoning of one mind


def daylight_minutes(calendar: Calendar, start: float, end: float) -> float:
    """Game minutes of daylight (from dawn to dusk) between the game minutes ``start`` and
    ``end`` of the calendar (as :meth:`Calendar.game_minutes` counts them)."""
    return _daylight_until(calendar, end) - _daylight_until(calendar, start)


def _daylight_until(calendar: Calendar, minute: float) -> float:
    dawn, dusk = calendar.dawn_hour * 60, calendar.dusk_hour * 60
    days, into = divmod(minute, MINUTES_PER_GAME_DAY)
    return days * (dusk - dawn) + min(max(into - dawn, 0.0), dusk - dawn)


def _reckon(
    world: World,
    minds: _Minds,
    settings: LuciditySettings,
    entity: int,
    track: _Track,
    end_s: float,
) -> None:
    """What ``entity``'s mind gained or lost in its room since it was last reckoned, up to
    ``end_s``: the room's rates by day and night (a drain cut by the resistance built there, step
    by step; a gain multiplied by resting in a sanctuary) and its company (a bonus for each sound
    companion up to the most, less a penalty when any companion is deranged or worse); whole
    points apply. This runs for every mind at every reckoning: it is written for speed."""
    elapsed_s = end_s - track.last_s
    if elapsed_s <= 0:
        return
    calendar = world.clock.calendar
    per_second = calendar.time_compression / 60.0
    minutes = elapsed_s * per_second
    start = calendar.start_game_minute + track.last_s * per_second  # Calendar.game_minutes
    track.last_s = end_s
    room = track.room
    rates = minds.rates.get(room) or _rates_of(world, minds, room, settings)
    day, night = rates.day, rates.night
    if rates.sanctuary and (day > 0 or night > 0):
        posture = world.try_get(entity, Posture)
        if posture is not None and posture.resting:
            factor = settings.sanctuary_rest_factor
            day = day * factor if day > 0 else day
            night = night * factor if night > 0 else night
    # Daylight over the time: most often it is all day or all night (two seconds are a few game
    # seconds), which needs no more than a look at where in its day it starts.
    dawn, dusk = calendar.dawn_hour * 60, calendar.dusk_hour * 60
    into = start % MINUTES_PER_GAME_DAY
    until = into + minutes
    if dawn <= into and until <= dusk:
        light = minutes
    elif until <= dawn or (dusk <= into and until <= MINUTES_PER_GAME_DAY):
        light = 0.0
    else:
        light = daylight_minutes(calendar, start, start + minutes)
    if (day >= 0 and night >= 0) or settings.resistance_per_step <= 0:
        delta = light * day + (minutes - light) * night
    else:
        here = track.here_s * per_second
        step = settings.resistance_step_minutes
        steps = math.floor(here / step + _EPSILON)
        cut = min(settings.resistance_max, steps * settings.resistance_per_step)
        if cut >= settings.resistance_max or (steps + 1) * step - here >= minutes:
            keep = 1.0 - cut  # no new step of resistance within the time: one piece
            delta = light * (day * keep if day < 0 else day)
            delta += (minutes - light) * (night * keep if night < 0 else night)
        else:
            delta = _resisted(calendar, settings, day, night, start, minutes, here)
    tally = minds.tallies[room]
    if tally[SOUND] + tally[SHAKEN] + tally[LOST] > 1:  # company: someone else is here
        sound, lost = tally[SOUND], tally[LOST]
        if track.standing == SOUND:  # the mind itself is no company
            sound -= 1
        elif track.standing == LOST:
            lost -= 1
        if sound > 0:
            delta += min(settings.company_max, settings.company_per_companion * sound) * minutes
        if lost > 0:
            delta -= settings.company_deranged * minutes
    track.here_s += elapsed_s
    total = track.fraction + delta
    points = math.trunc(total + math.copysign(_EPSILON, total))
    if points:
        value = world.get(entity, Lucidity).value + points
        if value > LUCIDITY_MAX or value < LUCIDITY_MIN:  # at the end of the range: no more
            value = max(LUCIDITY_MIN, min(LUCIDITY_MAX, value))
            total = points = value - world.get(entity, Lucidity).value
    fraction = total - points
    track.fraction = 0.0 if abs(fraction) < _EPSILON else fraction
    if points:
        _save(world, entity, track)
        change_lucidity(world, entity, points)


def _resisted(
    calendar: Calendar,
    settings: LuciditySettings,
    day: float,
    night: float,
    start: float,
    minutes: float,
    here: float,
) -> float:
    """The flux over ``minutes`` game minutes from ``start``, for a mind that had spent ``here``
    game minutes in the room at the start: a drain is cut by a step for each whole step of time
    there (up to the most), so the time is cut where a new step begins."""
    step = settings.resistance_step_minutes
    at, end, delta = start, start + minutes, 0.0
    while at < end - _EPSILON:
        steps = math.floor(here / step + _EPSILON)
        cut = min(settings.resistance_max, steps * settings.resistance_per_step)
        until = end if cut >= settings.resistance_max else min(end, at + (steps + 1) * step - here)
        until = max(until, at + _EPSILON)
        keep = 1.0 - cut
        light = daylight_minutes(calendar, at, until)
        dark = (until - at) - light
        delta += light * (day * keep if day < 0 else day)
        delta += dark * (night * keep if night < 0 else night)
        here += until - at
        at = until
    return delta


# --------------------------------------------------------------------------------------------------
# The rule


@system(phase="rules", every_s=0.0)
def lucidity(world: World, ctx: SystemContext) -> None:
    """Minds that moved, left or died are reckoned up to now in the room they were in; then this
    tick's share of the minds in the world is reckoned (each once per ``RECKON_INTERVAL_S``)."""
    minds = _minds(world)
    settings = lucidity_settings(world)
    now = ctx.now_s
    changed = [*minds.leavings.drain(), *minds.deaths.drain(), *minds.arrivals.drain()]
    if changed:
        for entity in dict.fromkeys(changed):
            _follow(world, minds, settings, entity, now)
    rows = _in_world(world)
    count = len(rows)
    if not count:
        return
    share = min(count, math.ceil(count * ctx.dt_s / RECKON_INTERVAL_S - _EPSILON))
    start = minds.cursor % count
    chosen = rows[start : start + share]
    if len(chosen) < share:
        chosen = chosen + rows[: share - len(chosen)]
    minds.cursor = start + share
    tracks = minds.tracks
    for entity, (mind, drift, location) in chosen:
        track = tracks.get(entity)
        if track is None:  # first seen (after a start): reckoned from now on
            standing = _standing(tier_of(mind.value, settings))
            minds.follow(entity, drift, location.holder, standing, now)
        else:
            _reckon(world, minds, settings, entity, track, now)


def _follow(
    world: World, minds: _Minds, settings: LuciditySettings, entity: int, now: float
) -> None:
    """A mind given a new location, taken out of the world or dead: the time since its last
    reckoning was spent where it was counted, so it is reckoned there now (and saved); then it
    is followed where it is (a new room starts its resistance again), or no longer."""
    drift = world.try_get(entity, LucidityDrift)
    mind = world.try_get(entity, Lucidity)
    if drift is None or mind is None:
        return
    location = world.try_get(entity, Location)
    here = (
        location.holder
        if location is not None and not world.has(entity, Offline) and not world.has(entity, Dead)
        else None
    )
    track = minds.tracks.get(entity)
    if track is not None and track.room != here:
        _reckon(world, minds, settings, entity, track, now)
        _save(world, entity, track)
        minds.forget(entity)
        track = None
    if here is not None and track is None:
        minds.follow(entity, drift, here, _standing(tier_of(mind.value, settings)), now)


def reckoned_lucidity(world: World, body: int) -> float:
    """``body``'s lucidity with the part of a point it has accrued, reckoned up to now: the
    meter as exactly as the rules know it (whole points only ever apply)."""
    mind = world.get(body, Lucidity)
    minds = _minds(world)
    track = minds.tracks.get(body)
    if track is not None:
        _reckon(world, minds, lucidity_settings(world), body, track, world.clock.seconds)
        return world.get(body, Lucidity).value + track.fraction
    drift = world.try_get(body, LucidityDrift)
    return mind.value + (drift.fraction if drift is not None else 0.0)


# --------------------------------------------------------------------------------------------------
# Changing a mind


#: What a mind's owner is told on sinking to a tier, and on rising to one.
SINKING: dict[Tier, str] = {
    Tier.UNEASY: "A thin unease settles on you: the shadows seem deeper than they should be.",
    Tier.FRACTURED: "Your thoughts splinter. You can no longer trust what you see.",
    Tier.DERANGED: "Something gives way inside your mind, and you hear yourself laughing.",
    Tier.CATATONIC: "Your mind folds in on itself. You cannot move; you can barely think.",
}
RISING: dict[Tier, str] = {
    Tier.LUCID: "The world settles back into its proper shape.",
    Tier.UNEASY: "The worst of it passes, though the unease stays with you.",
    Tier.FRACTURED: "Your thoughts come back together, though not every piece fits.",
    Tier.DERANGED: "You come back to yourself, a little: enough to move, not enough to trust it.",
}
#: What the room sees of a mind sinking to these tiers (``{name}`` is how it sees them).
SEEN_SINKING: dict[Tier, str] = {
    Tier.DERANGED: "{name} laughs softly at nothing, eyes darting from shadow to shadow.",
    Tier.CATATONIC: "{name} goes rigid and still, staring at nothing.",
}


def change_lucidity(world: World, body: int, points: int) -> int:
    """Add ``points`` (negative: take them) to ``body``'s lucidity, within its range; a tier
    change is told to its owner and, sinking to deranged or catatonic, shown to the room.
    Returns the new value. The one way a mind changes: every rule that moves it calls this."""
    mind = world.get(body, Lucidity)
    return set_lucidity(world, body, mind.value + points)


def set_lucidity(world: World, body: int, value: int) -> int:
    """Set ``body``'s lucidity to ``value`` (within its range), as :func:`change_lucidity`."""
    mind = world.get(body, Lucidity)
    value = max(LUCIDITY_MIN, min(LUCIDITY_MAX, value))
    if value == mind.value:
        return value
    settings = lucidity_settings(world)
    before, after = tier_of(mind.value, settings), tier_of(value, settings)
    world.add(body, Lucidity(value))
    if before != after:
        _tell_tier(world, body, before, after, value)
        minds = world.try_resource(_Minds)
        if minds is not None:
            minds.restand(body, _standing(after))
    return value


def _tell_tier(world: World, body: int, before: Tier, after: Tier, value: int) -> None:
    sinking = RANK[after] > RANK[before]
    words = SINKING[after] if sinking else RISING[after]
    data = {"tier": str(after), "previous": str(before), "lucidity": value, "sinking": sinking}
    if world.has(body, Player):
        world.emit(TIER_EVENT, Scope.entity(body), f"{words} (You are {after}.)", data)
    seen = SEEN_SINKING.get(after) if sinking else None
    room = room_of(world, body) if seen is not None and not world.has(body, Offline) else None
    if seen is not None and room is not None and world.has(body, Identity):
        name, sid = seen_as(world, room, body)
        world.emit(
            BREAKDOWN_EVENT,
            Scope.room(room),
            seen.format(name=capitalised(name)),
            {"who": name, "id": sid, "tier": str(after)},
            exclude=(body,),
        )


def register(kit: PluginKit) -> None:
    """Register the flux of minds."""
    kit.system(lucidity)
