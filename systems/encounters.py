"""Encounters: seeing a creature costs a mind, by its template's category: the first sight of a
kind the most, later ones less, and once used to it half of that (at least a point). Sightings
come from the world's feed of new locations (a player arriving where a creature is, a creature
arriving where a player is, a player coming into the world); each character keeps its count of
every template it has seen. No I/O, no randomness."""

from __future__ import annotations

from dataclasses import dataclass

from components.body import Dead, Offline
from components.content import EncounterCategory, NpcTemplate
from components.mind import LUCIDITY_MIN, Encounters, Lucidity
from components.place import Location
from engine.config import setting_field
from engine.events import Scope
from engine.plugins import PluginKit
from engine.scheduler import SystemContext, system
from engine.world import Additions, World
from systems.common import arrivals_by_room, capitalised, npcs_in, the
from systems.look import is_dark
from systems.lucidity import change_lucidity
from systems.whereabouts import contents

__all__ = ["ENCOUNTER_EVENT", "EncounterSettings", "encounters", "register", "sighting_cost"]

#: The event type of a sighting that cost a mind (a ``msg`` with ``data.event`` "encounter").
ENCOUNTER_EVENT = "encounter"


@dataclass(frozen=True, slots=True)
class EncounterSettings:
    """What seeing a creature costs a mind (the ``[encounters]`` section), by category."""

    first_mundane: int = setting_field(
        0, "Lucidity lost the first time a player sees a mundane creature of a template.", ge=0
    )
    first_unsettling: int = setting_field(
        6, "Lucidity lost the first time a player sees an unsettling creature of a template.", ge=0
    )
    first_horror: int = setting_field(
        12, "Lucidity lost the first time a player sees a horror of a template.", ge=0
    )
    first_eldritch: int = setting_field(
        20, "Lucidity lost the first time a player sees an eldritch thing of a template.", ge=0
    )
    later_mundane: int = setting_field(
        0, "Lucidity lost at each later sighting of a mundane creature's template.", ge=0
    )
    later_unsettling: int = setting_field(
        2, "Lucidity lost at each later sighting of an unsettling creature's template.", ge=0
    )
    later_horror: int = setting_field(
        5, "Lucidity lost at each later sighting of a horror's template.", ge=0
    )
    later_eldritch: int = setting_field(
        10, "Lucidity lost at each later sighting of an eldritch thing's template.", ge=0
    )
    habituated_after: int = setting_field(
        6,
        "Sightings of a template after which a mind is used to it: each later one costs half"
        " a later sighting (rounded down, at least 1 if a later sighting costs anything).",
        ge=1,
    )


def encounter_settings(world: World) -> EncounterSettings:
    return world.try_resource(EncounterSettings) or EncounterSettings()


def sighting_cost(
    category: EncounterCategory, seen_before: int, settings: EncounterSettings
) -> int:
    """The lucidity a sighting costs of a creature of ``category`` whose template the player
    had seen ``seen_before`` times."""
    kind = str(category)
    if seen_before == 0:
        first: int = getattr(settings, f"first_{kind}")
        return first
    later: int = getattr(settings, f"later_{kind}")
    if seen_before >= settings.habituated_after and later > 0:
        return max(1, later // 2)
    return later


#: What a costly sighting tells the player, by category, the first time and later
#: (``{the}`` is the creature: "the ghoul").
FIRST_WORDS: dict[EncounterCategory, str] = {
    EncounterCategory.MUNDANE: "You take in {the}.",
    EncounterCategory.UNSETTLING: "Something about {the} is wrong, and you cannot stop looking.",
    EncounterCategory.HORROR: "The sight of {the} turns your stomach, and your mind turns with it.",
    EncounterCategory.ELDRITCH: "Your mind recoils from {the}: it should not be, and yet it is.",
}
LATER_WORDS: dict[EncounterCategory, str] = {
    EncounterCategory.MUNDANE: "You take in {the} again.",
    EncounterCategory.UNSETTLING: "{The} again: you look away, but not soon enough.",
    EncounterCategory.HORROR: "{The} again. Your mind flinches from it.",
    EncounterCategory.ELDRITCH: "{The}: your thoughts scatter like startled birds.",
}


@dataclass(slots=True)
class _Sightings:
    """The rule's state (a resource, transient): the feed of new locations it reads."""

    arrivals: Additions


@system(phase="rules", every_s=0.0, after=("lucidity",))
def encounters(world: World, ctx: SystemContext) -> None:
    """Players who came where creatures are, and creatures that came where players are, see
    them (each template once per tick at most), and their minds pay for it."""
    state = world.try_resource(_Sightings)
    if state is None:
        state = _Sightings(world.additions(Location))
        world.insert_resource(state)
    arrived = state.arrivals.drain()
    if not arrived:
        return
    seen: dict[tuple[int, str], NpcTemplate] = {}
    for room, bodies in arrivals_by_room(world, arrived).items():
        if is_dark(world, room):
            continue
        creatures = npcs_in(world, room)
        if not creatures:
            continue
        came = set(bodies)
        # The minds of the room see the creatures that came in; the minds that came in see every
        # creature here. Each side of the room is looked at once, however many came in.
        arriving = [(npc, template) for npc, template in creatures if npc in came]
        newcomers = {body for body in bodies if _sees(world, body)}
        if arriving:
            for mind in contents(world, room):
                if mind in newcomers or not _sees(world, mind):
                    continue
                for _npc, template in arriving:
                    seen.setdefault((mind, template.id), template)
        for mind in bodies:
            if mind in newcomers:
                for _npc, template in creatures:
                    seen.setdefault((mind, template.id), template)
    if seen:
        settings = encounter_settings(world)
        for (player, _id), template in seen.items():
            _sight(world, player, template, settings)


def _sees(world: World, body: int) -> bool:
    """A mind in the world, alive: one that a sight costs something."""
    try_get = world.try_get
    return (
        try_get(body, Lucidity) is not None
        and try_get(body, Dead) is None
        and try_get(body, Offline) is None
    )


def _sight(world: World, player: int, template: NpcTemplate, settings: EncounterSettings) -> None:
    """``player`` sees a creature of ``template``: one more sighting counted, and its cost
    taken from its mind (and told) if there is one."""
    known = world.try_get(player, Encounters) or Encounters()
    before = known.count(template.id)
    world.add(player, known.counted(template.id))
    loss = sighting_cost(template.category, before, settings)
    if loss <= 0:
        return
    value = max(LUCIDITY_MIN, world.get(player, Lucidity).value - loss)
    words = (FIRST_WORDS if before == 0 else LATER_WORDS)[template.category]
    called = the(template.name)
    data = {
        "template": template.id,
        "name": template.name,
        "category": str(template.category),
        "sightings": before + 1,
        "loss": loss,
        "lucidity": value,
    }
    text = words.format(the=called, The=capitalised(called))
    world.emit(ENCOUNTER_EVENT, Scope.entity(player), text, data)
    change_lucidity(world, player, -loss)  # after: a change of tier is told after its cause


def register(kit: PluginKit) -> None:
    """Register the toll of seeing creatures."""
    kit.system(encounters)
