"""The sky over each zone: weather that turns over the game day, seen by those outdoors, and the
``weather`` and ``forecast`` commands.

Pure rules over the zones' ZoneWeather components: no I/O, time from the system context and the
world's clock, every roll from the world's seeded RNG, so a run replays exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from engine.api import (
    Args,
    Command,
    CommandSpec,
    Directory,
    PluginKit,
    Refused,
    Room,
    RoomFlag,
    Scope,
    SystemContext,
    World,
    Zone,
    content_table,
    is_outdoors,
    room_of,
    setting_field,
    system,
    world_state,
    zone_entity,
    zone_of,
)
from kadath_weather.components import Almanac, ZoneWeather
from kadath_weather.kinds import WeatherKind, kind_named

__all__ = [
    "CHANGE_EVENT",
    "FORECAST",
    "WEATHER",
    "WeatherSettings",
    "change_weather",
    "first_skies",
    "forecast",
    "register",
    "sky_over",
    "weather",
    "weather_in",
]

CHANGE_EVENT = "weather_change"
"""The event told in every outdoor room of a zone when its weather turns."""


@dataclass(frozen=True, slots=True)
class WeatherSettings:
    """The ``[weather]`` section of the server's configuration."""

    check_interval_s: float = setting_field(
        60.0,
        "Seconds between two looks at the sky: a weather due to turn turns at most this late.",
        unit="s",
        gt=0,
    )
    shortest_spell_game_minutes: float = setting_field(
        60.0, "The shortest a weather lasts, in game minutes.", unit="game minutes", gt=0
    )
    longest_spell_game_minutes: float = setting_field(
        240.0,
        "The longest a weather lasts, in game minutes (below the shortest: the shortest).",
        unit="game minutes",
        gt=0,
    )
    storm_interval_s: float = setting_field(
        120.0, "Seconds between two buffets of a storm at the minds out in it.", unit="s", gt=0
    )
    storm_lucidity_loss: int = setting_field(
        1, "Lucidity a mind out in a storm loses at each buffet.", unit="points", ge=0
    )


def weather_in(world: World, zone: str) -> WeatherKind | None:
    """The weather over the zone with this key now, if it has any."""
    entity = zone_entity(world, zone)
    sky = world.try_get(entity, ZoneWeather) if entity is not None else None
    return kind_named(world, sky.kind) if sky is not None else None


def _roll(world: World, at_s: float) -> WeatherKind | None:
    """A weather for the time of day at ``at_s``, by the kinds' weights (None: none may come)."""
    kinds = content_table(world, WeatherKind)
    by_day = world.clock.calendar.at(at_s).is_day
    weights = [kind.day_weight if by_day else kind.night_weight for kind in kinds]
    if not any(weight > 0 for weight in weights):
        return None
    return world.rng.choices(kinds, weights)[0]


def _spell_s(world: World, settings: WeatherSettings) -> float:
    """How long the next weather lasts, in simulated seconds."""
    shortest = settings.shortest_spell_game_minutes
    minutes = world.rng.uniform(shortest, max(shortest, settings.longest_spell_game_minutes))
    return world.clock.calendar.seconds_for_game_minutes(minutes)


def _tell_outdoors(world: World, zone: Zone, text: str, data: dict[str, str]) -> None:
    """Tell every outdoor room of ``zone`` that its weather turned."""
    for room in world.resource(Directory).zone_rooms.get(zone.key, ()):
        if world.get(room, Room).has_flag(RoomFlag.OUTDOORS):
            world.emit(CHANGE_EVENT, Scope.room(room), text, data)


def first_skies(world: World, registry: object) -> None:
    """World builder: every zone without a sky gets the table's first weather, due to turn at
    the first look at the sky. A saved sky is restored over it after this runs."""
    kinds = content_table(world, WeatherKind)
    if not kinds:
        return
    first = kinds[0].id
    for zone, _definition in world.query(Zone, without=(ZoneWeather,)):
        world.add(zone, ZoneWeather(first, first))


