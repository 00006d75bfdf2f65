"""Weather: an example Kadath plugin. Each zone has a sky that turns over the game day; those
outdoors see it when they look, are told when it turns, and are frayed by its storms.

It shows what a plugin reaches for beyond candles: state kept on zones and in the world, a look
contributor, a content table of its texts, a world builder, rule settings, and two commands; all
through ``engine.api`` alone. The engine finds ``plugin`` through the ``kadath.plugins`` entry
point.
"""

from __future__ import annotations

from pathlib import Path

from engine.api import Plugin, PluginKit
from kadath_weather import sky, storms
from kadath_weather.components import Almanac, ZoneWeather
from kadath_weather.kinds import WEATHER_TABLE, WeatherKind
from kadath_weather.sky import WeatherSettings

__all__ = ["CONTENT_DIR", "Almanac", "WeatherKind", "WeatherSettings", "ZoneWeather", "plugin"]

CONTENT_DIR = Path(__file__).parent / "content"
"""The kinds of weather, for the world loader (see content/weather/skies.toml)."""


def setup(kit: PluginKit) -> None:
    """Register everything the weather adds; called once, after the plugins it requires."""
    kit.component(ZoneWeather)
    kit.world_state(Almanac)
    kit.content_table(WEATHER_TABLE, WeatherKind)
    sky.register(kit)
    storms.register(kit)
    kit.content(CONTENT_DIR)


plugin = Plugin(
    name="weather",
    setup=setup,
    requires=("core",),
    description="Weather over each zone, seen outdoors; storms that fray minds.",
    version="0.1.0",
    settings={"weather": WeatherSettings},
)
