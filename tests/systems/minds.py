"""A small hand-built world for the rules of the mind: a room of every environment, rooms whose
builder set their own lucidity flux, and creatures of every category. Test helpers only.

Map (zone "country"; every room leads east to the next and back west)::

    [sanctuary] - [street] - [indoors] - [wilderness] - [graveyard] - [haunted] - [eldritch]
        - [void] - [refuge] (a street flagged safe and rest_location) - [crypt] (haunted, dark)
        - [ossuary] (zone "crypts": its flux is the zone's) - [shrine] (zone "crypts", its own
          night flux) - [arena] (indoors, where fights may start)

The sanctuary is the start room (a rest location where no fight may start). Creatures: a nurse
(mundane), a clerk (unsettling), a ghoul (horror), a hound (eldritch), all passive; a brute
(a horror that hits hard, passive: fights start only when a test says so).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.body import Characteristics
from components.content import (
    Content,
    EncounterCategory,
    ExitDef,
    NpcTemplate,
    RoomDef,
    ZoneDef,
)
from components.place import Environment, FluxOverride
from engine.config import CalendarConfig, Config, EngineConfig
from engine.core import Engine
from systems import plugin as core
from systems.content.build import build_world
from tests.systems.arena import Arena

#: Every room, west to east: (key, zone, environment, flags, own flux).
LAYOUT: tuple[tuple[str, str, Environment, frozenset[str], FluxOverride | None], ...] = (
    (
        "sanctuary",
        "country",
        Environment.SANCTUARY,
        frozenset({"rest_location", "no_combat"}),
        None,
    ),
    ("street", "country", Environment.STREET, frozenset(), None),
    ("indoors", "country", Environment.INDOORS, frozenset(), None),
    ("wilderness", "country", Environment.WILDERNESS, frozenset(), None),
    ("graveyard", "country", Environment.GRAVEYARD, frozenset(), None),
    ("haunted", "country", Environment.HAUNTED, frozenset(), None),
    ("eldritch", "country", Environment.ELDRITCH, frozenset(), None),
    ("void", "country", Environment.VOID, frozenset(), None),
    ("refuge", "country", Environment.STREET, frozenset({"safe", "rest_location"}), None),
    ("crypt", "country", Environment.HAUNTED, frozenset({"dark"}), None),
    ("ossuary", "crypts", Environment.STREET, frozenset(), None),
    ("shrine", "crypts", Environment.STREET, frozenset(), FluxOverride(night=0.5)),
    ("arena", "country", Environment.INDOORS, frozenset(), None),
)

#: The environments, each with the room of it.
ENVIRONMENT_ROOMS: dict[Environment, str] = {
    Environment.SANCTUARY: "sanctuary",
    Environment.STREET: "street",
    Environment.INDOORS: "indoors",
    Environment.WILDERNESS: "wilderness",
    Environment.GRAVEYARD: "graveyard",
    Environment.HAUNTED: "haunted",
    Environment.ELDRITCH: "eldritch",
    Environment.VOID: "void",
}

#: The flux of the zone "crypts", per game minute, by day and by night.
CRYPTS_FLUX = FluxOverride(day=-2.0, night=-3.0)


def _rooms() -> tuple[RoomDef, ...]:
    rooms = []
    keys = [key for key, *_rest in LAYOUT]
    for index, (key, zone, environment, flags, flux) in enumerate(LAYOUT):
        exits = []
        if index > 0:
            exits.append(ExitDef("w", keys[index - 1]))
        if index + 1 < len(keys):
            exits.append(ExitDef("e", keys[index + 1]))
        rooms.append(
            RoomDef(
                key,
                zone,
                key.capitalize(),
                f"A room of {environment} air.",
                environment=environment,
                flags=flags,
                exits=tuple(exits),
                lucidity_flux=flux,
            )
        )
    return tuple(rooms)


NPCS = (
    NpcTemplate("nurse", "a night nurse", ("nurse",), "Starched and tired."),
    NpcTemplate(
        "clerk", "a hotel clerk", ("clerk",), "Wrong.", category=EncounterCategory.UNSETTLING
    ),
    NpcTemplate("ghoul", "a ghoul", ("ghoul",), "It gnaws.", category=EncounterCategory.HORROR),
    NpcTemplate(
        "hound", "a hound of angles", ("hound",), "Angles.", category=EncounterCategory.ELDRITCH
    ),
    NpcTemplate(
        "brute",
        "a hulking brute",
        ("brute",),
        "Huge.",
        category=EncounterCategory.HORROR,
        dp=500,
        damage="4d6+10",
        characteristics=Characteristics(strength=90, dexterity=200),
    ),
)

CONTENT = Content(
    zones=(
        ZoneDef("country", "The Country"),
        ZoneDef("crypts", "The Crypts", lucidity_flux=CRYPTS_FLUX),
    ),
    rooms=_rooms(),
    npcs=NPCS,
    start_room="sanctuary",
)


def mind_stage(
    *, rate_hz: float = 10.0, compression: float = 4.0, rules: Mapping[str, Any] | None = None
) -> Arena:
    """An engine over this world (before its first tick) at ``rate_hz``, with a calendar of
    ``compression`` game hours per real hour (a game day in 24 / compression real hours)."""
    config = Config(
        engine=EngineConfig(tick_rate_hz=rate_hz),
        calendar=CalendarConfig(time_compression=compression),
        rules=dict(rules or {}),
    )
    engine = Engine(config, plugins=[core])
    build_world(engine.world, CONTENT)
    engine.world.mark_clean()
    return Arena(engine)