def change_weather(world: World, ctx: SystemContext) -> None:
    """Skies whose time has come turn to the weather the forecast promised, and the next one is
    rolled for the time of day it will set in; those outdoors in the zone are told."""
    settings = world.resource(WeatherSettings)
    for _entity, (zone, sky) in world.query(Zone, ZoneWeather):
        if ctx.now_s < sky.changes_at_s:
            continue
        before = sky.kind
        coming = kind_named(world, sky.next_kind) or _roll(world, ctx.now_s)
        if coming is None:
            continue
        changes_at_s = ctx.now_s + _spell_s(world, settings)
        after = _roll(world, changes_at_s) or coming
        sky.kind, sky.next_kind, sky.changes_at_s = coming.id, after.id, changes_at_s
        if coming.id != before:
            data = {"zone": zone.key, "weather": coming.id, "previous": before}
            _tell_outdoors(world, zone, coming.arrives, data)
            if coming.storm:
                world_state(world, Almanac).storms += 1


def sky_over(world: World, viewer: int | None, seen: int) -> list[str]:
    """Look contributor: an outdoor room's description ends with its zone's weather."""
    room = world.try_get(seen, Room)
    if room is None or not room.has_flag(RoomFlag.OUTDOORS):
        return []
    kind = weather_in(world, room.zone)
    return [kind.sky] if kind is not None else []


def weather(world: World, cmd: Command, args: Args) -> None:
    """Look at the sky, from outdoors."""
    room = room_of(world, cmd.actor)
    if room is None or not is_outdoors(world, cmd.actor):
        raise Refused("indoors", "You cannot see the sky from here.")
    kind = weather_in(world, world.get(room, Room).zone)
    if kind is None:
        raise Refused("no_weather", "The sky gives nothing away.")
    data = {"weather": kind.id, "name": kind.name}
    world.emit("weather", Scope.entity(cmd.actor), kind.sky, data)


def forecast(world: World, cmd: Command, args: Args) -> None:
    """What the sky over the actor's zone promises next, and about when; indoors too."""
    zone = zone_of(world, cmd.actor)
    sky = world.try_get(zone, ZoneWeather) if zone is not None else None
    coming = kind_named(world, sky.next_kind) if sky is not None else None
    if sky is None or coming is None:
        raise Refused("no_weather", "Nobody here will guess at the weather.")
    calendar = world.clock.calendar
    now_s = world.clock.seconds
    hours = (calendar.game_minutes(sky.changes_at_s) - calendar.game_minutes(now_s)) / 60
    when = "before the hour is out" if hours <= 1 else f"within {math.ceil(hours)} hours"
    storms = world_state(world, Almanac).storms
    record = f"The almanac counts {storms} storm{'' if storms == 1 else 's'} since the world began."
    data = {"weather": coming.id, "name": coming.name, "in_game_hours": max(0.0, hours)}
    world.emit("forecast", Scope.entity(cmd.actor), f"{coming.forecast} {when}. {record}", data)


# `abbreviable=False`: "f" stays "flee" and "w" "west" in the middle of a fight.
WEATHER: CommandSpec[World] = CommandSpec(
    verb="weather",
    handler=weather,
    help="Look at the sky: what the weather is doing here. You must be outdoors to see it.",
    category="information",
    abbreviable=False,
)

FORECAST: CommandSpec[World] = CommandSpec(
    verb="forecast",
    handler=forecast,
    help="What the weather will do next where you are, and about when.",
    category="information",
    abbreviable=False,
)


def register(kit: PluginKit) -> None:
    """Add the sky's rule, its look contributor, its world builder and its commands."""
    settings = kit.config.rule_settings("weather", WeatherSettings)
    kit.system(system(phase="rules", every_s=settings.check_interval_s)(change_weather))
    kit.look_contributor(sky_over)
    kit.world_builder(first_skies)
    kit.command(WEATHER)
    kit.command(FORECAST)
