"""The weather's data: what each zone's sky is doing, and the almanac the plugin keeps.

Plain data only; the rules are in ``sky.py`` and ``storms.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.api import Component, persistent

__all__ = ["Almanac", "ZoneWeather"]


@persistent("weather_zone", version=1)
@dataclass(slots=True)
class ZoneWeather(Component):
    """The sky over one zone, kept on the zone's entity (zones are entities, with stable ids
    from their keys, so this is saved and found again after a restart whatever zones are added).

    ``kind`` is the id of the weather now, ``next_kind`` that of the weather to come (what the
    forecast tells), which sets in at ``changes_at_s`` (simulated seconds).
    """

    kind: str
    next_kind: str
    changes_at_s: float = 0.0


@persistent("weather_almanac", version=1)
@dataclass(slots=True)
class Almanac(Component):
    """The plugin's world-wide record: one in the world (world state, not on any zone)."""

    storms: int = 0
    """Storms that have broken over any zone since the world began."""
