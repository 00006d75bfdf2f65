"""The kinds of weather, as builders write them: the ``weather`` content table.

Every text a player reads about the sky lives in ``content/weather/*.toml`` (or in a world's own
``weather/`` folder), checked against :class:`WeatherKind` by the world loader and by
``kadath check-world``. Nothing here reads files or changes the world.
"""

from __future__ import annotations

from engine.api import (
    ContentId,
    ContentModel,
    ContentName,
    ContentText,
    Field,
    World,
    content_table,
)

__all__ = ["WEATHER_TABLE", "WeatherKind", "kind_named"]

WEATHER_TABLE = "weather"
"""The table's name: its files are ``weather/*.toml``, each entry a ``[[weather]]``."""


class WeatherKind(ContentModel):
    """One kind of weather: what those outdoors see, what they are told when it sets in, what
    the forecast says of it, how often it comes by day and by night, and, for a storm, what it
    does to a mind out in it."""

    id: ContentId
    name: ContentName
    sky: ContentText
    """The line ``look`` adds outdoors while it lasts."""
    arrives: ContentText
    """What those outdoors are told when it sets in."""
    forecast: ContentText
    """What the ``forecast`` says when it is coming."""
    day_weight: float = Field(default=1.0, ge=0, allow_inf_nan=False)
    """How often it comes by day, against the others' (0: never by day)."""
    night_weight: float = Field(default=1.0, ge=0, allow_inf_nan=False)
    """How often it comes by night, against the others' (0: never by night)."""
    storm: str = ""
    """A storm's line, told to each mind out in it as the storm frays it; empty: no storm."""


def kind_named(world: World, kind_id: str) -> WeatherKind | None:
    """The weather of this id, or None (a saved sky may name a kind since taken out)."""
    for kind in content_table(world, WeatherKind):
        if kind.id == kind_id:
            return kind
    return None
