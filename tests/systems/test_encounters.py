"""Encounters: the first sight of a creature of a template costs a mind by its category, later
ones less, and once used to it half of that; a sighting is a player arriving where a creature
is, a creature arriving where a player is, or a player coming into the world; never in the dark."""

from __future__ import annotations

import pytest

from components.content import EncounterCategory
from components.mind import Encounters, Lucidity
from engine.events import Event, Scope
from systems.encounters import ENCOUNTER_EVENT, EncounterSettings, sighting_cost
from systems.presence import CorePresence
from tests.systems.arena import Arena
from tests.systems.minds import mind_stage

M, U, H, E = (
    EncounterCategory.MUNDANE,
    EncounterCategory.UNSETTLING,
    EncounterCategory.HORROR,
    EncounterCategory.ELDRITCH,
)


@pytest.mark.parametrize(
    ("category", "costs"),
    [
        (M, [0, 0, 0, 0, 0, 0, 0, 0]),
        (U, [6, 2, 2, 2, 2, 2, 1, 1]),
        (H, [12, 5, 5, 5, 5, 5, 2, 2]),
        (E, [20, 10, 10, 10, 10, 10, 5, 5]),
    ],
)
def test_a_sighting_costs_by_category_first_then_less_then_half_after_six(
    category: EncounterCategory, costs: list[int]
) -> None:
    settings = EncounterSettings()
    assert [sighting_cost(category, seen, settings) for seen in range(8)] == costs


def test_used_to_it_a_costly_sighting_still_costs_at_least_a_point() -> None:
    settings = EncounterSettings(later_unsettling=1)
    assert sighting_cost(U, 6, settings) == 1
    assert sighting_cost(U, 6, EncounterSettings(later_unsettling=0)) == 0


def sightings(events: list[Event], to: int) -> list[Event]:
    return [e for e in events if e.type == ENCOUNTER_EVENT and e.scope == Scope.entity(to)]


def lucidity(stage: Arena, body: int) -> int:
    return stage.world.get(body, Lucidity).value


def test_walking_in_on_a_creature_costs_the_first_time_the_most_and_is_told() -> None:
    stage = mind_stage()
    armitage = stage.player("Armitage", "indoors")
    stage.npc("ghoul", "wilderness")
    stage.tick()
    events = stage.type(armitage, "east")
    (seen,) = sightings(events, armitage)
    assert seen.text == "The sight of the ghoul turns your stomach, and your mind turns with it."
    assert seen.data == {
        "template": "ghoul",
        "name": "a ghoul",
        "category": "horror",
        "sightings": 1,
        "loss": 12,
        "lucidity": 88,
    }
    assert lucidity(stage, armitage) == 88
    losses = []
    for _ in range(7):
        stage.type(armitage, "west")
        events = stage.type(armitage, "east")
        losses.append([e.data["loss"] for e in sightings(events, armitage)])
    assert losses == [[5], [5], [5], [5], [5], [2], [2]]
    assert stage.world.get(armitage, Encounters).count("ghoul") == 8
    assert lucidity(stage, armitage) == 88 - 25 - 4


def test_a_creature_coming_into_the_room_is_seen_by_every_player_there() -> None:
    stage = mind_stage()
    armitage, carter = stage.player("Armitage", "street"), stage.player("Carter", "street")
    stage.tick()
    stage.npc("hound", "street")  # spawned (or walking) in: its Location is new either way
    events = stage.tick().events
    assert [e.data["loss"] for e in sightings(events, armitage)] == [20]
    assert [e.data["loss"] for e in sightings(events, carter)] == [20]
    assert lucidity(stage, armitage) == lucidity(stage, carter) == 80


def test_a_pack_of_one_template_is_one_sighting_and_each_template_its_own() -> None:
    stage = mind_stage()
    armitage = stage.player("Armitage", "indoors")
    for template in ("ghoul", "ghoul", "ghoul", "clerk"):
        stage.npc(template, "wilderness")
    stage.tick()
    events = stage.type(armitage, "east")
    assert sorted(e.data["template"] for e in sightings(events, armitage)) == ["clerk", "ghoul"]
    assert lucidity(stage, armitage) == 100 - 12 - 6
    assert dict(stage.world.get(armitage, Encounters).seen) == {"ghoul": 1, "clerk": 1}


def test_a_mundane_creature_is_counted_but_costs_nothing() -> None:
    stage = mind_stage()
    armitage = stage.player("Armitage", "indoors")
    stage.npc("nurse", "wilderness")
    stage.tick()
    assert sightings(stage.type(armitage, "east"), armitage) == []
    assert lucidity(stage, armitage) == 100
    assert stage.world.get(armitage, Encounters).seen == (("nurse", 1),)


def test_nothing_is_seen_in_the_dark() -> None:
    stage = mind_stage()
    armitage = stage.player("Armitage", "refuge")
    stage.npc("hound", "crypt")  # the crypt is dark
    stage.tick()
    assert sightings(stage.type(armitage, "east"), armitage) == []
    assert lucidity(stage, armitage) == 100
    assert not stage.world.has(armitage, Encounters)


def test_coming_into_the_world_where_a_creature_is_is_a_sighting() -> None:
    stage = mind_stage()
    armitage = stage.player("Armitage", "eldritch")
    stage.tick()
    stage.type(armitage, "quit")
    stage.npc("clerk", "eldritch")
    stage.tick()
    CorePresence().enter_world(stage.world, armitage)
    events = stage.tick().events
    assert [e.data["template"] for e in sightings(events, armitage)] == ["clerk"]
