"""Storms fray the minds of those out in them: now and then, each player under a storm's open sky
loses a little lucidity, through the lucidity rules' own ``change_lucidity`` (which tells them,
and the room, when a mind slips to a worse tier).

Pure rules: no I/O; only players outdoors in a stormy zone are looked at, room by room.
"""

from __future__ import annotations

from engine.api import (
    Dead,
    Directory,
    Lucidity,
    Offline,
    Player,
    PluginKit,
    Room,
    RoomFlag,
    Scope,
    SystemContext,
    World,
    Zone,
    change_lucidity,
    contents,
    system,
)
from kadath_weather.components import ZoneWeather
from kadath_weather.kinds import kind_named
from kadath_weather.sky import WeatherSettings

__all__ = ["STORM_EVENT", "fray_minds", "out_in", "register"]

STORM_EVENT = "storm"
"""The event a mind out in a storm is told each time the storm frays it."""


def out_in(world: World, zone: Zone) -> list[int]:
    """The players in the world (neither offline nor dead) in the outdoor rooms of ``zone``."""
    found: list[int] = []
    for room in world.resource(Directory).zone_rooms.get(zone.key, ()):
        if not world.get(room, Room).has_flag(RoomFlag.OUTDOORS):
            continue
        for body in contents(world, room):
            in_world = not (world.has(body, Offline) or world.has(body, Dead))
            if in_world and world.has(body, Player, Lucidity):
                found.append(body)
    return found


def fray_minds(world: World, ctx: SystemContext) -> None:
    """Storms fray the minds out in them: each is told the storm's line and loses a little
    lucidity (the storm_lucidity_loss setting)."""
    loss = world.resource(WeatherSettings).storm_lucidity_loss
    for _entity, (zone, sky) in world.query(Zone, ZoneWeather):
        kind = kind_named(world, sky.kind)
        if kind is None or not kind.storm:
            continue
        for body in out_in(world, zone):
            world.emit(STORM_EVENT, Scope.entity(body), kind.storm, {"weather": kind.id})
            if loss:
                change_lucidity(world, body, -loss)


def register(kit: PluginKit) -> None:
    """Add the storms' rule: after the sky turns, before the lucidity rules reckon the minds."""
    settings = kit.config.rule_settings("weather", WeatherSettings)
    every_s = settings.storm_interval_s
    kit.system(
        system(phase="rules", every_s=every_s, after=("change_weather",), before=("lucidity",))(
            fray_minds
        )
    )
